import SkiffCore
import Synchronization

/// client-go's event recorder: components report what they did as core/v1 Events, and
/// the recorder keeps that from flooding the API as upstream's EventCorrelator does —
/// a repeat of the same event raises its count, more than ten similar events (same
/// object and reason, other messages) within ten minutes become one "combined" event,
/// and each object may cause 25 events at once, then one per five minutes. Events are
/// written in order by one task, from a buffer of 1,000 that drops the newest when full,
/// so reporting never slows the reporter down.
public final class EventRecorder: Sendable {
    struct Pending: Sendable {
        var event: JSON
        var key: String
    }

    let component: String
    let continuation: AsyncStream<Pending>.Continuation
    let correlator = Mutex(Correlator())
    /// Upstream's defaults: events with the same aggregate key within this window, and
    /// how many distinct messages before they are combined.
    static let aggregateWindowSeconds: Int64 = 600
    static let maxSimilarEvents = 10

    public init(client: Client, component: String) {
        self.component = component
        let (stream, continuation) = AsyncStream<Pending>.makeStream(bufferingPolicy: .bufferingOldest(1000))
        self.continuation = continuation
        let writer = Writer(client: client)
        Task { for await pending in stream { await writer.write(pending) } }
    }

    deinit { continuation.finish() }

    /// Reports `reason` and `message` about `object`, of kind `resource` (type Normal or
    /// Warning).
    public func event(_ object: JSON, _ resource: Resource, type: String, reason: String, message: String) {
        let now = Timestamp.now()
        let apiVersion = resource.group.isEmpty ? resource.version : "\(resource.group)/\(resource.version)"
        let involved: JSON = ["apiVersion": .string(apiVersion), "kind": .string(resource.kind),
                              "name": .string(object.name ?? ""), "namespace": object.namespace.map { .string($0) } ?? nil,
                              "uid": .string(object.uid ?? ""), "resourceVersion": .string(object.resourceVersion ?? "")]
        let objectKey = "\(component)|\(resource.kind)|\(object.namespace ?? "")|\(object.name ?? "")|\(object.uid ?? "")"
        let similarKey = "\(objectKey)|\(type)|\(reason)"
        guard let (key, text) = correlator.withLock({ $0.admit(objectKey: objectKey, similarKey: similarKey, message: message, now: now) }) else { return }
        let event: JSON = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string("\(object.name ?? "").\(String(UInt64(now.seconds) * 1_000_000_000 + UInt64(now.nanoseconds), radix: 16))"),
                         "namespace": .string(object.namespace ?? "default")],
            "involvedObject": involved, "reason": .string(reason), "message": .string(text), "type": .string(type),
            "source": ["component": .string(component)], "reportingComponent": .string(component), "reportingInstance": "",
            "firstTimestamp": .string(now.rfc3339), "lastTimestamp": .string(now.rfc3339), "count": 1, "eventTime": nil,
        ]
        continuation.yield(Pending(event: event, key: key))
    }

    /// The spam filter and the aggregator; decides each event's dedupe key.
    struct Correlator {
        struct Bucket { var tokens: Double; var at: Timestamp }
        struct Similar { var messages: Set<String>; var since: Timestamp }
        var buckets: [String: Bucket] = [:]
        var similar: [String: Similar] = [:]

        /// nil: dropped by the spam filter. Otherwise the dedupe key and the message.
        mutating func admit(objectKey: String, similarKey: String, message: String, now: Timestamp) -> (String, String)? {
            // Bounded as upstream's LRU caches (4,096 entries), more crudely.
            if buckets.count > 4096 { buckets.removeAll() }
            if similar.count > 4096 { similar.removeAll() }
            var bucket = buckets[objectKey] ?? Bucket(tokens: 25, at: now)
            bucket.tokens = min(25, bucket.tokens + Double(now.seconds - bucket.at.seconds) / 300)
            bucket.at = now
            guard bucket.tokens >= 1 else {
                buckets[objectKey] = bucket
                return nil
            }
            bucket.tokens -= 1
            buckets[objectKey] = bucket
            var entry = similar[similarKey] ?? Similar(messages: [], since: now)
            if now.seconds - entry.since.seconds > EventRecorder.aggregateWindowSeconds { entry = Similar(messages: [], since: now) }
            entry.messages.insert(message)
            similar[similarKey] = entry
            if entry.messages.count < EventRecorder.maxSimilarEvents { return ("\(similarKey)|\(message)", message) }
            return (similarKey, "(combined from similar events): \(message)")
        }
    }

    /// Creates each new event and patches count and lastTimestamp on a repeat.
    actor Writer {
        let client: Client
        /// Events written, by dedupe key: name and count so far.
        var written: [String: (namespace: String, name: String, count: Int64, first: JSON)] = [:]

        init(client: Client) { self.client = client }

        func write(_ p: Pending) async {
            var event = p.event
            let namespace = event.namespace ?? "default"
            if let seen = written[p.key] {
                let count = seen.count + 1
                let patch: JSON = ["count": .number(JSONNumber(count)), "lastTimestamp": event["lastTimestamp"] ?? nil, "message": event["message"] ?? nil]
                do {
                    try await client.patch(.events, namespace: namespace, seen.name, merge: patch)
                    written[p.key]?.count = count
                    return
                } catch let e as ClientError where e.isNotFound {
                    // Expired meanwhile (event TTL): written anew below, keeping the count.
                    event["count"] = .number(JSONNumber(count))
                    event["firstTimestamp"] = seen.first
                } catch {
                    return
                }
            }
            do {
                try await client.create(.events, namespace: namespace, event)
                if written.count > 4096 { written.removeAll() }
                written[p.key] = (namespace, event.name ?? "", event["count"]?.int64Value ?? 1, event["firstTimestamp"] ?? nil)
            } catch {}
        }
    }
}

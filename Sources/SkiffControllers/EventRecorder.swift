import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// Records core/v1 Events about an object, as client-go's event recorder does for a
/// controller: `kubectl describe` shows them, and a repeat of the same event bumps the
/// first one's count and lastTimestamp instead of adding another object. Failing to
/// record is logged, never fatal.
final class EventRecorder: Sendable {
    let client: Client
    let component: String
    let now: @Sendable () -> Timestamp
    /// Events recorded, by object uid, type, reason and message: their name and count.
    private let recorded = Mutex<[String: (name: String, count: Int64)]>([:])
    static let remembered = 4096

    init(client: Client, component: String, now: @escaping @Sendable () -> Timestamp) {
        self.client = client
        self.component = component
        self.now = now
    }

    func event(_ r: Resource, _ object: JSON, type: String = "Normal", reason: String, message: String) async {
        let t = now()
        let key = "\(object.uid ?? "")\u{0}\(type)\u{0}\(reason)\u{0}\(message)"
        do {
            if let seen = recorded.withLock({ $0[key] }) {
                let count = seen.count + 1
                do {
                    try await client.patch(.events, namespace: object.namespace, seen.name,
                                           merge: ["count": .number(JSONNumber(count)), "lastTimestamp": .string(t.rfc3339)])
                    recorded.withLock { $0[key] = (seen.name, count) }
                    return
                } catch let e as ClientError where e.isNotFound {}  // expired: record it anew
            }
            let name = "\(object.name ?? "").\(String(UInt64(max(0, t.seconds)) * 1_000_000_000 + UInt64(t.nanoseconds), radix: 16))"
            let event: JSON = [
                "apiVersion": "v1", "kind": "Event",
                "metadata": ["name": .string(name), "namespace": .string(object.namespace ?? "default")],
                "involvedObject": ["apiVersion": .string(r.apiVersion), "kind": .string(r.kind), "name": .string(object.name ?? ""),
                                   "namespace": .string(object.namespace ?? ""), "uid": .string(object.uid ?? ""),
                                   "resourceVersion": .string(object.resourceVersion ?? "")],
                "reason": .string(reason), "message": .string(message), "type": .string(type),
                "source": ["component": .string(component)], "reportingComponent": .string(component),
                "firstTimestamp": .string(t.rfc3339), "lastTimestamp": .string(t.rfc3339), "count": 1,
            ]
            try await client.create(.events, namespace: object.namespace, event)
            recorded.withLock { seen in
                if seen.count >= Self.remembered { seen.removeAll() }
                seen[key] = (name, 1)
            }
        } catch {
            Logger(label: "skiff.controller.\(component)").debug("event not recorded", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }
}

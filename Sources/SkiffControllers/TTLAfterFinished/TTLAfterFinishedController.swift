import Logging
import SkiffAPI
import SkiffClient
import SkiffCore

/// Deletes each finished Job (Complete or Failed) `ttlSecondsAfterFinished` after it
/// finished — counted from its finished condition's lastTransitionTime — with background
/// propagation so its pods go too, as upstream's TTL-after-finished controller. A Job is
/// requeued for the exact moment it expires.
public final class TTLAfterFinishedController: Controller {
    public let name = "ttl-after-finished"
    public let queue = WorkQueue(name: "ttl-after-finished")
    let client: Client
    let jobs: Informer
    let now: @Sendable () -> Timestamp
    let logger = Logger(label: "skiff.controller.ttl-after-finished")

    public init(factory: InformerFactory, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        jobs = factory.informer(.jobs)
        self.now = now
        jobs.addHandler { [queue] e in
            switch e {
            case .added(let j), .updated(_, let j):
                if Self.expiry(j) != nil { queue.add(objectKey(j)) }
            case .deleted: break
            }
        }
    }

    /// When a finished Job with a TTL expires.
    static func expiry(_ job: JSON) -> Timestamp? {
        guard job.deletionTimestamp == nil, let ttl = job[path: ["spec", "ttlSecondsAfterFinished"]]?.int64Value else { return nil }
        let finished = job[path: ["status", "conditions"]]?.arrayValue?.first {
            ($0["type"] == "Complete" || $0["type"] == "Failed") && $0["status"] == "True"
        }
        guard let finished else { return nil }
        let at = finished["lastTransitionTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            ?? job[path: ["status", "completionTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        return at?.adding(seconds: ttl)
    }

    public func sync(key: String) async throws {
        guard let cached = jobs.indexer.get(key), let expiry = Self.expiry(cached) else { return }
        let t = now()
        if t < expiry {
            queue.add(key, after: .seconds(expiry.seconds - t.seconds) + .nanoseconds(Int64(expiry.nanoseconds) - Int64(t.nanoseconds)))
            return
        }
        // The TTL may have just been changed: decide on the Job as stored.
        let (namespace, name) = splitKey(key)
        let job: JSON
        do {
            job = try await client.get(.jobs, namespace: namespace, name)
        } catch let e as ClientError where e.isNotFound {
            return
        }
        guard let fresh = Self.expiry(job), fresh <= t else { return }
        logger.info("deleting finished job after its TTL", metadata: ["job": "\(key)"])
        try await client.delete(.jobs, namespace: namespace, name, propagationPolicy: "Background", preconditionUID: job.uid, ignoreNotFound: true)
    }
}

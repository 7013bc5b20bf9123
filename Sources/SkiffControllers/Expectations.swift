import SkiffClient
import Synchronization

/// What a controller is still waiting to see of its own writes, per key (upstream's
/// ControllerExpectations): after creating 3 pods it does not act again until the
/// informer has shown it those 3, so it never creates them twice. Expectations expire
/// after 5 minutes in case an event was missed.
final class Expectations: Sendable {
    private struct Pending {
        var adds = 0
        var deletes = 0
        var since = ContinuousClock.now
    }

    private let pending = Mutex<[String: Pending]>([:])
    static let timeout: Duration = .seconds(300)

    func expect(_ key: String, adds: Int = 0, deletes: Int = 0) {
        pending.withLock { $0[key] = Pending(adds: adds, deletes: deletes) }
    }

    func observedAdd(_ key: String) { pending.withLock { $0[key]?.adds -= 1 } }
    func observedDelete(_ key: String) { pending.withLock { $0[key]?.deletes -= 1 } }

    func satisfied(_ key: String) -> Bool {
        pending.withLock { p in
            guard let e = p[key] else { return true }
            return (e.adds <= 0 && e.deletes <= 0) || ContinuousClock.now - e.since > Self.timeout
        }
    }

    func forget(_ key: String) { pending.withLock { _ = $0.removeValue(forKey: key) } }
}

extension Expectations {
    /// The informer handler for the controller's own kind: every change queues the
    /// object's key, and a deleted object's expectations go with it.
    func ownersChanged(_ queue: WorkQueue) -> @Sendable (InformerEvent) -> Void {
        { [self] e in
            switch e {
            case .added(let o), .updated(_, let o): queue.add(objectKey(o))
            case .deleted(let o):
                forget(objectKey(o))
                queue.add(objectKey(o))
            }
        }
    }
}

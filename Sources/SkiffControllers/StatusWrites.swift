import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// The resourceVersion of a controller's last status write per key. Acting on an older
/// copy from the informer would redo what that write recorded (count a pod again, start
/// a Job again), so a sync waits until the informer has caught up — its update event
/// brings the key back. Skiff's resourceVersions are store revisions, so they order.
final class StatusWrites: Sendable {
    private let written = Mutex<[String: Int64]>([:])

    func record(_ key: String, _ stored: JSON) {
        guard let rv = Int64(stored.resourceVersion ?? "") else { return }
        written.withLock { $0[key] = max($0[key] ?? 0, rv) }
    }

    /// Whether `cached` is at least as new as the last write (and forgets that write).
    func caughtUp(_ key: String, _ cached: JSON) -> Bool {
        let seen = Int64(cached.resourceVersion ?? "") ?? 0
        return written.withLock { w in
            if let last = w[key], seen < last { return false }
            w[key] = nil
            return true
        }
    }

    func forget(_ key: String) { _ = written.withLock { $0.removeValue(forKey: key) } }
}

/// Writes `status` onto `object`, and on a conflict onto the newest copy, as upstream's
/// status updaters: for a controller that alone writes the status, a concurrent spec or
/// metadata change must not lose what its sync did. Returns the object as stored; nil
/// when it is gone.
func updateStatusOntoNewest(_ client: Client, _ r: Resource, _ object: JSON, status: JSON, attempts: Int = 5) async throws -> JSON? {
    var next = object
    for attempt in 1...attempts {
        next["status"] = status
        do {
            return try await client.update(r, next, subresource: "status")
        } catch let e as ClientError where e.isConflict && attempt < attempts {
            next = try await client.get(r, namespace: object.namespace, object.name ?? "")
        } catch let e as ClientError where e.isNotFound {
            return nil
        }
    }
    return nil
}

import Synchronization
import SkiffCore

/// The resources the server serves: the built-in kinds plus those that
/// CustomResourceDefinitions add while the server runs.
public final class ResourceRegistry: Sendable {
    struct State {
        var resources: [ResourceInfo] = []
        var byPath: [String: Int] = [:]
        /// group -> preferred version
        var preferred: [String: String] = [:]
        var generation = 0
    }

    private let state: Mutex<State>

    public init(_ resources: [ResourceInfo], preferredVersions: [String: String] = [:]) {
        var s = State()
        s.preferred = preferredVersions
        for r in resources { ResourceRegistry.insert(r, into: &s) }
        state = Mutex(s)
    }

    private static func insert(_ r: ResourceInfo, into s: inout State) {
        let path = "\(r.group)/\(r.version)/\(r.resource)"
        if let i = s.byPath[path] {
            s.resources[i] = r
        } else {
            s.byPath[path] = s.resources.count
            s.resources.append(r)
        }
        if s.preferred[r.group] == nil { s.preferred[r.group] = r.version }
        s.generation += 1
    }

    public func lookup(group: String, version: String, resource: String) -> ResourceInfo? {
        state.withLock { s in s.byPath["\(group)/\(version)/\(resource)"].map { s.resources[$0] } }
    }

    public var all: [ResourceInfo] { state.withLock { $0.resources } }

    /// Changes whenever resources are added or removed (discovery documents are cached by it).
    public var generation: Int { state.withLock { $0.generation } }

    public func preferredVersion(of group: String) -> String? { state.withLock { $0.preferred[group] } }

    /// Serves `resources` for `group`, replacing what was served for that group and resource before.
    public func replace(group: String, resource: String, with resources: [ResourceInfo], preferredVersion: String?) {
        state.withLock { s in
            let kept = s.resources.filter { !($0.group == group && $0.resource == resource) }
            var fresh = State()
            fresh.preferred = s.preferred
            fresh.preferred[group] = nil
            for r in kept + resources { ResourceRegistry.insert(r, into: &fresh) }
            if let preferredVersion { fresh.preferred[group] = preferredVersion }
            if !fresh.resources.contains(where: { $0.group == group }) { fresh.preferred[group] = nil }
            fresh.generation = s.generation + 1
            s = fresh
        }
    }

    /// The resource stored under `key`, found by its storage prefix.
    public func resource(forKey key: String) -> ResourceInfo? {
        state.withLock { s in
            s.resources.first { key.hasPrefix($0.storagePrefix) }
        }
    }
}

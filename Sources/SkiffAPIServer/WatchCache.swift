import DequeModule
import Synchronization
import Logging
import SkiffAPI
import SkiffCore
import SkiffStore

/// An object as the cache keeps it: its canonical JSON bytes (what clients receive) and
/// the few fields selectors need, so lists and watches never re-parse objects.
final class CachedObject: Sendable {
    let key: String
    let bytes: [UInt8]
    let revision: Int64
    let namespace: String
    let name: String
    /// Labels, and the values of the resource's selectable fields (spec.nodeName,
    /// status.phase...), as pairs: for a handful of entries an array costs a fraction of
    /// a dictionary, which counts with tens of thousands of cached objects.
    let labels: [(String, String)]
    let fields: [(String, String)]

    init(key: String, bytes: [UInt8], revision: Int64, object: JSON, resource: ResourceInfo?) {
        self.key = key
        self.bytes = bytes
        self.revision = revision
        namespace = object.namespace ?? ""
        name = object.name ?? ""
        labels = object.labels.map { ($0.key, $0.value) }
        fields = (resource?.strategy.selectableFields ?? [:]).map { ($0.key, $0.value(object)) }
    }

    func label(_ key: String) -> String? { labels.first { $0.0 == key }?.1 }

    func field(_ path: String) -> String? {
        switch path {
        case "metadata.name": name
        case "metadata.namespace": namespace
        default: fields.first { $0.0 == path }?.1
        }
    }
}

enum WatchEventType: String, Sendable {
    case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
}

/// One change, with its watch-event line encoded once for every watcher that gets it as
/// is. Events kept in the window drop the line (it would double their memory); a replay
/// encodes it again.
struct CacheEvent: Sendable {
    let type: WatchEventType
    let object: CachedObject
    let prev: CachedObject?
    let line: [UInt8]?

    init(type: WatchEventType, object: CachedObject, prev: CachedObject?, line: [UInt8]? = nil) {
        self.type = type
        self.object = object
        self.prev = prev
        self.line = line
    }

    var withoutLine: CacheEvent { CacheEvent(type: type, object: object, prev: prev) }

    static func line(_ type: WatchEventType, _ objectBytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(objectBytes.count + 32)
        out += Array("{\"type\":\"\(type.rawValue)\",\"object\":".utf8)
        out += objectBytes
        out += Array("}\n".utf8)
        return out
    }
}

/// What a watcher receives: the event and the type it has for this watcher (a
/// modification that makes an object stop matching a selector is a DELETED for it).
struct WatchDelivery: Sendable {
    let type: WatchEventType
    let event: CacheEvent

    var line: [UInt8] {
        if type == event.type, let line = event.line { return line }
        return CacheEvent.line(type, event.object.bytes)
    }
}

/// Which objects a list or watch wants.
struct ObjectFilter: Sendable {
    var namespace: String?
    var labels: LabelSelector?
    var fields: FieldSelector?

    func matches(_ o: CachedObject) -> Bool {
        if let namespace, o.namespace != namespace { return false }
        if let labels, !labels.matches({ o.label($0) }) { return false }
        if let fields, !fields.matches({ o.field($0) }) { return false }
        return true
    }
}

/// The API server's watch cache, as kube-apiserver has: the current objects and a window
/// of recent events per resource, fed by one store watch over every key. Lists, gets and
/// watches are served from it; the store sees only writes and this one watch. Because
/// one watch carries every resource, the cache's revision is the store's, and a read can
/// wait for the cache to catch up with the latest write (consistent reads from cache).
actor WatchCache {
    struct Watcher {
        var filter: ObjectFilter
        var queue: WatchQueue
    }

    struct ResourceState {
        var objects: [String: CachedObject] = [:]
        var sortedKeys: [String]?
        var events: Deque<CacheEvent> = []
        /// The window holds every event of this resource with a revision above this.
        var windowStart: Int64 = 0
        var watchers: [Int: Watcher] = [:]
    }

    private let store: any Store
    private let registry: ResourceRegistry
    /// Objects the API handler wrote, already parsed, by revision (see `PreparedObjects`).
    nonisolated let prepared = PreparedObjects()
    private let logger = Logger(label: "skiff.watchcache")
    private let capacity: Int
    private var states: [String: ResourceState] = [:]
    private(set) var revision: Int64 = 0
    /// Every event after this revision has passed through the cache.
    private var loadedRevision: Int64 = 0
    private var waiters: [(Int64, CheckedContinuation<Void, Never>)] = []
    private var nextWatcherID = 0
    private var started = false
    private var closed = false

    init(store: any Store, registry: ResourceRegistry, capacity: Int = 10_000) {
        self.store = store
        self.registry = registry
        self.capacity = capacity
    }

    /// Loads every object, then follows the store until cancelled.
    func run() async throws {
        let (items, rev) = try await store.list(prefix: "/registry/", atRevision: nil)
        // Definitions first, so the custom resources they serve are known when loaded.
        for kv in items where kv.key.hasPrefix(Self.crdPrefix) {
            if let crd = try? JSON.parse(kv.value) { serveDefinition(crd) }
        }
        for kv in items {
            guard let resource = registry.resource(forKey: kv.key), let object = try? JSON.parse(kv.value) else { continue }
            states[resource.storagePrefix, default: ResourceState(windowStart: rev)].objects[kv.key] =
                CachedObject(key: kv.key, bytes: kv.value, revision: kv.modRevision, object: object, resource: resource)
        }
        revision = rev
        loadedRevision = rev
        started = true
        let stream = try await store.watch(prefix: "/registry/", afterRevision: rev)
        resumeWaiters()
        for await event in stream {
            ingest(event)
        }
        for s in states.values { for w in s.watchers.values { w.queue.finish() } }
    }

    private func ingest(_ e: WatchEvent) {
        defer {
            revision = e.revision
            resumeWaiters()
        }
        if e.kv.key.hasPrefix(Self.crdPrefix), let crd = try? JSON.parse(e.kv.value) {
            if e.type == .delete {
                withdrawDefinition(crd)
            } else {
                serveDefinition(crd)
            }
        }
        guard let resource = registry.resource(forKey: e.kv.key) else { return }
        var state = states[resource.storagePrefix] ?? ResourceState(windowStart: loadedRevision)
        states[resource.storagePrefix] = nil  // edit in place without copying the dictionaries
        defer { states[resource.storagePrefix] = state }

        let prev = state.objects[e.kv.key]
        let event: CacheEvent
        switch e.type {
        case .put:
            guard let object = prepared.take(revision: e.revision, key: e.kv.key) ?? (try? JSON.parse(e.kv.value)) else {
                logger.error("unparsable object in store", metadata: ["key": "\(e.kv.key)"])
                return
            }
            let cached = CachedObject(key: e.kv.key, bytes: e.kv.value, revision: e.revision, object: object, resource: resource)
            if prev == nil { state.sortedKeys = nil }
            state.objects[e.kv.key] = cached
            let type: WatchEventType = e.isCreate ? .added : .modified
            event = CacheEvent(type: type, object: cached, prev: prev, line: state.watchers.isEmpty ? nil : CacheEvent.line(type, cached.bytes))
        case .delete:
            // The deleted object carries the revision of its deletion, as upstream's DELETED events do.
            var object = (try? JSON.parse(e.kv.value)) ?? [:]
            object.resourceVersion = String(e.revision)
            let bytes = object.serialized()
            let cached = CachedObject(key: e.kv.key, bytes: bytes, revision: e.revision, object: object, resource: resource)
            state.objects[e.kv.key] = nil
            state.sortedKeys = nil
            event = CacheEvent(type: .deleted, object: cached, prev: prev, line: state.watchers.isEmpty ? nil : CacheEvent.line(.deleted, bytes))
        }
        state.events.append(event.withoutLine)
        if state.events.count > capacity, let dropped = state.events.popFirst() {
            state.windowStart = dropped.object.revision
        }
        for (id, w) in state.watchers {
            guard let type = deliveryType(event, w.filter) else { continue }
            if !w.queue.append(WatchDelivery(type: type, event: event)) { state.watchers[id] = nil }
        }
    }

    static let crdPrefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/"

    /// A stored CRD's resources become servable the moment the cache sees it.
    private func serveDefinition(_ crd: JSON) {
        guard let group = crd[path: ["spec", "group"]]?.stringValue, let plural = crd[path: ["spec", "names", "plural"]]?.stringValue else { return }
        registry.replace(group: group, resource: plural, with: CustomResources.resources(for: crd),
                         preferredVersion: CustomResources.preferredVersion(crd))
    }

    private func withdrawDefinition(_ crd: JSON) {
        guard let group = crd[path: ["spec", "group"]]?.stringValue, let plural = crd[path: ["spec", "names", "plural"]]?.stringValue else { return }
        registry.replace(group: group, resource: plural, with: [], preferredVersion: nil)
        states["/registry/\(group)/\(plural)/"] = nil
    }

    private func deliveryType(_ e: CacheEvent, _ f: ObjectFilter) -> WatchEventType? {
        switch e.type {
        case .deleted:
            return (e.prev.map(f.matches) ?? f.matches(e.object)) ? .deleted : nil
        default:
            let now = f.matches(e.object)
            let before = e.prev.map(f.matches) ?? false
            switch (before, now) {
            case (true, true): return .modified
            case (false, true): return .added
            case (true, false): return .deleted
            case (false, false): return nil
            }
        }
    }

    private func resumeWaiters() {
        guard started else { return }
        waiters.removeAll { (rev, c) in
            if rev <= revision {
                c.resume()
                return true
            }
            return false
        }
    }

    /// Returns once the cache has seen every write up to `revision`.
    func wait(for target: Int64) async {
        if started, target <= revision { return }
        await withCheckedContinuation { waiters.append((target, $0)) }
    }

    func get(_ resource: ResourceInfo, key: String) -> CachedObject? {
        states[resource.storagePrefix]?.objects[key]
    }

    /// The current objects matching `filter`, in key order, and the revision they are at.
    func list(_ resource: ResourceInfo, filter: ObjectFilter) -> (items: [CachedObject], revision: Int64) {
        guard var state = states[resource.storagePrefix] else { return ([], revision) }
        if state.sortedKeys == nil {
            state.sortedKeys = state.objects.keys.sorted()
            states[resource.storagePrefix] = state
        }
        let prefix = resource.prefix(namespace: filter.namespace)
        var items: [CachedObject] = []
        for key in state.sortedKeys ?? [] where key.hasPrefix(prefix) {
            if let o = state.objects[key], filter.matches(o) { items.append(o) }
        }
        return (items, revision)
    }

    /// Registers a watcher for events after `afterRevision` (nil: send the current objects
    /// as ADDED first). Throws Expired when that revision has left the window.
    func watch(_ resource: ResourceInfo, filter: ObjectFilter, afterRevision: Int64?) throws(APIError) -> WatchQueue {
        var state = states[resource.storagePrefix] ?? ResourceState(windowStart: loadedRevision)
        let queue = WatchQueue()
        if closed {
            queue.finish()
            return queue
        }
        if let after = afterRevision {
            if after < state.windowStart {
                throw .gone("too old resource version: \(after) (\(state.windowStart + 1))")
            }
            for e in state.events where e.object.revision > after {
                if let type = deliveryType(e, filter) { queue.append(WatchDelivery(type: type, event: e)) }
            }
        } else {
            let prefix = resource.prefix(namespace: filter.namespace)
            for (key, o) in state.objects where key.hasPrefix(prefix) && filter.matches(o) {
                queue.append(WatchDelivery(type: .added, event: CacheEvent(type: .added, object: o, prev: nil)))
            }
        }
        nextWatcherID += 1
        state.watchers[nextWatcherID] = Watcher(filter: filter, queue: queue)
        states[resource.storagePrefix] = state
        return queue
    }

    /// Stops all watch streams, and any opened later (server shutdown).
    func closeAll() {
        closed = true
        for key in states.keys {
            for w in states[key]?.watchers.values ?? [:].values { w.queue.finish() }
            states[key]?.watchers = [:]
        }
    }

    var watcherCount: Int { states.values.reduce(0) { $0 + $1.watchers.count } }
}

/// The handler writes an object it holds parsed; the cache would parse the stored bytes
/// again when the write comes back through the store's watch. The handler leaves the
/// parsed object here (from inside the store's commit, so before the event exists) and
/// the cache takes it instead of parsing.
final class PreparedObjects: Sendable {
    private let objects = Mutex<[Int64: (key: String, object: JSON)]>([:])

    func put(revision: Int64, key: String, object: JSON) {
        objects.withLock { $0[revision] = (key, object) }
    }

    /// The object written at `revision` under `key`; forgets any older ones (writes whose
    /// commit failed never come back).
    func take(revision: Int64, key: String) -> JSON? {
        objects.withLock { o in
            guard let entry = o.removeValue(forKey: revision) else { return nil }
            if o.count > 64 { o = o.filter { $0.key > revision } }
            return entry.key == key ? entry.object : nil
        }
    }
}

import Logging
import SkiffAPI
import SkiffCore
import Synchronization

/// An object's cache key, as client-go's MetaNamespaceKeyFunc: "namespace/name", or
/// "name" for cluster-scoped objects.
public func objectKey(_ o: JSON) -> String {
    if let ns = o.namespace, !ns.isEmpty { return "\(ns)/\(o.name ?? "")" }
    return o.name ?? ""
}

/// Splits a key back into namespace and name.
public func splitKey(_ key: String) -> (namespace: String?, name: String) {
    guard let slash = key.firstIndex(of: "/") else { return (nil, key) }
    return (String(key[..<slash]), String(key[key.index(after: slash)...]))
}

/// An informer's local copy of one resource, indexed by namespace and by any index a
/// controller adds (pods by node, objects by owner). Reads never touch the API.
public final class Indexer: Sendable {
    public typealias IndexFunc = @Sendable (JSON) -> [String]

    private struct State {
        var objects: [String: JSON] = [:]
        var indexFuncs: [String: IndexFunc] = [:]
        /// index name → index value → keys
        var indexes: [String: [String: Set<String>]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds an index; must be called before the informer starts.
    public func addIndex(_ name: String, _ f: @escaping IndexFunc) {
        state.withLock { $0.indexFuncs[name] = f }
    }

    public func get(_ key: String) -> JSON? { state.withLock { $0.objects[key] } }

    public func list(namespace: String? = nil) -> [JSON] {
        guard let namespace else { return state.withLock { Array($0.objects.values) } }
        return byIndex(Self.namespaceIndex, namespace)
    }

    public func byIndex(_ index: String, _ value: String) -> [JSON] {
        state.withLock { s in (s.indexes[index]?[value] ?? []).compactMap { s.objects[$0] } }
    }

    static let namespaceIndex = "namespace"

    /// Stores `object` under `key` (nil removes it) and returns what was there.
    @discardableResult
    func set(_ key: String, _ object: JSON?) -> JSON? {
        state.withLock { s in
            let old = s.objects[key]
            if let old { Self.unindex(&s, key, old) }
            s.objects[key] = object
            if let object { Self.index(&s, key, object) }
            return old
        }
    }

    public var keys: [String] { state.withLock { Array($0.objects.keys) } }

    private static func values(_ s: State, _ o: JSON) -> [(String, String)] {
        var out = [(namespaceIndex, o.namespace ?? "")]
        for (name, f) in s.indexFuncs { for v in f(o) { out.append((name, v)) } }
        return out
    }

    private static func index(_ s: inout State, _ key: String, _ o: JSON) {
        for (name, v) in values(s, o) { s.indexes[name, default: [:]][v, default: []].insert(key) }
    }

    private static func unindex(_ s: inout State, _ key: String, _ o: JSON) {
        for (name, v) in values(s, o) {
            s.indexes[name]?[v]?.remove(key)
            if s.indexes[name]?[v]?.isEmpty == true { s.indexes[name]?[v] = nil }
        }
    }
}

extension Indexer {
    /// Pods by spec.nodeName, which the scheduler and the node controllers look up.
    public static let podsByNode = "spec.nodeName"

    /// Adds the podsByNode index (several users may ask; it is one index).
    public func indexPodsByNode() {
        addIndex(Self.podsByNode) { p in p[path: ["spec", "nodeName"]]?.stringValue.map { [$0] } ?? [] }
    }

    /// Objects by the uid of their controller (the owner reference with controller=true);
    /// objects without one under "", so a controller finds orphans to adopt without a scan.
    public static let byController = "controller"

    public func indexByController() {
        addIndex(Self.byController) { o in
            [o.ownerReferences.first { $0["controller"]?.boolValue == true }?["uid"]?.stringValue ?? ""]
        }
    }
}

/// What an informer tells its handlers.
public enum InformerEvent: Sendable {
    case added(JSON)
    case updated(old: JSON, new: JSON)
    case deleted(JSON)
}

/// List, then watch, one resource, keeping an Indexer current and telling handlers of
/// every change, as client-go's informer: a watch that ends is resumed from the last
/// revision seen (bookmarks included), and only a 410 (revision compacted) lists again.
public final class Informer: Sendable {
    public let resource: Resource
    public let indexer = Indexer()
    let client: Client
    let namespace: String?
    let fieldSelector: String?
    private let handlers = Mutex<[@Sendable (InformerEvent) -> Void]>([])
    private let synced = Mutex(false)
    private let resyncPeriod = Mutex<Duration?>(nil)
    private let logger: Logger

    public init(client: Client, resource: Resource, namespace: String? = nil, fieldSelector: String? = nil) {
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.fieldSelector = fieldSelector
        logger = Logger(label: "skiff.informer.\(resource)")
    }

    /// Handlers run on the informer's task and must not block: they enqueue keys. A handler
    /// added after the cache filled is told of every cached object as added, as client-go
    /// does (the garbage collector adds its handlers after discovery, when the shared
    /// informers may long have synced).
    public func addHandler(_ handler: @escaping @Sendable (InformerEvent) -> Void) {
        let cached = handlers.withLock { hs -> [JSON] in
            hs.append(handler)
            return indexer.list()
        }
        for o in cached { handler(.added(o)) }
    }

    /// Every `period`, handlers are told of every cached object again (as an update to
    /// itself), as client-go's resync: a level-triggered controller repairs what it
    /// missed. Set before the informer runs.
    public func resync(every period: Duration) {
        resyncPeriod.withLock { $0 = period }
    }

    public var hasSynced: Bool { synced.withLock { $0 } }

    /// Returns once the first list is in the cache (or the task is cancelled).
    public func waitForSync() async {
        while !hasSynced, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
    }

    private func notify(_ e: InformerEvent) {
        for h in handlers.withLock({ $0 }) { h(e) }
    }

    /// Runs until the task is cancelled.
    public func run() async {
        guard let period = resyncPeriod.withLock({ $0 }) else { return await listAndWatch() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listAndWatch() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: period)
                    guard !Task.isCancelled else { break }
                    for key in self.indexer.keys { if let o = self.indexer.get(key) { self.notify(.updated(old: o, new: o)) } }
                }
            }
        }
    }

    private func listAndWatch() async {
        var resourceVersion: String?
        var failures = 0
        while !Task.isCancelled {
            do {
                if resourceVersion == nil { resourceVersion = try await relist() }
                let events = try await client.watch(resource, namespace: namespace, resourceVersion: resourceVersion ?? "",
                                                    fieldSelector: fieldSelector, timeoutSeconds: Int.random(in: 300...600))
                failures = 0
                for try await e in events {
                    if e.type == .error {
                        if e.object["code"]?.intValue == 410 { resourceVersion = nil }
                        break
                    }
                    if let rv = e.object.resourceVersion { resourceVersion = rv }
                    apply(e)
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if let e = error as? ClientError, e.isGone { resourceVersion = nil }
                logger.debug("list/watch failed; retrying", metadata: ["error": "\(error)"])
                // Back off 0.1 s doubling to 5 s, as the reflector does after errors.
                try? await Task.sleep(for: .milliseconds(min(5000, 100 << min(failures, 6))))
            }
        }
    }

    /// Lists everything and brings the cache to it, telling handlers what changed.
    private func relist() async throws -> String {
        var items: [JSON] = []
        var token: String?
        var rv = ""
        repeat {
            let page = try await client.list(resource, namespace: namespace, fieldSelector: fieldSelector, limit: 500, continue: token)
            items += page.items
            token = page.continueToken
            rv = page.resourceVersion
        } while token != nil
        var seen = Set<String>()
        for item in items {
            let o = Self.trimmed(item)
            let key = objectKey(o)
            seen.insert(key)
            if let old = indexer.set(key, o) {
                if old.resourceVersion != o.resourceVersion { notify(.updated(old: old, new: o)) }
            } else {
                notify(.added(o))
            }
        }
        for key in indexer.keys where !seen.contains(key) {
            if let old = indexer.set(key, nil) { notify(.deleted(old)) }
        }
        synced.withLock { $0 = true }
        return rv
    }

    /// Controllers never read managedFields, often the bulk of an object: like
    /// kube-controller-manager's informers, the cache drops them.
    static func trimmed(_ o: JSON) -> JSON {
        guard o[path: ["metadata", "managedFields"]] != nil else { return o }
        var o = o
        o[path: ["metadata", "managedFields"]] = nil
        return o
    }

    private func apply(_ e: WatchEvent) {
        let key = objectKey(e.object)
        let object = Self.trimmed(e.object)
        switch e.type {
        case .added, .modified:
            if let old = indexer.set(key, object) {
                notify(.updated(old: old, new: object))
            } else {
                notify(.added(object))
            }
        case .deleted:
            indexer.set(key, nil)
            notify(.deleted(e.object))
        case .bookmark, .error:
            break
        }
    }
}

/// One informer per resource, shared by every controller that watches it. Informers
/// asked for while the factory runs start at once (the garbage collector adds resources
/// as discovery finds them).
public final class InformerFactory: Sendable {
    public let client: Client
    private let informers = Mutex<[Resource: Informer]>([:])
    private let added: AsyncStream<Informer>
    private let addedContinuation: AsyncStream<Informer>.Continuation

    public init(client: Client) {
        self.client = client
        (added, addedContinuation) = AsyncStream.makeStream()
    }

    public func informer(_ r: Resource) -> Informer {
        let (informer, isNew) = informers.withLock { all -> (Informer, Bool) in
            if let i = all[r] { return (i, false) }
            let i = Informer(client: client, resource: r)
            all[r] = i
            return (i, true)
        }
        if isNew { addedContinuation.yield(informer) }
        return informer
    }

    /// Runs every informer, those asked for later included, until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            // Iterating ends when the task is cancelled.
            for await i in added { group.addTask { await i.run() } }
            group.cancelAll()
        }
    }

    public func waitForSync() async {
        for i in informers.withLock({ Array($0.values) }) { await i.waitForSync() }
    }
}

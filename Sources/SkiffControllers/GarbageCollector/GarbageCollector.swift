import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// Deletes objects whose owners are gone, as upstream's garbage collector: it watches
/// every resource that can be listed, watched and deleted, keeps a graph from owner uid
/// to dependents, and
/// - deletes a dependent once none of its owners exists any more (background deletion);
/// - for an owner deleted in the foreground (finalizer foregroundDeletion), deletes its
///   dependents and removes the finalizer once no dependent that blocks owner deletion
///   remains;
/// - for an owner deleted with orphaning (finalizer orphan), removes the owner from its
///   dependents' ownerReferences, then the finalizer.
public final class GarbageCollector: Controller {
    public let name = "garbagecollector"
    public let queue = WorkQueue(name: "garbagecollector")
    let client: Client
    let factory: InformerFactory
    let logger = Logger(label: "skiff.controller.garbagecollector")

    /// A node of the graph: where to find the object.
    struct Node: Hashable, Sendable {
        var resource: Resource
        var key: String
    }

    private struct Graph {
        var byUID: [String: Node] = [:]
        /// owner uid → dependents
        var dependents: [String: Set<Node>] = [:]
        /// dependent → the owner uids it points at (to unlink on change)
        var owners: [Node: [String]] = [:]
        /// "group/Kind" → resource, from discovery
        var kinds: [String: Resource] = [:]
        var resources: [Resource] = []
    }

    private let graph = Mutex(Graph())

    public init(factory: InformerFactory) {
        self.factory = factory
        client = factory.client
    }

    /// Queue items are "<resource index>|<key>" so a worker knows the informer to read.
    func item(_ node: Node) -> String {
        let index = graph.withLock { g in g.resources.firstIndex(of: node.resource) ?? -1 }
        return "\(index)|\(node.key)"
    }

    func node(_ item: String) -> Node? {
        guard let bar = item.firstIndex(of: "|"), let i = Int(item[..<bar]) else { return nil }
        let key = String(item[item.index(after: bar)...])
        return graph.withLock { g in i >= 0 && i < g.resources.count ? Node(resource: g.resources[i], key: key) : nil }
    }

    /// Finds the resources to watch, now and every 30 s (CRDs come and go), and starts
    /// informers for new ones. Runs until cancelled.
    public func discover() async {
        while !Task.isCancelled {
            do {
                let found = try await client.serverResources().filter { ["list", "watch", "delete"].allSatisfy($0.verbs.contains) }
                for (r, _) in found where r.plural != "events" {
                    let isNew = graph.withLock { g -> Bool in
                        g.kinds["\(r.group)/\(r.kind)"] = r
                        if g.resources.contains(r) { return false }
                        g.resources.append(r)
                        return true
                    }
                    if isNew {
                        factory.informer(r).addHandler { [weak self] e in self?.observe(r, e) }
                    }
                }
            } catch {
                logger.debug("discovery failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(30))
        }
    }

    func observe(_ r: Resource, _ e: InformerEvent) {
        switch e {
        case .added(let o), .updated(_, let o):
            let n = Node(resource: r, key: objectKey(o))
            let refs = o.ownerReferences.compactMap { $0["uid"]?.stringValue }
            let dangling = graph.withLock { g -> Bool in
                if let uid = o.uid { g.byUID[uid] = n }
                for old in g.owners[n] ?? [] { g.dependents[old]?.remove(n) }
                for uid in refs { g.dependents[uid, default: []].insert(n) }
                g.owners[n] = refs.isEmpty ? nil : refs
                return refs.contains { g.byUID[$0] == nil }
            }
            let finalizing = o.deletionTimestamp != nil && (o.finalizers.contains("foregroundDeletion") || o.finalizers.contains("orphan"))
            if dangling || finalizing { queue.add(item(n)) }
        case .deleted(let o):
            let n = Node(resource: r, key: objectKey(o))
            let (dependents, owners) = graph.withLock { g -> ([Node], [Node]) in
                if let uid = o.uid, g.byUID[uid] == n { g.byUID[uid] = nil }
                for old in g.owners[n] ?? [] { g.dependents[old]?.remove(n) }
                let owners = (g.owners[n] ?? []).compactMap { g.byUID[$0] }
                g.owners[n] = nil
                return (o.uid.map { Array(g.dependents[$0] ?? []) } ?? [], owners)
            }
            // Its dependents may have lost their last owner; its owners may be waiting
            // for it in a foreground deletion.
            for d in dependents + owners { queue.add(item(d)) }
        }
    }

    public func sync(key: String) async throws {
        guard let n = node(key), let o = factory.informer(n.resource).indexer.get(n.key) else { return }
        let (namespace, name) = splitKey(n.key)
        if o.deletionTimestamp != nil {
            if o.finalizers.contains("orphan") { try await orphanDependents(of: o) }
            if o.finalizers.contains("foregroundDeletion") { try await deleteDependentsInForeground(of: o) }
            return
        }
        let refs = o.ownerReferences
        guard !refs.isEmpty else { return }
        var absent: [String] = []
        for ref in refs {
            guard let uid = ref["uid"]?.stringValue else { continue }
            if try await !ownerExists(ref, uid: uid, dependentNamespace: namespace) { absent.append(uid) }
        }
        if absent.isEmpty { return }
        if absent.count == refs.count {
            logger.debug("deleting object whose owners are gone", metadata: ["object": "\(n.resource)/\(n.key)"])
            try await client.delete(n.resource, namespace: namespace, name, propagationPolicy: "Background", preconditionUID: o.uid, ignoreNotFound: true)
        } else {
            let kept = refs.filter { !absent.contains($0["uid"]?.stringValue ?? "") }
            try await patchOwnerReferences(n.resource, namespace: namespace, name, uid: o.uid, kept)
        }
    }

    /// Whether the owner exists with that uid: the graph knows most owners; others (not
    /// yet seen by an informer) are asked of the API, as upstream verifies before deleting.
    func ownerExists(_ ref: JSON, uid: String, dependentNamespace: String?) async throws -> Bool {
        if graph.withLock({ $0.byUID[uid] }) != nil { return true }
        let apiVersion = ref["apiVersion"]?.stringValue ?? ""
        let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
        guard let kind = ref["kind"]?.stringValue, let r = graph.withLock({ $0.kinds["\(group)/\(kind)"] }),
              let name = ref["name"]?.stringValue else { return true }  // unknown kinds are left alone
        do {
            let owner = try await client.get(r, namespace: r.namespaced ? dependentNamespace : nil, name)
            return owner.uid == uid
        } catch let e as ClientError where e.isNotFound {
            return false
        }
    }

    func dependents(of owner: JSON) -> [(Node, JSON)] {
        guard let uid = owner.uid else { return [] }
        let nodes = graph.withLock { Array($0.dependents[uid] ?? []) }
        return nodes.compactMap { n in factory.informer(n.resource).indexer.get(n.key).map { (n, $0) } }
    }

    func orphanDependents(of owner: JSON) async throws {
        for (n, d) in dependents(of: owner) {
            let (namespace, name) = splitKey(n.key)
            let kept = d.ownerReferences.filter { $0["uid"]?.stringValue != owner.uid }
            try await patchOwnerReferences(n.resource, namespace: namespace, name, uid: d.uid, kept)
        }
        try await removeFinalizer("orphan", from: owner)
    }

    func deleteDependentsInForeground(of owner: JSON) async throws {
        var blocking = 0
        for (n, d) in dependents(of: owner) {
            let ref = d.ownerReferences.first { $0["uid"]?.stringValue == owner.uid }
            if ref?["blockOwnerDeletion"]?.boolValue == true { blocking += 1 }
            if d.deletionTimestamp == nil {
                let (namespace, name) = splitKey(n.key)
                try await client.delete(n.resource, namespace: namespace, name, propagationPolicy: "Foreground", preconditionUID: d.uid, ignoreNotFound: true)
            }
        }
        // Deleted dependents requeue the owner as they go.
        if blocking == 0 { try await removeFinalizer("foregroundDeletion", from: owner) }
    }

    func patchOwnerReferences(_ r: Resource, namespace: String?, _ name: String, uid: String?, _ refs: [JSON]) async throws {
        let patch: JSON = ["metadata": ["ownerReferences": refs.isEmpty ? .null : .array(refs), "uid": .string(uid ?? "")]]
        do {
            try await client.patch(r, namespace: namespace, name, merge: patch)
        } catch let e as ClientError where e.isNotFound || e.isConflict {}
    }

    func removeFinalizer(_ finalizer: String, from o: JSON) async throws {
        guard let r = graph.withLock({ $0.byUID[o.uid ?? ""]?.resource }) else { return }
        let rest = o.finalizers.filter { $0 != finalizer }
        let patch: JSON = ["metadata": ["finalizers": rest.isEmpty ? .null : .array(rest.map { .string($0) }),
                                        "resourceVersion": .string(o.resourceVersion ?? "")]]
        do {
            try await client.patch(r, namespace: o.namespace, o.name ?? "", merge: patch)
        } catch let e as ClientError where e.isNotFound {}
    }
}

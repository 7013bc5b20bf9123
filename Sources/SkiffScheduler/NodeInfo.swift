import SkiffAPI
import SkiffCore

/// A node as the scheduler sees it: what it offers and what its pods (bound or assumed)
/// already ask for. Its fields live in one copy-on-write box: a cycle copies NodeInfos
/// by the hundred (filtering, scoring, snapshots), and a copy is then one retain rather
/// than one per field.
public struct NodeInfo: Sendable {
    struct Fields {
        var node: JSON
        var name: String
        var allocatable = Resources()
        var requested = Resources()
        var nonZeroRequested = Resources()
        var pods: [String: PodInfo] = [:]
        var usedPorts: [HostPort] = []
        var labels: [String: String] = [:]
        var taints: [JSON] = []
        var unschedulable = false
        /// node.status.images: each name the image is known by → its size in bytes.
        var imageSizes: [String: Int64] = [:]
    }

    /// Mutated only through `fields` below, which copies it first unless unshared.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private var fields: Fields {
        get { box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    public var node: JSON { box.fields.node }
    public var name: String { box.fields.name }
    public var allocatable: Resources { box.fields.allocatable }
    public var requested: Resources { box.fields.requested }
    public var nonZeroRequested: Resources { box.fields.nonZeroRequested }
    public var pods: [String: PodInfo] { box.fields.pods }
    public var usedPorts: [HostPort] { box.fields.usedPorts }
    public var labels: [String: String] { box.fields.labels }
    public var taints: [JSON] { box.fields.taints }
    public var unschedulable: Bool { box.fields.unschedulable }
    public var imageSizes: [String: Int64] { box.fields.imageSizes }

    public init(_ node: JSON) {
        box = Box(Fields(node: node, name: node.name ?? ""))
        update(node)
    }

    mutating func update(_ node: JSON) {
        fields.node = node
        fields.allocatable = Resources()
        fields.allocatable.add(node[path: ["status", "allocatable"]])
        fields.labels = node.labels
        fields.taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
        fields.unschedulable = node[path: ["spec", "unschedulable"]]?.boolValue == true
        var images: [String: Int64] = [:]
        for image in node[path: ["status", "images"]]?.arrayValue ?? [] {
            let size = image["sizeBytes"]?.int64Value ?? 0
            for name in image["names"]?.arrayValue ?? [] { if let n = name.stringValue { images[n] = size } }
        }
        fields.imageSizes = images
    }

    mutating func add(_ p: PodInfo) {
        if let old = pods[p.key] { remove(old) }
        fields.pods[p.key] = p
        fields.requested.add(p.requests)
        fields.requested.pods += 1
        fields.nonZeroRequested.add(p.nonZeroRequests)
        fields.usedPorts += p.hostPorts
    }

    mutating func remove(_ p: PodInfo) {
        guard let old = fields.pods.removeValue(forKey: p.key) else { return }
        fields.requested.subtract(old.requests)
        fields.requested.pods -= 1
        fields.nonZeroRequested.subtract(old.nonZeroRequests)
        for port in old.hostPorts {
            if let i = fields.usedPorts.firstIndex(of: port) { fields.usedPorts.remove(at: i) }
        }
    }
}

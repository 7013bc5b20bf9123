import SkiffAPI
import SkiffCore

/// A node as the scheduler sees it: what it offers and what its pods (bound or assumed)
/// already ask for.
public struct NodeInfo: Sendable {
    public var node: JSON
    public var name: String
    public var allocatable = Resources()
    public var requested = Resources()
    public var nonZeroRequested = Resources()
    public var pods: [String: PodInfo] = [:]
    public var usedPorts: [HostPort] = []
    public var labels: [String: String]
    public var taints: [JSON]
    public var unschedulable: Bool
    /// node.status.images: each name the image is known by → its size in bytes.
    public var imageSizes: [String: Int64]

    public init(_ node: JSON) {
        self.node = node
        name = node.name ?? ""
        labels = [:]
        taints = []
        unschedulable = false
        imageSizes = [:]
        update(node)
    }

    mutating func update(_ node: JSON) {
        self.node = node
        allocatable = Resources()
        allocatable.add(node[path: ["status", "allocatable"]])
        labels = node.labels
        taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
        unschedulable = node[path: ["spec", "unschedulable"]]?.boolValue == true
        imageSizes = [:]
        for image in node[path: ["status", "images"]]?.arrayValue ?? [] {
            let size = image["sizeBytes"]?.int64Value ?? 0
            for name in image["names"]?.arrayValue ?? [] { if let n = name.stringValue { imageSizes[n] = size } }
        }
    }

    mutating func add(_ p: PodInfo) {
        if let old = pods[p.key] { remove(old) }
        pods[p.key] = p
        requested.add(p.requests)
        requested.pods += 1
        nonZeroRequested.add(p.nonZeroRequests)
        usedPorts += p.hostPorts
    }

    mutating func remove(_ p: PodInfo) {
        guard let old = pods.removeValue(forKey: p.key) else { return }
        requested.subtract(old.requests)
        requested.pods -= 1
        nonZeroRequested.subtract(old.nonZeroRequests)
        for port in old.hostPorts {
            if let i = usedPorts.firstIndex(of: port) { usedPorts.remove(at: i) }
        }
    }
}


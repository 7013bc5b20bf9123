import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// Gives each node a pod range (spec.podCIDR) carved from the cluster CIDR, as upstream's
/// node IPAM range allocator: the ranges in use are read back from the nodes themselves,
/// a range is reserved in memory before it is written so two workers never hand out the
/// same one, and a deleted node's range becomes free again.
public final class NodeIPAMController: Controller {
    public let name = "nodeipam"
    public let queue = WorkQueue(name: "nodeipam")
    let client: Client
    let events: EventRecorder
    let nodes: Informer
    let clusterCIDR: IPv4CIDR
    let maskSize: Int
    /// Subnet indexes taken, by node name.
    let allocated = Mutex<[String: Int]>([:])

    public init(factory: InformerFactory, clusterCIDR: IPv4CIDR, nodeMaskSize: Int = 24) {
        client = factory.client
        events = EventRecorder(client: factory.client, component: "cidrAllocator")
        nodes = factory.informer(.nodes)
        self.clusterCIDR = clusterCIDR
        maskSize = max(nodeMaskSize, clusterCIDR.prefixLength)
        nodes.addHandler { [weak self] e in
            switch e {
            case .added(let n), .updated(_, let n): self?.observe(n)
            case .deleted(let n): self?.allocated.withLock { _ = $0.removeValue(forKey: n.name ?? "") }
            }
        }
    }

    /// A node with a range marks it taken; one without is queued for a range.
    func observe(_ node: JSON) {
        let name = node.name ?? ""
        if let cidr = node[path: ["spec", "podCIDR"]]?.stringValue, let index = index(of: cidr) {
            allocated.withLock { $0[name] = index }
        } else {
            queue.add(name)
        }
    }

    func index(of cidr: String) -> Int? {
        guard let network = IPv4CIDR(cidr), network.prefixLength == maskSize, clusterCIDR.contains(network.base) else { return nil }
        return Int((network.base - clusterCIDR.base) >> UInt32(32 - maskSize))
    }

    public func sync(key: String) async throws {
        guard let node = nodes.indexer.get(key), (node[path: ["spec", "podCIDR"]]?.stringValue ?? "").isEmpty else { return }
        let count = 1 << (maskSize - clusterCIDR.prefixLength)
        let index = allocated.withLock { taken -> Int? in
            if let mine = taken[key] { return mine }
            let used = Set(taken.values)
            guard let free = (0..<count).first(where: { !used.contains($0) }) else { return nil }
            taken[key] = free
            return free
        }
        guard let index, let range = clusterCIDR.subnet(index, prefixLength: maskSize) else {
            events.event(node, .nodes, type: "Normal", reason: "CIDRNotAvailable", message: "Node \(key) status is now: CIDRNotAvailable")
            throw ClientError(code: 0, reason: "CIDRNotAvailable", message: "node \(key): no pod range left in \(clusterCIDR)")
        }
        do {
            try await client.patch(.nodes, key, merge: ["spec": ["podCIDR": .string(range.description), "podCIDRs": [.string(range.description)]]])
        } catch let e as ClientError where e.isNotFound {
            allocated.withLock { _ = $0.removeValue(forKey: key) }
        }
    }
}

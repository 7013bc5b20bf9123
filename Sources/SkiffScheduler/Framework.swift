import SkiffAPI
import SkiffCore

/// A plugin's verdict, as upstream's framework.Status: plugins return one, never throw.
public struct Status: Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        case success
        /// Does not fit now; may fit after the cluster changes (or by preemption).
        case unschedulable
        /// Cannot fit on this node whatever is evicted (node selector, taints).
        case unresolvable
        case error
    }

    public var code: Code
    public var reasons: [String]

    public static let success = Status(code: .success, reasons: [])
    public static func unschedulable(_ reasons: String...) -> Status { Status(code: .unschedulable, reasons: reasons) }
    public static func unresolvable(_ reasons: String...) -> Status { Status(code: .unresolvable, reasons: reasons) }

    public var isSuccess: Bool { code == .success }
}

/// The resources a pod asks for, as the scheduler counts them.
public struct Resources: Sendable, Equatable {
    public var milliCPU: Int64 = 0
    public var memory: Int64 = 0
    public var ephemeralStorage: Int64 = 0
    public var pods: Int64 = 0
    /// Extended resources (example.com/gpu) by name.
    public var scalar: [String: Int64] = [:]

    public init() {}

    mutating func add(_ list: JSON?) {
        for (name, value) in list?.objectValue ?? JSONObject() {
            guard let q = try? Quantity(json: value) else { continue }
            switch name {
            case "cpu": milliCPU += q.milliValue
            case "memory": memory += q.value
            case "ephemeral-storage": ephemeralStorage += q.value
            case "pods": pods += q.value
            default: if name.contains("/") || name.hasPrefix("hugepages-") { scalar[name, default: 0] += q.value }
            }
        }
    }

    mutating func add(_ r: Resources) {
        milliCPU += r.milliCPU
        memory += r.memory
        ephemeralStorage += r.ephemeralStorage
        pods += r.pods
        for (k, v) in r.scalar { scalar[k, default: 0] += v }
    }

    mutating func subtract(_ r: Resources) {
        milliCPU -= r.milliCPU
        memory -= r.memory
        ephemeralStorage -= r.ephemeralStorage
        pods -= r.pods
        for (k, v) in r.scalar { scalar[k, default: 0] -= v }
    }

    func max(_ r: Resources) -> Resources {
        var out = self
        out.milliCPU = Swift.max(milliCPU, r.milliCPU)
        out.memory = Swift.max(memory, r.memory)
        out.ephemeralStorage = Swift.max(ephemeralStorage, r.ephemeralStorage)
        for (k, v) in r.scalar { out.scalar[k] = Swift.max(out.scalar[k] ?? 0, v) }
        return out
    }
}

/// What the scheduler keeps of a pod: computed once, used on every node.
public struct PodInfo: Sendable {
    public let pod: JSON
    public let key: String
    /// Requests as upstream computes them: the larger of the containers' sum and each
    /// init container, plus the pod overhead.
    public let requests: Resources
    /// The same with upstream's non-zero defaults (100m CPU, 200 MiB) for scoring.
    public let nonZeroRequests: Resources
    /// hostPorts the pod's containers claim: (protocol, hostIP, port).
    public let hostPorts: [HostPort]
    public let priority: Int64
    /// What the filters read, taken out of the JSON once rather than on every node.
    public let nodeName: String?
    public let nodeSelector: [String: String]
    public let requiredNodeTerms: [JSON]?
    public let preferredNodeTerms: [JSON]
    public let tolerations: [JSON]

    public init(_ pod: JSON) {
        self.pod = pod
        key = "\(pod.namespace ?? "")/\(pod.name ?? "")"
        var sum = Resources(), nonZero = Resources()
        let containers = pod[path: ["spec", "containers"]]?.arrayValue ?? []
        for c in containers {
            var r = Resources()
            r.add(c[path: ["resources", "requests"]])
            sum.add(r)
            var nz = r
            if c[path: ["resources", "requests", "cpu"]] == nil { nz.milliCPU = 100 }
            if c[path: ["resources", "requests", "memory"]] == nil { nz.memory = 200 << 20 }
            nonZero.add(nz)
        }
        var initMax = Resources()
        for c in pod[path: ["spec", "initContainers"]]?.arrayValue ?? [] {
            var r = Resources()
            r.add(c[path: ["resources", "requests"]])
            initMax = initMax.max(r)
        }
        var requests = sum.max(initMax)
        requests.add(pod[path: ["spec", "overhead"]])
        self.requests = requests
        nonZeroRequests = nonZero.max(initMax)
        hostPorts = containers.flatMap { c in
            (c["ports"]?.arrayValue ?? []).compactMap { p -> HostPort? in
                guard let port = p["hostPort"]?.int64Value, port > 0 else { return nil }
                return HostPort(protocol: p["protocol"]?.stringValue ?? "TCP", ip: p["hostIP"]?.stringValue ?? "0.0.0.0", port: port)
            }
        }
        priority = pod[path: ["spec", "priority"]]?.int64Value ?? 0
        nodeName = pod[path: ["spec", "nodeName"]]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        nodeSelector = stringMap(pod[path: ["spec", "nodeSelector"]])
        let nodeAffinity = pod[path: ["spec", "affinity", "nodeAffinity"]]
        requiredNodeTerms = nodeAffinity?[path: ["requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]]?.arrayValue
        preferredNodeTerms = nodeAffinity?["preferredDuringSchedulingIgnoredDuringExecution"]?.arrayValue ?? []
        tolerations = pod[path: ["spec", "tolerations"]]?.arrayValue ?? []
    }
}

public struct HostPort: Sendable, Hashable {
    public var `protocol`: String
    public var ip: String
    public var port: Int64

    /// Two claims conflict on the same protocol and port when either IP is the wildcard.
    func conflicts(_ o: HostPort) -> Bool {
        `protocol` == o.protocol && port == o.port && (ip == o.ip || ip == "0.0.0.0" || o.ip == "0.0.0.0")
    }
}

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

    public init(_ node: JSON) {
        self.node = node
        name = node.name ?? ""
        allocatable.add(node[path: ["status", "allocatable"]])
        labels = node.labels
        taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
        unschedulable = node[path: ["spec", "unschedulable"]]?.boolValue == true
    }

    mutating func update(_ node: JSON) {
        self.node = node
        allocatable = Resources()
        allocatable.add(node[path: ["status", "allocatable"]])
        labels = node.labels
        taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
        unschedulable = node[path: ["spec", "unschedulable"]]?.boolValue == true
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

/// Filter plugins decide whether a pod may run on a node; they see only the pod and a
/// snapshot of the node, so nodes are filtered in parallel.
public protocol FilterPlugin: Sendable {
    var name: String { get }
    func filter(_ pod: PodInfo, _ node: NodeInfo) -> Status
}

/// Score plugins rank the nodes that passed; scores are 0...100 after normalizing.
public protocol ScorePlugin: Sendable {
    var name: String { get }
    var weight: Int64 { get }
    func score(_ pod: PodInfo, _ node: NodeInfo) -> Int64
    /// Rescales raw scores to 0...100 (default: they already are).
    func normalize(_ scores: inout [Int64])
}

extension ScorePlugin {
    public func normalize(_ scores: inout [Int64]) {}
}

import SkiffAPI
import SkiffCore

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
    public let namespace: String
    public let labels: [String: String]
    /// Pod (anti-)affinity terms, parsed once: the scheduler matches them against every
    /// incoming pod while this pod runs.
    public let requiredAffinityTerms: [AffinityTerm]
    public let requiredAntiAffinityTerms: [AffinityTerm]
    public let preferredAffinityTerms: [AffinityTerm]
    public let preferredAntiAffinityTerms: [AffinityTerm]
    /// Container and init container images, as ImageLocality normalizes them.
    public let images: [String]
    /// Being deleted: PodTopologySpread does not count it.
    public let isTerminating: Bool
    /// status.startTime (RFC 3339), by which preemption orders equal-priority victims.
    public let startTime: String?

    public var hasPodAffinity: Bool {
        !(requiredAffinityTerms.isEmpty && requiredAntiAffinityTerms.isEmpty && preferredAffinityTerms.isEmpty && preferredAntiAffinityTerms.isEmpty)
    }

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
        let namespace = pod.namespace ?? ""
        let labels = pod.labels
        self.namespace = namespace
        self.labels = labels
        let affinity = pod[path: ["spec", "affinity", "podAffinity"]]
        let anti = pod[path: ["spec", "affinity", "podAntiAffinity"]]
        func terms(_ list: JSON?, weighted: Bool) -> [AffinityTerm] {
            (list?.arrayValue ?? []).compactMap { item in
                weighted ? AffinityTerm(item["podAffinityTerm"], weight: item["weight"]?.int64Value ?? 0, namespace: namespace, labels: labels)
                    : AffinityTerm(item, weight: 1, namespace: namespace, labels: labels)
            }
        }
        requiredAffinityTerms = terms(affinity?["requiredDuringSchedulingIgnoredDuringExecution"], weighted: false)
        preferredAffinityTerms = terms(affinity?["preferredDuringSchedulingIgnoredDuringExecution"], weighted: true)
        requiredAntiAffinityTerms = terms(anti?["requiredDuringSchedulingIgnoredDuringExecution"], weighted: false)
        preferredAntiAffinityTerms = terms(anti?["preferredDuringSchedulingIgnoredDuringExecution"], weighted: true)
        images = ((pod[path: ["spec", "initContainers"]]?.arrayValue ?? []) + containers).compactMap { $0["image"]?.stringValue }.map(ImageLocality.normalized)
        isTerminating = pod.deletionTimestamp != nil
        startTime = pod[path: ["status", "startTime"]]?.stringValue
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


/// One pod (anti-)affinity term with its namespaces resolved as upstream does: none listed
/// and no namespaceSelector means the owning pod's own namespace; matchLabelKeys and
/// mismatchLabelKeys are folded into the selector with the owning pod's label values.
public struct AffinityTerm: Sendable, Hashable {
    public let namespaces: Set<String>
    /// nil: no namespaceSelector (matches no namespace by labels).
    public let namespaceSelector: LabelSelector?
    public let selector: LabelSelector
    public let topologyKey: String
    public let weight: Int64
    /// The selectors' text, rendered once: terms are hashed on every lookup.
    private let selectorText: String
    private let namespaceSelectorText: String?

    init?(_ term: JSON?, weight: Int64, namespace: String, labels: [String: String]) {
        guard var term, let key = term["topologyKey"]?.stringValue, !key.isEmpty else { return nil }
        if term["labelSelector"]?.objectValue != nil {
            var extra: [JSON] = []
            for k in term["matchLabelKeys"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                if let v = labels[k] { extra.append(["key": .string(k), "operator": "In", "values": [.string(v)]]) }
            }
            for k in term["mismatchLabelKeys"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                if let v = labels[k] { extra.append(["key": .string(k), "operator": "NotIn", "values": [.string(v)]]) }
            }
            if !extra.isEmpty {
                term[path: ["labelSelector", "matchExpressions"]] = .array((term[path: ["labelSelector", "matchExpressions"]]?.arrayValue ?? []) + extra)
            }
        }
        guard let selector = try? LabelSelector(term["labelSelector"]) else { return nil }
        let listed = Set(term["namespaces"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let nsSelector = term["namespaceSelector"].flatMap { $0.isNull ? nil : try? LabelSelector($0) }
        self.init(namespaces: listed.isEmpty && nsSelector == nil ? [namespace] : listed, namespaceSelector: nsSelector,
                  selector: selector, topologyKey: key, weight: weight)
    }

    public init(namespaces: Set<String>, namespaceSelector: LabelSelector?, selector: LabelSelector, topologyKey: String, weight: Int64 = 1) {
        self.namespaces = namespaces
        self.namespaceSelector = namespaceSelector
        self.selector = selector
        self.topologyKey = topologyKey
        self.weight = weight
        selectorText = Self.text(selector)
        namespaceSelectorText = namespaceSelector.map(Self.text)
    }

    /// AffinityTerm.Matches: the pod is in one of the term's namespaces (by name or by
    /// its namespace's labels) and its labels match.
    public func matches(_ pod: PodInfo, namespaceLabels: [String: String]) -> Bool {
        (namespaces.contains(pod.namespace) || namespaceSelector?.matches(namespaceLabels) == true) && selector.matches(pod.labels)
    }

    public static func == (a: AffinityTerm, b: AffinityTerm) -> Bool {
        a.selectorText == b.selectorText && a.namespaces == b.namespaces && a.namespaceSelectorText == b.namespaceSelectorText && a.topologyKey == b.topologyKey
    }

    /// Identity without the weight: terms that differ only in weight share counts.
    public func hash(into h: inout Hasher) {
        h.combine(namespaces)
        h.combine(namespaceSelectorText)
        h.combine(selectorText)
        h.combine(topologyKey)
    }

    static func text(_ s: LabelSelector) -> String { s.requirements.isEmpty && !s.isEmpty ? "<nothing>" : s.description }
}

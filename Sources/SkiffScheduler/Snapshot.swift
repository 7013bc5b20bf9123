import SkiffAPI
import SkiffCore

/// The scheduler's view of the cluster: the nodes in one array (a cycle takes it as its
/// snapshot, a copy only if an event changes a node meanwhile) with an index by name, and
/// the aggregates plugins read instead of scanning every pod: existing pods' affinity
/// terms, pods by label, nodes per label value, nodes per image.
public struct Snapshot: Sendable {
    public private(set) var nodes: [NodeInfo] = []
    private var positions: [String: Int] = [:]
    /// label key → value → nodes with it: PodTopologySpread's domains.
    public private(set) var labelValues: [String: [String: Int]] = [:]
    /// label key → nodes that have it.
    public private(set) var nodesWithLabel: [String: Int] = [:]
    /// Normalized image name → nodes that have it (ImageLocality's spread).
    public private(set) var imageNodes: [String: Int] = [:]
    public private(set) var namespaceLabels: [String: [String: String]] = [:]
    /// Existing pods' required anti-affinity terms (the symmetric rule).
    public private(set) var antiAffinityTerms = TermCounts()
    /// Existing pods' terms that score incoming pods: required affinity at
    /// hardPodAffinityWeight, preferred affinity (+weight) and anti-affinity (-weight).
    public private(set) var scoringTerms = TermCounts()
    /// "key=value" → pod key → node name: the candidates for a selector requiring a label.
    private var podsByLabel: [String: [String: String]] = [:]
    public let matchCounts = MatchCountCache()
    /// The cache generation this snapshot reflects.
    private var generation = 0

    public init() {}

    static let empty = Snapshot()

    public subscript(name: String) -> NodeInfo? { positions[name].map { nodes[$0] } }

    public func index(of name: String) -> Int? { positions[name] }

    // MARK: - Nodes

    public mutating func setNode(_ node: JSON) {
        let name = node.name ?? ""
        guard let i = positions[name] else {
            positions[name] = nodes.count
            nodes.append(NodeInfo(node))
            countLabels(nodes[nodes.count - 1], 1)
            return
        }
        let old = nodes[i]
        countLabels(old, -1)
        if old.labels != node.labels {
            // Pods' terms are filed under their node's labels: file them again.
            for p in old.pods.values { countTerms(p, nodeLabels: old.labels, -1) }
            nodes[i].update(node)
            for p in old.pods.values { countTerms(p, nodeLabels: nodes[i].labels, 1) }
            generation = matchCounts.clear()
        } else {
            nodes[i].update(node)
        }
        countLabels(nodes[i], 1)
    }

    public mutating func removeNode(_ name: String) {
        guard let i = positions[name] else { return }
        for p in nodes[i].pods.values { removePod(p, from: name) }
        countLabels(nodes[i], -1)
        positions[name] = nil
        nodes.remove(at: i)
        for j in i..<nodes.count { positions[nodes[j].name] = j }
    }

    private mutating func countLabels(_ n: NodeInfo, _ delta: Int) {
        for (k, v) in n.labels {
            nodesWithLabel[k, default: 0] += delta
            if nodesWithLabel[k] == 0 { nodesWithLabel[k] = nil }
            labelValues[k, default: [:]][v, default: 0] += delta
            if labelValues[k]?[v] == 0 { labelValues[k]?[v] = nil }
            if labelValues[k]?.isEmpty == true { labelValues[k] = nil }
        }
        for image in Set(n.imageSizes.keys) {
            imageNodes[image, default: 0] += delta
            if imageNodes[image] == 0 { imageNodes[image] = nil }
        }
    }

    // MARK: - Pods

    /// Places a pod (bound or assumed) on a node, replacing an older copy of it.
    public mutating func addPod(_ p: PodInfo, to nodeName: String) {
        guard let i = positions[nodeName] else { return }
        if nodes[i].pods[p.key] != nil { removePod(p, from: nodeName) }
        nodes[i].add(p)
        for label in labelKeys(p.labels).dropLast() { podsByLabel[label, default: [:]][p.key] = nodeName }
        countTerms(p, nodeLabels: nodes[i].labels, 1)
        generation = matchCounts.apply(p, nodeLabels: nodes[i].labels, 1)
    }

    public mutating func removePod(_ p: PodInfo, from nodeName: String) {
        guard let i = positions[nodeName], let old = nodes[i].pods[p.key] else { return }
        nodes[i].remove(old)
        for label in labelKeys(old.labels).dropLast() {
            podsByLabel[label]?[old.key] = nil
            if podsByLabel[label]?.isEmpty == true { podsByLabel[label] = nil }
        }
        countTerms(old, nodeLabels: nodes[i].labels, -1)
        generation = matchCounts.apply(old, nodeLabels: nodes[i].labels, -1)
    }

    private mutating func countTerms(_ p: PodInfo, nodeLabels: [String: String], _ sign: Int64) {
        guard p.hasPodAffinity else { return }
        for t in p.requiredAntiAffinityTerms { if let v = nodeLabels[t.topologyKey] { antiAffinityTerms.add(t, value: v, weight: sign) } }
        let weighted = p.requiredAffinityTerms.map { ($0, InterPodAffinity.hardPodAffinityWeight) }
            + p.preferredAffinityTerms.map { ($0, $0.weight) } + p.preferredAntiAffinityTerms.map { ($0, -$0.weight) }
        for (t, w) in weighted { if let v = nodeLabels[t.topologyKey] { scoringTerms.add(t, value: v, weight: sign * w) } }
    }

    // MARK: - Namespaces

    public mutating func setNamespace(_ name: String, labels: [String: String]?) {
        namespaceLabels[name] = labels
    }

    /// The namespaces a term applies to: those it names plus those its namespaceSelector
    /// matches; nil means every namespace (an empty selector).
    public func namespaces(of term: AffinityTerm) -> Set<String>? {
        guard let selector = term.namespaceSelector else { return term.namespaces }
        if selector.isEmpty { return nil }
        return term.namespaces.union(namespaceLabels.filter { selector.matches($0.value) }.keys)
    }

    // MARK: - Counting

    /// Pods matching the query, by value of its topology key on their nodes.
    public func counts(_ q: MatchCountCache.Query) -> [String: Int] {
        if let cached = matchCounts.lookup(q) { return cached }
        var counts: [String: Int] = [:]
        func count(_ p: PodInfo, _ node: NodeInfo) {
            if q.matches(p), let v = node.labels[q.topologyKey] { counts[v, default: 0] += 1 }
        }
        let label = requiredLabel(q.selector)
        if label.isEmpty {
            for n in nodes where n.labels[q.topologyKey] != nil { for p in n.pods.values { count(p, n) } }
        } else {
            for (key, nodeName) in podsByLabel[label] ?? [:] {
                if let n = self[nodeName], let p = n.pods[key] { count(p, n) }
            }
        }
        matchCounts.store(q, counts, generation: generation)
        return counts
    }
}

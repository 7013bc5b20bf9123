import Foundation
import SkiffAPI
import SkiffCore

/// topologySpreadConstraints: DoNotSchedule constraints filter nodes whose domain would
/// exceed maxSkew over the least loaded domain; ScheduleAnyway ones (and the cluster
/// defaults for pods without constraints of their own) score emptier domains higher.
struct PodTopologySpread: PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
    let name = "PodTopologySpread"
    let weight: Int64 = 2
    /// The objects that may select a pod in a namespace, for the default constraints.
    let workloads: @Sendable (_ namespace: String) -> Workloads

    static let reason = "node(s) didn't match pod topology spread constraints"
    static let missingLabelReason = "node(s) didn't match pod topology spread constraints (missing required label)"
    static let hostname = "kubernetes.io/hostname"
    static let zone = "topology.kubernetes.io/zone"

    struct Workloads: Sendable {
        var services: [JSON] = []
        var replicationControllers: [JSON] = []
        var replicaSets: [JSON] = []
        var statefulSets: [JSON] = []
    }

    struct Constraint: Sendable {
        var maxSkew: Int
        var topologyKey: String
        var doNotSchedule: Bool
        var selector: LabelSelector
        var minDomains: Int
        var honorNodeAffinity: Bool
        var honorNodeTaints: Bool
    }

    /// The pod's constraints, with matchLabelKeys folded into the selector.
    static func constraints(_ pod: PodInfo) -> [Constraint] {
        (pod.pod[path: ["spec", "topologySpreadConstraints"]]?.arrayValue ?? []).compactMap { c in
            guard let key = c["topologyKey"]?.stringValue else { return nil }
            var selector = c["labelSelector"]
            if selector?.objectValue != nil {
                let extra: [JSON] = (c["matchLabelKeys"]?.arrayValue ?? []).compactMap { k in
                    guard let k = k.stringValue, let v = pod.labels[k] else { return nil }
                    return ["key": .string(k), "operator": "In", "values": [.string(v)]]
                }
                let existing = selector?["matchExpressions"]?.arrayValue ?? []
                if !extra.isEmpty { selector?["matchExpressions"] = .array(existing + extra) }
            }
            return Constraint(maxSkew: Int(c["maxSkew"]?.int64Value ?? 1), topologyKey: key,
                              doNotSchedule: (c["whenUnsatisfiable"]?.stringValue ?? "DoNotSchedule") == "DoNotSchedule",
                              selector: (try? LabelSelector(selector)) ?? .nothing, minDomains: Int(c["minDomains"]?.int64Value ?? 1),
                              honorNodeAffinity: (c["nodeAffinityPolicy"]?.stringValue ?? "Honor") == "Honor",
                              honorNodeTaints: c["nodeTaintsPolicy"]?.stringValue == "Honor")
        }
    }

    /// Upstream's system defaults, for pods without constraints of their own: spread over
    /// zones (maxSkew 5) and hosts (maxSkew 3), scoring only, among the pods selected by
    /// the same Services, ReplicationControllers, ReplicaSets and StatefulSets.
    func defaultConstraints(_ pod: PodInfo) -> [Constraint] {
        let selector = Self.defaultSelector(pod, workloads(pod.namespace))
        if selector.requirements.isEmpty { return [] }
        return [(Self.zone, 5), (Self.hostname, 3)].map { key, skew in
            Constraint(maxSkew: skew, topologyKey: key, doNotSchedule: false, selector: selector, minDomains: 1, honorNodeAffinity: true, honorNodeTaints: false)
        }
    }

    /// helper.DefaultSelector: the union of the selectors of the objects selecting the pod.
    static func defaultSelector(_ pod: PodInfo, _ w: Workloads) -> LabelSelector {
        var labels = JSONObject()
        var expressions: [JSON] = []
        for o in w.services + w.replicationControllers {
            let set = stringMap(o[path: ["spec", "selector"]])
            guard set.allSatisfy({ pod.labels[$0.key] == $0.value }) else { continue }
            for (k, v) in set { labels[k] = .string(v) }
        }
        for o in w.replicaSets + w.statefulSets {
            guard let json = o[path: ["spec", "selector"]], let s = try? LabelSelector(json), !s.isEmpty, s.matches(pod.labels) else { continue }
            for (k, v) in json["matchLabels"]?.objectValue ?? JSONObject() { labels[k] = v }
            expressions += json["matchExpressions"]?.arrayValue ?? []
        }
        return (try? LabelSelector(["matchLabels": .object(labels), "matchExpressions": .array(expressions)])) ?? .nothing
    }

    /// MatchNodeInclusionPolicies: whether pods on this node count at all.
    static func includes(_ c: Constraint, _ pod: PodInfo, _ node: NodeInfo) -> Bool {
        if c.honorNodeAffinity {
            guard pod.nodeSelector.allSatisfy({ node.labels[$0.key] == $0.value }),
                  NodeSelectorTerms.anyMatches(pod.requiredNodeTerms, labels: node.labels, nodeName: node.name) else { return false }
        }
        if c.honorNodeTaints {
            for t in node.taints where ["NoSchedule", "NoExecute"].contains(t["effect"]?.stringValue ?? "") && !Taints.tolerated(t, by: pod.tolerations) {
                return false
            }
        }
        return true
    }

    /// Pods matching each constraint per domain, over the nodes that count (those the
    /// policies include and that carry every key when `requireAll`). Read from the shared
    /// counts when every node counts, else by a scan.
    static func counts(_ cs: [Constraint], _ pod: PodInfo, _ snapshot: Snapshot, requireAll: Bool) -> [(counts: [String: Int], domains: Int)] {
        let total = snapshot.nodes.count
        let everyNodeCounts = cs.allSatisfy { c in
            (!c.honorNodeAffinity || (pod.nodeSelector.isEmpty && pod.requiredNodeTerms == nil)) && !c.honorNodeTaints
                && (requireAll ? cs.allSatisfy { snapshot.nodesWithLabel[$0.topologyKey] == total } : true)
        }
        if everyNodeCounts {
            return cs.map { c in
                let q = MatchCountCache.Query(namespaces: [pod.namespace], selector: c.selector, topologyKey: c.topologyKey, skipTerminating: true)
                return (snapshot.counts(q), snapshot.labelValues[c.topologyKey]?.count ?? 0)
            }
        }
        var out = cs.map { _ in (counts: [String: Int](), domains: Set<String>()) }
        for node in snapshot.nodes where !requireAll || cs.allSatisfy({ node.labels[$0.topologyKey] != nil }) {
            for (i, c) in cs.enumerated() {
                guard let v = node.labels[c.topologyKey], includes(c, pod, node) else { continue }
                out[i].domains.insert(v)
                let n = node.pods.values.count { $0.namespace == pod.namespace && !$0.isTerminating && c.selector.matches($0.labels) }
                if n > 0 { out[i].counts[v, default: 0] += n }
            }
        }
        return out.map { ($0.counts, $0.domains.count) }
    }

    // MARK: - Filter

    /// A class: Filter reads it on every node (see InterPodAffinity.FilterState).
    final class FilterState: Sendable {
        let constraints: [Constraint]
        let counts: [[String: Int]]
        let domains: [Int]
        /// The least loaded domain's count (0 while some domain has none), and 0 as well
        /// while there are fewer domains than minDomains.
        let minMatch: [Int]
        /// 1 where the constraint's selector matches the pod itself.
        let selfMatch: [Int]
        /// Every node has every key and no domain is too far ahead: every node passes
        /// without a look at its labels (the usual case for a balanced workload).
        let everyNodePasses: Bool

        init(_ constraints: [Constraint], counts: [[String: Int]], domains: [Int], selfMatch: [Int], everyNodeHasKeys: Bool) {
            self.constraints = constraints
            self.counts = counts
            self.domains = domains
            self.selfMatch = selfMatch
            let minMatch = counts.indices.map { i in
                counts[i].count < domains[i] || domains[i] < constraints[i].minDomains ? 0 : counts[i].values.min() ?? 0
            }
            self.minMatch = minMatch
            everyNodePasses = everyNodeHasKeys && counts.indices.allSatisfy { i in
                (counts[i].values.max() ?? 0) + selfMatch[i] - minMatch[i] <= constraints[i].maxSkew
            }
        }
    }

    func preFilter(_ pod: PodInfo, _ state: inout CycleState) -> (Status, nodeNames: Set<String>?) {
        let cs = Self.constraints(pod).filter(\.doNotSchedule)
        if cs.isEmpty { return (.skip, nil) }
        let snapshot = state.snapshot
        let counted = Self.counts(cs, pod, snapshot, requireAll: true)
        state[FilterState.self] = FilterState(cs, counts: counted.map(\.counts), domains: counted.map(\.domains),
                                  selfMatch: cs.map { $0.selector.matches(pod.labels) ? 1 : 0 },
                                  everyNodeHasKeys: cs.allSatisfy { snapshot.nodesWithLabel[$0.topologyKey] == snapshot.nodes.count })
        return (.success, nil)
    }

    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        guard let s = state[FilterState.self], !s.everyNodePasses else { return .success }
        for i in s.constraints.indices {
            let c = s.constraints[i]
            guard let v = node.labels[c.topologyKey] else { return .unresolvable(Self.missingLabelReason) }
            if (s.counts[i][v] ?? 0) + s.selfMatch[i] - s.minMatch[i] > c.maxSkew { return .unschedulable(Self.reason) }
        }
        return .success
    }

    func addPod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) { update(pod, existing, node, 1, &state) }
    func removePod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) { update(pod, existing, node, -1, &state) }

    private func update(_ pod: PodInfo, _ existing: PodInfo, _ node: NodeInfo, _ n: Int, _ state: inout CycleState) {
        guard let s = state[FilterState.self], existing.namespace == pod.namespace, !existing.isTerminating,
              s.constraints.allSatisfy({ node.labels[$0.topologyKey] != nil }) else { return }
        var counts = s.counts
        for (i, c) in s.constraints.enumerated() where c.selector.matches(existing.labels) && Self.includes(c, pod, node) {
            guard let v = node.labels[c.topologyKey] else { continue }
            let next = (counts[i][v] ?? 0) + n
            counts[i][v] = next == 0 ? nil : next
        }
        state[FilterState.self] = FilterState(s.constraints, counts: counts, domains: s.domains, selfMatch: s.selfMatch, everyNodeHasKeys: false)
    }

    // MARK: - Score

    final class ScoreState: Sendable {
        let constraints: [Constraint]
        let counts: [[String: Int]]
        let weights: [Double]
        /// By the index of the scored nodes: nodes lacking a key the pod's own
        /// constraints need score 0.
        let ignored: [Bool]

        init(constraints: [Constraint], counts: [[String: Int]], weights: [Double], ignored: [Bool]) {
            self.constraints = constraints
            self.counts = counts
            self.weights = weights
            self.ignored = ignored
        }
    }

    func preScore(_ pod: PodInfo, _ nodes: [NodeInfo], _ state: inout CycleState) -> Status {
        var cs = Self.constraints(pod)
        let systemDefaulted = cs.isEmpty
        cs = systemDefaulted ? defaultConstraints(pod) : cs.filter { !$0.doNotSchedule }
        if cs.isEmpty || nodes.isEmpty { return .skip }
        let ignored = nodes.map { n in !systemDefaulted && !cs.allSatisfy { n.labels[$0.topologyKey] != nil } }
        let scored = nodes.indices.filter { !ignored[$0] }
        let weights = cs.map { c in
            let size = c.topologyKey == Self.hostname ? scored.count : Set(scored.compactMap { nodes[$0].labels[c.topologyKey] }).count
            return log(Double(size + 2))
        }
        let counted = Self.counts(cs, pod, state.snapshot, requireAll: !systemDefaulted)
        state[ScoreState.self] = ScoreState(constraints: cs, counts: counted.map(\.counts), weights: weights, ignored: ignored)
        return .success
    }

    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        guard let s = state[ScoreState.self] else { return 0 }
        var score = 0.0
        for (i, c) in s.constraints.enumerated() {
            guard let v = node.labels[c.topologyKey] else { continue }
            let count = c.topologyKey == Self.hostname
                ? node.pods.values.count { $0.namespace == pod.namespace && !$0.isTerminating && c.selector.matches($0.labels) }
                : s.counts[i][v] ?? 0
            score += Double(count) * s.weights[i] + Double(c.maxSkew - 1)
        }
        return Int64(score.rounded())
    }

    /// Fewer matching pods is better: inverted onto 0...100; ignored nodes get 0.
    func normalize(_ scores: inout [Int64], _ state: CycleState) {
        guard let s = state[ScoreState.self] else { return }
        let considered = scores.indices.filter { !s.ignored[$0] }
        let lo = considered.map { scores[$0] }.min() ?? 0
        let hi = considered.map { scores[$0] }.max() ?? 0
        for i in scores.indices {
            scores[i] = s.ignored[i] ? 0 : hi == 0 ? 100 : 100 * (hi + lo - scores[i]) / hi
        }
    }
}

import SkiffCore

/// Pod affinity and anti-affinity, required (Filter) and preferred (Score), by topology
/// domain, including the symmetric rule: a pod already running whose required
/// anti-affinity matches the incoming pod keeps it out of that pod's domain.
struct InterPodAffinity: PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
    let name = "InterPodAffinity"
    let weight: Int64 = 2
    /// Upstream's default: what an existing pod's required affinity term adds to the
    /// score of the domains where it would be satisfied.
    static let hardPodAffinityWeight: Int64 = 1
    static let affinityReason = "node(s) didn't match pod affinity rules"
    static let antiAffinityReason = "node(s) didn't match pod anti-affinity rules"
    static let existingAntiAffinityReason = "node(s) didn't satisfy existing pods anti-affinity rules"

    /// Counts by topology key, then value.
    typealias Counts = [String: [String: Int64]]

    /// A class: Filter reads it on every node, and a reference costs less to take out of
    /// the cycle state than a struct of dictionaries.
    final class FilterState: Sendable {
        /// Domains where existing pods' required anti-affinity matches the incoming pod.
        let existingAnti: Counts
        /// Domains holding pods that match all of the incoming pod's required affinity
        /// terms, and pods matching each of its anti-affinity terms.
        let affinity: Counts
        let anti: Counts
        let affinityQueries: [MatchCountCache.Query]
        let antiQueries: [MatchCountCache.Query]
        let namespaceLabels: [String: String]
        /// The pod matches its own affinity terms (the first of a group may go anywhere).
        let matchesOwnAffinity: Bool

        init(existingAnti: Counts, affinity: Counts, anti: Counts, affinityQueries: [MatchCountCache.Query], antiQueries: [MatchCountCache.Query],
             namespaceLabels: [String: String], matchesOwnAffinity: Bool) {
            self.existingAnti = existingAnti
            self.affinity = affinity
            self.anti = anti
            self.affinityQueries = affinityQueries
            self.antiQueries = antiQueries
            self.namespaceLabels = namespaceLabels
            self.matchesOwnAffinity = matchesOwnAffinity
        }
    }

    static func add(_ counts: inout Counts, _ key: String, _ value: String, _ n: Int64) {
        let next = (counts[key]?[value] ?? 0) + n
        counts[key, default: [:]][value] = next == 0 ? nil : next
        if counts[key]?.isEmpty == true { counts[key] = nil }
    }

    func query(_ term: AffinityTerm, _ snapshot: Snapshot) -> MatchCountCache.Query {
        MatchCountCache.Query(namespaces: snapshot.namespaces(of: term), selector: term.selector, topologyKey: term.topologyKey, skipTerminating: false)
    }

    // MARK: - Filter

    func preFilter(_ pod: PodInfo, _ state: inout CycleState) -> (Status, nodeNames: Set<String>?) {
        let snapshot = state.snapshot
        let namespaceLabels = snapshot.namespaceLabels[pod.namespace] ?? [:]
        var existingAnti: Counts = [:], affinity: Counts = [:], anti: Counts = [:]
        snapshot.antiAffinityTerms.forEachMatching(pod, namespaceLabels: namespaceLabels) { term, counts in
            for (v, n) in counts where n > 0 { Self.add(&existingAnti, term.topologyKey, v, n) }
        }
        if pod.requiredAffinityTerms.isEmpty && pod.requiredAntiAffinityTerms.isEmpty && existingAnti.isEmpty { return (.skip, nil) }
        let affinityQueries = pod.requiredAffinityTerms.map { query($0, snapshot) }
        let antiQueries = pod.requiredAntiAffinityTerms.map { query($0, snapshot) }
        if affinityQueries.count == 1, let q = affinityQueries.first {
            for (v, n) in snapshot.counts(q) { Self.add(&affinity, q.topologyKey, v, Int64(n)) }
        } else if affinityQueries.count > 1 {
            // A pod counts only where it matches every term at once: no shared count helps.
            for node in snapshot.nodes {
                for p in node.pods.values where affinityQueries.allSatisfy({ $0.matches(p) }) {
                    for q in affinityQueries { if let v = node.labels[q.topologyKey] { Self.add(&affinity, q.topologyKey, v, 1) } }
                }
            }
        }
        for q in antiQueries {
            for (v, n) in snapshot.counts(q) { Self.add(&anti, q.topologyKey, v, Int64(n)) }
        }
        state[FilterState.self] = FilterState(existingAnti: existingAnti, affinity: affinity, anti: anti, affinityQueries: affinityQueries, antiQueries: antiQueries,
                                  namespaceLabels: namespaceLabels, matchesOwnAffinity: affinityQueries.allSatisfy { $0.matches(pod) })
        return (.success, nil)
    }

    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        guard let s = state[FilterState.self] else { return .success }
        if !s.affinityQueries.isEmpty {
            var podsExist = true
            for q in s.affinityQueries {
                guard let v = node.labels[q.topologyKey] else { return .unresolvable(Self.affinityReason) }
                if (s.affinity[q.topologyKey]?[v] ?? 0) <= 0 { podsExist = false }
            }
            // No pod matches anywhere yet: the first pod of a group that is affine to
            // itself may go anywhere, or the group could never start.
            if !podsExist && !(s.affinity.isEmpty && s.matchesOwnAffinity) { return .unresolvable(Self.affinityReason) }
        }
        for q in s.antiQueries {
            if let v = node.labels[q.topologyKey], (s.anti[q.topologyKey]?[v] ?? 0) > 0 { return .unschedulable(Self.antiAffinityReason) }
        }
        for (key, values) in s.existingAnti {
            if let v = node.labels[key], (values[v] ?? 0) > 0 { return .unschedulable(Self.existingAntiAffinityReason) }
        }
        return .success
    }

    func addPod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) { update(pod, existing, node, 1, &state) }
    func removePod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) { update(pod, existing, node, -1, &state) }

    private func update(_ pod: PodInfo, _ existing: PodInfo, _ node: NodeInfo, _ n: Int64, _ state: inout CycleState) {
        guard let s = state[FilterState.self] else { return }
        var existingAnti = s.existingAnti, affinity = s.affinity, anti = s.anti
        for t in existing.requiredAntiAffinityTerms where t.matches(pod, namespaceLabels: s.namespaceLabels) {
            if let v = node.labels[t.topologyKey] { Self.add(&existingAnti, t.topologyKey, v, n) }
        }
        if !s.affinityQueries.isEmpty, s.affinityQueries.allSatisfy({ $0.matches(existing) }) {
            for q in s.affinityQueries { if let v = node.labels[q.topologyKey] { Self.add(&affinity, q.topologyKey, v, n) } }
        }
        for q in s.antiQueries where q.matches(existing) {
            if let v = node.labels[q.topologyKey] { Self.add(&anti, q.topologyKey, v, n) }
        }
        state[FilterState.self] = FilterState(existingAnti: existingAnti, affinity: affinity, anti: anti, affinityQueries: s.affinityQueries, antiQueries: s.antiQueries,
                                  namespaceLabels: s.namespaceLabels, matchesOwnAffinity: s.matchesOwnAffinity)
    }

    // MARK: - Score

    final class ScoreState: Sendable {
        /// Summed weights by topology key and value.
        let scores: Counts
        init(scores: Counts) { self.scores = scores }
    }

    func preScore(_ pod: PodInfo, _ nodes: [NodeInfo], _ state: inout CycleState) -> Status {
        let snapshot = state.snapshot
        var scores: Counts = [:]
        for (terms, sign) in [(pod.preferredAffinityTerms, Int64(1)), (pod.preferredAntiAffinityTerms, -1)] {
            for t in terms {
                for (v, n) in snapshot.counts(query(t, snapshot)) { Self.add(&scores, t.topologyKey, v, sign * t.weight * Int64(n)) }
            }
        }
        snapshot.scoringTerms.forEachMatching(pod, namespaceLabels: snapshot.namespaceLabels[pod.namespace] ?? [:]) { term, counts in
            for (v, n) in counts { Self.add(&scores, term.topologyKey, v, n) }
        }
        if scores.isEmpty { return .skip }
        state[ScoreState.self] = ScoreState(scores: scores)
        return .success
    }

    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        guard let s = state[ScoreState.self] else { return 0 }
        var sum: Int64 = 0
        for (key, values) in s.scores { if let v = node.labels[key] { sum += values[v] ?? 0 } }
        return sum
    }

    /// Onto 0...100 between the lowest and the highest raw score.
    func normalize(_ scores: inout [Int64], _ state: CycleState) {
        guard let lo = scores.min(), let hi = scores.max() else { return }
        for i in scores.indices { scores[i] = hi > lo ? Int64(100 * Double(scores[i] - lo) / Double(hi - lo)) : 0 }
    }
}

import SkiffAPI
import SkiffCore

/// PostFilter: when a pod fits nowhere, finds the node where evicting the fewest and
/// least important lower-priority pods makes it fit, preferring victims whose
/// PodDisruptionBudgets allow a disruption. Picking is pure; the scheduler evicts.
struct DefaultPreemption: PostFilterPlugin {
    let name = "DefaultPreemption"
    /// policy/v1 PodDisruptionBudgets in a namespace.
    let disruptionBudgets: @Sendable (_ namespace: String) -> [JSON]

    struct Candidate {
        var node: String
        var victims: [PodInfo]
        var pdbViolations: Int
    }

    func postFilter(_ pod: PodInfo, _ state: CycleState, _ statuses: [String: Status], _ framework: Framework) -> PostFilterResult {
        if pod.pod[path: ["spec", "preemptionPolicy"]]?.stringValue == "Never" {
            return PostFilterResult(status: .unschedulable("preemption: not eligible due to preemptionPolicy=Never."))
        }
        // A pod already nominated waits while lower-priority pods there are terminating:
        // its earlier preemption is still under way.
        if let nominated = pod.pod[path: ["status", "nominatedNodeName"]]?.stringValue, let node = state.snapshot[nominated],
           node.pods.values.contains(where: { $0.isTerminating && $0.priority < pod.priority }) {
            return PostFilterResult(status: .unschedulable("preemption: not eligible due to a terminating pod on the nominated node."))
        }
        let snapshot = state.snapshot
        let potential = snapshot.nodes.filter { statuses[$0.name]?.code != .unresolvable }
        // Upstream's dry run stops after max(100, 10% of nodes) candidates.
        let enough = max(100, snapshot.nodes.count / 10)
        let pdbs = disruptionBudgets(pod.namespace)
        var candidates: [Candidate] = []
        var reasons: [String: Int] = [:]
        for node in potential {
            switch selectVictims(pod, node, state, framework, pdbs) {
            case .success(let c): candidates.append(c)
            case .failure(let why): reasons[why.reason, default: 0] += 1
            }
            if candidates.count >= enough { break }
        }
        guard let best = Self.pick(candidates) else {
            let total = snapshot.nodes.count
            if total > potential.count { reasons["Preemption is not helpful for scheduling", default: 0] += total - potential.count }
            let parts = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            return PostFilterResult(status: Status(code: .unschedulable, reasons: ["preemption: 0/\(total) nodes are available: \(parts.joined(separator: ", "))."]))
        }
        return PostFilterResult(status: .success, nominatedNodeName: best.node, victims: best.victims)
    }

    /// Removes every lower-priority pod; if the pod then fits, puts back as many as
    /// still leave room, most important first and those a PDB protects before others.
    struct NoCandidate: Error { var reason: String }

    func selectVictims(_ pod: PodInfo, _ original: NodeInfo, _ cycle: CycleState, _ framework: Framework, _ pdbs: [JSON]) -> Result<Candidate, NoCandidate> {
        var node = original
        var state = cycle
        let lower = node.pods.values.filter { $0.priority < pod.priority }.sorted(by: Self.moreImportant)
        if lower.isEmpty { return .failure(NoCandidate(reason: "No preemption victims found for incoming pod")) }
        for v in lower {
            node.remove(v)
            framework.runRemovePod(pod, v, on: node, &state)
        }
        let fits = framework.runFilters(pod, node, state)
        guard fits.isSuccess else { return .failure(NoCandidate(reason: fits.reasons.first ?? "No preemption victims found for incoming pod")) }
        let (violating, others) = Self.splitByBudget(lower, pdbs)
        var victims: [PodInfo] = []
        var violations = 0
        for (group, violates) in [(violating, true), (others, false)] {
            for v in group {
                node.add(v)
                framework.runAddPod(pod, v, on: node, &state)
                if !framework.runFilters(pod, node, state).isSuccess {
                    node.remove(v)
                    framework.runRemovePod(pod, v, on: node, &state)
                    victims.append(v)
                    if violates { violations += 1 }
                }
            }
        }
        return .success(Candidate(node: original.name, victims: victims.sorted(by: Self.moreImportant), pdbViolations: violations))
    }

    /// Higher priority first; among equals, the one running longer.
    static func moreImportant(_ a: PodInfo, _ b: PodInfo) -> Bool {
        a.priority != b.priority ? a.priority > b.priority : startTime(a) < startTime(b)
    }

    /// Pods not started yet count as starting now, after every started one.
    static func startTime(_ p: PodInfo) -> String { p.startTime ?? "9999-12-31T23:59:59Z" }

    /// Victims whose eviction a PDB does not allow (disruptionsAllowed used up, counting
    /// the victims before them), and the rest.
    static func splitByBudget(_ victims: [PodInfo], _ pdbs: [JSON]) -> (violating: [PodInfo], others: [PodInfo]) {
        var allowed = pdbs.map { $0[path: ["status", "disruptionsAllowed"]]?.int64Value ?? 0 }
        let selectors = pdbs.map { try? LabelSelector($0[path: ["spec", "selector"]]) }
        var violating: [PodInfo] = [], others: [PodInfo] = []
        for v in victims {
            var violates = false
            for i in pdbs.indices {
                guard let s = selectors[i], !s.isEmpty, s.matches(v.labels) else { continue }
                // Already counted as disrupted by the disruption controller.
                if pdbs[i][path: ["status", "disruptedPods", v.pod.name ?? ""]] != nil { continue }
                allowed[i] -= 1
                if allowed[i] < 0 { violates = true }
            }
            if violates { violating.append(v) } else { others.append(v) }
        }
        return (violating, others)
    }

    /// pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority
    /// victim, the smallest sum of priorities, the fewest victims, the latest start among
    /// the highest-priority victims; else the first.
    static func pick(_ candidates: [Candidate]) -> Candidate? {
        if let free = candidates.first(where: { $0.victims.isEmpty }) { return free }
        var remaining = candidates
        func keep<T: Comparable>(_ key: (Candidate) -> T, smallest: Bool) {
            guard let best = smallest ? remaining.map(key).min() : remaining.map(key).max() else { return }
            remaining = remaining.filter { key($0) == best }
        }
        keep({ $0.pdbViolations }, smallest: true)
        keep({ $0.victims[0].priority }, smallest: true)
        keep({ $0.victims.reduce(Int64(0)) { $0 + $1.priority + Int64(Int32.max) + 1 } }, smallest: true)
        keep({ $0.victims.count }, smallest: true)
        keep({ c in c.victims.filter { $0.priority == c.victims[0].priority }.map(startTime).min() ?? "" }, smallest: false)
        return remaining.first
    }
}

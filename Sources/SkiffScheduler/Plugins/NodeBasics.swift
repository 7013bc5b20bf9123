import SkiffAPI
import SkiffCore

/// spec.nodeName set by the user: only that node.
struct NodeName: FilterPlugin {
    let name = "NodeName"
    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        guard let wanted = pod.nodeName else { return .success }
        return wanted == node.name ? .success : .unresolvable("node(s) didn't match the requested node name")
    }
}

/// Cordoned nodes (spec.unschedulable) take no new pods, unless the pod tolerates the
/// node.kubernetes.io/unschedulable taint.
struct NodeUnschedulable: FilterPlugin {
    let name = "NodeUnschedulable"
    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        guard node.unschedulable else { return .success }
        let taint: JSON = ["key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"]
        if Taints.tolerated(taint, by: pod.tolerations) { return .success }
        return .unresolvable("node(s) were unschedulable")
    }
}

/// hostPorts the pod needs must be free on the node.
struct NodePorts: FilterPlugin {
    let name = "NodePorts"
    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        for p in pod.hostPorts where node.usedPorts.contains(where: { $0.conflicts(p) }) {
            return .unschedulable("node(s) didn't have free ports for the requested pod ports")
        }
        return .success
    }
}

/// Taints the pod does not tolerate keep it off the node (NoSchedule, NoExecute); each
/// untolerated PreferNoSchedule taint lowers the node's score.
struct TaintToleration: FilterPlugin, ScorePlugin {
    let name = "TaintToleration"
    let weight: Int64 = 3

    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        for taint in node.taints {
            let effect = taint["effect"]?.stringValue ?? ""
            guard effect == "NoSchedule" || effect == "NoExecute" else { continue }
            if !Taints.tolerated(taint, by: pod.tolerations) {
                return .unresolvable("node(s) had untolerated taint {\(taint["key"]?.stringValue ?? ""): \(taint["value"]?.stringValue ?? "")}")
            }
        }
        return .success
    }

    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        Int64(node.taints.filter { $0["effect"] == "PreferNoSchedule" && !Taints.tolerated($0, by: pod.tolerations) }.count)
    }

    /// Fewer intolerable taints is better: the count is inverted onto 0...100.
    func normalize(_ scores: inout [Int64], _ state: CycleState) {
        let most = scores.max() ?? 0
        for i in scores.indices { scores[i] = most == 0 ? 100 : 100 - scores[i] * 100 / most }
    }
}

/// nodeSelector and required node affinity filter; preferred node affinity scores.
struct NodeAffinity: PreFilterPlugin, FilterPlugin, ScorePlugin {
    let name = "NodeAffinity"
    let weight: Int64 = 2

    /// Terms that each name their nodes (matchFields metadata.name In) narrow the cycle to
    /// those nodes, as upstream does for DaemonSet pods.
    func preFilter(_ pod: PodInfo, _ state: inout CycleState) -> (Status, nodeNames: Set<String>?) {
        guard let terms = pod.requiredNodeTerms, !terms.isEmpty else { return (.success, nil) }
        var names: Set<String> = []
        for term in terms {
            let named = (term["matchFields"]?.arrayValue ?? []).first { $0["key"] == "metadata.name" && $0["operator"] == "In" }
            guard let named else { return (.success, nil) }
            names.formUnion(named["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        return (.success, names)
    }

    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        let fits = pod.nodeSelector.allSatisfy { node.labels[$0.key] == $0.value }
            && NodeSelectorTerms.anyMatches(pod.requiredNodeTerms, labels: node.labels, nodeName: node.name)
        return fits ? .success : .unresolvable("node(s) didn't match Pod's node affinity/selector")
    }

    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        pod.preferredNodeTerms.reduce(0) { sum, term in
                guard let preference = term["preference"], NodeSelectorTerms.matches(preference, labels: node.labels, nodeName: node.name) else { return sum }
                return sum + (term["weight"]?.int64Value ?? 0)
            }
    }

    func normalize(_ scores: inout [Int64], _ state: CycleState) {
        let most = scores.max() ?? 0
        guard most > 0 else { return }
        for i in scores.indices { scores[i] = scores[i] * 100 / most }
    }
}

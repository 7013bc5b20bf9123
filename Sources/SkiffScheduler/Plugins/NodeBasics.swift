import SkiffAPI
import SkiffCore

/// spec.nodeName set by the user: only that node.
struct NodeName: FilterPlugin {
    let name = "NodeName"
    func filter(_ pod: PodInfo, _ node: NodeInfo) -> Status {
        guard let wanted = pod.nodeName else { return .success }
        return wanted == node.name ? .success : .unresolvable("node(s) didn't match the requested node name")
    }
}

/// Cordoned nodes (spec.unschedulable) take no new pods, unless the pod tolerates the
/// node.kubernetes.io/unschedulable taint.
struct NodeUnschedulable: FilterPlugin {
    let name = "NodeUnschedulable"
    func filter(_ pod: PodInfo, _ node: NodeInfo) -> Status {
        guard node.unschedulable else { return .success }
        let taint: JSON = ["key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"]
        if Taints.tolerated(taint, by: pod.tolerations) { return .success }
        return .unresolvable("node(s) were unschedulable")
    }
}

/// hostPorts the pod needs must be free on the node.
struct NodePorts: FilterPlugin {
    let name = "NodePorts"
    func filter(_ pod: PodInfo, _ node: NodeInfo) -> Status {
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

    func filter(_ pod: PodInfo, _ node: NodeInfo) -> Status {
        for taint in node.taints {
            let effect = taint["effect"]?.stringValue ?? ""
            guard effect == "NoSchedule" || effect == "NoExecute" else { continue }
            if !Taints.tolerated(taint, by: pod.tolerations) {
                return .unresolvable("node(s) had untolerated taint {\(taint["key"]?.stringValue ?? ""): \(taint["value"]?.stringValue ?? "")}")
            }
        }
        return .success
    }

    func score(_ pod: PodInfo, _ node: NodeInfo) -> Int64 {
        Int64(node.taints.filter { $0["effect"] == "PreferNoSchedule" && !Taints.tolerated($0, by: pod.tolerations) }.count)
    }

    /// Fewer intolerable taints is better: the count is inverted onto 0...100.
    func normalize(_ scores: inout [Int64]) {
        let most = scores.max() ?? 0
        for i in scores.indices { scores[i] = most == 0 ? 100 : 100 - scores[i] * 100 / most }
    }
}

/// nodeSelector and required node affinity filter; preferred node affinity scores.
struct NodeAffinity: FilterPlugin, ScorePlugin {
    let name = "NodeAffinity"
    let weight: Int64 = 2

    func filter(_ pod: PodInfo, _ node: NodeInfo) -> Status {
        let fits = pod.nodeSelector.allSatisfy { node.labels[$0.key] == $0.value }
            && (pod.requiredNodeTerms.map { terms in terms.contains { Self.matches($0, node) } } ?? true)
        return fits ? .success : .unresolvable("node(s) didn't match Pod's node affinity/selector")
    }

    func score(_ pod: PodInfo, _ node: NodeInfo) -> Int64 {
        pod.preferredNodeTerms.reduce(0) { sum, term in
                guard let preference = term["preference"], Self.matches(preference, node) else { return sum }
                return sum + (term["weight"]?.int64Value ?? 0)
            }
    }

    func normalize(_ scores: inout [Int64]) {
        let most = scores.max() ?? 0
        guard most > 0 else { return }
        for i in scores.indices { scores[i] = scores[i] * 100 / most }
    }

    /// A NodeSelectorTerm: every expression and field requirement holds (an empty term
    /// matches nothing, as upstream).
    static func matches(_ term: JSON, _ node: NodeInfo) -> Bool {
        let expressions = term["matchExpressions"]?.arrayValue ?? []
        let fields = term["matchFields"]?.arrayValue ?? []
        if expressions.isEmpty && fields.isEmpty { return false }
        return expressions.allSatisfy { requirement($0, node.labels[$0["key"]?.stringValue ?? ""]) }
            && fields.allSatisfy { $0["key"] == "metadata.name" && requirement($0, node.name) }
    }

    static func requirement(_ r: JSON, _ value: String?) -> Bool {
        let values = r["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
        switch r["operator"]?.stringValue ?? "" {
        case "In": return value.map(values.contains) ?? false
        case "NotIn": return value.map { !values.contains($0) } ?? true
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        case "Gt": return value.flatMap { Int64($0) }.flatMap { v in values.first.flatMap { Int64($0) }.map { v > $0 } } ?? false
        case "Lt": return value.flatMap { Int64($0) }.flatMap { v in values.first.flatMap { Int64($0) }.map { v < $0 } } ?? false
        default: return false
        }
    }
}

import SkiffCore

/// Taints and tolerations, as v1.Toleration.ToleratesTaint: the scheduler and the node
/// lifecycle controller decide with the same rule.
public enum Taints {
    public static func tolerates(_ toleration: JSON, _ taint: JSON) -> Bool {
        let effect = toleration["effect"]?.stringValue ?? ""
        if !effect.isEmpty, effect != taint["effect"]?.stringValue { return false }
        let key = toleration["key"]?.stringValue ?? ""
        if !key.isEmpty, key != taint["key"]?.stringValue { return false }
        switch toleration["operator"]?.stringValue ?? "Equal" {
        case "Exists": return true
        case "Equal": return !key.isEmpty && (toleration["value"]?.stringValue ?? "") == (taint["value"]?.stringValue ?? "")
        default: return false
        }
    }

    /// Whether any of `tolerations` tolerates `taint`.
    public static func tolerated(_ taint: JSON, by tolerations: [JSON]) -> Bool {
        tolerations.contains { tolerates($0, taint) }
    }
}

/// v1.NodeSelectorTerm matching: the scheduler's node affinity and the DaemonSet
/// controller's eligibility decide with the same rule.
public enum NodeSelectorTerms {
    /// Every expression and field requirement holds (an empty term matches nothing).
    public static func matches(_ term: JSON, labels: [String: String], nodeName: String) -> Bool {
        let expressions = term["matchExpressions"]?.arrayValue ?? []
        let fields = term["matchFields"]?.arrayValue ?? []
        if expressions.isEmpty && fields.isEmpty { return false }
        return expressions.allSatisfy { requirement($0, labels[$0["key"]?.stringValue ?? ""]) }
            && fields.allSatisfy { $0["key"] == "metadata.name" && requirement($0, nodeName) }
    }

    /// Required node affinity: any term matches; no terms means no constraint.
    public static func anyMatches(_ terms: [JSON]?, labels: [String: String], nodeName: String) -> Bool {
        terms.map { $0.contains { matches($0, labels: labels, nodeName: nodeName) } } ?? true
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

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

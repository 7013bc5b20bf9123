import SkiffCore

/// What the API server and the disruption controller share about budgets.
public enum PodDisruptionBudgets {
    /// status.conditions with DisruptionAllowed set as upstream words it.
    public static func allowedCondition(_ pdb: JSON, allowed: Bool) -> [JSON] {
        let old = pdb[path: ["status", "conditions"]]?.arrayValue ?? []
        let status = allowed ? "True" : "False"
        if let current = old.first(where: { $0["type"] == "DisruptionAllowed" }), current["status"]?.stringValue == status { return old }
        let condition: JSON = ["type": "DisruptionAllowed", "status": .string(status), "lastTransitionTime": .string(Timestamp.now().rfc3339),
                               "reason": .string(allowed ? "SufficientPods" : "InsufficientPods"), "message": "",
                               "observedGeneration": pdb.generation.map { .number(JSONNumber($0)) } ?? nil]
        return old.filter { $0["type"] != "DisruptionAllowed" } + [condition]
    }
}

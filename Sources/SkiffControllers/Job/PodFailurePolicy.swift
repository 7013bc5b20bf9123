import SkiffAPI
import SkiffCore

/// spec.podFailurePolicy: the first rule matching a failed pod decides what its failure
/// means (upstream's matchPodFailurePolicy).
enum PodFailurePolicy {
    enum Action: Equatable {
        /// The job fails at once; the message says which rule matched.
        case failJob(message: String)
        /// The failure does not count toward backoffLimit.
        case ignore
        case count
    }

    /// nil when no rule matches (the failure counts).
    static func match(_ policy: JSON?, pod: JSON) -> Action? {
        guard let rules = policy?["rules"]?.arrayValue else { return nil }
        let podName = "\(pod.namespace ?? "")/\(pod.name ?? "")"
        for (index, rule) in rules.enumerated() {
            let action = rule["action"]?.stringValue ?? ""
            var matchedBy: String?
            if let onExit = rule["onExitCodes"] {
                if let (container, code) = matchingExitCode(onExit, pod: pod) {
                    matchedBy = "Container \(container) for pod \(podName) failed with exit code \(code) matching \(action) rule at index \(index)"
                }
            } else if let patterns = rule["onPodConditions"]?.arrayValue {
                let conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
                for p in patterns {
                    let type = p["type"]?.stringValue ?? ""
                    let status = p["status"]?.stringValue ?? "True"
                    if conditions.contains(where: { $0["type"]?.stringValue == type && $0["status"]?.stringValue == status }) {
                        matchedBy = "Pod \(podName) has condition \(type) matching \(action) rule at index \(index)"
                        break
                    }
                }
            }
            guard let matchedBy else { continue }
            switch action {
            case "FailJob": return .failJob(message: matchedBy)
            case "Ignore": return .ignore
            default: return .count  // Count, and FailIndex (backoffLimitPerIndex is not implemented)
            }
        }
        return nil
    }

    /// The first terminated container (init containers first) whose non-zero exit code
    /// the requirement selects.
    static func matchingExitCode(_ requirement: JSON, pod: JSON) -> (String, Int64)? {
        let only = requirement["containerName"]?.stringValue
        let values = Set(requirement["values"]?.arrayValue?.compactMap(\.int64Value) ?? [])
        let notIn = requirement["operator"]?.stringValue == "NotIn"
        let statuses = (pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []) + (pod[path: ["status", "containerStatuses"]]?.arrayValue ?? [])
        for s in statuses {
            let name = s["name"]?.stringValue ?? ""
            guard only == nil || only == name, let code = s[path: ["state", "terminated", "exitCode"]]?.int64Value, code != 0 else { continue }
            if values.contains(code) != notIn { return (name, code) }
        }
        return nil
    }
}

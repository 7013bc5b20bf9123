import SkiffAPI
import SkiffCore

/// A StatefulSet pod's stable identity and storage, as upstream's stateful_set_utils:
/// the name `<set>-<ordinal>`, hostname and subdomain, the pod-name and pod-index
/// labels, and one claim `<template>-<set>-<ordinal>` per volumeClaimTemplate.
enum StatefulPods {
    static let podNameLabel = "statefulset.kubernetes.io/pod-name"
    static let podIndexLabel = "apps.kubernetes.io/pod-index"

    static func startOrdinal(_ set: JSON) -> Int { set[path: ["spec", "ordinals", "start"]]?.intValue ?? 0 }
    static func replicas(_ set: JSON) -> Int { set[path: ["spec", "replicas"]]?.intValue ?? 1 }
    static func podName(_ set: JSON, _ ordinal: Int) -> String { "\(set.name ?? "")-\(ordinal)" }

    /// getParentNameAndOrdinal: the ordinal of a pod named `<set>-<n>`, nil for any other name.
    static func ordinal(of pod: JSON, in set: JSON) -> Int? {
        guard let name = pod.name, let dash = name.lastIndex(of: "-"), name[..<dash] == set.name ?? "" else { return nil }
        let digits = name[name.index(after: dash)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    static func claimName(_ template: JSON, _ set: JSON, _ ordinal: Int) -> String {
        "\(template.name ?? "")-\(set.name ?? "")-\(ordinal)"
    }

    static func claimTemplates(_ set: JSON) -> [JSON] { set[path: ["spec", "volumeClaimTemplates"]]?.arrayValue ?? [] }

    /// getPersistentVolumeClaims: each template as a claim for `ordinal`, labelled with the
    /// template's labels and the set's matchLabels.
    static func claims(_ set: JSON, ordinal: Int) -> [JSON] {
        claimTemplates(set).map { template in
            var labels = template[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
            for (k, v) in set[path: ["spec", "selector", "matchLabels"]]?.objectValue ?? JSONObject() { labels[k] = v }
            var meta: JSON = ["name": .string(claimName(template, set, ordinal)), "namespace": .string(set.namespace ?? "")]
            if !labels.isEmpty { meta["labels"] = .object(labels) }
            if let annotations = template[path: ["metadata", "annotations"]] { meta["annotations"] = annotations }
            return ["apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": template["spec"] ?? [:]]
        }
    }

    /// newStatefulSetPod: the pod for `ordinal` from `set`'s template (the set as of some
    /// revision), controlled by `owner`, labelled with that revision's name.
    static func newPod(_ set: JSON, owner: JSON, ordinal: Int, revision: String) -> JSON {
        let template = set[path: ["spec", "template"]] ?? [:]
        let name = podName(set, ordinal)
        var labels = template[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
        labels[podNameLabel] = .string(name)
        labels[podIndexLabel] = .string(String(ordinal))
        labels[ControllerHistory.hashLabel] = .string(revision)
        var meta: JSON = ["name": .string(name), "labels": .object(labels), "ownerReferences": [ownerReference(owner)]]
        for key in ["annotations", "finalizers"] {
            if let v = template[path: ["metadata", key]] { meta[key] = v }
        }
        var spec = template["spec"] ?? [:]
        spec["hostname"] = .string(name)
        if let service = set[path: ["spec", "serviceName"]]?.stringValue, !service.isEmpty { spec["subdomain"] = .string(service) }
        // updateStorage: a volume per claim template, replacing a template volume of the same name.
        let claimVolumes: [JSON] = claimTemplates(set).map { t in
            ["name": t[path: ["metadata", "name"]] ?? "", "persistentVolumeClaim": ["claimName": .string(claimName(t, set, ordinal))]]
        }
        let claimed = Set(claimVolumes.compactMap { $0["name"]?.stringValue })
        let others = (spec["volumes"]?.arrayValue ?? []).filter { !claimed.contains($0["name"]?.stringValue ?? "") }
        if !claimVolumes.isEmpty || !others.isEmpty { spec["volumes"] = .array(claimVolumes + others) }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec]
    }

    /// The identity labels a pod of `ordinal` is missing or has wrong (an adopted pod, or
    /// one whose labels were edited), as upstream's identityMatches/updateIdentity.
    static func identityLabelPatch(_ pod: JSON, ordinal: Int) -> JSON? {
        let want = [podNameLabel: pod.name ?? "", podIndexLabel: String(ordinal)]
        let labels = pod.labels
        guard want.contains(where: { labels[$0.key] != $0.value }) else { return nil }
        return ["metadata": ["labels": .object(JSONObject(want.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))]]
    }

    /// Running with its Ready condition true.
    static func isRunningAndReady(_ pod: JSON) -> Bool {
        pod[path: ["status", "phase"]]?.stringValue == "Running" && isReady(pod)
    }

    static func isHealthy(_ pod: JSON?) -> Bool {
        guard let pod else { return false }
        return isRunningAndReady(pod) && pod.deletionTimestamp == nil
    }

    /// Succeeded or Failed: a pod that will not run again and must be replaced.
    static func hasFinished(_ pod: JSON) -> Bool {
        ["Succeeded", "Failed"].contains(pod[path: ["status", "phase"]]?.stringValue ?? "")
    }
}

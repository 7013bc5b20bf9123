import SkiffAPI
import SkiffCore

/// The built-in resources, with Kubernetes' names, scopes, short names, categories and
/// subresources. Kind-specific rules live beside this file, one file per API area.
enum BuiltinResources {
    static let preferredVersions = ["autoscaling": "v2"]

    /// Every built-in resource; `defaultTolerationSeconds` is what DefaultTolerationSeconds
    /// admission gives pods for the not-ready and unreachable taints.
    static func all(defaultTolerationSeconds: Int64 = 300) -> [ResourceInfo] {
        [
            // core/v1
            make("v1", "Namespace", "namespaces", short: ["ns"], namespaced: false, status: true,
                 extra: [sub("finalize", "Namespace", verbs: ["update"])], strategy: Core.namespace),
            make("v1", "Node", "nodes", short: ["no"], namespaced: false, status: true, strategy: Core.node),
            make("v1", "Pod", "pods", short: ["po"], categories: ["all"], status: true,
                 extra: [sub("binding", "Binding", verbs: ["create"]), sub("eviction", "Eviction", group: "policy", verbs: ["create"]),
                         sub("log", "Pod", verbs: ["get"]), sub("ephemeralcontainers", "Pod", verbs: ["get", "patch", "update"]),
                         sub("exec", "PodExecOptions", verbs: ["create", "get"]), sub("attach", "PodAttachOptions", verbs: ["create", "get"]),
                         sub("portforward", "PodPortForwardOptions", verbs: ["create", "get"])],
                 strategy: Core.pod(defaultTolerationSeconds: defaultTolerationSeconds)),
            make("v1", "Binding", "bindings", verbs: ["create"]),
            make("v1", "Service", "services", short: ["svc"], categories: ["all"], status: true, strategy: Core.service),
            make("v1", "Endpoints", "endpoints", short: ["ep"], strategy: Core.endpoints),
            make("v1", "ConfigMap", "configmaps", short: ["cm"], strategy: Core.configMap),
            make("v1", "Secret", "secrets", strategy: Core.secret),
            make("v1", "ServiceAccount", "serviceaccounts", short: ["sa"],
                 extra: [sub("token", "TokenRequest", group: "authentication.k8s.io", verbs: ["create"])], strategy: Core.serviceAccount),
            make("v1", "Event", "events", short: ["ev"], strategy: Core.event),
            make("v1", "PersistentVolume", "persistentvolumes", short: ["pv"], namespaced: false, status: true, strategy: Core.persistentVolume),
            make("v1", "PersistentVolumeClaim", "persistentvolumeclaims", short: ["pvc"], status: true, strategy: Core.persistentVolumeClaim),
            make("v1", "ResourceQuota", "resourcequotas", short: ["quota"], status: true, strategy: Core.resourceQuota),
            make("v1", "LimitRange", "limitranges", short: ["limits"], strategy: Core.limitRange),
            make("v1", "ReplicationController", "replicationcontrollers", short: ["rc"], categories: ["all"], status: true,
                 scale: ScaleInfo(selectorIsMap: true), strategy: Apps.replicationController),
            make("v1", "PodTemplate", "podtemplates", strategy: Core.podTemplate),
            // apps/v1
            make("apps/v1", "Deployment", "deployments", short: ["deploy"], categories: ["all"], status: true, scale: ScaleInfo(), strategy: Apps.deployment),
            make("apps/v1", "ReplicaSet", "replicasets", short: ["rs"], categories: ["all"], status: true, scale: ScaleInfo(), strategy: Apps.replicaSet),
            make("apps/v1", "StatefulSet", "statefulsets", short: ["sts"], categories: ["all"], status: true, scale: ScaleInfo(), strategy: Apps.statefulSet),
            make("apps/v1", "DaemonSet", "daemonsets", short: ["ds"], categories: ["all"], status: true, strategy: Apps.daemonSet),
            make("apps/v1", "ControllerRevision", "controllerrevisions", strategy: Apps.controllerRevision),
            // batch/v1
            make("batch/v1", "Job", "jobs", categories: ["all"], status: true, strategy: Batch.job),
            make("batch/v1", "CronJob", "cronjobs", short: ["cj"], categories: ["all"], status: true, strategy: Batch.cronJob),
            // autoscaling
            make("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short: ["hpa"], categories: ["all"], status: true, strategy: Other.hpa),
            make("autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short: ["hpa"], categories: ["all"], status: true,
                 strategy: Other.hpa, conversion: Conversions.hpaV1),
            make("coordination.k8s.io/v1", "Lease", "leases", strategy: Other.lease),
            make("discovery.k8s.io/v1", "EndpointSlice", "endpointslices", strategy: Other.endpointSlice),
            make("events.k8s.io/v1", "Event", "events", short: ["ev"], strategy: plain(age: true), conversion: Conversions.eventsV1,
                 storagePrefix: "/registry/events/"),
            make("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", short: ["pdb"], status: true, strategy: Other.podDisruptionBudget),
            make("rbac.authorization.k8s.io/v1", "Role", "roles", strategy: createdAt(generation: false)),
            make("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", strategy: Other.roleBinding),
            make("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", namespaced: false, strategy: createdAt(generation: false)),
            make("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", namespaced: false, strategy: Other.roleBinding),
            make("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", short: ["pc"], namespaced: false, strategy: Other.priorityClass),
            make("storage.k8s.io/v1", "StorageClass", "storageclasses", short: ["sc"], namespaced: false, strategy: Other.storageClass),
            make("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
                 namespaced: false, strategy: Other.webhookConfiguration(mutating: false)),
            make("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
                 namespaced: false, strategy: Other.webhookConfiguration(mutating: true)),
            make("networking.k8s.io/v1", "Ingress", "ingresses", short: ["ing"], status: true, strategy: Other.ingress),
            make("networking.k8s.io/v1", "IngressClass", "ingressclasses", namespaced: false, strategy: plain(age: true)),
            make("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", short: ["netpol"], strategy: Other.networkPolicy),
            make("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", short: ["crd", "crds"],
                 namespaced: false, status: true, strategy: CustomResources.definitionStrategy),
        ]
    }

    static func make(
        _ groupVersion: String, _ kind: String, _ resource: String, short: [String] = [], categories: [String] = [],
        namespaced: Bool = true, status: Bool = false, scale: ScaleInfo? = nil, extra: [SubresourceInfo] = [],
        verbs: [String] = ResourceInfo.allVerbs, strategy: ResourceStrategy = plain(age: true),
        conversion: StorageConversion? = nil, storagePrefix: String? = nil
    ) -> ResourceInfo {
        let parts = groupVersion.split(separator: "/").map(String.init)
        let group = parts.count == 2 ? parts[0] : ""
        let version = parts.last ?? groupVersion
        // Schema packages are named like Go's k8s.io/api packages: "apps/v1", "rbac/v1".
        let package = group.isEmpty ? "core" : String(group.split(separator: ".")[0])
        var subs: [SubresourceInfo] = []
        if status { subs.append(sub("status", kind, group: group, version: version, verbs: ["get", "patch", "update"])) }
        if scale != nil { subs.append(sub("scale", "Scale", group: "autoscaling", verbs: ["get", "patch", "update"])) }
        subs += extra.map { s in
            var s = s
            if s.kind == kind && s.group.isEmpty { s.group = group; s.version = version }
            return s
        }
        return ResourceInfo(
            group: group, version: version, kind: kind, resource: resource, singular: kind.lowercased(),
            shortNames: short, categories: categories, namespaced: namespaced, verbs: verbs, subresources: subs,
            schemaType: "\(package)/\(version).\(kind)",
            storagePrefix: storagePrefix ?? (group.isEmpty ? "/registry/\(resource)/" : "/registry/\(group)/\(resource)/"),
            scale: scale, strategy: strategy, conversion: conversion)
    }

    static func sub(_ name: String, _ kind: String, group: String = "", version: String = "v1", verbs: [String]) -> SubresourceInfo {
        SubresourceInfo(name: name, kind: kind, group: group, version: version, verbs: verbs)
    }

    /// Name and Age columns only.
    static func plain(age: Bool) -> ResourceStrategy {
        var s = ResourceStrategy()
        if age { s.columns = [Columns.age] }
        return s
    }

    /// Name and "Created At", as RBAC kinds and CRDs print.
    static func createdAt(generation: Bool = true) -> ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [TableColumn("Created At", type: "date") { o, _ in .string(o.creationTimestamp ?? "") }]
        s.tracksGeneration = generation
        return s
    }
}

/// Cell helpers shared by the kinds' table columns.
enum Columns {
    static let age = TableColumn("Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created.") { o, now in
        .string(Timestamp.age(of: o.creationTimestamp, now: now))
    }

    static func int(_ o: JSON, _ path: [String]) -> JSON { .number(JSONNumber(o[path: path]?.int64Value ?? 0)) }
    static func string(_ o: JSON, _ path: [String], _ absent: String = "<none>") -> JSON {
        .string(o[path: path]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? absent)
    }

    /// Comma-joined container names and images of a pod template, for `-o wide`.
    static func containers(_ spec: [String]) -> [TableColumn] {
        [
            TableColumn("Containers", priority: 1) { o, _ in
                .string((o[path: spec + ["containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.joined(separator: ","))
            },
            TableColumn("Images", priority: 1) { o, _ in
                .string((o[path: spec + ["containers"]]?.arrayValue ?? []).compactMap { $0["image"]?.stringValue }.joined(separator: ","))
            },
        ]
    }

    static let selector = TableColumn("Selector", priority: 1) { o, _ in
        .string(selectorString(o[path: ["spec", "selector"]]))
    }

    /// A metav1.LabelSelector (or a plain map) in its string form, "<none>" when empty.
    static func selectorString(_ json: JSON?) -> String {
        guard let json, !json.isNull else { return "<none>" }
        if json["matchLabels"] == nil, json["matchExpressions"] == nil, let o = json.objectValue, !o.isEmpty {
            return stringMap(json).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        guard let s = try? LabelSelector(json), !s.description.isEmpty else { return "<none>" }
        return s.description
    }

    /// At most three items, then "+ N more...", as kubectl's endpoint columns print.
    static func abbreviated(_ items: [String], empty: String) -> JSON {
        if items.isEmpty { return .string(empty) }
        if items.count <= 3 { return .string(items.joined(separator: ",")) }
        return .string(items.prefix(3).joined(separator: ",") + " + \(items.count - 3) more...")
    }

    static func mapString(_ json: JSON?) -> String {
        let m = stringMap(json)
        if m.isEmpty { return "<none>" }
        return m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

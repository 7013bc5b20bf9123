import SkiffAPI
import SkiffCore

/// The remaining built-in kinds: autoscaling, coordination, discovery, policy, RBAC,
/// scheduling, storage, admission and networking.
enum Other {
    static var hpa: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            if o["spec"]?.isObject == true, o[path: ["spec", "minReplicas"]] == nil { o[path: ["spec", "minReplicas"]] = 1 }
        }
        s.prepareForCreate = { o in o["status"] = ["currentReplicas": 0, "desiredReplicas": 0] }
        s.columns = [
            TableColumn("Reference") { o, _ in
                .string("\(o[path: ["spec", "scaleTargetRef", "kind"]]?.stringValue ?? "")/\(o[path: ["spec", "scaleTargetRef", "name"]]?.stringValue ?? "")")
            },
            TableColumn("Targets") { o, _ in
                if let cpu = o[path: ["spec", "targetCPUUtilizationPercentage"]]?.int64Value {
                    let current = o[path: ["status", "currentCPUUtilizationPercentage"]]?.int64Value.map { "\($0)%" } ?? "<unknown>"
                    return .string("cpu: \(current)/\(cpu)%")
                }
                let metrics = o[path: ["spec", "metrics"]]?.arrayValue ?? []
                if metrics.isEmpty { return "<none>" }
                // Each target beside its current value from status.currentMetrics, as kubectl prints them.
                let currents = o[path: ["status", "currentMetrics"]]?.arrayValue ?? []
                return .string(metrics.map { m in
                    let name = m[path: ["resource", "name"]]?.stringValue ?? m["type"]?.stringValue ?? ""
                    let current = currents.first { $0["type"] == m["type"] && $0[path: ["resource", "name"]] == m[path: ["resource", "name"]] }
                    if let target = m[path: ["resource", "target", "averageUtilization"]]?.int64Value {
                        let now = current?[path: ["resource", "current", "averageUtilization"]]?.int64Value.map { "\($0)%" } ?? "<unknown>"
                        return "\(name): \(now)/\(target)%"
                    }
                    let target = m[path: ["resource", "target", "averageValue"]]?.stringValue ?? "<unknown>"
                    let now = current?[path: ["resource", "current", "averageValue"]]?.stringValue ?? "<unknown>"
                    return "\(name): \(now)/\(target)"
                }.joined(separator: ", "))
            },
            TableColumn("MinPods", type: "integer") { o, _ in .number(JSONNumber(o[path: ["spec", "minReplicas"]]?.int64Value ?? 1)) },
            TableColumn("MaxPods", type: "integer") { o, _ in Columns.int(o, ["spec", "maxReplicas"]) },
            TableColumn("Replicas", type: "integer") { o, _ in Columns.int(o, ["status", "currentReplicas"]) },
            Columns.age,
        ]
        return s
    }

    static var lease: ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [TableColumn("Holder") { o, _ in Columns.string(o, ["spec", "holderIdentity"], "") }, Columns.age]
        s.tracksGeneration = false
        return s
    }

    static var endpointSlice: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in PodDefaults.mapArray(&o, "ports") { PodDefaults.setDefault(&$0, "protocol", "TCP") } }
        s.columns = [
            TableColumn("AddressType") { o, _ in Columns.string(o, ["addressType"], "") },
            TableColumn("Ports") { o, _ in
                let ports = (o["ports"]?.arrayValue ?? []).compactMap { $0["port"]?.int64Value }.map(String.init)
                return .string(ports.isEmpty ? "<unset>" : ports.joined(separator: ","))
            },
            TableColumn("Endpoints") { o, _ in
                let addrs = (o["endpoints"]?.arrayValue ?? []).flatMap { ($0["addresses"]?.arrayValue ?? []).compactMap(\.stringValue) }
                return Columns.abbreviated(addrs, empty: "<unset>")
            },
            Columns.age,
        ]
        s.tracksGeneration = false
        return s
    }

    static var podDisruptionBudget: ResourceStrategy {
        var s = ResourceStrategy()
        s.prepareForCreate = { o in
            o["status"] = ["disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0]
        }
        s.columns = [
            TableColumn("Min Available") { o, _ in intOrString(o[path: ["spec", "minAvailable"]]) },
            TableColumn("Max Unavailable") { o, _ in intOrString(o[path: ["spec", "maxUnavailable"]]) },
            TableColumn("Allowed Disruptions", type: "integer") { o, _ in Columns.int(o, ["status", "disruptionsAllowed"]) },
            Columns.age,
        ]
        return s
    }

    static func intOrString(_ v: JSON?) -> JSON {
        if let s = v?.stringValue { return .string(s) }
        if let i = v?.int64Value { return .string(String(i)) }
        return "N/A"
    }

    static var roleBinding: ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [
            TableColumn("Role") { o, _ in
                .string("\(o[path: ["roleRef", "kind"]]?.stringValue ?? "")/\(o[path: ["roleRef", "name"]]?.stringValue ?? "")")
            },
            Columns.age,
            TableColumn("Users", priority: 1) { o, _ in subjects(o, "User") },
            TableColumn("Groups", priority: 1) { o, _ in subjects(o, "Group") },
            TableColumn("ServiceAccounts", priority: 1) { o, _ in
                .string((o["subjects"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue == "ServiceAccount" }
                    .map { "\($0["namespace"]?.stringValue ?? ""):\($0["name"]?.stringValue ?? "")" }.joined(separator: ", "))
            },
        ]
        s.tracksGeneration = false
        return s
    }

    static func subjects(_ o: JSON, _ kind: String) -> JSON {
        .string((o["subjects"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue == kind }.compactMap { $0["name"]?.stringValue }.joined(separator: ", "))
    }

    static var priorityClass: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in PodDefaults.setDefault(&o, "preemptionPolicy", "PreemptLowerPriority") }
        s.validate = { o, old in
            guard let value = o["value"]?.int64Value else { return [.required("value")] }
            let name = o.name ?? ""
            var causes: [APIError.Cause] = []
            if let system = systemPriorityClasses.first(where: { $0.name == name }) {
                if system["value"]?.int64Value != value { causes.append(.forbidden("value", "value of a system priority class may not be changed")) }
            } else if name.hasPrefix("system-") {
                causes.append(.forbidden("metadata.name", "priority class names with 'system-' prefix are reserved for system use only"))
            } else if value > 1_000_000_000 {
                causes.append(.forbidden("value", "maximum allowed value of a user defined priority is 1000000000"))
            }
            if let old, old["value"] != o["value"] { causes.append(.forbidden("value", "may not be changed in an update.")) }
            return causes
        }
        s.columns = [
            TableColumn("Value", type: "integer") { o, _ in Columns.int(o, ["value"]) },
            TableColumn("Global-Default", type: "boolean") { o, _ in .bool(o["globalDefault"]?.boolValue ?? false) },
            Columns.age,
            TableColumn("Preemption Policy") { o, _ in Columns.string(o, ["preemptionPolicy"], "") },
        ]
        s.tracksGeneration = false
        return s
    }

    /// The classes every cluster has, as kube-apiserver creates them.
    static let systemPriorityClasses: [JSON] = [
        ["apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": ["name": "system-node-critical"], "value": 2_000_001_000,
         "description": "Used for system critical pods that must not be moved from their current node."],
        ["apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": ["name": "system-cluster-critical"], "value": 2_000_000_000,
         "description": "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."],
    ]

    static var storageClass: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "reclaimPolicy", "Delete")
            PodDefaults.setDefault(&o, "volumeBindingMode", "Immediate")
        }
        s.validate = { o, _ in (o["provisioner"]?.stringValue ?? "").isEmpty ? [.required("provisioner")] : [] }
        s.columns = [
            TableColumn("Provisioner") { o, _ in Columns.string(o, ["provisioner"], "") },
            TableColumn("ReclaimPolicy") { o, _ in Columns.string(o, ["reclaimPolicy"], "") },
            TableColumn("VolumeBindingMode") { o, _ in Columns.string(o, ["volumeBindingMode"], "") },
            TableColumn("AllowVolumeExpansion", type: "boolean") { o, _ in .bool(o["allowVolumeExpansion"]?.boolValue ?? false) },
            Columns.age,
        ]
        s.tracksGeneration = false
        return s
    }

    static func webhookConfiguration(mutating: Bool) -> ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.mapArray(&o, "webhooks") { w in
                PodDefaults.setDefault(&w, "failurePolicy", "Fail")
                PodDefaults.setDefault(&w, "matchPolicy", "Equivalent")
                PodDefaults.setDefault(&w, "namespaceSelector", [:])
                PodDefaults.setDefault(&w, "objectSelector", [:])
                PodDefaults.setDefault(&w, "timeoutSeconds", 10)
                if mutating { PodDefaults.setDefault(&w, "reinvocationPolicy", "Never") }
                PodDefaults.mapArray(&w, "rules") { PodDefaults.setDefault(&$0, "scope", "*") }
                if w[path: ["clientConfig", "service"]]?.isObject == true, w[path: ["clientConfig", "service", "port"]] == nil {
                    w[path: ["clientConfig", "service", "port"]] = 443
                }
            }
        }
        s.columns = [
            TableColumn("Webhooks", type: "integer") { o, _ in .number(JSONNumber(o["webhooks"]?.arrayValue?.count ?? 0)) },
            Columns.age,
        ]
        return s
    }

    static var ingress: ResourceStrategy {
        var s = ResourceStrategy()
        s.prepareForCreate = { o in o["status"] = ["loadBalancer": [:]] }
        s.columns = [
            TableColumn("Class") { o, _ in Columns.string(o, ["spec", "ingressClassName"]) },
            TableColumn("Hosts") { o, _ in
                let hosts = (o[path: ["spec", "rules"]]?.arrayValue ?? []).map { $0["host"]?.stringValue ?? "*" }
                return .string(hosts.isEmpty ? "*" : hosts.joined(separator: ","))
            },
            TableColumn("Address") { o, _ in
                .string((o[path: ["status", "loadBalancer", "ingress"]]?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue ?? $0["hostname"]?.stringValue }.joined(separator: ","))
            },
            TableColumn("Ports") { o, _ in (o[path: ["spec", "tls"]]?.arrayValue ?? []).isEmpty ? "80" : "80, 443" },
            Columns.age,
        ]
        return s
    }

    static var networkPolicy: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            guard o["spec"]?.isObject == true, o[path: ["spec", "policyTypes"]] == nil else { return }
            var types: [JSON] = ["Ingress"]
            if o[path: ["spec", "egress"]]?.arrayValue != nil { types.append("Egress") }
            o[path: ["spec", "policyTypes"]] = .array(types)
        }
        s.columns = [
            TableColumn("Pod-Selector") { o, _ in
                let sel = Columns.selectorString(o[path: ["spec", "podSelector"]])
                return .string(sel == "<none>" ? "<none>" : sel)
            },
            Columns.age,
        ]
        return s
    }
}

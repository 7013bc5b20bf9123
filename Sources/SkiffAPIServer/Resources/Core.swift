import SkiffAPI
import SkiffCore

/// core/v1 kinds: defaults, validation, table columns and field selectors as upstream.
enum Core {
    static var namespace: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            if let name = o.name { o[path: ["metadata", "labels", "kubernetes.io/metadata.name"]] = .string(name) }
        }
        s.prepareForCreate = { o in
            o[path: ["spec", "finalizers"]] = ["kubernetes"]
            o["status"] = ["phase": "Active"]
        }
        s.nameRule = Validation.nameIsDNSLabel
        s.columns = [TableColumn("Status") { o, _ in Columns.string(o, ["status", "phase"], "") }, Columns.age]
        s.selectableFields = ["status.phase": { $0[path: ["status", "phase"]]?.stringValue ?? "" }]
        s.tracksGeneration = false
        return s
    }

    static var node: ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [
            TableColumn("Status") { o, _ in .string(nodeStatus(o)) },
            TableColumn("Roles") { o, _ in
                let roles = o.labels.keys.compactMap { k -> String? in
                    k.hasPrefix("node-role.kubernetes.io/") ? String(k.dropFirst("node-role.kubernetes.io/".count)) : nil
                }.sorted()
                return .string(roles.isEmpty ? "<none>" : roles.joined(separator: ","))
            },
            Columns.age,
            TableColumn("Version") { o, _ in Columns.string(o, ["status", "nodeInfo", "kubeletVersion"], "") },
            TableColumn("Internal-IP", priority: 1) { o, _ in .string(nodeAddress(o, "InternalIP")) },
            TableColumn("External-IP", priority: 1) { o, _ in .string(nodeAddress(o, "ExternalIP")) },
            TableColumn("OS-Image", priority: 1) { o, _ in Columns.string(o, ["status", "nodeInfo", "osImage"], "<unknown>") },
            TableColumn("Kernel-Version", priority: 1) { o, _ in Columns.string(o, ["status", "nodeInfo", "kernelVersion"], "<unknown>") },
            TableColumn("Container-Runtime", priority: 1) { o, _ in Columns.string(o, ["status", "nodeInfo", "containerRuntimeVersion"], "<unknown>") },
        ]
        s.selectableFields = ["spec.unschedulable": { ($0[path: ["spec", "unschedulable"]]?.boolValue ?? false) ? "true" : "false" }]
        s.tracksGeneration = false
        return s
    }

    static func nodeStatus(_ o: JSON) -> String {
        let ready = (o[path: ["status", "conditions"]]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
        var status = switch ready?["status"]?.stringValue {
        case "True": "Ready"
        case .some: "NotReady"
        case nil: "Unknown"
        }
        if o[path: ["spec", "unschedulable"]]?.boolValue == true { status += ",SchedulingDisabled" }
        return status
    }

    static func nodeAddress(_ o: JSON, _ type: String) -> String {
        (o[path: ["status", "addresses"]]?.arrayValue ?? []).first { $0["type"]?.stringValue == type }?["address"]?.stringValue ?? "<none>"
    }

    /// Ephemeral containers (kubectl debug) are only ever added: the ones a pod has stay as
    /// they are; new ones need a unique name and an image, and may not have what a
    /// container of the pod's lifecycle has (ports, probes, resources, lifecycle hooks).
    static func ephemeralContainerCauses(new: JSON, old: JSON) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        let before = old["ephemeralContainers"]?.arrayValue ?? []
        let after = new["ephemeralContainers"]?.arrayValue ?? []
        for (i, container) in before.enumerated() {
            let name = container["name"]?.stringValue ?? ""
            guard let now = after.first(where: { $0["name"]?.stringValue == name }) else {
                causes.append(.forbidden("spec.ephemeralContainers", "existing ephemeral containers \"\(name)\" may not be removed"))
                continue
            }
            if now != container { causes.append(.forbidden("spec.ephemeralContainers[\(i)]", "may not be changed")) }
        }
        var names = Set(["containers", "initContainers"].flatMap { (new[$0]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue } })
        for (i, container) in after.enumerated() {
            let field = "spec.ephemeralContainers[\(i)]"
            let name = container["name"]?.stringValue ?? ""
            if name.isEmpty {
                causes.append(.required("\(field).name"))
            } else {
                for msg in Validation.isDNS1123Label(name) { causes.append(.invalid("\(field).name", name, msg)) }
                if !names.insert(name).inserted { causes.append(.duplicate("\(field).name", name)) }
            }
            if before.contains(where: { $0["name"]?.stringValue == name }) { continue }
            if (container["image"]?.stringValue ?? "").isEmpty { causes.append(.required("\(field).image")) }
            for key in ["ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources"] where container[key] != nil && container[key] != [:] && container[key] != .null {
                causes.append(.forbidden("\(field).\(key)", "cannot be set for an Ephemeral Container"))
            }
            if let target = container["targetContainerName"]?.stringValue, !target.isEmpty,
               !(new["containers"]?.arrayValue ?? []).contains(where: { $0["name"]?.stringValue == target }) {
                causes.append(.init(type: "FieldValueNotFound", message: "Not found: \"\(target)\"", field: "\(field).targetContainerName"))
            }
        }
        return causes
    }

    static func pod(defaultTolerationSeconds: Int64) -> ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            guard var spec = o["spec"], spec.isObject else { return }
            PodDefaults.apply(spec: &spec)
            o["spec"] = spec
        }
        s.prepareForCreate = { o in
            // DefaultTolerationSeconds admission: pods ride out a short node outage.
            var tolerations = o[path: ["spec", "tolerations"]]?.arrayValue ?? []
            for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
            where !tolerations.contains(where: { ($0["key"]?.stringValue == key || $0["key"] == nil && $0["operator"]?.stringValue == "Exists") && ($0["effect"]?.stringValue ?? "NoExecute") == "NoExecute" }) {
                tolerations.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": .number(JSONNumber(defaultTolerationSeconds))])
            }
            o[path: ["spec", "tolerations"]] = .array(tolerations)
            o["status"] = ["phase": "Pending", "qosClass": .string(PodDefaults.qosClass(spec: o["spec"] ?? [:]))]
        }
        s.validate = { o, old in
            var causes: [APIError.Cause] = []
            let containers = o[path: ["spec", "containers"]]?.arrayValue ?? []
            if containers.isEmpty { causes.append(.required("spec.containers")) }
            var names = Set<String>()
            for (i, c) in containers.enumerated() {
                let name = c["name"]?.stringValue ?? ""
                if name.isEmpty {
                    causes.append(.required("spec.containers[\(i)].name"))
                } else {
                    for msg in Validation.isDNS1123Label(name) { causes.append(.invalid("spec.containers[\(i)].name", name, msg)) }
                    if !names.insert(name).inserted { causes.append(.duplicate("spec.containers[\(i)].name", name)) }
                }
                if (c["image"]?.stringValue ?? "").isEmpty, old == nil { causes.append(.required("spec.containers[\(i)].image")) }
            }
            if let policy = o[path: ["spec", "restartPolicy"]]?.stringValue, !["Always", "OnFailure", "Never"].contains(policy) {
                causes.append(.unsupported("spec.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
            }
            if let old, let oldSpec = old["spec"], var newSpec = o["spec"] {
                // Only a few pod spec fields may change after creation.
                var oldCopy = oldSpec
                causes += Self.ephemeralContainerCauses(new: newSpec, old: oldSpec)
                for field in ["activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates", "ephemeralContainers"] {
                    newSpec[field] = nil
                    oldCopy[field] = nil
                }
                let images = { (spec: JSON) in (spec["containers"]?.arrayValue ?? []).map { c -> JSON in var c = c; c["image"] = nil; return c } }
                if images(newSpec) == images(oldCopy) {
                    newSpec["containers"] = nil
                    oldCopy["containers"] = nil
                }
                if newSpec != oldCopy {
                    causes.append(.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
                }
            }
            return causes
        }
        s.columns = [
            TableColumn("Ready") { o, _ in
                let statuses = o[path: ["status", "containerStatuses"]]?.arrayValue ?? []
                let total = o[path: ["spec", "containers"]]?.arrayValue?.count ?? 0
                return .string("\(statuses.filter { $0["ready"]?.boolValue == true }.count)/\(total)")
            },
            TableColumn("Status") { o, _ in .string(podStatus(o)) },
            TableColumn("Restarts", type: "string") { o, _ in
                let statuses = o[path: ["status", "containerStatuses"]]?.arrayValue ?? []
                return .string(String(statuses.reduce(0) { $0 + ($1["restartCount"]?.int64Value ?? 0) }))
            },
            Columns.age,
            TableColumn("IP", priority: 1) { o, _ in Columns.string(o, ["status", "podIP"]) },
            TableColumn("Node", priority: 1) { o, _ in Columns.string(o, ["spec", "nodeName"]) },
            TableColumn("Nominated Node", priority: 1) { o, _ in Columns.string(o, ["status", "nominatedNodeName"]) },
            TableColumn("Readiness Gates", priority: 1) { o, _ in
                let gates = o[path: ["spec", "readinessGates"]]?.arrayValue ?? []
                return .string(gates.isEmpty ? "<none>" : "0/\(gates.count)")
            },
        ]
        s.selectableFields = [
            "spec.nodeName": { $0[path: ["spec", "nodeName"]]?.stringValue ?? "" },
            "spec.restartPolicy": { $0[path: ["spec", "restartPolicy"]]?.stringValue ?? "" },
            "spec.schedulerName": { $0[path: ["spec", "schedulerName"]]?.stringValue ?? "" },
            "spec.serviceAccountName": { $0[path: ["spec", "serviceAccountName"]]?.stringValue ?? "" },
            "spec.hostNetwork": { ($0[path: ["spec", "hostNetwork"]]?.boolValue ?? false) ? "true" : "false" },
            "status.phase": { $0[path: ["status", "phase"]]?.stringValue ?? "" },
            "status.podIP": { $0[path: ["status", "podIP"]]?.stringValue ?? "" },
            "status.nominatedNodeName": { $0[path: ["status", "nominatedNodeName"]]?.stringValue ?? "" },
        ]
        s.tracksGeneration = true
        return s
    }

    /// The STATUS column as kubectl prints it: a waiting or terminated reason, or the phase.
    static func podStatus(_ o: JSON) -> String {
        var reason = o[path: ["status", "reason"]]?.stringValue ?? o[path: ["status", "phase"]]?.stringValue ?? "Unknown"
        for c in (o[path: ["status", "containerStatuses"]]?.arrayValue ?? []).reversed() {
            if let r = c[path: ["state", "waiting", "reason"]]?.stringValue, !r.isEmpty {
                reason = r
            } else if let r = c[path: ["state", "terminated", "reason"]]?.stringValue, !r.isEmpty {
                reason = r
            }
        }
        if o.deletionTimestamp != nil {
            reason = o[path: ["status", "reason"]]?.stringValue == "NodeLost" ? "Unknown" : "Terminating"
        }
        return reason
    }

    static var service: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            guard var spec = o["spec"], spec.isObject else { return }
            PodDefaults.setDefault(&spec, "type", "ClusterIP")
            if spec["type"]?.stringValue != "ExternalName" {
                PodDefaults.setDefault(&spec, "sessionAffinity", "None")
                PodDefaults.setDefault(&spec, "internalTrafficPolicy", "Cluster")
                PodDefaults.setDefault(&spec, "ipFamilyPolicy", "SingleStack")
                PodDefaults.setDefault(&spec, "ipFamilies", ["IPv4"])
            }
            if ["NodePort", "LoadBalancer"].contains(spec["type"]?.stringValue ?? "") {
                PodDefaults.setDefault(&spec, "externalTrafficPolicy", "Cluster")
            }
            PodDefaults.mapArray(&spec, "ports") { p in
                PodDefaults.setDefault(&p, "protocol", "TCP")
                if p["targetPort"] == nil, let port = p["port"] { p["targetPort"] = port }
            }
            o["spec"] = spec
        }
        s.prepareForCreate = { o in o["status"] = ["loadBalancer": [:]] }
        s.nameRule = Validation.nameIsDNS1035Label
        s.validate = { o, old in
            var causes: [APIError.Cause] = []
            let type = o[path: ["spec", "type"]]?.stringValue ?? "ClusterIP"
            let types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
            if !types.contains(type) { causes.append(.unsupported("spec.type", type, types)) }
            let ports = o[path: ["spec", "ports"]]?.arrayValue ?? []
            if ports.isEmpty, type != "ExternalName", o[path: ["spec", "clusterIP"]]?.stringValue != "None" {
                causes.append(.required("spec.ports"))
            }
            var names = Set<String>(), seen = Set<String>()
            for (i, p) in ports.enumerated() {
                let path = "spec.ports[\(i)]"
                guard let port = p["port"]?.int64Value else { causes.append(.required("\(path).port")); continue }
                if !(1...65535).contains(port) {
                    causes.append(.invalid("\(path).port", port, "must be between 1 and 65535, inclusive"))
                }
                let name = p["name"]?.stringValue ?? ""
                if ports.count > 1, name.isEmpty { causes.append(.required("\(path).name")) }
                if !name.isEmpty {
                    causes += Validation.isDNS1123Label(name).map { .invalid("\(path).name", name, $0) }
                    if !names.insert(name).inserted { causes.append(.duplicate("\(path).name", name)) }
                }
                let proto = p["protocol"]?.stringValue ?? "TCP"
                if !["TCP", "UDP", "SCTP"].contains(proto) {
                    causes.append(.unsupported("\(path).protocol", proto, ["SCTP", "TCP", "UDP"]))
                } else if !seen.insert("\(port)/\(proto)").inserted {
                    causes.append(.duplicate(path, "{\"protocol\":\"\(proto)\",\"port\":\(port)}"))
                }
                if let target = p["targetPort"]?.int64Value, !(1...65535).contains(target) {
                    causes.append(.invalid("\(path).targetPort", target, "must be between 1 and 65535, inclusive"))
                } else if let target = p["targetPort"]?.stringValue {
                    causes += Validation.isValidPortName(target).map { .invalid("\(path).targetPort", target, $0) }
                }
                if p["nodePort"]?.int64Value != nil, type == "ClusterIP" || type == "ExternalName" {
                    causes.append(.forbidden("\(path).nodePort", "may not be used when `type` is '\(type)'"))
                }
            }
            if let old, let before = old[path: ["spec", "clusterIP"]]?.stringValue, !before.isEmpty, type != "ExternalName",
               let now = o[path: ["spec", "clusterIP"]]?.stringValue, now != before {
                causes.append(.invalid("spec.clusterIPs[0]", now, "may not change once set"))
            }
            return causes
        }
        s.columns = [
            TableColumn("Type") { o, _ in Columns.string(o, ["spec", "type"], "ClusterIP") },
            TableColumn("Cluster-IP") { o, _ in Columns.string(o, ["spec", "clusterIP"]) },
            TableColumn("External-IP") { o, _ in
                let external = (o[path: ["spec", "externalIPs"]]?.arrayValue ?? []).compactMap(\.stringValue)
                let lb = (o[path: ["status", "loadBalancer", "ingress"]]?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue ?? $0["hostname"]?.stringValue }
                if o[path: ["spec", "type"]]?.stringValue == "ExternalName" { return Columns.string(o, ["spec", "externalName"]) }
                if o[path: ["spec", "type"]]?.stringValue == "LoadBalancer", lb.isEmpty, external.isEmpty { return "<pending>" }
                return .string((lb + external).isEmpty ? "<none>" : (lb + external).joined(separator: ","))
            },
            TableColumn("Port(s)") { o, _ in
                let ports = (o[path: ["spec", "ports"]]?.arrayValue ?? []).map { p -> String in
                    var s = String(p["port"]?.int64Value ?? 0)
                    if let np = p["nodePort"]?.int64Value { s += ":\(np)" }
                    return s + "/" + (p["protocol"]?.stringValue ?? "TCP")
                }
                return .string(ports.isEmpty ? "<none>" : ports.joined(separator: ","))
            },
            Columns.age,
            TableColumn("Selector", priority: 1) { o, _ in .string(Columns.mapString(o[path: ["spec", "selector"]])) },
        ]
        s.selectableFields = [
            "spec.clusterIP": { $0[path: ["spec", "clusterIP"]]?.stringValue ?? "" },
            "spec.type": { $0[path: ["spec", "type"]]?.stringValue ?? "ClusterIP" },
        ]
        s.tracksGeneration = false
        return s
    }

    static var endpoints: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.mapArray(&o, "subsets") { subset in
                PodDefaults.mapArray(&subset, "ports") { PodDefaults.setDefault(&$0, "protocol", "TCP") }
            }
        }
        s.columns = [
            TableColumn("Endpoints") { o, _ in
                var eps: [String] = []
                for subset in o["subsets"]?.arrayValue ?? [] {
                    let ports = (subset["ports"]?.arrayValue ?? []).compactMap { $0["port"]?.int64Value }
                    for a in subset["addresses"]?.arrayValue ?? [] {
                        guard let ip = a["ip"]?.stringValue else { continue }
                        eps += ports.isEmpty ? [ip] : ports.map { "\(ip):\($0)" }
                    }
                }
                return Columns.abbreviated(eps, empty: "<none>")
            },
            Columns.age,
        ]
        s.tracksGeneration = false
        return s
    }

    static var configMap: ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [
            TableColumn("Data", type: "integer") { o, _ in
                .number(JSONNumber((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0)))
            },
            Columns.age,
        ]
        s.tracksGeneration = false
        return s
    }

    static var secret: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in if o["type"] == nil { o["type"] = "Opaque" } }
        s.prepareForCreate = { o in
            // stringData is write-only: merged into data, base64-encoded.
            if let sd = o["stringData"]?.objectValue {
                var data = o["data"]?.objectValue ?? JSONObject()
                for (k, v) in sd { if let str = v.stringValue { data[k] = .string(base64(Array(str.utf8))) } }
                o["data"] = .object(data)
                o["stringData"] = nil
            }
        }
        s.columns = [
            TableColumn("Type") { o, _ in Columns.string(o, ["type"], "") },
            TableColumn("Data", type: "integer") { o, _ in .number(JSONNumber(o["data"]?.objectValue?.count ?? 0)) },
            Columns.age,
        ]
        s.selectableFields = ["type": { $0["type"]?.stringValue ?? "" }]
        s.tracksGeneration = false
        return s
    }

    /// AGE, then "used/hard" per resource: requests in REQUEST, limits.* in LIMIT.
    static var resourceQuota: ResourceStrategy {
        var s = ResourceStrategy()
        @Sendable func cell(_ o: JSON, limits: Bool) -> JSON {
            let used = o[path: ["status", "used"]]?.objectValue ?? JSONObject()
            let hard = (o[path: ["status", "hard"]]?.objectValue ?? JSONObject()).sorted { $0.0 < $1.0 }
            return .string(hard.filter { $0.0.hasPrefix("limits.") == limits }
                .map { "\($0.0): \(used[$0.0]?.stringValue ?? "0")/\($0.1.stringValue ?? "")" }.joined(separator: ", "))
        }
        s.columns = [Columns.age, TableColumn("Request") { o, _ in cell(o, limits: false) }, TableColumn("Limit") { o, _ in cell(o, limits: true) }]
        return s
    }

    /// Upstream's LimitRangeItem defaults for containers: the default limit from max, the
    /// default request from the default limit, else from min.
    static var limitRange: ResourceStrategy {
        var s = BuiltinResources.createdAt()
        s.applyDefaults = { o in
            guard var spec = o["spec"], spec.isObject else { return }
            PodDefaults.mapArray(&spec, "limits") { item in
                guard item["type"] == "Container" else { return }
                var defaults = item["default"]?.objectValue ?? JSONObject()
                var requests = item["defaultRequest"]?.objectValue ?? JSONObject()
                for (k, v) in item["max"]?.objectValue ?? JSONObject() where defaults[k] == nil { defaults[k] = v }
                for (k, v) in defaults where requests[k] == nil { requests[k] = v }
                for (k, v) in item["min"]?.objectValue ?? JSONObject() where requests[k] == nil { requests[k] = v }
                if !defaults.isEmpty { item["default"] = .object(defaults) }
                if !requests.isEmpty { item["defaultRequest"] = .object(requests) }
            }
            o["spec"] = spec
        }
        return s
    }

    static var serviceAccount: ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [
            TableColumn("Secrets", type: "integer") { o, _ in .number(JSONNumber(o["secrets"]?.arrayValue?.count ?? 0)) },
            Columns.age,
        ]
        s.tracksGeneration = false
        return s
    }

    static var event: ResourceStrategy {
        var s = ResourceStrategy()
        s.columns = [
            TableColumn("Last Seen") { o, now in
                let t = o["lastTimestamp"]?.stringValue ?? o["eventTime"]?.stringValue ?? o.creationTimestamp
                return .string(Timestamp.age(of: t, now: now))
            },
            TableColumn("Type") { o, _ in Columns.string(o, ["type"], "") },
            TableColumn("Reason") { o, _ in Columns.string(o, ["reason"], "") },
            TableColumn("Object") { o, _ in
                .string("\((o[path: ["involvedObject", "kind"]]?.stringValue ?? "").lowercased())/\(o[path: ["involvedObject", "name"]]?.stringValue ?? "")")
            },
            TableColumn("Subobject", priority: 1) { o, _ in Columns.string(o, ["involvedObject", "fieldPath"], "") },
            TableColumn("Source", priority: 1) { o, _ in
                let c = o[path: ["source", "component"]]?.stringValue ?? o["reportingComponent"]?.stringValue ?? ""
                let h = o[path: ["source", "host"]]?.stringValue
                return .string(h.map { "\(c), \($0)" } ?? c)
            },
            TableColumn("Message") { o, _ in Columns.string(o, ["message"], "") },
            TableColumn("First Seen", priority: 1) { o, now in
                .string(Timestamp.age(of: o["firstTimestamp"]?.stringValue ?? o["eventTime"]?.stringValue ?? o.creationTimestamp, now: now))
            },
            TableColumn("Count", priority: 1) { o, _ in .string(String(o["count"]?.int64Value ?? 1)) },
            TableColumn("Name", priority: 1) { o, _ in .string(o.name ?? "") },
        ]
        var fields: [String: @Sendable (JSON) -> String] = [:]
        for f in ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"] {
            fields["involvedObject.\(f)"] = { $0[path: ["involvedObject", f]]?.stringValue ?? "" }
        }
        fields["reason"] = { $0["reason"]?.stringValue ?? "" }
        fields["reportingComponent"] = { $0["reportingComponent"]?.stringValue ?? "" }
        fields["source"] = { $0[path: ["source", "component"]]?.stringValue ?? "" }
        fields["type"] = { $0["type"]?.stringValue ?? "" }
        s.selectableFields = fields
        s.tracksGeneration = false
        return s
    }

    static var persistentVolume: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            o[path: ["spec", "persistentVolumeReclaimPolicy"]] = o[path: ["spec", "persistentVolumeReclaimPolicy"]] ?? "Retain"
            o[path: ["spec", "volumeMode"]] = o[path: ["spec", "volumeMode"]] ?? "Filesystem"
        }
        s.prepareForCreate = { o in o["status"] = ["phase": "Pending"] }
        s.columns = [
            TableColumn("Capacity") { o, _ in Columns.string(o, ["spec", "capacity", "storage"], "") },
            TableColumn("Access Modes") { o, _ in .string(accessModes(o)) },
            TableColumn("Reclaim Policy") { o, _ in Columns.string(o, ["spec", "persistentVolumeReclaimPolicy"], "") },
            TableColumn("Status") { o, _ in Columns.string(o, ["status", "phase"], "") },
            TableColumn("Claim") { o, _ in
                guard let n = o[path: ["spec", "claimRef", "name"]]?.stringValue else { return "" }
                return .string("\(o[path: ["spec", "claimRef", "namespace"]]?.stringValue ?? "")/\(n)")
            },
            TableColumn("StorageClass") { o, _ in Columns.string(o, ["spec", "storageClassName"], "") },
            TableColumn("VolumeAttributesClass") { o, _ in Columns.string(o, ["spec", "volumeAttributesClassName"]) },
            TableColumn("Reason") { o, _ in Columns.string(o, ["status", "reason"], "") },
            Columns.age,
            TableColumn("VolumeMode", priority: 1) { o, _ in Columns.string(o, ["spec", "volumeMode"], "") },
        ]
        s.tracksGeneration = false
        return s
    }

    static var persistentVolumeClaim: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in o[path: ["spec", "volumeMode"]] = o[path: ["spec", "volumeMode"]] ?? "Filesystem" }
        s.prepareForCreate = { o in o["status"] = ["phase": "Pending"] }
        s.columns = [
            TableColumn("Status") { o, _ in Columns.string(o, ["status", "phase"], "") },
            TableColumn("Volume") { o, _ in Columns.string(o, ["spec", "volumeName"], "") },
            TableColumn("Capacity") { o, _ in Columns.string(o, ["status", "capacity", "storage"], "") },
            TableColumn("Access Modes") { o, _ in .string(accessModes(o, status: true)) },
            TableColumn("StorageClass") { o, _ in Columns.string(o, ["spec", "storageClassName"], "") },
            TableColumn("VolumeAttributesClass") { o, _ in Columns.string(o, ["spec", "volumeAttributesClassName"]) },
            Columns.age,
            TableColumn("VolumeMode", priority: 1) { o, _ in Columns.string(o, ["spec", "volumeMode"], "") },
        ]
        s.tracksGeneration = false
        return s
    }

    static func accessModes(_ o: JSON, status: Bool = false) -> String {
        let short = ["ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"]
        let modes = (o[path: [status ? "status" : "spec", "accessModes"]]?.arrayValue ?? []).compactMap(\.stringValue)
        return modes.map { short[$0] ?? $0 }.joined(separator: ",")
    }

    static var podTemplate: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in PodDefaults.apply(template: &o, at: ["template"]) }
        s.columns = [
            TableColumn("Containers") { o, _ in
                .string((o[path: ["template", "spec", "containers"]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.joined(separator: ","))
            },
            TableColumn("Images") { o, _ in
                .string((o[path: ["template", "spec", "containers"]]?.arrayValue ?? []).compactMap { $0["image"]?.stringValue }.joined(separator: ","))
            },
            TableColumn("Pod Labels") { o, _ in .string(Columns.mapString(o[path: ["template", "metadata", "labels"]])) },
        ]
        s.tracksGeneration = false
        return s
    }

}

/// Standard base64, as Kubernetes encodes []byte fields.
func base64(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i + 2 < bytes.count {
        let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
        out += [table[n >> 18], table[n >> 12 & 63], table[n >> 6 & 63], table[n & 63]]
        i += 3
    }
    if i + 1 == bytes.count {
        let n = Int(bytes[i]) << 16
        out += [table[n >> 18], table[n >> 12 & 63], 61, 61]
    } else if i + 2 == bytes.count {
        let n = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8
        out += [table[n >> 18], table[n >> 12 & 63], table[n >> 6 & 63], 61]
    }
    return String(decoding: out, as: UTF8.self)
}

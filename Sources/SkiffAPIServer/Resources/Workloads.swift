import SkiffAPI
import SkiffCore

/// apps/v1 kinds and ReplicationController.
enum Apps {
    static var deployment: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            var spec = o["spec"] ?? [:]
            PodDefaults.setDefault(&spec, "replicas", 1)
            PodDefaults.setDefault(&spec, "revisionHistoryLimit", 10)
            PodDefaults.setDefault(&spec, "progressDeadlineSeconds", 600)
            if spec[path: ["strategy", "type"]] == nil { spec[path: ["strategy", "type"]] = "RollingUpdate" }
            if spec[path: ["strategy", "type"]]?.stringValue == "RollingUpdate" {
                var ru = spec[path: ["strategy", "rollingUpdate"]] ?? [:]
                PodDefaults.setDefault(&ru, "maxUnavailable", "25%")
                PodDefaults.setDefault(&ru, "maxSurge", "25%")
                spec[path: ["strategy", "rollingUpdate"]] = ru
            }
            o["spec"] = spec
            PodDefaults.apply(template: &o, at: ["spec", "template"])
        }
        s.prepareForCreate = { o in o["status"] = [:] }
        s.validate = { o, old in workloadCauses(o, old) }
        s.columns = [
            TableColumn("Ready") { o, _ in
                .string("\(o[path: ["status", "readyReplicas"]]?.int64Value ?? 0)/\(o[path: ["spec", "replicas"]]?.int64Value ?? 0)")
            },
            TableColumn("Up-to-date", type: "integer") { o, _ in Columns.int(o, ["status", "updatedReplicas"]) },
            TableColumn("Available", type: "integer") { o, _ in Columns.int(o, ["status", "availableReplicas"]) },
            Columns.age,
        ] + Columns.containers(["spec", "template", "spec"]) + [Columns.selector]
        return s
    }

    static var replicaSet: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            o[path: ["spec", "replicas"]] = o[path: ["spec", "replicas"]] ?? 1
            PodDefaults.apply(template: &o, at: ["spec", "template"])
        }
        s.prepareForCreate = { o in o["status"] = ["replicas": 0] }
        s.validate = { o, old in workloadCauses(o, old) }
        s.columns = replicaColumns + Columns.containers(["spec", "template", "spec"]) + [Columns.selector]
        return s
    }

    static var replicationController: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            o[path: ["spec", "replicas"]] = o[path: ["spec", "replicas"]] ?? 1
            // An RC without a selector selects its template's labels.
            if o[path: ["spec", "selector"]] == nil, let labels = o[path: ["spec", "template", "metadata", "labels"]] {
                o[path: ["spec", "selector"]] = labels
            }
            if o[path: ["metadata", "labels"]] == nil, let labels = o[path: ["spec", "template", "metadata", "labels"]] {
                o[path: ["metadata", "labels"]] = labels
            }
            PodDefaults.apply(template: &o, at: ["spec", "template"])
        }
        s.prepareForCreate = { o in o["status"] = ["replicas": 0] }
        s.validate = { o, _ in replicationControllerCauses(o) }
        s.columns = replicaColumns + Columns.containers(["spec", "template", "spec"]) +
            [TableColumn("Selector", priority: 1) { o, _ in .string(Columns.mapString(o[path: ["spec", "selector"]])) }]
        return s
    }

    /// ValidateReplicationControllerSpec: a non-empty map selector that the template's
    /// labels match, a template whose pods restart Always, no negative counts.
    static func replicationControllerCauses(_ o: JSON) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        let selector = stringMap(o[path: ["spec", "selector"]])
        if selector.isEmpty { causes.append(.required("spec.selector")) }
        for field in ["replicas", "minReadySeconds"] {
            if let n = o[path: ["spec", field]]?.int64Value, n < 0 {
                causes.append(.invalid("spec.\(field)", String(n), "must be greater than or equal to 0"))
            }
        }
        guard let template = o[path: ["spec", "template"]], !template.isNull else { return causes + [.required("spec.template")] }
        let labels = stringMap(template[path: ["metadata", "labels"]])
        if !selector.isEmpty, !selector.allSatisfy({ labels[$0.key] == $0.value }) {
            causes.append(.invalid("spec.template.metadata.labels", Columns.mapString(template[path: ["metadata", "labels"]]),
                                   "selector does not match labels in spec.template"))
        }
        let restart = template[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always"
        if restart != "Always" { causes.append(.unsupported("spec.template.spec.restartPolicy", restart, ["Always"])) }
        if (template[path: ["spec", "containers"]]?.arrayValue ?? []).isEmpty { causes.append(.required("spec.template.spec.containers")) }
        return causes
    }

    static let replicaColumns = [
        TableColumn("Desired", type: "integer") { o, _ in Columns.int(o, ["spec", "replicas"]) },
        TableColumn("Current", type: "integer") { o, _ in Columns.int(o, ["status", "replicas"]) },
        TableColumn("Ready", type: "integer") { o, _ in Columns.int(o, ["status", "readyReplicas"]) },
        Columns.age,
    ]

    static var statefulSet: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            var spec = o["spec"] ?? [:]
            PodDefaults.setDefault(&spec, "replicas", 1)
            PodDefaults.setDefault(&spec, "podManagementPolicy", "OrderedReady")
            PodDefaults.setDefault(&spec, "revisionHistoryLimit", 10)
            // As upstream: an absent strategy becomes RollingUpdate with partition 0; an
            // explicit RollingUpdate gets partition 0 only inside a rollingUpdate it has.
            if spec[path: ["updateStrategy", "type"]] == nil {
                spec[path: ["updateStrategy", "type"]] = "RollingUpdate"
                if spec[path: ["updateStrategy", "rollingUpdate"]] == nil { spec[path: ["updateStrategy", "rollingUpdate"]] = [:] }
            }
            if spec[path: ["updateStrategy", "type"]]?.stringValue == "RollingUpdate", spec[path: ["updateStrategy", "rollingUpdate"]]?.isObject == true,
               spec[path: ["updateStrategy", "rollingUpdate", "partition"]] == nil {
                spec[path: ["updateStrategy", "rollingUpdate", "partition"]] = 0
            }
            var retention = spec["persistentVolumeClaimRetentionPolicy"] ?? [:]
            PodDefaults.setDefault(&retention, "whenDeleted", "Retain")
            PodDefaults.setDefault(&retention, "whenScaled", "Retain")
            spec["persistentVolumeClaimRetentionPolicy"] = retention
            // Claim templates are defaulted as claims are (SetDefaults_PersistentVolumeClaim).
            if let templates = spec["volumeClaimTemplates"]?.arrayValue {
                spec["volumeClaimTemplates"] = .array(templates.map { t in
                    var t = t
                    if t[path: ["spec", "volumeMode"]] == nil { t[path: ["spec", "volumeMode"]] = "Filesystem" }
                    if t[path: ["status", "phase"]] == nil { t[path: ["status", "phase"]] = "Pending" }
                    return t
                })
            }
            o["spec"] = spec
            PodDefaults.apply(template: &o, at: ["spec", "template"])
        }
        s.prepareForCreate = { o in o["status"] = ["replicas": 0, "availableReplicas": 0] }
        s.validate = { o, old in workloadCauses(o, old) + statefulSetCauses(o, old) }
        s.columns = [
            TableColumn("Ready") { o, _ in
                .string("\(o[path: ["status", "readyReplicas"]]?.int64Value ?? 0)/\(o[path: ["spec", "replicas"]]?.int64Value ?? 0)")
            },
            Columns.age,
        ] + Columns.containers(["spec", "template", "spec"])
        return s
    }

    static var daemonSet: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            var spec = o["spec"] ?? [:]
            PodDefaults.setDefault(&spec, "revisionHistoryLimit", 10)
            if spec[path: ["updateStrategy", "type"]] == nil { spec[path: ["updateStrategy", "type"]] = "RollingUpdate" }
            if spec[path: ["updateStrategy", "type"]]?.stringValue == "RollingUpdate" {
                var ru = spec[path: ["updateStrategy", "rollingUpdate"]] ?? [:]
                PodDefaults.setDefault(&ru, "maxUnavailable", 1)
                PodDefaults.setDefault(&ru, "maxSurge", 0)
                spec[path: ["updateStrategy", "rollingUpdate"]] = ru
            }
            o["spec"] = spec
            PodDefaults.apply(template: &o, at: ["spec", "template"])
        }
        s.prepareForCreate = { o in
            o["status"] = ["currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0]
        }
        s.validate = { o, old in workloadCauses(o, old) }
        s.columns = [
            TableColumn("Desired", type: "integer") { o, _ in Columns.int(o, ["status", "desiredNumberScheduled"]) },
            TableColumn("Current", type: "integer") { o, _ in Columns.int(o, ["status", "currentNumberScheduled"]) },
            TableColumn("Ready", type: "integer") { o, _ in Columns.int(o, ["status", "numberReady"]) },
            TableColumn("Up-to-date", type: "integer") { o, _ in Columns.int(o, ["status", "updatedNumberScheduled"]) },
            TableColumn("Available", type: "integer") { o, _ in Columns.int(o, ["status", "numberAvailable"]) },
            TableColumn("Node Selector") { o, _ in .string(Columns.mapString(o[path: ["spec", "template", "spec", "nodeSelector"]])) },
            Columns.age,
        ] + Columns.containers(["spec", "template", "spec"]) + [Columns.selector]
        return s
    }

    static var controllerRevision: ResourceStrategy {
        var s = ResourceStrategy()
        // ValidateControllerRevision(Update): a history entry never changes its data.
        s.validate = { o, old in
            var causes: [APIError.Cause] = []
            if let r = o["revision"]?.int64Value, r < 0 { causes.append(.invalid("revision", String(r), "must be greater than or equal to 0")) }
            if let old, (old["data"] ?? .null) != (o["data"] ?? .null) {
                causes.append(.invalid("data", (o["data"] ?? .null).serializedString(), "field is immutable"))
            }
            return causes
        }
        s.columns = [
            TableColumn("Controller") { o, _ in
                guard let owner = o.ownerReferences.first(where: { $0["controller"]?.boolValue == true }) else { return "<none>" }
                let group = (owner["apiVersion"]?.stringValue ?? "").split(separator: "/").dropLast().joined()
                let kind = (owner["kind"]?.stringValue ?? "").lowercased()
                return .string("\(group.isEmpty ? kind : "\(kind).\(group)")/\(owner["name"]?.stringValue ?? "")")
            },
            TableColumn("Revision", type: "integer") { o, _ in Columns.int(o, ["revision"]) },
            Columns.age,
        ]
        s.tracksGeneration = false  // a revision has no spec: upstream never sets its generation
        return s
    }

    /// ValidateStatefulSetSpec's checks of the fields the controller reads, and
    /// ValidateStatefulSetUpdate's rule that only some of the spec may change.
    static func statefulSetCauses(_ o: JSON, _ old: JSON?) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        let policy = o[path: ["spec", "podManagementPolicy"]]?.stringValue ?? ""
        if !["OrderedReady", "Parallel"].contains(policy) {
            causes.append(.unsupported("spec.podManagementPolicy", policy, ["OrderedReady", "Parallel"]))
        }
        switch o[path: ["spec", "updateStrategy", "type"]]?.stringValue ?? "" {
        case "RollingUpdate":
            if let partition = o[path: ["spec", "updateStrategy", "rollingUpdate", "partition"]]?.int64Value, partition < 0 {
                causes.append(.invalid("spec.updateStrategy.rollingUpdate.partition", String(partition), "must be greater than or equal to 0"))
            }
        case "OnDelete":
            if let ru = o[path: ["spec", "updateStrategy", "rollingUpdate"]], !ru.isNull {
                causes.append(.invalid("spec.updateStrategy.rollingUpdate", ru.serializedString(), "only allowed for updateStrategy 'RollingUpdate'"))
            }
        case let other:
            causes.append(.unsupported("spec.updateStrategy.type", other, ["OnDelete", "RollingUpdate"]))
        }
        for field in ["whenDeleted", "whenScaled"] {
            let v = o[path: ["spec", "persistentVolumeClaimRetentionPolicy", field]]?.stringValue ?? ""
            if !["Retain", "Delete"].contains(v) {
                causes.append(.unsupported("spec.persistentVolumeClaimRetentionPolicy.\(field)", v, ["Retain", "Delete"]))
            }
        }
        let restart = o[path: ["spec", "template", "spec", "restartPolicy"]]?.stringValue ?? "Always"
        if restart != "Always" { causes.append(.unsupported("spec.template.spec.restartPolicy", restart, ["Always"])) }
        if let old {
            var a = o["spec"]?.objectValue ?? JSONObject(), b = old["spec"]?.objectValue ?? JSONObject()
            for mutable in ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"] {
                a[mutable] = nil
                b[mutable] = nil
            }
            if JSON.object(a) != JSON.object(b) {
                causes.append(.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                                             + "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
            }
        }
        return causes
    }

    /// Checks every workload kind shares: a selector that matches the template's labels,
    /// a selector that does not change, non-negative replicas.
    static func workloadCauses(_ o: JSON, _ old: JSON?) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        guard let selectorJSON = o[path: ["spec", "selector"]], !selectorJSON.isNull else {
            return causes + [.required("spec.selector")]
        }
        do {
            let selector = try LabelSelector(selectorJSON)
            if selector.isEmpty {
                causes.append(.invalid("spec.selector", Columns.selectorString(selectorJSON), "empty selector is invalid for deployment"))
            } else if !selector.matches(stringMap(o[path: ["spec", "template", "metadata", "labels"]])) {
                causes.append(.invalid("spec.template.metadata.labels", Columns.mapString(o[path: ["spec", "template", "metadata", "labels"]]),
                                       "`selector` does not match template `labels`"))
            }
        } catch {
            causes.append(.invalid("spec.selector", Columns.selectorString(selectorJSON), error.message))
        }
        if let old, let oldSelector = old[path: ["spec", "selector"]], oldSelector != selectorJSON {
            causes.append(.invalid("spec.selector", Columns.selectorString(selectorJSON), "field is immutable"))
        }
        if let r = o[path: ["spec", "replicas"]]?.int64Value, r < 0 {
            causes.append(.invalid("spec.replicas", String(r), "must be greater than or equal to 0"))
        }
        if (o[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []).isEmpty {
            causes.append(.required("spec.template.spec.containers"))
        }
        return causes
    }
}

/// batch/v1 kinds.
enum Batch {
    static var job: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            var spec = o["spec"] ?? [:]
            if spec["completions"] == nil, spec["parallelism"] == nil {
                spec["completions"] = 1
                spec["parallelism"] = 1
            }
            PodDefaults.setDefault(&spec, "parallelism", 1)
            PodDefaults.setDefault(&spec, "backoffLimit", 6)
            PodDefaults.setDefault(&spec, "completionMode", "NonIndexed")
            PodDefaults.setDefault(&spec, "suspend", false)
            PodDefaults.setDefault(&spec, "manualSelector", false)
            if spec["podFailurePolicy"] == nil { PodDefaults.setDefault(&spec, "podReplacementPolicy", "TerminatingOrFailed") }
            o["spec"] = spec
            PodDefaults.apply(template: &o, at: ["spec", "template"])
        }
        s.prepareForCreate = { o in
            o["status"] = [:]
            // Upstream generates the selector from the job's uid unless manualSelector is
            // set, keeping what the user gave (a conflict fails validation).
            if o[path: ["spec", "manualSelector"]]?.boolValue != true, let uid = o.uid {
                var labels = o[path: ["spec", "template", "metadata", "labels"]]?.objectValue ?? JSONObject()
                for key in ["batch.kubernetes.io/job-name", "job-name"] where labels[key] == nil { labels[key] = .string(o.name ?? "") }
                for key in ["batch.kubernetes.io/controller-uid", "controller-uid"] where labels[key] == nil { labels[key] = .string(uid) }
                o[path: ["spec", "template", "metadata", "labels"]] = .object(labels)
                var matchLabels = o[path: ["spec", "selector", "matchLabels"]]?.objectValue ?? JSONObject()
                if matchLabels["batch.kubernetes.io/controller-uid"] == nil { matchLabels["batch.kubernetes.io/controller-uid"] = .string(uid) }
                o[path: ["spec", "selector", "matchLabels"]] = .object(matchLabels)
            }
            // A Job without labels shows its template's, as upstream's defaulting (which
            // runs again when the stored Job is read) gives it.
            if o.labels.isEmpty, let labels = o[path: ["spec", "template", "metadata", "labels"]], labels.objectValue?.isEmpty == false {
                o[path: ["metadata", "labels"]] = labels
            }
        }
        s.validate = { o, old in
            var causes: [APIError.Cause] = []
            let policy = o[path: ["spec", "template", "spec", "restartPolicy"]]?.stringValue ?? "Always"
            if !["OnFailure", "Never"].contains(policy) {
                causes.append(.unsupported("spec.template.spec.restartPolicy", policy, ["OnFailure", "Never"]))
            } else if o[path: ["spec", "podFailurePolicy"]] != nil, policy != "Never" {
                causes.append(.invalid("spec.template.spec.restartPolicy", policy, "only \"Never\" is supported when podFailurePolicy is specified"))
            }
            if (o[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []).isEmpty {
                causes.append(.required("spec.template.spec.containers"))
            }
            if let selectorJSON = o[path: ["spec", "selector"]] {
                let labels = stringMap(o[path: ["spec", "template", "metadata", "labels"]])
                if let selector = try? LabelSelector(selectorJSON), !selector.matches(labels) {
                    let shown = "map[string]string{" + labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ", ") + "}"
                    causes.append(.invalid("spec.template.metadata.labels", shown, "`selector` does not match template `labels`"))
                }
            } else if o[path: ["spec", "manualSelector"]]?.boolValue == true {
                causes.append(.required("spec.selector"))
            }
            if let old {
                if o[path: ["spec", "selector"]] != old[path: ["spec", "selector"]] {
                    causes.append(.invalid("spec.selector", Columns.selectorString(o[path: ["spec", "selector"]]), "field is immutable"))
                }
                if let mode = o[path: ["spec", "completionMode"]]?.stringValue, mode != old[path: ["spec", "completionMode"]]?.stringValue {
                    causes.append(.invalid("spec.completionMode", mode, "field is immutable"))
                }
            }
            return causes
        }
        s.columns = [
            TableColumn("Status") { o, _ in
                let conditions = o[path: ["status", "conditions"]]?.arrayValue ?? []
                let trueTypes = conditions.filter { $0["status"]?.stringValue == "True" }.compactMap { $0["type"]?.stringValue }
                // Upstream's printer order: finished, then terminating, then the rest.
                for t in ["Complete", "Failed"] where trueTypes.contains(t) { return .string(t) }
                if o.deletionTimestamp != nil { return "Terminating" }
                for t in ["Suspended", "FailureTarget", "SuccessCriteriaMet"] where trueTypes.contains(t) { return .string(t) }
                return "Running"
            },
            TableColumn("Completions") { o, _ in
                let succeeded = o[path: ["status", "succeeded"]]?.int64Value ?? 0
                if let c = o[path: ["spec", "completions"]]?.int64Value { return .string("\(succeeded)/\(c)") }
                let p = o[path: ["spec", "parallelism"]]?.int64Value ?? 1
                return .string(p > 1 ? "\(succeeded)/1 of \(p)" : "\(succeeded)/1")
            },
            TableColumn("Duration") { o, now in
                guard let start = o[path: ["status", "startTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { return "" }
                let end = o[path: ["status", "completionTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? now
                return .string(Timestamp.humanDuration(seconds: end.seconds - start.seconds))
            },
            Columns.age,
        ] + Columns.containers(["spec", "template", "spec"]) + [Columns.selector]
        s.selectableFields = ["status.successful": { String($0[path: ["status", "succeeded"]]?.int64Value ?? 0) }]
        return s
    }

    static var cronJob: ResourceStrategy {
        var s = ResourceStrategy()
        s.applyDefaults = { o in
            PodDefaults.setDefault(&o, "spec", [:])
            var spec = o["spec"] ?? [:]
            PodDefaults.setDefault(&spec, "concurrencyPolicy", "Allow")
            PodDefaults.setDefault(&spec, "suspend", false)
            PodDefaults.setDefault(&spec, "successfulJobsHistoryLimit", 3)
            PodDefaults.setDefault(&spec, "failedJobsHistoryLimit", 1)
            o["spec"] = spec
            PodDefaults.apply(template: &o, at: ["spec", "jobTemplate", "spec", "template"])
        }
        s.prepareForCreate = { o in o["status"] = [:] }
        s.validate = { o, _ in
            var causes: [APIError.Cause] = []
            let schedule = o[path: ["spec", "schedule"]]?.stringValue ?? ""
            if schedule.isEmpty {
                causes.append(.required("spec.schedule"))
            } else {
                do throws(CronSchedule.ParseError) {
                    _ = try CronSchedule(parsing: schedule)
                } catch {
                    causes.append(.invalid("spec.schedule", schedule, error.description))
                }
                if schedule.contains("TZ") {
                    causes.append(.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
                }
            }
            if let zone = o[path: ["spec", "timeZone"]]?.stringValue {
                if zone.isEmpty {
                    causes.append(.invalid("spec.timeZone", zone, "timeZone must be nil or non-empty string"))
                } else if CronSchedule.zone(zone) == nil {
                    causes.append(.invalid("spec.timeZone", zone, "unknown time zone \(zone)"))
                }
            }
            return causes
        }
        s.columns = [
            TableColumn("Schedule") { o, _ in Columns.string(o, ["spec", "schedule"], "") },
            TableColumn("Timezone") { o, _ in Columns.string(o, ["spec", "timeZone"]) },
            TableColumn("Suspend", type: "boolean") { o, _ in .bool(o[path: ["spec", "suspend"]]?.boolValue ?? false) },
            TableColumn("Active", type: "integer") { o, _ in .number(JSONNumber(o[path: ["status", "active"]]?.arrayValue?.count ?? 0)) },
            TableColumn("Last Schedule") { o, now in
                guard let t = o[path: ["status", "lastScheduleTime"]]?.stringValue else { return "<none>" }
                return .string(Timestamp.age(of: t, now: now))
            },
            Columns.age,
        ] + Columns.containers(["spec", "jobTemplate", "spec", "template", "spec"])
        return s
    }
}

import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// Runs each Job's pods to completion as upstream's job controller: up to `parallelism`
/// pods at once until `completions` succeed (or, without completions, until one has and
/// the rest have finished), one pod per index for Indexed jobs; failed pods are replaced
/// after an exponential back-off until `backoffLimit` is exceeded, `activeDeadlineSeconds`
/// passes or a podFailurePolicy rule fails the job. Finished pods are counted exactly once
/// through the job-tracking finalizer (see JobTracking.swift). As Kubernetes 1.31+, the
/// terminal condition is first announced as FailureTarget / SuccessCriteriaMet, and
/// Failed / Complete follow once no pod of the job is still running.
public final class JobController: Controller {
    public let name = "job"
    public let queue = WorkQueue(name: "job")
    let client: Client
    let jobs: Informer
    let pods: Informer
    let expectations = Expectations()
    /// uids of pods whose tracking finalizer this controller removed, until the informer
    /// shows the pod without it (upstream's finalizer expectations): a stale pod in the
    /// cache must not be counted a second time.
    let releasedPods = Mutex<Set<String>>([])
    let statusWrites = StatusWrites()
    /// Failures since the last success, per job (upstream's backoffRecordStore).
    let backoffs = Mutex<[String: Backoff]>([:])
    /// The delay before the first replacement of a failed pod; it doubles with each
    /// consecutive failure, up to `maxBackoff`.
    let backoffBase: Duration
    let now: @Sendable () -> Timestamp
    let events: EventRecorder

    static let trackingFinalizer = "batch.kubernetes.io/job-tracking"
    /// Queue keys of pods that keep the tracking finalizer of a Job that is gone.
    static let orphanPrefix = "orphan-pod:"
    static let indexKey = "batch.kubernetes.io/job-completion-index"
    static let maxBackoff: Duration = .seconds(360)
    /// Upstream's burstReplicas: at most this many creates or deletes per sync.
    static let burst = 500

    struct Backoff {
        var failuresAfterLastSuccess = 0
        var lastFailure: Timestamp?
    }

    /// `podFailureBackoff`: upstream's DefaultJobPodFailureBackOff (10 s); tests shorten it.
    public init(factory: InformerFactory, podFailureBackoff: Duration = .seconds(10),
                now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        jobs = factory.informer(.jobs)
        pods = factory.informer(.pods)
        pods.indexer.indexByController()
        backoffBase = podFailureBackoff
        self.now = now
        events = EventRecorder(client: client, component: "job-controller")
        jobs.addHandler(expectations.ownersChanged(queue))
        pods.addHandler { [weak self] e in self?.podChanged(e) }
    }

    /// The key of the Job controlling `pod`, if one does.
    static func ownerKey(_ pod: JSON) -> String? { controllerKey(pod, kind: "Job") }

    func podChanged(_ e: InformerEvent) {
        switch e {
        case .added(let pod), .updated(_, let pod):
            if isOrphan(pod) { queue.add(Self.orphanPrefix + objectKey(pod)) }
        case .deleted: break
        }
        switch e {
        case .added(let pod):
            guard let key = Self.ownerKey(pod) else { return }
            expectations.observedAdd(key)
            queue.add(key)
        case .updated(_, let pod):
            if !pod.finalizers.contains(Self.trackingFinalizer), let uid = pod.uid { _ = releasedPods.withLock { $0.remove(uid) } }
            if let key = Self.ownerKey(pod) { queue.add(key) }
        case .deleted(let pod):
            if let uid = pod.uid { _ = releasedPods.withLock { $0.remove(uid) } }
            guard let key = Self.ownerKey(pod) else { return }
            expectations.observedDelete(key)
            queue.add(key)
        }
    }

    public func sync(key: String) async throws {
        if key.hasPrefix(Self.orphanPrefix) {
            try await releaseIfOrphan(String(key.dropFirst(Self.orphanPrefix.count)))
            return
        }
        guard var job = jobs.indexer.get(key) else {
            expectations.forget(key)
            _ = backoffs.withLock { $0.removeValue(forKey: key) }
            statusWrites.forget(key)
            for pod in pods.indexer.list(namespace: splitKey(key).namespace ?? "") where Self.ownerKey(pod) == key && isOrphan(pod) {
                queue.add(Self.orphanPrefix + objectKey(pod))
            }
            return
        }
        guard statusWrites.caughtUp(key, job) else { return }
        if Self.isFinished(job) {
            try await release(pods.indexer.list(namespace: job.namespace ?? "").filter {
                controllerRef($0)?["uid"]?.stringValue == job.uid && $0.finalizers.contains(Self.trackingFinalizer)
            })
            return
        }
        let owned = try await ownedPods(job)
        let failJobMessage = try await track(&job, key: key, pods: owned)
        let t = now()
        var status = job["status"] ?? [:]
        let spec = job["spec"] ?? [:]
        let active = owned.filter(isActive)
        let terminating = owned.filter { $0.deletionTimestamp != nil && !Self.hasFinished($0) }
        let failed = (status["failed"]?.int64Value ?? 0) + Int64(Self.uncounted(status, "failed").count)
        // Finished pods not yet moved into status.succeeded count too (upstream's
        // jobCtx.succeeded): a count write lost after their finalizers went must not
        // start extra pods, which would then be deleted as excess and count as failed.
        let succeeded = Self.isIndexed(job) ? Int64(CompletedIndexes.parse(status["completedIndexes"]?.stringValue).count)
            : (status["succeeded"]?.int64Value ?? 0) + Int64(Self.uncounted(status, "succeeded").count)
        let suspended = spec["suspend"]?.boolValue == true

        // The terminal condition, announced first as a target.
        var failure = Self.condition(status, "FailureTarget").map { ($0["reason"]?.stringValue ?? "", $0["message"]?.stringValue ?? "") }
        if failure == nil {
            if let failJobMessage {
                failure = ("PodFailurePolicy", failJobMessage)
            } else if failed > spec["backoffLimit"]?.int64Value ?? 6 || Self.pastBackoffLimitOnFailure(job, active: active) {
                failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
            } else if !suspended, let deadline = Self.deadline(job), deadline <= t {
                failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
            }
        }
        let successMet = failure == nil && (Self.condition(status, "SuccessCriteriaMet") != nil || Self.successCriteriaMet(job, succeeded: succeeded, active: active.count))
        var conditions = status["conditions"]?.arrayValue ?? []
        if case let (reason, message)? = failure {
            Self.setCondition(&conditions, "FailureTarget", reason: reason, message: message, now: t)
        } else if successMet {
            Self.setCondition(&conditions, "SuccessCriteriaMet", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", now: t)
        }

        var finishedEvent: (type: String, reason: String, message: String)?
        if failure != nil || successMet || suspended {
            try await delete(active, of: job, key: key)
            let settled = active.isEmpty && terminating.isEmpty && Self.uncounted(status, "succeeded").isEmpty && Self.uncounted(status, "failed").isEmpty
            if case let (reason, message)? = failure, settled {
                Self.setCondition(&conditions, "Failed", reason: reason, message: message, now: t)
                finishedEvent = ("Warning", reason, message)
            } else if successMet, settled {
                Self.setCondition(&conditions, "Complete", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", now: t)
                status["completionTime"] = .string(t.rfc3339)
                finishedEvent = ("Normal", "Completed", "Job completed")
            } else if suspended, failure == nil, !successMet, Self.condition(status, "Suspended") == nil {
                Self.setCondition(&conditions, "Suspended", reason: "JobSuspended", message: "Job suspended", now: t)
                events.event(job, .jobs, type: "Normal", reason: "Suspended", message: "Job suspended")
            }
        } else {
            if Self.condition(status, "Suspended") != nil {
                Self.setCondition(&conditions, "Suspended", status: "False", reason: "JobResumed", message: "Job resumed", now: t)
                status["startTime"] = .string(t.rfc3339)
                events.event(job, .jobs, type: "Normal", reason: "Resumed", message: "Job resumed")
            } else if status["startTime"] == nil {
                status["startTime"] = .string(t.rfc3339)
            }
            job["status"] = status
            try await managePods(job, key: key, active: active, terminating: terminating, succeeded: succeeded)
            if let deadline = Self.deadline(job) { queue.add(key, after: .seconds(max(0, deadline.seconds - t.seconds)) + .milliseconds(100)) }
        }

        status["conditions"] = conditions.isEmpty ? nil : .array(conditions)
        status["active"] = active.isEmpty ? nil : .number(JSONNumber(active.count))
        status["ready"] = .number(JSONNumber(active.filter(isReady).count))
        status["terminating"] = .number(JSONNumber(terminating.count))
        if status["uncountedTerminatedPods"] == nil { status["uncountedTerminatedPods"] = [:] }
        try await writeStatus(job, status)
        if let finishedEvent { events.event(job, .jobs, type: finishedEvent.type, reason: finishedEvent.reason, message: finishedEvent.message) }
    }

    /// The job's pods, adopting orphans its selector matches (with manualSelector; the
    /// generated selector matches only pods made for this job) — with the tracking
    /// finalizer, as upstream, so they are counted like the pods it makes.
    func ownedPods(_ job: JSON) async throws -> [JSON] {
        let selector = (try? LabelSelector(job[path: ["spec", "selector"]])) ?? .nothing
        var owned = pods.indexer.byIndex(Indexer.byController, job.uid ?? "")
        for pod in pods.indexer.byIndex(Indexer.byController, "") where pod.namespace == job.namespace {
            if job.deletionTimestamp == nil, pod.deletionTimestamp == nil, !selector.isEmpty, selector.matches(pod.labels),
               let adopted = try await setOwnerReferences(client, .pods, pod, pod.ownerReferences + [ownerReference(job)],
                                                          addingFinalizer: Self.trackingFinalizer) {
                owned.append(adopted)
            }
        }
        return owned
    }

    /// Creates missing pods (after the failure back-off) and deletes extra ones.
    func managePods(_ job: JSON, key: String, active: [JSON], terminating: [JSON], succeeded: Int64) async throws {
        guard expectations.satisfied(key) else { return }
        let spec = job["spec"] ?? [:]
        let parallelism = Int(spec["parallelism"]?.int64Value ?? 1)
        let completions = spec["completions"]?.int64Value
        var want: Int
        if let completions {
            want = max(0, min(parallelism, Int(completions - succeeded)))
        } else {
            // Without completions, the first success means the work is done: no new pods.
            want = succeeded > 0 ? min(active.count, parallelism) : parallelism
        }
        if active.count > want {
            try await delete(Array(active.sorted(by: ReplicaSetController.lessValuable).prefix(active.count - want)), of: job, key: key)
            return
        }
        // podReplacementPolicy Failed: a terminating pod is replaced only once it has failed.
        let occupied = active.count + (spec["podReplacementPolicy"]?.stringValue == "Failed" ? terminating.count : 0)
        var indexes: [Int?]
        if Self.isIndexed(job) {
            let done = CompletedIndexes.parse(job[path: ["status", "completedIndexes"]]?.stringValue)
            let running = Set(active.compactMap(Self.index))
            indexes = (0..<Int(completions ?? 0)).filter { !done.contains($0) && !running.contains($0) }.prefix(max(0, want - occupied)).map { $0 }
        } else {
            indexes = Array(repeating: nil, count: max(0, want - occupied))
        }
        indexes = Array(indexes.prefix(Self.burst))
        guard !indexes.isEmpty else { return }
        let wait = remainingBackoff(key)
        if wait > .zero {
            queue.add(key, after: wait)
            return
        }
        expectations.expect(key, adds: indexes.count)
        let created = await withTaskGroup(of: JSON?.self) { group in
            for index in indexes {
                group.addTask { [client] in try? await client.create(.pods, namespace: job.namespace, self.pod(for: job, index: index)) }
            }
            var made: [JSON] = []
            for await p in group { if let p { made.append(p) } }
            return made
        }
        for _ in 0..<(indexes.count - created.count) { expectations.observedAdd(key) }
        for p in created { events.event(job, .jobs, type: "Normal", reason: "SuccessfulCreate", message: "Created pod: \(p.name ?? "")") }
        if created.count < indexes.count {
            events.event(job, .jobs, type: "Warning", reason: "FailedCreate", message: "Error creating: \(indexes.count - created.count) pods could not be created")
            throw ClientError(code: 0, reason: "FailedCreate", message: "\(indexes.count - created.count) pods could not be created for \(key)")
        }
    }

    func delete(_ victims: [JSON], of job: JSON, key: String) async throws {
        let victims = victims.filter { $0.deletionTimestamp == nil }.prefix(Self.burst)
        guard !victims.isEmpty else { return }
        expectations.expect(key, deletes: victims.count)
        for pod in victims {
            do {
                try await client.delete(.pods, namespace: pod.namespace, pod.name ?? "", preconditionUID: pod.uid)
                events.event(job, .jobs, type: "Normal", reason: "SuccessfulDelete", message: "Deleted pod: \(pod.name ?? "")")
            } catch let e as ClientError where e.isNotFound || e.isConflict {
                expectations.observedDelete(key)
            }
        }
    }

    /// A pod from the template: generateName `<job>-` (`<job>-<index>-` when Indexed),
    /// the tracking finalizer, and for Indexed jobs the completion index as annotation,
    /// label, JOB_COMPLETION_INDEX and hostname `<job>-<index>`.
    func pod(for job: JSON, index: Int?) -> JSON {
        let template = job[path: ["spec", "template"]] ?? [:]
        let jobName = job.name ?? ""
        var meta: JSON = ["generateName": .string(index.map { "\(jobName)-\($0)-" } ?? "\(jobName)-")]
        var labels = template[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
        var annotations = template[path: ["metadata", "annotations"]]?.objectValue ?? JSONObject()
        var spec = template["spec"] ?? [:]
        if let index {
            labels[Self.indexKey] = .string(String(index))
            annotations[Self.indexKey] = .string(String(index))
            if (spec["hostname"]?.stringValue ?? "").isEmpty { spec["hostname"] = .string("\(jobName)-\(index)") }
            let env: JSON = ["name": "JOB_COMPLETION_INDEX",
                             "valueFrom": ["fieldRef": ["apiVersion": "v1", "fieldPath": .string("metadata.annotations['\(Self.indexKey)']")]]]
            for list in ["initContainers", "containers"] {
                guard var containers = spec[list]?.arrayValue else { continue }
                for i in containers.indices {
                    var vars = containers[i]["env"]?.arrayValue ?? []
                    if !vars.contains(where: { $0["name"] == "JOB_COMPLETION_INDEX" }) { vars.append(env) }
                    containers[i]["env"] = .array(vars)
                }
                spec[list] = .array(containers)
            }
        }
        if !labels.isEmpty { meta["labels"] = .object(labels) }
        if !annotations.isEmpty { meta["annotations"] = .object(annotations) }
        meta["finalizers"] = [.string(Self.trackingFinalizer)]
        meta["ownerReferences"] = [ownerReference(job)]
        return ["apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec]
    }

    /// What is left of the back-off after the last failure: 0 after a success, then the
    /// base delay doubling with each consecutive failure, capped at `maxBackoff`.
    func remainingBackoff(_ key: String) -> Duration {
        guard let record = backoffs.withLock({ $0[key] }), record.failuresAfterLastSuccess > 0, let last = record.lastFailure else { return .zero }
        var delay = backoffBase
        for _ in 1..<record.failuresAfterLastSuccess where delay < Self.maxBackoff { delay *= 2 }
        delay = min(delay, Self.maxBackoff)
        let t = now()
        let elapsed = Duration.seconds(t.seconds - last.seconds) + .nanoseconds(Int64(t.nanoseconds) - Int64(last.nanoseconds))
        return max(.zero, delay - elapsed)
    }

    func writeStatus(_ job: JSON, _ status: JSON) async throws {
        guard status != job["status"] else { return }
        do {
            _ = try await updateStatus(job, status)
        } catch let e as ClientError where e.isNotFound {}
    }

    // MARK: rules

    static func isFinished(_ job: JSON) -> Bool {
        condition(job["status"] ?? [:], "Complete") != nil || condition(job["status"] ?? [:], "Failed") != nil
    }

    static func isIndexed(_ job: JSON) -> Bool { job[path: ["spec", "completionMode"]]?.stringValue == "Indexed" }

    static func index(_ pod: JSON) -> Int? { pod.annotations[indexKey].flatMap { Int($0) } }

    static func hasFinished(_ pod: JSON) -> Bool {
        let phase = pod[path: ["status", "phase"]]?.stringValue
        return phase == "Succeeded" || phase == "Failed"
    }

    /// A True condition of the given type.
    static func condition(_ status: JSON, _ type: String) -> JSON? {
        status["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True" }
    }

    static func setCondition(_ conditions: inout [JSON], _ type: String, status: String = "True", reason: String, message: String, now: Timestamp) {
        let c: JSON = ["type": .string(type), "status": .string(status), "lastProbeTime": .string(now.rfc3339),
                       "lastTransitionTime": .string(now.rfc3339), "reason": .string(reason), "message": .string(message)]
        if let i = conditions.firstIndex(where: { $0["type"]?.stringValue == type }) {
            if conditions[i]["status"]?.stringValue != status { conditions[i] = c }
        } else {
            conditions.append(c)
        }
    }

    static func uncounted(_ status: JSON, _ which: String) -> [String] {
        status[path: ["uncountedTerminatedPods", which]]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// When activeDeadlineSeconds runs out, counted from startTime.
    static func deadline(_ job: JSON) -> Timestamp? {
        guard let seconds = job[path: ["spec", "activeDeadlineSeconds"]]?.int64Value,
              let start = job[path: ["status", "startTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { return nil }
        return start.adding(seconds: seconds)
    }

    static func successCriteriaMet(_ job: JSON, succeeded: Int64, active: Int) -> Bool {
        if let completions = job[path: ["spec", "completions"]]?.int64Value { return succeeded >= completions }
        return succeeded > 0 && active == 0
    }

    /// restartPolicy OnFailure: containers restart in place, so their restarts count
    /// toward backoffLimit (upstream's pastBackoffLimitOnFailure).
    static func pastBackoffLimitOnFailure(_ job: JSON, active: [JSON]) -> Bool {
        guard job[path: ["spec", "template", "spec", "restartPolicy"]]?.stringValue == "OnFailure" else { return false }
        let limit = job[path: ["spec", "backoffLimit"]]?.int64Value ?? 6
        var restarts: Int64 = 0
        for pod in active {
            for list in ["initContainerStatuses", "containerStatuses"] {
                for s in pod[path: ["status", list]]?.arrayValue ?? [] { restarts += s["restartCount"]?.int64Value ?? 0 }
            }
        }
        return limit == 0 ? restarts > 0 : restarts >= limit
    }
}

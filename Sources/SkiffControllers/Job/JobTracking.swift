import SkiffAPI
import SkiffClient
import SkiffCore

/// Counting finished pods exactly once, as upstream's trackJobStatusAndRemoveFinalizers:
/// every pod of a Job carries the batch.kubernetes.io/job-tracking finalizer, so it
/// cannot vanish before it is counted. A finished pod's uid is first written to
/// status.uncountedTerminatedPods, then its finalizer is removed, then it moves into
/// status.succeeded / status.failed — whatever fails in between, nothing is lost or
/// counted twice, even when pods are deleted at any point.
extension JobController {
    /// Brings `job`'s status up to date with its finished pods; returns the message of a
    /// podFailurePolicy FailJob rule that a newly failed pod matched.
    func track(_ job: inout JSON, key: String, pods: [JSON]) async throws -> String? {
        let released = releasedPods.withLock { $0 }
        var status = job["status"] ?? [:]
        var uncountedSucceeded = Self.uncounted(status, "succeeded")
        var uncountedFailed = Self.uncounted(status, "failed")
        let indexed = Self.isIndexed(job)
        let completions = Int(job[path: ["spec", "completions"]]?.int64Value ?? 0)
        var completed = CompletedIndexes.parse(status["completedIndexes"]?.stringValue)
        let suspended = job[path: ["spec", "suspend"]]?.boolValue == true
        let policy = job[path: ["spec", "podFailurePolicy"]]
        var toRelease: [JSON] = []
        var failJob: String?
        var newSucceeded = 0
        var newFailures: [Timestamp] = []

        for pod in pods where pod.finalizers.contains(Self.trackingFinalizer) && !released.contains(pod.uid ?? "") {
            let uid = pod.uid ?? ""
            let phase = pod[path: ["status", "phase"]]?.stringValue
            if phase == "Succeeded" {
                toRelease.append(pod)
                guard !uncountedSucceeded.contains(uid) else { continue }
                uncountedSucceeded.append(uid)
                newSucceeded += 1
                if indexed, let i = Self.index(pod), i < completions { completed.insert(i) }
            } else if phase == "Failed" || (policy == nil && pod.deletionTimestamp != nil) {
                // Without a podFailurePolicy a deleted pod counts as failed even before its
                // phase says so: an orphaned pod may never get there.
                toRelease.append(pod)
                guard !uncountedFailed.contains(uid) else { continue }
                // Pods stopped by suspending the job are not failures (even when the kubelet
                // reports them Failed on the way out).
                if suspended, pod.deletionTimestamp != nil { continue }
                switch phase == "Failed" ? PodFailurePolicy.match(policy, pod: pod) : nil {
                case .ignore: continue
                case .failJob(let message): failJob = failJob ?? message
                case .count, nil: break
                }
                uncountedFailed.append(uid)
                newFailures.append(Self.finishTime(pod) ?? now())
            }
        }

        // 1. Record the newly finished pods as uncounted (and any FailJob verdict).
        if newSucceeded > 0 || !newFailures.isEmpty || failJob != nil {
            status[path: ["uncountedTerminatedPods", "succeeded"]] = uncountedSucceeded.isEmpty ? nil : .array(uncountedSucceeded.map { .string($0) })
            status[path: ["uncountedTerminatedPods", "failed"]] = uncountedFailed.isEmpty ? nil : .array(uncountedFailed.map { .string($0) })
            if indexed { status["completedIndexes"] = .string(CompletedIndexes.format(completed)) }
            if let failJob {
                var conditions = status["conditions"]?.arrayValue ?? []
                Self.setCondition(&conditions, "FailureTarget", reason: "PodFailurePolicy", message: failJob, now: now())
                status["conditions"] = .array(conditions)
            }
            job = try await updateStatus(job, status)
            status = job["status"] ?? [:]
            backoffs.withLock { records in
                var r = records[key] ?? Backoff()
                if newSucceeded > 0 { r = Backoff() }
                r.failuresAfterLastSuccess += newFailures.count
                if let latest = newFailures.max() { r.lastFailure = max(latest, r.lastFailure ?? latest) }
                records[key] = r
            }
        }

        // 2. Let the finished pods go.
        try await release(toRelease)

        // 3. Count what no longer has a finalizer (or no longer exists).
        let byUID = Dictionary(pods.map { ($0.uid ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let releasedNow = Set(toRelease.compactMap(\.uid))
        func gone(_ uid: String) -> Bool {
            releasedNow.contains(uid) || byUID[uid].map { !$0.finalizers.contains(Self.trackingFinalizer) } ?? true
        }
        let countSucceeded = uncountedSucceeded.filter(gone)
        let countFailed = uncountedFailed.filter(gone)
        guard !countSucceeded.isEmpty || !countFailed.isEmpty else { return failJob }
        let remainingSucceeded = uncountedSucceeded.filter { !gone($0) }
        let remainingFailed = uncountedFailed.filter { !gone($0) }
        let succeeded = indexed ? Int64(completed.count) : (status["succeeded"]?.int64Value ?? 0) + Int64(countSucceeded.count)
        let failed = (status["failed"]?.int64Value ?? 0) + Int64(countFailed.count)
        status["succeeded"] = succeeded == 0 ? nil : .number(JSONNumber(succeeded))
        status["failed"] = failed == 0 ? nil : .number(JSONNumber(failed))
        status[path: ["uncountedTerminatedPods", "succeeded"]] = remainingSucceeded.isEmpty ? nil : .array(remainingSucceeded.map { .string($0) })
        status[path: ["uncountedTerminatedPods", "failed"]] = remainingFailed.isEmpty ? nil : .array(remainingFailed.map { .string($0) })
        job = try await updateStatus(job, status)
        return failJob
    }

    /// Writes status and returns the job as stored (a stale job fails with a conflict
    /// and the sync is retried).
    func updateStatus(_ job: JSON, _ status: JSON) async throws -> JSON {
        var next = job
        next["status"] = status
        let stored = try await client.update(.jobs, next, subresource: "status")
        statusWrites.record(objectKey(job), stored)
        return stored
    }

    /// Removes the tracking finalizer from each pod.
    func release(_ pods: [JSON]) async throws {
        for pod in pods {
            let patch: JSON = ["metadata": ["$deleteFromPrimitiveList/finalizers": [.string(Self.trackingFinalizer)]]]
            let r = try await client.transport.send(ClientRequest(method: "PATCH", path: Resource.pods.path(namespace: pod.namespace, name: pod.name),
                                                                  body: patch.serialized(), contentType: "application/strategic-merge-patch+json"))
            guard r.status < 300 || r.status == 404 else { throw ClientError(status: r.status, body: r.body) }
            if let uid = pod.uid { releasedPods.withLock { _ = $0.insert(uid) } }
        }
    }

    /// A pod with the tracking finalizer whose Job is gone (or was orphaned from it): no
    /// one will count it, so the finalizer must go (upstream's orphan pod handling).
    func isOrphan(_ pod: JSON) -> Bool {
        guard pod.finalizers.contains(Self.trackingFinalizer) else { return false }
        guard let key = Self.ownerKey(pod) else { return true }
        return jobs.indexer.get(key)?.uid != controllerRef(pod)?["uid"]?.stringValue
    }

    func releaseIfOrphan(_ podKey: String) async throws {
        guard let pod = pods.indexer.get(podKey), isOrphan(pod) else { return }
        try await release([pod])
    }

    /// When the pod's last container finished.
    static func finishTime(_ pod: JSON) -> Timestamp? {
        let statuses = (pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []) + (pod[path: ["status", "containerStatuses"]]?.arrayValue ?? [])
        return statuses.compactMap { $0[path: ["state", "terminated", "finishedAt"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) }.max()
    }
}

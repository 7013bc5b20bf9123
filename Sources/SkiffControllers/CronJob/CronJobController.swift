import Foundation
import SkiffAPI
import SkiffClient
import SkiffCore

/// Creates a Job from each CronJob's jobTemplate at every time its schedule names (in its
/// timeZone), as upstream's CronJob controller v2: Jobs are named `<cronjob>-<minutes since
/// the epoch>` so a time is never run twice; concurrencyPolicy Allow / Forbid / Replace;
/// a start missed by more than startingDeadlineSeconds is skipped; finished Jobs beyond
/// the history limits are deleted; status.active, lastScheduleTime and lastSuccessfulTime
/// are kept. Each CronJob is requeued for its next time — there is no polling.
public final class CronJobController: Controller {
    public let name = "cronjob"
    public let queue = WorkQueue(name: "cronjob")
    let client: Client
    let cronJobs: Informer
    let jobs: Informer
    let now: @Sendable () -> Timestamp
    let events: EventRecorder
    let statusWrites = StatusWrites()

    static let scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
    /// Upstream's nextScheduleDelta: wake a little after the time, never just before it.
    static let nextScheduleDelta: Duration = .milliseconds(100)
    /// Beyond this many missed times, upstream warns of clock skew.
    static let tooManyMissed: Int64 = 100

    public init(factory: InformerFactory, now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        cronJobs = factory.informer(.cronJobs)
        jobs = factory.informer(.jobs)
        self.now = now
        events = EventRecorder(client: client, component: "cronjob-controller")
        cronJobs.addHandler { [queue] e in
            switch e {
            case .added(let o), .updated(_, let o): queue.add(objectKey(o))
            case .deleted: break
            }
        }
        jobs.addHandler { [queue] e in
            switch e {
            case .added(let j), .updated(_, let j), .deleted(let j):
                if let key = controllerKey(j, kind: "CronJob") { queue.add(key) }
            }
        }
    }

    public func sync(key: String) async throws {
        guard var cj = cronJobs.indexer.get(key), cj.deletionTimestamp == nil else {
            statusWrites.forget(key)
            return
        }
        guard statusWrites.caughtUp(key, cj) else { return }
        let t = now()
        let children = jobs.indexer.list(namespace: cj.namespace ?? "").filter { controllerRef($0)?["uid"]?.stringValue == cj.uid }
        var status = cj["status"] ?? [:]
        try await reconcileActive(cj, children: children, status: &status)
        let requeue = try await schedule(cj, status: &status, now: t)
        if status != cj["status"] {
            // Onto the newest CronJob on a conflict: the Jobs this sync created or deleted
            // must not be forgotten by a retry that no longer sees them.
            guard let stored = try await updateStatusOntoNewest(client, .cronJobs, cj, status: status) else { return }
            cj = stored
            statusWrites.record(key, cj)
        }
        try await cleanupFinishedJobs(cj, children: children)
        if let requeue { queue.add(key, after: requeue) }
    }

    /// status.active follows the Jobs: finished ones leave it, vanished ones too;
    /// lastSuccessfulTime is the latest completion.
    func reconcileActive(_ cj: JSON, children: [JSON], status: inout JSON) async throws {
        var active = status["active"]?.arrayValue ?? []
        var lastSuccess = status["lastSuccessfulTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        for job in children {
            let listed = active.contains { $0["uid"]?.stringValue == job.uid }
            let finished = Self.finishedCondition(job)
            if !listed, finished == nil, let scheduled = Self.scheduledTime(job), job.name == "\(cj.name ?? "")-\(scheduled.seconds / 60)" {
                // Started by this controller, whose status write was lost (a conflict or a
                // restart in between): it is active, and its time was scheduled.
                active.append(Self.reference(job))
                let last = status["lastScheduleTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
                if last.map({ $0 < scheduled }) ?? true { status["lastScheduleTime"] = .string(scheduled.rfc3339) }
            } else if !listed, finished == nil {
                events.event(cj, .cronJobs, type: "Warning", reason: "UnexpectedJob",
                                   message: "Saw a job that the controller did not create or forgot: \(job.name ?? "")")
            } else if listed, let finished {
                active.removeAll { $0["uid"]?.stringValue == job.uid }
                events.event(cj, .cronJobs, type: "Normal", reason: "SawCompletedJob", message: "Saw completed job: \(job.name ?? ""), condition: \(finished)")
            }
            if finished == "Complete", let done = job[path: ["status", "completionTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)) {
                lastSuccess = max(lastSuccess ?? done, done)
            }
        }
        // A listed Job the informer does not know may be new: ask before dropping it.
        var kept: [JSON] = []
        for ref in active {
            if children.contains(where: { $0.uid == ref["uid"]?.stringValue }) {
                kept.append(ref)
                continue
            }
            do {
                let job = try await client.get(.jobs, namespace: cj.namespace, ref["name"]?.stringValue ?? "")
                if job.uid == ref["uid"]?.stringValue, Self.finishedCondition(job) == nil { kept.append(ref) }
            } catch let e as ClientError where e.isNotFound {
                events.event(cj, .cronJobs, type: "Normal", reason: "MissingJob", message: "Active job went missing: \(ref["name"]?.stringValue ?? "")")
            }
        }
        status["active"] = kept.isEmpty ? nil : .array(kept)
        if let lastSuccess { status["lastSuccessfulTime"] = .string(lastSuccess.rfc3339) }
    }

    /// Starts the Job due now, if any; returns when to look again.
    func schedule(_ cj: JSON, status: inout JSON, now t: Timestamp) async throws -> Duration? {
        let spec = cj["spec"] ?? [:]
        if spec["suspend"]?.boolValue == true { return nil }
        let zoneName = spec["timeZone"]?.stringValue
        guard let zone = CronSchedule.zone(zoneName ?? "") else {
            events.event(cj, .cronJobs, type: "Warning", reason: "UnknownTimeZone",
                               message: "invalid timeZone: \"\(zoneName ?? "")\": unknown time zone \(zoneName ?? "")")
            return nil
        }
        let text = spec["schedule"]?.stringValue ?? ""
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(parsing: zoneName.map { "TZ=\($0) \(text)" } ?? text)
        } catch {
            events.event(cj, .cronJobs, type: "Warning", reason: "UnparseableSchedule", message: "unparseable schedule: \"\(text)\" : \(error)")
            return nil
        }
        var withStatus = cj
        withStatus["status"] = status
        let recent = Self.mostRecentScheduleTime(withStatus, now: t, schedule: schedule, includeStartingDeadline: true)
        if recent.tooMany {
            events.event(cj, .cronJobs, type: "Warning", reason: "TooManyMissedTimes",
                               message: "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
        }
        func next() -> Duration? {
            let base = Self.mostRecentScheduleTime(withStatus, now: t, schedule: schedule, includeStartingDeadline: false)
            guard let at = schedule.next(after: base.mostRecent ?? base.earliest) else { return nil }
            return max(.zero, .seconds(at.seconds - t.seconds) - .nanoseconds(Int64(t.nanoseconds))) + Self.nextScheduleDelta
        }
        guard let scheduled = recent.mostRecent else { return next() }

        if let deadline = spec["startingDeadlineSeconds"]?.int64Value, scheduled.adding(seconds: deadline) < t {
            events.event(cj, .cronJobs, type: "Warning", reason: "MissSchedule",
                               message: "Missed scheduled time to start a job: \(Self.rfc1123z(scheduled))")
            return next()
        }
        let jobName = "\(cj.name ?? "")-\(scheduled.seconds / 60)"
        var active = status["active"]?.arrayValue ?? []
        if active.contains(where: { $0["name"]?.stringValue == jobName }) || status["lastScheduleTime"]?.stringValue == scheduled.rfc3339 {
            return next()
        }
        switch spec["concurrencyPolicy"]?.stringValue ?? "Allow" {
        case "Forbid" where !active.isEmpty:
            events.event(cj, .cronJobs, type: "Normal", reason: "JobAlreadyActive",
                               message: "Not starting job because prior execution is running and concurrency policy is Forbid")
            return next()
        case "Replace":
            for ref in active {
                let name = ref["name"]?.stringValue ?? ""
                try await client.delete(.jobs, namespace: cj.namespace, name, propagationPolicy: "Background", ignoreNotFound: true)
                events.event(cj, .cronJobs, type: "Normal", reason: "SuccessfulDelete", message: "Deleted job \(name)")
            }
            active = []
        default:
            break
        }
        let job: JSON
        do {
            job = try await client.create(.jobs, namespace: cj.namespace, Self.job(from: cj, name: jobName, scheduled: scheduled, zone: zone))
            events.event(cj, .cronJobs, type: "Normal", reason: "SuccessfulCreate", message: "Created job \(jobName)")
        } catch let e as ClientError where e.isAlreadyExists {
            // Made before (its status write was lost): take it only if it is ours.
            let existing = try await client.get(.jobs, namespace: cj.namespace, jobName)
            guard controllerRef(existing)?["uid"]?.stringValue == cj.uid else { return next() }
            job = existing
        } catch {
            events.event(cj, .cronJobs, type: "Warning", reason: "FailedCreate", message: "Error creating job: \(error)")
            throw error
        }
        if !active.contains(where: { $0["uid"]?.stringValue == job.uid }) { active.append(Self.reference(job)) }
        status["active"] = .array(active)
        status["lastScheduleTime"] = .string(scheduled.rfc3339)
        withStatus["status"] = status
        return next()
    }

    /// The Job for one scheduled time: the template's metadata and spec, the scheduled
    /// time (in the CronJob's zone) as an annotation, owned by the CronJob.
    static func job(from cj: JSON, name: String, scheduled: Timestamp, zone: TimeZone) -> JSON {
        let template = cj[path: ["spec", "jobTemplate"]] ?? [:]
        var annotations = template[path: ["metadata", "annotations"]]?.objectValue ?? JSONObject()
        annotations[scheduledTimestampAnnotation] = .string(CronSchedule.rfc3339(scheduled, in: zone))
        var meta: JSON = ["name": .string(name), "annotations": .object(annotations), "ownerReferences": [ownerReference(cj)]]
        if let labels = template[path: ["metadata", "labels"]] { meta["labels"] = labels }
        return ["apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": template["spec"] ?? [:]]
    }

    /// status.active's entry for a Job.
    static func reference(_ job: JSON) -> JSON {
        ["kind": "Job", "namespace": .string(job.namespace ?? ""), "name": .string(job.name ?? ""),
         "uid": .string(job.uid ?? ""), "apiVersion": "batch/v1", "resourceVersion": .string(job.resourceVersion ?? "")]
    }

    /// The time a Job was started for, from its annotation.
    static func scheduledTime(_ job: JSON) -> Timestamp? {
        job.annotations[scheduledTimestampAnnotation].flatMap(Timestamp.init(rfc3339:))
    }

    /// Upstream's mostRecentScheduleTime: the latest time due since the last schedule
    /// (or creation, or the starting deadline), and whether more than 100 were missed.
    static func mostRecentScheduleTime(_ cj: JSON, now t: Timestamp, schedule: CronSchedule,
                                       includeStartingDeadline: Bool) -> (earliest: Timestamp, mostRecent: Timestamp?, tooMany: Bool) {
        var earliest = cj[path: ["status", "lastScheduleTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            ?? cj.creationTimestamp.flatMap(Timestamp.init(rfc3339:)) ?? t
        if includeStartingDeadline, let deadline = cj[path: ["spec", "startingDeadlineSeconds"]]?.int64Value {
            earliest = max(earliest, t.adding(seconds: -deadline))
        }
        guard let t1 = schedule.next(after: earliest), t1 <= t else { return (earliest, nil, false) }
        guard let t2 = schedule.next(after: t1), t2 <= t else { return (earliest, t1, false) }
        let interval = max(1, t2.seconds - t1.seconds)
        let missed = (t.seconds - t1.seconds) / interval + 1
        // Jump close to now by whole intervals (back further while no time is due from
        // there: intervals vary, as in "30 6-16/4 * * 1-5"), then walk to now exactly.
        var start = max(t1, t1.adding(seconds: max(0, missed - 2) * interval))
        var step = interval
        while start > t1, schedule.next(after: Timestamp(seconds: start.seconds - 1)).map({ $0 > t }) ?? true {
            start = max(t1, Timestamp(seconds: start.seconds - step))
            step *= 2
        }
        var mostRecent = t1
        var candidate = schedule.next(after: Timestamp(seconds: start.seconds - 1))
        while let c = candidate, c <= t {
            mostRecent = c
            candidate = schedule.next(after: c)
        }
        return (earliest, mostRecent, missed > tooManyMissed)
    }

    /// Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit (3) and
    /// failedJobsHistoryLimit (1), with their pods.
    func cleanupFinishedJobs(_ cj: JSON, children: [JSON]) async throws {
        for (condition, field) in [("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")] {
            guard let limit = cj[path: ["spec", field]]?.intValue else { continue }
            let finished = children.filter { Self.finishedCondition($0) == condition }.sorted(by: Self.startedEarlier)
            for job in finished.dropLast(max(0, limit)) {
                try await client.delete(.jobs, namespace: job.namespace, job.name ?? "", propagationPolicy: "Background",
                                        preconditionUID: job.uid, ignoreNotFound: true)
                events.event(cj, .cronJobs, type: "Normal", reason: "SuccessfulDelete", message: "Deleted job \(job.name ?? "")")
            }
        }
    }

    /// Oldest first by status.startTime (Jobs never started last), then by name.
    static func startedEarlier(_ a: JSON, _ b: JSON) -> Bool {
        let sa = a[path: ["status", "startTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        let sb = b[path: ["status", "startTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        switch (sa, sb) {
        case let (x?, y?) where x != y: return x < y
        case (nil, _?): return false
        case (_?, nil): return true
        default: return (a.name ?? "") < (b.name ?? "")
        }
    }

    /// "Complete" or "Failed" when the Job has finished.
    static func finishedCondition(_ job: JSON) -> String? {
        for c in job[path: ["status", "conditions"]]?.arrayValue ?? [] where c["status"] == "True" {
            if let type = c["type"]?.stringValue, type == "Complete" || type == "Failed" { return type }
        }
        return nil
    }

    /// Go's time.RFC1123Z in UTC, as upstream's MissSchedule event writes the time.
    static func rfc1123z(_ t: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t.seconds)))
    }
}

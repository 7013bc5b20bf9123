import Foundation
import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Testing

func cronJobJSON(_ name: String, schedule: String = "*/1 * * * *", spec extra: JSON = [:]) -> JSON {
    var spec: JSON = ["schedule": .string(schedule),
                      "jobTemplate": ["metadata": ["labels": ["team": "batch"], "annotations": ["note": "kept"]],
                                      "spec": ["template": ["spec": ["restartPolicy": "OnFailure", "containers": [["name": "main", "image": "busybox"]]]]]]]
    for (k, v) in extra.objectValue ?? [:] { spec[k] = v }
    return ["apiVersion": "batch/v1", "kind": "CronJob", "metadata": ["name": .string(name)], "spec": spec]
}

@Suite struct CronJobControllerTests {
    func withController(_ clock: TestClock, _ body: (Cluster) async throws -> Void) async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let factory = InformerFactory(client: cluster.client)
        let controller = CronJobController(factory: factory, now: { clock.now })
        let run = startAfterSync(factory) { await controller.run(workers: 2) }
        defer { run.cancel() }
        try await body(cluster)
    }

    func jobs(_ c: Cluster) async throws -> [JSON] {
        try await c.client.list(.jobs, namespace: "default").items.filter { $0.deletionTimestamp == nil }
    }

    func cronJob(_ c: Cluster, _ name: String) async throws -> JSON { try await c.client.get(.cronJobs, namespace: "default", name) }

    /// Moves the clock and makes the controller look (its own wake-up runs on real time).
    func advance(_ c: Cluster, _ clock: TestClock, _ name: String, seconds: Int64) async throws {
        clock.advance(seconds: seconds)
        try await c.client.patch(.cronJobs, namespace: "default", name, merge: ["metadata": ["annotations": ["tick": .string(String(clock.now.seconds))]]])
    }

    func events(_ c: Cluster) async throws -> [String] {
        try await c.client.list(.events, namespace: "default").items.compactMap { $0["reason"]?.stringValue }
    }

    /// Marks a Job finished, as the Job controller would.
    func finish(_ c: Cluster, _ job: JSON, _ type: String = "Complete", at t: Timestamp) async throws {
        var next = try await c.client.get(.jobs, namespace: "default", job.name ?? "")
        next["status"] = ["startTime": .string(t.rfc3339), "completionTime": type == "Complete" ? .string(t.rfc3339) : nil,
                          "conditions": [["type": .string(type), "status": "True", "lastTransitionTime": .string(t.rfc3339)]]]
        if type != "Complete" { next[path: ["status", "completionTime"]] = nil }
        try await c.client.update(.jobs, next, subresource: "status")
    }

    @Test func createsTheJobDueWithItsNameAnnotationAndOwner() async throws {
        let clock = TestClock(frozen: true)
        try await withController(clock) { c in
            let cj = try await c.client.create(.cronJobs, namespace: "default", cronJobJSON("tick"))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await jobs(c).isEmpty)
            try await advance(c, clock, "tick", seconds: 61)
            try await eventually("a job, active") { try await cronJob(c, "tick")[path: ["status", "active"]] != nil }
            let job = try #require(try await jobs(c).first)
            #expect(try await jobs(c).count == 1)
            let status = try await cronJob(c, "tick")["status"]
            let scheduled = try #require(status?["lastScheduleTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
            #expect(scheduled.seconds % 60 == 0)
            #expect(scheduled <= clock.now)
            #expect(job.name == "tick-\(scheduled.seconds / 60)")
            #expect(job.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] == scheduled.rfc3339)
            #expect(job.annotations["note"] == "kept")
            #expect(job.labels["team"] == "batch")
            #expect(controllerRef(job)?["uid"]?.stringValue == cj.uid)
            #expect(controllerRef(job)?["kind"] == "CronJob")
            #expect(status?["active"]?.arrayValue?.first?["name"]?.stringValue == job.name)
            #expect(status?["active"]?.arrayValue?.first?["kind"] == "Job")
            try await eventually("SuccessfulCreate event") { try await events(c).contains("SuccessfulCreate") }
            // The same time never runs twice (the clock stands still: another look, same time).
            try await advance(c, clock, "tick", seconds: 0)
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await jobs(c).count == 1)
        }
    }

    @Test func forbidSkipsWhileAJobRunsAndReplaceReplacesIt() async throws {
        let clock = TestClock(frozen: true)
        try await withController(clock) { c in
            try await c.client.create(.cronJobs, namespace: "default", cronJobJSON("solo", spec: ["concurrencyPolicy": "Forbid"]))
            try await advance(c, clock, "solo", seconds: 61)
            try await eventually("first job, active") { try await cronJob(c, "solo")[path: ["status", "active"]]?.arrayValue?.count == 1 }
            try await advance(c, clock, "solo", seconds: 60)
            try await eventually("JobAlreadyActive") { try await events(c).contains("JobAlreadyActive") }
            #expect(try await jobs(c).count == 1)

            try await c.client.patch(.cronJobs, namespace: "default", "solo", merge: ["spec": ["concurrencyPolicy": "Replace"]])
            let first = try #require(try await jobs(c).first)
            try await advance(c, clock, "solo", seconds: 60)
            try await eventually("replaced") {
                let now = try await jobs(c)
                return now.count == 1 && now.first?.name != first.name
            }
            try await eventually("only the new job active") {
                let active = try await cronJob(c, "solo")[path: ["status", "active"]]?.arrayValue ?? []
                return active.count == 1 && active.first?["name"]?.stringValue != first.name
            }
        }
    }

    @Test func finishedJobsLeaveActiveAndOnlyTheHistoryLimitsAreKept() async throws {
        let clock = TestClock(frozen: true)
        try await withController(clock) { c in
            try await c.client.create(.cronJobs, namespace: "default",
                                      cronJobJSON("hist", spec: ["successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 1]))
            var made: [String] = []
            for round in 0..<4 {
                try await advance(c, clock, "hist", seconds: 60)
                try await eventually("job \(round + 1), active") {
                    try await cronJob(c, "hist")[path: ["status", "active"]]?.arrayValue?.contains { !made.contains($0["name"]?.stringValue ?? "") } == true
                }
                let job = try #require(try await jobs(c).first { !made.contains($0.name ?? "") })
                made.append(job.name ?? "")
                try await finish(c, job, round == 0 ? "Failed" : "Complete", at: clock.now)
            }
            // 1 failed and 3 succeeded: the failed one stays (limit 1), the oldest success goes.
            try await eventually("history trimmed") { Set(try await jobs(c).compactMap(\.name)) == Set([made[0], made[2], made[3]]) }
            let status = try await cronJob(c, "hist")["status"]
            #expect(status?["active"] == nil)
            #expect(status?["lastSuccessfulTime"] != nil)
            try await eventually("events") {
                let reasons = try await events(c)
                return reasons.contains("SawCompletedJob") && reasons.contains("SuccessfulDelete")
            }
        }
    }

    @Test func suspendedCronJobsStartNothing() async throws {
        let clock = TestClock(frozen: true)
        try await withController(clock) { c in
            try await c.client.create(.cronJobs, namespace: "default", cronJobJSON("paused", spec: ["suspend": true]))
            try await advance(c, clock, "paused", seconds: 600)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await jobs(c).isEmpty)
            try await c.client.patch(.cronJobs, namespace: "default", "paused", merge: ["spec": ["suspend": false]])
            try await eventually("a job once resumed") { try await jobs(c).count == 1 }
        }
    }

    @Test func tooManyMissedTimesWarnsAndRunsTheLatest() async throws {
        let clock = TestClock(frozen: true)
        try await withController(clock) { c in
            try await c.client.create(.cronJobs, namespace: "default", cronJobJSON("late"))
            try await advance(c, clock, "late", seconds: 200 * 60)
            try await eventually("one job, scheduled") { try await cronJob(c, "late")[path: ["status", "lastScheduleTime"]] != nil }
            #expect(try await jobs(c).count == 1)
            try await eventually("TooManyMissedTimes") { try await events(c).contains("TooManyMissedTimes") }
            let scheduled = try #require(try await cronJob(c, "late")[path: ["status", "lastScheduleTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
            #expect(scheduled.seconds == clock.now.seconds / 60 * 60)
        }
    }

    @Test func aTimeMissedBeyondTheStartingDeadlineIsSkipped() async throws {
        let clock = TestClock(frozen: true)
        try await withController(clock) { c in
            // Hourly, at most 10 s late: 30 minutes in, the last hour's start is long gone.
            try await c.client.create(.cronJobs, namespace: "default", cronJobJSON("strict", schedule: "0 * * * *", spec: ["startingDeadlineSeconds": 10]))
            let created = clock.now
            let toNextHour = 3600 - created.seconds % 3600
            try await advance(c, clock, "strict", seconds: toNextHour + 1800)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await jobs(c).isEmpty)
        }
    }

    /// (creation, lastScheduleTime, now, startingDeadlineSeconds, schedule) → the time due and whether >100 were missed.
    static let dueTimes: [(String, String?, String, Int64?, String, String?, Bool)] = [
        ("2026-01-01T00:00:30Z", nil, "2026-01-01T00:00:50Z", nil, "* * * * *", nil, false),
        ("2026-01-01T00:00:30Z", nil, "2026-01-01T00:01:00Z", nil, "* * * * *", "2026-01-01T00:01:00Z", false),
        ("2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z", "2026-01-01T00:05:10Z", nil, "* * * * *", "2026-01-01T00:05:00Z", false),
        ("2026-01-01T00:00:30Z", nil, "2026-01-01T05:00:10Z", nil, "* * * * *", "2026-01-01T05:00:00Z", true),
        ("2026-01-01T00:00:30Z", nil, "2026-01-01T05:00:10Z", 300, "* * * * *", "2026-01-01T05:00:00Z", false),
        ("2026-01-01T00:00:30Z", nil, "2026-01-01T05:30:00Z", 60, "0 * * * *", nil, false),
        ("2026-01-01T00:00:00Z", nil, "2026-01-03T12:00:00Z", nil, "30 6-16/4 * * 1-5", "2026-01-02T14:30:00Z", false),
        ("2026-01-01T00:00:00Z", nil, "2026-01-02T01:00:00Z", nil, "TZ=Asia/Tokyo 0 9 * * *", "2026-01-02T00:00:00Z", false),
    ]

    @Test(arguments: dueTimes)
    func mostRecentScheduleTime(_ created: String, _ last: String?, _ now: String, _ deadline: Int64?, _ spec: String,
                                _ expected: String?, _ tooMany: Bool) throws {
        var cj = cronJobJSON("x", schedule: spec)
        cj.creationTimestamp = created
        if let last { cj[path: ["status", "lastScheduleTime"]] = .string(last) }
        if let deadline { cj[path: ["spec", "startingDeadlineSeconds"]] = .number(JSONNumber(deadline)) }
        let r = CronJobController.mostRecentScheduleTime(cj, now: try #require(Timestamp(rfc3339: now)), schedule: try CronSchedule(parsing: spec),
                                                         includeStartingDeadline: true)
        #expect(r.mostRecent?.rfc3339 == expected)
        #expect(r.tooMany == tooMany)
    }

    @Test func theScheduledTimestampIsWrittenInTheCronJobsZone() throws {
        var cj = cronJobJSON("tz")
        cj[path: ["metadata", "uid"]] = "u1"
        let job = CronJobController.job(from: cj, name: "tz-1", scheduled: try #require(Timestamp(rfc3339: "2026-01-02T00:00:00Z")),
                                        zone: try #require(TimeZone(identifier: "Asia/Tokyo")))
        #expect(job.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] == "2026-01-02T09:00:00+09:00")
        #expect(job[path: ["spec", "template", "spec", "restartPolicy"]] == "OnFailure")
    }
}

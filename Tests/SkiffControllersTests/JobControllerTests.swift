import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Synchronization
import Testing

/// A clock tests move by hand: real time plus an offset.
/// A clock tests move by hand; a frozen one stands still between moves, so a controller's own
/// real-time wake-up (a cron minute turning while the test runs) cannot act on its own.
final class TestClock: Sendable {
    private let offset = Mutex<Int64>(0)
    private let frozenAt: Timestamp?
    init(frozen: Bool = false) { frozenAt = frozen ? Timestamp.now() : nil }
    func advance(seconds: Int64) { offset.withLock { $0 += seconds } }
    var now: Timestamp { (frozenAt ?? Timestamp.now()).adding(seconds: offset.withLock { $0 }) }
}

func jobJSON(_ name: String, spec extra: JSON = [:], annotations: JSON? = nil) -> JSON {
    var spec: JSON = ["template": ["spec": ["restartPolicy": "Never", "containers": [["name": "main", "image": "busybox"]]]]]
    for (k, v) in extra.objectValue ?? [:] { spec[k] = v }
    var job: JSON = ["apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": .string(name)], "spec": spec]
    if let annotations { job[path: ["metadata", "annotations"]] = annotations }
    return job
}

/// Plays the kubelet for one pod: it ends in `phase` with every container exited `code`.
func finish(_ c: Cluster, _ pod: JSON, phase: String, exitCode: Int64 = 0, conditions: [JSON] = []) async throws {
    var next = try await c.client.get(.pods, namespace: pod.namespace, pod.name ?? "")
    let now = Timestamp.now().rfc3339
    next["status"] = ["phase": .string(phase), "conditions": .array(conditions),
                      "containerStatuses": [["name": "main", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
                                             "state": ["terminated": ["exitCode": .number(JSONNumber(exitCode)), "reason": exitCode == 0 ? "Completed" : "Error",
                                                                      "startedAt": .string(now), "finishedAt": .string(now)]]]]]
    try await c.client.update(.pods, next, subresource: "status")
}

@Suite struct JobControllerTests {
    func withController(clock: TestClock = TestClock(), _ body: (Cluster) async throws -> Void) async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let factory = InformerFactory(client: cluster.client)
        let controller = JobController(factory: factory, podFailureBackoff: .milliseconds(10), now: { clock.now })
        let run = startAfterSync(factory) { await controller.run(workers: 2) }
        defer { run.cancel() }
        try await body(cluster)
    }

    func pods(_ c: Cluster, running: Bool = true) async throws -> [JSON] {
        try await c.client.list(.pods, namespace: "default").items.filter {
            !running || ($0.deletionTimestamp == nil && $0[path: ["status", "phase"]]?.stringValue != "Succeeded" && $0[path: ["status", "phase"]]?.stringValue != "Failed")
        }
    }

    func job(_ c: Cluster, _ name: String) async throws -> JSON { try await c.client.get(.jobs, namespace: "default", name) }

    func conditionTypes(_ job: JSON) -> [String] {
        (job[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["status"] == "True" }.compactMap { $0["type"]?.stringValue }
    }

    @Test func runsCompletionsWithAtMostParallelismPodsAndCompletes() async throws {
        try await withController { c in
            let created = try await c.client.create(.jobs, namespace: "default", jobJSON("work", spec: ["completions": 3, "parallelism": 2]))
            #expect(created.labels["batch.kubernetes.io/job-name"] == "work")
            #expect(created[path: ["spec", "selector", "matchLabels", "batch.kubernetes.io/controller-uid"]]?.stringValue == created.uid)
            for round in 0..<3 {
                try await eventually("pods for round \(round)") { try await pods(c).count == min(2, 3 - round) }
                let running = try await pods(c)
                #expect(running.count <= 2)
                let pod = try #require(running.first)
                if round == 0 {
                    #expect(pod.name?.hasPrefix("work-") == true)
                    #expect(pod.finalizers == ["batch.kubernetes.io/job-tracking"])
                    #expect(pod.labels["batch.kubernetes.io/controller-uid"] == created.uid)
                    #expect(pod.labels["job-name"] == "work")
                    #expect(controllerRef(pod)?["uid"]?.stringValue == created.uid)
                }
                try await finish(c, pod, phase: "Succeeded")
                try await eventually("succeeded \(round + 1)") { try await job(c, "work")[path: ["status", "succeeded"]]?.intValue == round + 1 }
            }
            try await eventually("Complete") { conditionTypes(try await job(c, "work")) == ["SuccessCriteriaMet", "Complete"] }
            let done = try await job(c, "work")
            #expect(done[path: ["status", "completionTime"]] != nil)
            #expect(done[path: ["status", "uncountedTerminatedPods"]] == [:])
            let complete = done[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Complete" }
            #expect(complete?["reason"] == "CompletionsReached")
            // Every finished pod was let go.
            #expect(try await pods(c, running: false).allSatisfy { $0.finalizers.isEmpty })
            try await eventually("events") {
                let events = try await c.client.list(.events, namespace: "default").items.compactMap { $0["reason"]?.stringValue }
                return events.filter { $0 == "SuccessfulCreate" }.count == 3 && events.contains("Completed")
            }
        }
    }

    @Test func indexedJobGivesEachPodItsIndex() async throws {
        try await withController { c in
            try await c.client.create(.jobs, namespace: "default", jobJSON("idx", spec: ["completions": 3, "parallelism": 3, "completionMode": "Indexed"]))
            try await eventually("3 pods") { try await pods(c).count == 3 }
            let all = try await pods(c)
            let indexes = all.compactMap { $0.annotations["batch.kubernetes.io/job-completion-index"] }.sorted()
            #expect(indexes == ["0", "1", "2"])
            for p in all {
                let i = p.annotations["batch.kubernetes.io/job-completion-index"] ?? ""
                #expect(p.labels["batch.kubernetes.io/job-completion-index"] == i)
                #expect(p[path: ["spec", "hostname"]]?.stringValue == "idx-\(i)")
                #expect(p.name?.hasPrefix("idx-\(i)-") == true)
                let env = p[path: ["spec", "containers"]]?.arrayValue?.first?["env"]?.arrayValue?.first
                #expect(env?["name"] == "JOB_COMPLETION_INDEX")
                #expect(env?[path: ["valueFrom", "fieldRef", "fieldPath"]] == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
            }
            let byIndex = Dictionary(uniqueKeysWithValues: all.map { ($0.annotations["batch.kubernetes.io/job-completion-index"] ?? "", $0) })
            try await finish(c, try #require(byIndex["1"]), phase: "Succeeded")
            try await eventually("index 1 completed") { try await job(c, "idx")[path: ["status", "completedIndexes"]] == "1" }
            // A failed index is retried under the same index.
            try await finish(c, try #require(byIndex["0"]), phase: "Failed", exitCode: 1)
            try await eventually("index 0 recreated") {
                try await pods(c).contains { $0.annotations["batch.kubernetes.io/job-completion-index"] == "0" }
            }
            for p in try await pods(c) { try await finish(c, p, phase: "Succeeded") }
            try await eventually("Complete") { conditionTypes(try await job(c, "idx")).contains("Complete") }
            let done = try await job(c, "idx")
            #expect(done[path: ["status", "completedIndexes"]] == "0-2")
            #expect(done[path: ["status", "succeeded"]] == 3)
            #expect(done[path: ["status", "failed"]] == 1)
        }
    }

    @Test func failingPodsAreReplacedUntilTheBackoffLimit() async throws {
        try await withController { c in
            try await c.client.create(.jobs, namespace: "default", jobJSON("flaky", spec: ["backoffLimit": 2]))
            for attempt in 1...3 {
                try await eventually("attempt \(attempt)") { try await pods(c).count == 1 }
                try await finish(c, try #require(try await pods(c).first), phase: "Failed", exitCode: 1)
                try await eventually("failed \(attempt)") { try await job(c, "flaky")[path: ["status", "failed"]]?.intValue == attempt }
            }
            try await eventually("Failed") { conditionTypes(try await job(c, "flaky")) == ["FailureTarget", "Failed"] }
            let failed = try await job(c, "flaky")[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Failed" }
            #expect(failed?["reason"] == "BackoffLimitExceeded")
            #expect(failed?["message"] == "Job has reached the specified backoff limit")
            #expect(try await pods(c).isEmpty)
            try await eventually("a BackoffLimitExceeded event") {
                try await c.client.list(.events, namespace: "default").items.contains { $0["reason"] == "BackoffLimitExceeded" && $0["type"] == "Warning" }
            }
        }
    }

    @Test func backOffDoublesAndResetsAfterASuccess() async throws {
        let clock = TestClock()
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let controller = JobController(factory: InformerFactory(client: cluster.client), podFailureBackoff: .seconds(10), now: { clock.now })
        #expect(controller.remainingBackoff("ns/j") == .zero)
        let t = clock.now
        controller.backoffs.withLock { $0["ns/j"] = .init(failuresAfterLastSuccess: 3, lastFailure: t) }
        // 10 s doubled twice: 40 s from the last failure.
        let remaining = controller.remainingBackoff("ns/j")
        #expect(remaining > .seconds(39) && remaining <= .seconds(40))
        controller.backoffs.withLock { $0["ns/j"] = .init(failuresAfterLastSuccess: 12, lastFailure: t) }
        #expect(controller.remainingBackoff("ns/j") <= .seconds(360))
        #expect(controller.remainingBackoff("ns/j") > .seconds(359))
        clock.advance(seconds: 400)
        #expect(controller.remainingBackoff("ns/j") == .zero)
    }

    @Test func activeDeadlineFailsTheJobAndStopsItsPods() async throws {
        let clock = TestClock()
        try await withController(clock: clock) { c in
            try await c.client.create(.jobs, namespace: "default", jobJSON("slow", spec: ["activeDeadlineSeconds": 30, "parallelism": 2, "completions": 4]))
            try await eventually("2 pods, started") {
                let started = try await job(c, "slow")[path: ["status", "startTime"]] != nil
                return try await pods(c).count == 2 && started
            }
            clock.advance(seconds: 31)
            try await c.client.patch(.jobs, namespace: "default", "slow", merge: ["metadata": ["annotations": ["poke": "1"]]])
            try await eventually("Failed: DeadlineExceeded") {
                let j = try await job(c, "slow")
                let failed = j[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Failed" }
                return failed?["reason"] == "DeadlineExceeded" && failed?["message"] == "Job was active longer than specified deadline"
            }
            #expect(try await pods(c).isEmpty)
        }
    }

    @Test func podFailurePolicyFailsIgnoresOrCounts() async throws {
        try await withController { c in
            let policy: JSON = ["rules": [
                ["action": "Ignore", "onPodConditions": [["type": "DisruptionTarget"]]],
                ["action": "FailJob", "onExitCodes": ["containerName": "main", "operator": "In", "values": [42]]],
            ]]
            try await c.client.create(.jobs, namespace: "default", jobJSON("pfp", spec: ["backoffLimit": 6, "podFailurePolicy": policy]))
            try await eventually("pod") { try await pods(c).count == 1 }
            // A disruption is ignored: not counted, the pod replaced.
            let first = try #require(try await pods(c).first)
            try await finish(c, first, phase: "Failed", exitCode: 137, conditions: [["type": "DisruptionTarget", "status": "True"]])
            try await eventually("replaced") {
                let now = try await pods(c)
                return now.count == 1 && now.first?.name != first.name
            }
            #expect(try await job(c, "pfp")[path: ["status", "failed"]] == JSON?.none)
            // Exit code 42 fails the job at once.
            let second = try #require(try await pods(c).first)
            try await finish(c, second, phase: "Failed", exitCode: 42)
            try await eventually("Failed by the policy") {
                let failed = try await job(c, "pfp")[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Failed" }
                return failed?["reason"] == "PodFailurePolicy"
                    && failed?["message"] == .string("Container main for pod default/\(second.name ?? "") failed with exit code 42 matching FailJob rule at index 1")
            }
            #expect(try await job(c, "pfp")[path: ["status", "failed"]] == 1)
        }
    }

    @Test func aFinishedPodDeletedAtOnceIsStillCounted() async throws {
        try await withController { c in
            try await c.client.create(.jobs, namespace: "default", jobJSON("quick", spec: ["completions": 2, "parallelism": 2]))
            try await eventually("2 pods") { try await pods(c).count == 2 }
            for p in try await pods(c) {
                try await finish(c, p, phase: "Succeeded")
                try await c.client.delete(.pods, namespace: "default", p.name ?? "")
            }
            try await eventually("Complete with 2 succeeded") {
                let j = try await job(c, "quick")
                return conditionTypes(j).contains("Complete") && j[path: ["status", "succeeded"]] == 2
            }
            try await eventually("the pods are gone") { try await pods(c, running: false).isEmpty }
        }
    }

    @Test func suspendStopsPodsAndResumeStartsThemAgain() async throws {
        try await withController { c in
            try await c.client.create(.jobs, namespace: "default", jobJSON("later", spec: ["suspend": true, "parallelism": 2, "completions": 2]))
            try await eventually("Suspended") { conditionTypes(try await job(c, "later")) == ["Suspended"] }
            #expect(try await pods(c).isEmpty)
            try await c.client.patch(.jobs, namespace: "default", "later", merge: ["spec": ["suspend": false]])
            try await eventually("2 pods after resume") { try await pods(c).count == 2 }
            try await eventually("resumed") { try await job(c, "later")[path: ["status", "active"]] == 2 }
            let resumed = try await job(c, "later")
            let suspended = resumed[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Suspended" }
            #expect(suspended?["status"] == "False")
            #expect(suspended?["reason"] == "JobResumed")
            #expect(resumed[path: ["status", "startTime"]] != nil)
            try await c.client.patch(.jobs, namespace: "default", "later", merge: ["spec": ["suspend": true]])
            try await eventually("pods stopped again") { try await pods(c, running: false).isEmpty }
            // Pods stopped by suspension are not failures.
            #expect(try await job(c, "later")[path: ["status", "failed"]] == JSON?.none)
        }
    }

    @Test func deletingTheJobReleasesItsPods() async throws {
        try await withController { c in
            try await c.client.create(.jobs, namespace: "default", jobJSON("gone", spec: ["parallelism": 2, "completions": 2]))
            try await eventually("2 pods") { try await pods(c).count == 2 }
            // No garbage collector runs here: the pods outlive their Job.
            try await c.client.delete(.jobs, namespace: "default", "gone")
            try await eventually("finalizers removed") { try await pods(c, running: false).allSatisfy { $0.finalizers.isEmpty } }
        }
    }

    @Test func completionsUnsetMeansOneSuccessFinishesTheWorkQueue() async throws {
        try await withController { c in
            try await c.client.create(.jobs, namespace: "default", [
                "apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": "queue"],
                "spec": ["parallelism": 3, "template": ["spec": ["restartPolicy": "Never", "containers": [["name": "main", "image": "busybox"]]]]],
            ])
            try await eventually("3 workers") { try await pods(c).count == 3 }
            let workers = try await pods(c)
            try await finish(c, workers[0], phase: "Succeeded")
            try await eventually("succeeded 1") { try await job(c, "queue")[path: ["status", "succeeded"]] == 1 }
            // No new worker after a success; the job completes once the others finish.
            #expect(try await pods(c).count == 2)
            #expect(!conditionTypes(try await job(c, "queue")).contains("Complete"))
            for w in workers.dropFirst() { try await finish(c, w, phase: "Succeeded") }
            try await eventually("Complete") { conditionTypes(try await job(c, "queue")).contains("Complete") }
            #expect(try await job(c, "queue")[path: ["status", "succeeded"]] == 3)
        }
    }

    @Test func aManualSelectorAdoptsMatchingOrphans() async throws {
        try await withController { c in
            try await c.client.create(.pods, namespace: "default", ["apiVersion": "v1", "kind": "Pod",
                                                                     "metadata": ["name": "stray", "labels": ["app": "batch"]],
                                                                     "spec": ["restartPolicy": "Never", "containers": [["name": "main", "image": "busybox"]]]])
            var manual = jobJSON("manual", spec: ["manualSelector": true, "selector": ["matchLabels": ["app": "batch"]], "parallelism": 2, "completions": 2])
            manual[path: ["spec", "template", "metadata", "labels"]] = ["app": "batch"]
            let created = try await c.client.create(.jobs, namespace: "default", manual)
            #expect(created[path: ["spec", "selector"]] == ["matchLabels": ["app": "batch"]])
            try await eventually("the orphan adopted, one pod made") {
                let all = try await pods(c)
                return all.count == 2 && all.contains {
                    $0.name == "stray" && controllerRef($0)?["uid"]?.stringValue == created.uid && $0.finalizers == ["batch.kubernetes.io/job-tracking"]
                }
            }
            // The adopted pod counts as the job's own.
            for p in try await pods(c) { try await finish(c, p, phase: "Succeeded") }
            try await eventually("Complete") { try await job(c, "manual")[path: ["status", "succeeded"]] == 2 }
        }
    }
}

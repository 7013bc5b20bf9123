import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Synchronization
import Testing

// MARK: - Helpers

/// A clock the tests move by hand, for stabilization windows and rate periods.
final class HPATestClock: Sendable {
    let time = Mutex(Timestamp(seconds: 1_700_000_000))
    func now() -> Timestamp { time.withLock { $0 } }
    func advance(seconds: Int64) { time.withLock { $0 = $0.adding(seconds: seconds) } }
}

/// A running pod with `cpu` (and optionally `memory`) requested by one container, ready
/// since long after a start long ago (outside CPU initialization), unless told otherwise.
func hpaPod(_ name: String, cpu: String? = "100m", memory: String? = nil, phase: String = "Running", ready: Bool = true,
            startedSecondsAgo: Int64 = 3600, readySecondsAgo: Int64 = 3000, now: Timestamp, deleting: Bool = false) -> JSON {
    var requests = JSONObject()
    if let cpu { requests["cpu"] = .string(cpu) }
    if let memory { requests["memory"] = .string(memory) }
    var pod: JSON = [
        "metadata": ["name": .string(name), "labels": ["app": "web"]],
        "spec": ["containers": [["name": "c", "image": "nginx", "resources": ["requests": .object(requests)]]]],
        "status": ["phase": .string(phase), "startTime": .string(now.adding(seconds: -startedSecondsAgo).rfc3339),
                   "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False"),
                                   "lastTransitionTime": .string(now.adding(seconds: -readySecondsAgo).rfc3339)]]],
    ]
    if deleting { pod[path: ["metadata", "deletionTimestamp"]] = .string(now.rfc3339) }
    return pod
}

/// Metrics of `value` thousandths for each named pod, sampled now over 30 s.
func hpaMetrics(_ values: [String: Int64], now: Timestamp) -> [String: PodMetric] {
    values.mapValues { PodMetric(value: $0, timestamp: now, window: .seconds(30)) }
}

// MARK: - Replica calculation

@Suite struct HPAReplicaCalculationTests {
    let now = Timestamp(seconds: 1_700_000_000)
    let calc = ReplicaCalculator()

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var current: Int32
        var target: Int32
        /// Pod name → usage in millicores (nil: no metric).
        var usage: [(String, Int64?)]
        var unready: Set<String> = []
        var pending: Set<String> = []
        var failed: Set<String> = []
        var deleting: Set<String> = []
        var expected: Int32
        var utilization: Int32
    }

    static let cases: [Case] = [
        Case(description: "55% of a 50% target is within tolerance", current: 3, target: 50,
             usage: [("a", 55), ("b", 55), ("c", 55)], expected: 3, utilization: 55),
        Case(description: "60% of 50% scales 3 pods to ceil(1.2 × 3)", current: 3, target: 50,
             usage: [("a", 60), ("b", 60), ("c", 60)], expected: 4, utilization: 60),
        Case(description: "20% of 50% scales 4 pods down to ceil(0.4 × 4)", current: 4, target: 50,
             usage: [("a", 20), ("b", 20), ("c", 20), ("d", 20)], expected: 2, utilization: 20),
        Case(description: "44% of 50% is outside tolerance (ratio 0.88)", current: 5, target: 50,
             usage: [("a", 44), ("b", 44), ("c", 44), ("d", 44), ("e", 44)], expected: 5, utilization: 44),
        Case(description: "a missing pod counts as 0% on a scale-up", current: 4, target: 50,
             usage: [("a", 100), ("b", 100), ("c", 100), ("d", nil)], expected: 6, utilization: 100),
        Case(description: "a missing pod counts as its whole request on a scale-down", current: 5, target: 50,
             usage: [("a", 10), ("b", 10), ("c", 10), ("d", 10), ("e", nil)], expected: 3, utilization: 10),
        Case(description: "counting more pods than the current size never turns a scale-down into a scale-up", current: 2, target: 50,
             usage: [("a", 10), ("b", 10), ("c", nil)], expected: 2, utilization: 10),
        Case(description: "a missing pod that turns a scale-up into a scale-down keeps the size", current: 4, target: 50,
             usage: [("a", 60), ("b", nil), ("c", nil), ("d", nil)], expected: 4, utilization: 60),
        Case(description: "unready pods count as 0% on a scale-up, and a flip keeps the size", current: 4, target: 50,
             usage: [("a", 120), ("b", 100), ("c", 100), ("d", 100)], unready: ["b", "c", "d"], expected: 4, utilization: 120),
        Case(description: "an unready pod counts as 0% on a scale-up, bringing it within tolerance", current: 2, target: 100,
             usage: [("a", 210), ("b", 50)], unready: ["b"], expected: 2, utilization: 210),
        Case(description: "unready pods are left out of a scale-down", current: 4, target: 50,
             usage: [("a", 10), ("b", 10), ("c", 300), ("d", 300)], unready: ["c", "d"], expected: 1, utilization: 10),
        Case(description: "pending pods are unready", current: 3, target: 50,
             usage: [("a", 200), ("b", 200), ("c", nil)], pending: ["c"], expected: 8, utilization: 200),
        Case(description: "failed and deleting pods are ignored", current: 3, target: 50,
             usage: [("a", 100), ("b", 900), ("c", 900)], failed: ["b"], deleting: ["c"], expected: 2, utilization: 100),
    ]

    @Test(arguments: cases) func utilization(_ c: Case) throws {
        let pods = c.usage.map { name, _ in
            // Unready ones never were: they went unready right after starting.
            hpaPod(name, phase: c.pending.contains(name) ? "Pending" : c.failed.contains(name) ? "Failed" : "Running",
                   ready: !c.unready.contains(name), readySecondsAgo: c.unready.contains(name) ? 3595 : 3000,
                   now: now, deleting: c.deleting.contains(name))
        }
        let metrics = hpaMetrics(Dictionary(uniqueKeysWithValues: c.usage.compactMap { n, v in v.map { (n, $0) } }), now: now)
        let r = try calc.resourceReplicas(current: c.current, targetUtilization: c.target, resource: "cpu", pods: pods, metrics: metrics, now: now)
        #expect(r.replicas == c.expected, "\(c.description)")
        #expect(r.utilization == c.utilization, "\(c.description)")
    }

    @Test func averageValueOfMemory() throws {
        let mi: Int64 = 1024 * 1024 * 1000
        let pods = ["a", "b"].map { hpaPod($0, memory: "64Mi", now: now) }
        // 150Mi each against 100Mi: ceil(1.5 × 2).
        let up = try calc.rawResourceReplicas(current: 2, targetUsage: 100 * mi, resource: "memory", pods: pods,
                                              metrics: hpaMetrics(["a": 150 * mi, "b": 150 * mi], now: now), now: now)
        #expect(up.replicas == 3)
        #expect(up.usage == 150 * mi)
        #expect(HorizontalPodAutoscalerController.quantity(milli: up.usage, resource: "memory") == "150Mi")
        // Memory ignores readiness: an unready pod's sample counts.
        let unready = [hpaPod("a", memory: "64Mi", ready: false, now: now), hpaPod("b", memory: "64Mi", now: now)]
        let down = try calc.rawResourceReplicas(current: 2, targetUsage: 100 * mi, resource: "memory", pods: unready,
                                                metrics: hpaMetrics(["a": 20 * mi, "b": 20 * mi], now: now), now: now)
        #expect(down.replicas == 1)
    }

    @Test func missingRequestFails() {
        let pods = [hpaPod("a", now: now), hpaPod("b", cpu: nil, memory: "1Gi", now: now)]
        #expect(throws: MetricError("missing request for cpu in container c of Pod b")) {
            try calc.resourceReplicas(current: 2, targetUtilization: 50, resource: "cpu", pods: pods,
                                      metrics: hpaMetrics(["a": 50, "b": 50], now: now), now: now)
        }
    }

    @Test func noUsableMetricsFails() {
        let pods = [hpaPod("a", ready: false, startedSecondsAgo: 10, readySecondsAgo: 5, now: now)]
        #expect(throws: MetricError("did not receive metrics for targeted pods (pods might be unready)")) {
            try calc.resourceReplicas(current: 1, targetUtilization: 50, resource: "cpu", pods: pods,
                                      metrics: hpaMetrics(["a": 50], now: now), now: now)
        }
        #expect(throws: MetricError("no pods returned by selector while calculating replica count")) {
            try calc.resourceReplicas(current: 1, targetUtilization: 50, resource: "cpu", pods: [], metrics: [:], now: now)
        }
    }

    @Test func requestsSumContainersAndSidecars() throws {
        var pod = hpaPod("a", now: now)
        pod[path: ["spec", "containers"]] = [
            ["name": "x", "resources": ["requests": ["cpu": "250m"]]],
            ["name": "y", "resources": ["requests": ["cpu": "0.5"]]],
        ]
        pod[path: ["spec", "initContainers"]] = [
            ["name": "sidecar", "restartPolicy": "Always", "resources": ["requests": ["cpu": "100m"]]],
            ["name": "init", "resources": ["requests": ["cpu": "2"]]],
        ]
        #expect(try ReplicaCalculator.requests([pod], resource: "cpu", container: nil) == ["a": 850])
        #expect(try ReplicaCalculator.requests([pod], resource: "cpu", container: "y") == ["a": 500])
        // Pod-level requests win where set; memory still comes from the containers.
        pod[path: ["spec", "resources"]] = ["requests": ["cpu": "1"]]
        pod[path: ["spec", "initContainers"]] = nil
        pod[path: ["spec", "containers"]] = [["name": "x", "resources": ["requests": ["cpu": "250m", "memory": "1Ki"]]]]
        #expect(try ReplicaCalculator.requests([pod], resource: "cpu", container: nil) == ["a": 1000])
        #expect(try ReplicaCalculator.requests([pod], resource: "memory", container: nil) == ["a": 1_024_000])
        #expect(try ReplicaCalculator.requests([pod], resource: "cpu", container: "x") == ["a": 250])
    }

    /// Upstream's CPU readiness: a sample from a pod's first minutes counts only once it
    /// has been ready a whole window; later, an unready pod counts unless it never was ready.
    @Test func cpuReadinessWindows() {
        let sample = PodMetric(value: 100, timestamp: now, window: .seconds(30))
        let freshlyReady = hpaPod("a", startedSecondsAgo: 60, readySecondsAgo: 10, now: now)
        let readyAWindow = hpaPod("a", startedSecondsAgo: 60, readySecondsAgo: 40, now: now)
        let wasReady = hpaPod("a", ready: false, startedSecondsAgo: 3600, readySecondsAgo: 60, now: now)
        let neverReady = hpaPod("a", ready: false, startedSecondsAgo: 3600, readySecondsAgo: 3590, now: now)
        var noStart = hpaPod("a", now: now)
        noStart[path: ["status", "startTime"]] = nil
        #expect(calc.cpuUnready(freshlyReady, metric: sample, now: now))
        #expect(!calc.cpuUnready(readyAWindow, metric: sample, now: now))
        #expect(!calc.cpuUnready(wasReady, metric: sample, now: now))
        #expect(calc.cpuUnready(neverReady, metric: sample, now: now))
        #expect(calc.cpuUnready(noStart, metric: sample, now: now))
    }

    @Test func configurableTolerance() throws {
        let pods = ["a", "b"].map { hpaPod($0, now: now) }
        let metrics = hpaMetrics(["a": 54, "b": 54], now: now)
        let tight = try calc.resourceReplicas(current: 2, targetUtilization: 50, resource: "cpu", pods: pods, metrics: metrics,
                                              tolerances: Tolerances(scaleDown: 0.1, scaleUp: 0.05), now: now)
        #expect(tight.replicas == 3)
        let loose = try calc.resourceReplicas(current: 2, targetUtilization: 50, resource: "cpu", pods: pods, metrics: metrics, now: now)
        #expect(loose.replicas == 2)
    }

    @Test func goDurations() {
        #expect(parseGoDuration("30s") == .seconds(30))
        #expect(parseGoDuration("1m0.5s") == .milliseconds(60_500))
        #expect(parseGoDuration("250ms") == .milliseconds(250))
        #expect(parseGoDuration("1h2m") == .seconds(3720))
        #expect(parseGoDuration("0") == .zero)
        #expect(parseGoDuration("soon") == nil)
    }
}

// MARK: - Stabilization and behavior

@Suite struct HPABehaviorTests {
    let t0 = Timestamp(seconds: 1_700_000_000)

    func normalize(_ h: inout AutoscalerHistory, current: Int32, desired: Int32, min: Int32 = 1, max: Int32 = 100,
                   behavior: HPABehavior? = nil, at seconds: Int64) -> Normalization {
        h.normalize(current: current, desired: desired, minReplicas: min, maxReplicas: max, behavior: behavior,
                    downscaleStabilizationWindowSeconds: 300, now: t0.adding(seconds: seconds))
    }

    @Test func withoutBehaviorScaleUpsAtMostDoubleOrFour() {
        var h = AutoscalerHistory()
        let small = normalize(&h, current: 1, desired: 10, at: 0)
        #expect(small.replicas == 4)
        #expect(small.limited && small.limitedReason == "ScaleUpLimit")
        let double = normalize(&h, current: 5, desired: 40, at: 1)
        #expect(double.replicas == 10)
        let max = normalize(&h, current: 5, desired: 40, max: 7, at: 2)
        #expect(max.replicas == 7 && max.limitedReason == "TooManyReplicas")
        var fresh = AutoscalerHistory()
        let within = normalize(&fresh, current: 5, desired: 6, at: 3)
        #expect(within.replicas == 6 && !within.limited && within.limitedReason == "DesiredWithinRange")
    }

    @Test func minimumReplicas() {
        var h = AutoscalerHistory()
        let n = normalize(&h, current: 3, desired: 1, min: 2, at: 0)
        #expect(n.replicas == 2 && n.limited && n.limitedReason == "TooFewReplicas")
        var hb = AutoscalerHistory()
        let b = normalize(&hb, current: 3, desired: 1, min: 2,
                          behavior: HPABehavior(scaleDown: .defaultScaleDown(windowSeconds: 0)), at: 0)
        #expect(b.replicas == 2 && b.limited && b.limitedReason == "TooFewReplicas")
    }

    /// The highest recommendation of the last 300 s wins a scale-down.
    @Test func downscaleStabilizationWindow() {
        var h = AutoscalerHistory()
        h.recordInitial(5, now: t0)
        let early = normalize(&h, current: 5, desired: 2, at: 10)
        #expect(early.replicas == 5)
        #expect(early.stabilizedReason == "ScaleDownStabilized")
        #expect(normalize(&h, current: 5, desired: 3, at: 200).replicas == 5)
        #expect(normalize(&h, current: 5, desired: 3, at: 299).replicas == 5)
        // The initial 5 has left the window; 3 (at 200 s) is the highest left.
        let later = normalize(&h, current: 5, desired: 2, at: 301)
        #expect(later.replicas == 3)
        #expect(normalize(&h, current: 3, desired: 2, at: 600).replicas == 2)
    }

    @Test func behaviorScaleUpPoliciesOverTheirPeriod() {
        var h = AutoscalerHistory()
        let b = HPABehavior()
        // Max of +4 pods and +100% per 15 s.
        let first = normalize(&h, current: 2, desired: 20, behavior: b, at: 0)
        #expect(first.replicas == 6 && first.limitedReason == "ScaleUpLimit")
        h.recordScale(behavior: b, from: 2, to: 6, now: t0)
        // Within the period the budget is spent.
        #expect(normalize(&h, current: 6, desired: 20, behavior: b, at: 5).replicas == 6)
        // After it, 6 + 100%.
        #expect(normalize(&h, current: 6, desired: 20, behavior: b, at: 16).replicas == 12)
        var m = AutoscalerHistory()
        var minRules = HPAScalingRules.defaultScaleUp
        minRules.selectPolicy = "Min"
        #expect(normalize(&m, current: 10, desired: 50, behavior: HPABehavior(scaleUp: minRules), at: 0).replicas == 14)
        var disabled = HPAScalingRules.defaultScaleUp
        disabled.selectPolicy = "Disabled"
        var d = AutoscalerHistory()
        #expect(normalize(&d, current: 10, desired: 50, behavior: HPABehavior(scaleUp: disabled), at: 0).replicas == 10)
    }

    @Test func behaviorScaleDownRateAndWindow() {
        let oneAMinute = HPAScalingRules(stabilizationWindowSeconds: 0, selectPolicy: "Max",
                                         policies: [.init(type: "Pods", value: 1, periodSeconds: 60)])
        let b = HPABehavior(scaleDown: oneAMinute)
        var h = AutoscalerHistory()
        let first = normalize(&h, current: 10, desired: 2, behavior: b, at: 0)
        #expect(first.replicas == 9 && first.limitedReason == "ScaleDownLimit")
        h.recordScale(behavior: b, from: 10, to: 9, now: t0)
        #expect(normalize(&h, current: 9, desired: 2, behavior: b, at: 30).replicas == 9)
        #expect(normalize(&h, current: 9, desired: 2, behavior: b, at: 61).replicas == 8)
        // 50% per 15 s truncates: 9 → 4.
        let half = HPABehavior(scaleDown: HPAScalingRules(stabilizationWindowSeconds: 0, selectPolicy: "Max",
                                                          policies: [.init(type: "Percent", value: 50, periodSeconds: 15)]))
        var p = AutoscalerHistory()
        #expect(normalize(&p, current: 9, desired: 1, behavior: half, at: 0).replicas == 4)

        // A 60 s window holds the highest recent recommendation.
        let windowed = HPABehavior(scaleDown: .defaultScaleDown(windowSeconds: 60))
        var w = AutoscalerHistory()
        w.recordInitial(10, now: t0)
        let held = normalize(&w, current: 10, desired: 3, behavior: windowed, at: 10)
        #expect(held.replicas == 10 && held.stabilizedReason == "ScaleDownStabilized")
        #expect(normalize(&w, current: 10, desired: 3, behavior: windowed, at: 61).replicas == 3)
    }

    @Test func behaviorScaleUpWindow() {
        var up = HPAScalingRules.defaultScaleUp
        up.stabilizationWindowSeconds = 60
        let b = HPABehavior(scaleUp: up)
        var h = AutoscalerHistory()
        h.recordInitial(2, now: t0)
        let held = normalize(&h, current: 2, desired: 5, behavior: b, at: 1)
        #expect(held.replicas == 2 && held.stabilizedReason == "ScaleUpStabilized")
        #expect(normalize(&h, current: 2, desired: 5, behavior: b, at: 62).replicas == 5)
    }

    @Test func behaviorDefaultsFillMissingFields() {
        let b = HPABehavior(["scaleDown": ["policies": [["type": "Pods", "value": 2, "periodSeconds": 30]], "tolerance": "0.05"]],
                            downscaleStabilizationWindowSeconds: 300)
        #expect(b?.scaleUp == .defaultScaleUp)
        #expect(b?.scaleDown.stabilizationWindowSeconds == 300)
        #expect(b?.scaleDown.selectPolicy == "Max")
        #expect(b?.scaleDown.policies == [.init(type: "Pods", value: 2, periodSeconds: 30)])
        #expect(b?.scaleDown.tolerance == 0.05)
        #expect(HPABehavior(nil, downscaleStabilizationWindowSeconds: 300) == nil)
    }

    @Test func conditionsMoveTheirTransitionTimeOnlyOnChange() {
        var status: JSON = [:]
        HorizontalPodAutoscalerController.setCondition(&status, "AbleToScale", "True", "A", "a", now: t0)
        HorizontalPodAutoscalerController.setCondition(&status, "AbleToScale", "True", "B", "b", now: t0.adding(seconds: 5))
        #expect(status[path: ["conditions"]]?.arrayValue?.count == 1)
        #expect(status["conditions"]?.arrayValue?.first?["lastTransitionTime"]?.stringValue == t0.rfc3339)
        #expect(status["conditions"]?.arrayValue?.first?["reason"] == "B")
        HorizontalPodAutoscalerController.setCondition(&status, "AbleToScale", "False", "C", "c", now: t0.adding(seconds: 9))
        #expect(status["conditions"]?.arrayValue?.first?["lastTransitionTime"]?.stringValue == t0.adding(seconds: 9).rfc3339)
    }
}

// MARK: - The resource metrics client

/// Answers metrics.k8s.io requests itself (a canned body and status) and passes the rest on.
final class MetricsStubTransport: Transport {
    let inner: any Transport
    let status: Int
    let body: JSON
    let seen = Mutex<[ClientRequest]>([])

    init(inner: any Transport, status: Int, body: JSON) {
        self.inner = inner
        self.status = status
        self.body = body
    }

    func send(_ request: ClientRequest) async throws -> ClientResponse {
        guard request.path.hasPrefix("/apis/metrics.k8s.io/") else { return try await inner.send(request) }
        seen.withLock { $0.append(request) }
        return ClientResponse(status: status, body: body.serialized())
    }

    func stream(_ request: ClientRequest) async throws -> AsyncThrowingStream<[UInt8], any Error> { try await inner.stream(request) }
}

/// What kube-apiserver answers for a path nothing serves.
let notFoundStatus: JSON = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                            "message": "the server could not find the requested resource", "reason": "NotFound", "details": [:], "code": 404]

@Suite struct HPAResourceMetricsClientTests {
    struct Nowhere: Transport {
        func send(_ request: ClientRequest) async throws -> ClientResponse { ClientResponse(status: 500, body: []) }
        func stream(_ request: ClientRequest) async throws -> AsyncThrowingStream<[UInt8], any Error> { throw ClientError(code: 0, reason: "", message: "") }
    }

    @Test func readsPodMetricsList() async throws {
        let list: JSON = [
            "kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": [:],
            "items": [
                ["metadata": ["name": "web-1", "namespace": "shop"], "timestamp": "2024-05-01T10:00:00Z", "window": "30s",
                 "containers": [["name": "app", "usage": ["cpu": "12m", "memory": "3Mi"]],
                                ["name": "sidecar", "usage": ["cpu": "1234567n", "memory": "1234Ki"]]]],
                ["metadata": ["name": "web-2", "namespace": "shop"], "timestamp": "2024-05-01T10:00:01Z", "window": "1m0s",
                 "containers": [["name": "app", "usage": ["cpu": "0", "memory": "0"]]]],
            ],
        ]
        let transport = MetricsStubTransport(inner: Nowhere(), status: 200, body: list)
        let usage = try await ResourceMetricsClient(client: Client(transport: transport)).podMetrics(namespace: "shop", selector: "app=web")
        #expect(transport.seen.withLock { $0.map(\.path) } == ["/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods"])
        #expect(transport.seen.withLock { $0.first?.query.first.map { "\($0.0)=\($0.1)" } } == "labelSelector=app=web")
        #expect(usage.count == 2)
        #expect(usage[0].name == "web-1")
        #expect(usage[0].window == .seconds(30))
        #expect(usage[0].timestamp == Timestamp(rfc3339: "2024-05-01T10:00:00Z"))
        let expected: [PodUsage.Container] = [PodUsage.Container(name: "app", cpu: 12, memory: 3_145_728),
                                              PodUsage.Container(name: "sidecar", cpu: 2, memory: 1_263_616)]
        #expect(usage[0].containers == expected)
        // Summed in thousandths: 12m + 2m (1.234567m rounds up); memory in millibytes.
        #expect(usage[0].milliValue("cpu") == 14)
        #expect(usage[0].milliValue("memory") == 4_409_344_000)
        #expect(usage[1].window == .seconds(60))
        #expect(usage[1].milliValue("cpu") == 0)
    }

    @Test func notServedIsANotFoundError() async throws {
        let transport = MetricsStubTransport(inner: Nowhere(), status: 404, body: notFoundStatus)
        await #expect(throws: ClientError.self) {
            try await ResourceMetricsClient(client: Client(transport: transport)).podMetrics(namespace: "default", selector: "")
        }
        do {
            _ = try await ResourceMetricsClient(client: Client(transport: transport)).podMetrics(namespace: "default", selector: "")
        } catch let e as ClientError {
            #expect(e.code == 404)
            #expect(e.message == "the server could not find the requested resource (get pods.metrics.k8s.io)")
        }
    }
}

// MARK: - Against the in-process API server

/// Usage every running pod reports, set by the test; or a failure.
final class FakePodMetrics: PodMetricsSource {
    let client: Client
    let clock: HPATestClock
    let cpu = Mutex<Int64>(0)

    init(client: Client, clock: HPATestClock) {
        self.client = client
        self.clock = clock
    }

    func podMetrics(namespace: String, selector: String) async throws -> [PodUsage] {
        let millicores = cpu.withLock { $0 }
        return try await client.list(.pods, namespace: namespace, labelSelector: selector).items
            .filter { $0[path: ["status", "phase"]] == "Running" }
            .map { PodUsage(name: $0.name ?? "", timestamp: clock.now(), window: .seconds(30), containers: [.init(name: "c", cpu: millicores)]) }
    }
}

@Suite(.serialized) struct HorizontalPodAutoscalerControllerTests {
    /// Plays the kubelet: pods become Running and Ready, started an hour before the test
    /// clock (past CPU initialization).
    static func runPods(_ client: Client, clock: HPATestClock) async {
        while !Task.isCancelled {
            if let pods = try? await client.list(.pods, namespace: "default").items {
                for pod in pods where pod.deletionTimestamp == nil && pod[path: ["status", "phase"]]?.stringValue != "Running" {
                    var next = pod
                    let now = clock.now()
                    next["status"] = ["phase": "Running", "startTime": .string(now.adding(seconds: -3600).rfc3339),
                                      "conditions": [["type": "Ready", "status": "True", "lastTransitionTime": .string(now.adding(seconds: -3000).rfc3339)]]]
                    _ = try? await client.update(.pods, next, subresource: "status")
                }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    static func deployment(replicas: Int) -> JSON {
        ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
         "spec": ["replicas": .number(JSONNumber(Int64(replicas))), "selector": ["matchLabels": ["app": "web"]],
                  "template": ["metadata": ["labels": ["app": "web"]],
                               "spec": ["containers": [["name": "c", "image": "nginx", "resources": ["requests": ["cpu": "100m"]]]]]]]]
    }

    static func hpa(target: String = "web", behavior: JSON? = nil) -> JSON {
        var h: JSON = [
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": ["name": "web"],
            "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(target)],
                     "minReplicas": 1, "maxReplicas": 10,
                     "metrics": [["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 50]]]]],
        ]
        if let behavior { h[path: ["spec", "behavior"]] = behavior }
        return h
    }

    struct Running {
        let cluster: Cluster
        let clock: HPATestClock
        /// The metrics the controller reads, unless the test gave it others.
        let fake: FakePodMetrics
        let controller: HorizontalPodAutoscalerController
        let tasks: [Task<Void, Never>]

        /// Waits until the API and the controller's pod cache both have `n` ready pods, so
        /// that its first sync sees what the test set up.
        func readyPods(_ n: Int) async throws {
            try await eventually("\(n) ready pods") {
                let cached = controller.pods.indexer.list(namespace: "default").filter { isReady($0) && $0.deletionTimestamp == nil }
                return try await HorizontalPodAutoscalerControllerTests.readyPods(cluster) == n && cached.count == n
            }
        }
        func stop() {
            for t in tasks { t.cancel() }
            cluster.stop()
        }
    }

    /// The API server, the Deployment and ReplicaSet controllers, the HPA controller with
    /// `metrics` (a fake by default) and a 50 ms sync period, and the stand-in kubelet.
    static func start(metrics: ((Client) -> any PodMetricsSource)? = nil) async throws -> Running {
        let c = try await Cluster.start()
        let clock = HPATestClock()
        let fake = FakePodMetrics(client: c.client, clock: clock)
        let factory = InformerFactory(client: c.client)
        var options = HorizontalPodAutoscalerController.Options()
        options.syncPeriod = .milliseconds(50)
        let hpa = HorizontalPodAutoscalerController(factory: factory, metrics: metrics?(c.client) ?? fake, options: options, now: { clock.now() })
        let controllers: [any Controller] = [ReplicaSetController(factory: factory), DeploymentController(factory: factory), hpa]
        let run = startAfterSync(factory) {
            await withTaskGroup(of: Void.self) { g in for ctl in controllers { g.addTask { await ctl.run(workers: 2) } } }
        }
        let kubelet = Task { await runPods(c.client, clock: clock) }
        return Running(cluster: c, clock: clock, fake: fake, controller: hpa, tasks: [run, kubelet])
    }

    static func getHPA(_ c: Cluster) async throws -> JSON {
        try await c.client.get(HorizontalPodAutoscalerController.resource, namespace: "default", "web")
    }

    static func condition(_ hpa: JSON, _ type: String) -> JSON? {
        hpa[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"]?.stringValue == type }
    }

    static func replicas(_ c: Cluster) async throws -> Int64? {
        try await c.client.get(.deployments, namespace: "default", "web")[path: ["spec", "replicas"]]?.int64Value
    }

    static func events(_ c: Cluster, reason: String) async throws -> [String] {
        try await c.client.list(.events, namespace: "default").items
            .filter { $0[path: ["involvedObject", "kind"]] == "HorizontalPodAutoscaler" && $0["reason"]?.stringValue == reason }
            .compactMap { $0["message"]?.stringValue }
    }

    static func readyPods(_ c: Cluster) async throws -> Int {
        try await c.client.list(.pods, namespace: "default").items.filter {
            $0.deletionTimestamp == nil && $0[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } == true
        }.count
    }

    /// 150% CPU against a 50% target scales 2 pods to 4 (the 2x-or-4 limit without
    /// behavior), then on to maxReplicas; low CPU scales down only after the 300 s window.
    @Test func scalesUpOnHighCPUAndDownAfterTheWindow() async throws {
        let r = try await Self.start()
        defer { r.stop() }
        let c = r.cluster
        _ = try await c.client.create(.deployments, namespace: "default", Self.deployment(replicas: 2))
        try await r.readyPods(2)
        r.fake.cpu.withLock { $0 = 150 }  // of a 100m request
        _ = try await c.client.create(HorizontalPodAutoscalerController.resource, namespace: "default", Self.hpa())

        try await eventually("the first rescale event") { try await !Self.events(c, reason: "SuccessfulRescale").isEmpty }
        #expect(try await Self.events(c, reason: "SuccessfulRescale").first
            == "New size: 4; reason: cpu resource utilization (percentage of request) above target")
        try await eventually("scaled to maxReplicas") {
            let hpa = try await Self.getHPA(c)
            return try await Self.replicas(c) == 10 && hpa[path: ["status", "currentReplicas"]]?.int64Value == 10
                && Self.condition(hpa, "ScalingLimited")?["reason"] == "TooManyReplicas"
        }
        let hpa = try await Self.getHPA(c)
        #expect(hpa[path: ["status", "desiredReplicas"]]?.int64Value == 10)
        #expect(hpa[path: ["status", "observedGeneration"]]?.int64Value == hpa.generation)
        #expect(hpa[path: ["status", "lastScaleTime"]]?.stringValue == r.clock.now().rfc3339)
        let metric = hpa[path: ["status", "currentMetrics"]]?.arrayValue?.first
        #expect(metric?["type"] == "Resource")
        #expect(metric?[path: ["resource", "name"]] == "cpu")
        #expect(metric?[path: ["resource", "current", "averageUtilization"]]?.int64Value == 150)
        #expect(metric?[path: ["resource", "current", "averageValue"]] == "150m")
        #expect(Self.condition(hpa, "ScalingActive")?["reason"] == "ValidMetricFound")
        #expect(Self.condition(hpa, "ScalingActive")?["status"] == "True")
        #expect(Self.condition(hpa, "ScalingLimited")?["status"] == "True")
        #expect(Self.condition(hpa, "AbleToScale")?["status"] == "True")
        #expect(try await Self.events(c, reason: "SuccessfulRescale").contains("New size: 10; reason: cpu resource utilization (percentage of request) above target"))
        // The autoscaling/v1 view shows the CPU utilization.
        let v1 = try await c.client.get(Resource(group: "autoscaling", version: "v1", plural: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true),
                                        namespace: "default", "web")
        #expect(v1[path: ["status", "currentCPUUtilizationPercentage"]]?.int64Value == 150)

        // 10% of a 50% target proposes 2, but the window holds the recent 10s.
        try await r.readyPods(10)
        r.fake.cpu.withLock { $0 = 10 }
        try await eventually("a stabilized scale-down") {
            let hpa = try await Self.getHPA(c)
            return Self.condition(hpa, "AbleToScale")?["reason"] == "ScaleDownStabilized"
                && hpa[path: ["status", "currentMetrics"]]?.arrayValue?.first?[path: ["resource", "current", "averageUtilization"]]?.int64Value == 10
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await Self.replicas(c) == 10)
        #expect(try await Self.getHPA(c)[path: ["status", "desiredReplicas"]]?.int64Value == 10)

        r.clock.advance(seconds: 301)
        try await eventually("scaled down to 2") { try await Self.replicas(c) == 2 }
        #expect(try await Self.events(c, reason: "SuccessfulRescale").contains("New size: 2; reason: All metrics below target"))
        try await eventually("status after the scale-down") {
            let hpa = try await Self.getHPA(c)
            return hpa[path: ["status", "desiredReplicas"]]?.int64Value == 2
                && hpa[path: ["status", "lastScaleTime"]]?.stringValue == r.clock.now().rfc3339
        }
    }

    /// The metrics API not served (404): ScalingActive False, FailedGetResourceMetric,
    /// warning events, and the target keeps its size.
    @Test func metricsNotServedSetsTheConditionAndDoesNotScale() async throws {
        let r = try await Self.start { client in
            ResourceMetricsClient(client: Client(transport: MetricsStubTransport(inner: client.transport, status: 404, body: notFoundStatus)))
        }
        defer { r.stop() }
        let c = r.cluster
        _ = try await c.client.create(.deployments, namespace: "default", Self.deployment(replicas: 2))
        try await r.readyPods(2)
        _ = try await c.client.create(HorizontalPodAutoscalerController.resource, namespace: "default", Self.hpa())
        try await eventually("ScalingActive False") {
            Self.condition(try await Self.getHPA(c), "ScalingActive")?["status"] == "False"
        }
        let hpa = try await Self.getHPA(c)
        let active = Self.condition(hpa, "ScalingActive")
        #expect(active?["reason"] == "FailedGetResourceMetric")
        #expect(active?["message"]?.stringValue == "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")
        #expect(Self.condition(hpa, "AbleToScale")?["reason"] == "SucceededGetScale")
        #expect(hpa[path: ["status", "currentReplicas"]]?.int64Value == 2)
        #expect(hpa[path: ["status", "desiredReplicas"]]?.int64Value == 0)
        #expect(hpa[path: ["status", "currentMetrics"]]?.arrayValue?.count == 1)
        try await eventually("warning events") {
            let metric = try await Self.events(c, reason: "FailedGetResourceMetric")
            let compute = try await Self.events(c, reason: "FailedComputeMetricsReplicas")
            return !metric.isEmpty && !compute.isEmpty
        }
        #expect(try await Self.events(c, reason: "FailedComputeMetricsReplicas").first
            == "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")
        // Syncs every 50 ms find nothing new: the status is not written again.
        let written = try await Self.getHPA(c).resourceVersion
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await Self.getHPA(c).resourceVersion == written)
        #expect(try await Self.replicas(c) == 2)
        #expect(try await Self.events(c, reason: "SuccessfulRescale").isEmpty)
    }

    /// The controller manager runs the HPA controller (with the resource metrics API as
    /// its source): an HPA gets its status whatever the metrics say.
    @Test func controllerManagerRunsIt() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let run = Task { await runControllerManager(c.client) }
        defer { run.cancel() }
        let kubelet = Task { await readyAllPods(c.client) }
        defer { kubelet.cancel() }
        _ = try await c.client.create(.deployments, namespace: "default", Self.deployment(replicas: 1))
        _ = try await c.client.create(HorizontalPodAutoscalerController.resource, namespace: "default", Self.hpa())
        try await eventually("the HPA's status") {
            let hpa = try await Self.getHPA(c)
            return Self.condition(hpa, "AbleToScale")?["status"] == "True" && hpa[path: ["status", "currentReplicas"]]?.int64Value == 1
        }
    }

    /// A missing target: AbleToScale False, FailedGetScale. A target scaled to zero:
    /// ScalingActive False, ScalingDisabled, and it stays at zero.
    @Test func missingTargetAndScaledToZero() async throws {
        let r = try await Self.start()
        defer { r.stop() }
        let c = r.cluster
        _ = try await c.client.create(HorizontalPodAutoscalerController.resource, namespace: "default", Self.hpa(target: "absent"))
        try await eventually("FailedGetScale") { Self.condition(try await Self.getHPA(c), "AbleToScale")?["reason"] == "FailedGetScale" }
        let absent = Self.condition(try await Self.getHPA(c), "AbleToScale")
        #expect(absent?["status"] == "False")
        #expect(absent?["message"]?.stringValue?.hasPrefix("the HPA controller was unable to get the target's current scale: ") == true)
        try await eventually("a FailedGetScale event") { try await !Self.events(c, reason: "FailedGetScale").isEmpty }

        _ = try await c.client.create(.deployments, namespace: "default", Self.deployment(replicas: 0))
        var hpa = try await Self.getHPA(c)
        hpa[path: ["spec", "scaleTargetRef", "name"]] = "web"
        _ = try await c.client.update(HorizontalPodAutoscalerController.resource, hpa)
        try await eventually("ScalingDisabled") { Self.condition(try await Self.getHPA(c), "ScalingActive")?["reason"] == "ScalingDisabled" }
        let disabled = try await Self.getHPA(c)
        #expect(Self.condition(disabled, "ScalingActive")?["status"] == "False")
        #expect(Self.condition(disabled, "AbleToScale")?["reason"] == "SucceededGetScale")
        #expect(disabled[path: ["status", "desiredReplicas"]]?.int64Value == 0)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await Self.replicas(c) == 0)
    }
}

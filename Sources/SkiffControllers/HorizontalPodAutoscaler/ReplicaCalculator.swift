import SkiffAPI
import SkiffCore

/// One pod's metric as the calculation sees it: thousandths of the unit, and when and
/// over what window it was sampled.
struct PodMetric: Sendable, Equatable {
    var value: Int64
    var timestamp: Timestamp = Timestamp(seconds: 0)
    var window: Duration = .zero
}

/// How far the usage ratio may stray from 1 before the HPA acts, down and up
/// (--horizontal-pod-autoscaler-tolerance, or spec.behavior.scale{Down,Up}.tolerance).
struct Tolerances: Sendable, Equatable {
    var scaleDown: Double
    var scaleUp: Double

    init(scaleDown: Double = 0.1, scaleUp: Double = 0.1) {
        self.scaleDown = scaleDown
        self.scaleUp = scaleUp
    }

    func isWithin(_ ratio: Double) -> Bool { 1 - scaleDown <= ratio && ratio <= 1 + scaleUp }
}

/// Why a replica count could not be computed, worded as upstream's errors are (they end
/// up in events and in the ScalingActive condition).
struct MetricError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Upstream's replica calculator (pkg/controller/podautoscaler/replica_calculator.go) for
/// resource metrics, as pure functions of the pods and their metrics: pods without
/// metrics count at the target on a scale-down and at zero on a scale-up, unready pods at
/// zero on a scale-up, and a recomputation that would flip the direction does nothing.
struct ReplicaCalculator: Sendable {
    /// Upstream's --horizontal-pod-autoscaler-cpu-initialization-period: within this time
    /// of a pod's start, its CPU samples count only once it has been ready a whole window.
    var cpuInitializationPeriodSeconds: Int64 = 300
    /// --horizontal-pod-autoscaler-initial-readiness-delay: a pod not ready this soon after
    /// starting is taken never to have been ready.
    var initialReadinessDelaySeconds: Int64 = 30

    struct Groups: Equatable {
        var readyCount = 0
        var unready: Set<String> = []
        var missing: Set<String> = []
        var ignored: Set<String> = []
    }

    /// Sorts the pods: being deleted or terminal (ignored), Pending or (for CPU) not
    /// ready (unready), without a metric (missing), and the rest (counted as ready).
    func groupPods(_ pods: [JSON], metrics: [String: PodMetric], resource: String, now: Timestamp) -> Groups {
        var g = Groups()
        for pod in pods {
            let name = pod.name ?? ""
            let phase = pod[path: ["status", "phase"]]?.stringValue
            if pod.deletionTimestamp != nil || phase == "Failed" || phase == "Succeeded" {
                g.ignored.insert(name)
                continue
            }
            if phase == "Pending" {
                g.unready.insert(name)
                continue
            }
            guard let metric = metrics[name] else {
                g.missing.insert(name)
                continue
            }
            if resource == "cpu", cpuUnready(pod, metric: metric, now: now) {
                g.unready.insert(name)
                continue
            }
            g.readyCount += 1
        }
        return g
    }

    /// Whether a pod's CPU sample should not count: early in its life, unless it has been
    /// ready a whole metric window; later, only if it is unready and never was ready.
    func cpuUnready(_ pod: JSON, metric: PodMetric, now: Timestamp) -> Bool {
        guard let ready = readyCondition(pod),
              let started = pod[path: ["status", "startTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
        else { return true }
        let status = ready["status"]?.stringValue
        let transition = ready["lastTransitionTime"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? Timestamp(seconds: 0)
        if now < started.adding(seconds: cpuInitializationPeriodSeconds) {
            return status == "False" || metric.timestamp < Self.adding(metric.window, to: transition)
        }
        return status == "False" && transition < started.adding(seconds: initialReadinessDelaySeconds)
    }

    static func adding(_ d: Duration, to t: Timestamp) -> Timestamp {
        let nanos = Int64(t.nanoseconds) + d.components.attoseconds / 1_000_000_000
        var seconds = t.seconds + d.components.seconds + nanos / 1_000_000_000
        var rest = nanos % 1_000_000_000
        if rest < 0 {
            rest += 1_000_000_000
            seconds -= 1
        }
        return Timestamp(seconds: seconds, nanoseconds: Int32(rest))
    }

    /// Each pod's request for `resource` in thousandths: the pod-level request when set
    /// (and no container is named), else the sum over its containers and sidecars (restartable
    /// init containers), or the named container's alone. A container without a request
    /// fails the whole calculation, as upstream.
    static func requests(_ pods: [JSON], resource: String, container: String?) throws(MetricError) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for pod in pods {
            let name = pod.name ?? ""
            let spec = pod["spec"] ?? [:]
            if container == nil, let q = spec[path: ["resources", "requests", resource]].flatMap({ try? Quantity(json: $0) }) {
                out[name] = q.milliValue
                continue
            }
            var containers = spec["containers"]?.arrayValue ?? []
            containers += (spec["initContainers"]?.arrayValue ?? []).filter { $0["restartPolicy"]?.stringValue == "Always" }
            var sum: Int64 = 0
            var found = false
            for c in containers {
                let cname = c["name"]?.stringValue ?? ""
                guard container == nil || container == cname else { continue }
                guard let q = c[path: ["resources", "requests", resource]].flatMap({ try? Quantity(json: $0) }) else {
                    throw MetricError("missing request for \(resource) in container \(cname) of Pod \(name)")
                }
                sum += q.milliValue
                if container != nil {
                    found = true
                    break
                }
            }
            if let container, !found { throw MetricError("container \(container) not found in Pod \(name)") }
            out[name] = sum
        }
        return out
    }

    /// Usage as a share of requests over the pods that have both, against the target
    /// percentage: (ratio, utilization %, average raw usage).
    static func utilizationRatio(_ metrics: [String: PodMetric], requests: [String: Int64],
                                 target: Int32) throws(MetricError) -> (ratio: Double, utilization: Int32, rawAverage: Int64) {
        var usage: Int64 = 0
        var requested: Int64 = 0
        var entries: Int64 = 0
        for (pod, metric) in metrics {
            // A metric for a pod the selector no longer lists is extraneous.
            guard let request = requests[pod] else { continue }
            usage += metric.value
            requested += request
            entries += 1
        }
        guard requested != 0 else { throw MetricError("no metrics returned matched known pods") }
        let utilization = Int32(clamping: usage * 100 / requested)
        return (Double(utilization) / Double(target), utilization, usage / entries)
    }

    /// GetResourceReplicas: the replicas that bring `resource` utilization to
    /// `targetUtilization` percent of the pods' requests.
    func resourceReplicas(current: Int32, targetUtilization: Int32, resource: String, container: String? = nil,
                          pods: [JSON], metrics: [String: PodMetric], tolerances: Tolerances = Tolerances(),
                          now: Timestamp) throws(MetricError) -> (replicas: Int32, utilization: Int32, rawAverage: Int64) {
        guard !pods.isEmpty else { throw MetricError("no pods returned by selector while calculating replica count") }
        var metrics = metrics
        let groups = groupPods(pods, metrics: metrics, resource: resource, now: now)
        for name in groups.ignored.union(groups.unready) { metrics[name] = nil }
        guard !metrics.isEmpty else { throw MetricError("did not receive metrics for targeted pods (pods might be unready)") }
        let requests = try Self.requests(pods, resource: resource, container: container)
        let (ratio, utilization, raw) = try Self.utilizationRatio(metrics, requests: requests, target: targetUtilization)

        let scaleUpWithUnready = !groups.unready.isEmpty && ratio > 1
        if !scaleUpWithUnready, groups.missing.isEmpty {
            if tolerances.isWithin(ratio) { return (current, utilization, raw) }
            return (Self.ceil(ratio * Double(groups.readyCount)), utilization, raw)
        }
        if !groups.missing.isEmpty {
            if ratio < 1 {
                // Count them at their whole request, or at the target when it is above 100%.
                let fallback = Int64(max(100, targetUtilization))
                for name in groups.missing { metrics[name] = PodMetric(value: (requests[name] ?? 0) * fallback / 100) }
            } else if ratio > 1 {
                for name in groups.missing { metrics[name] = PodMetric(value: 0) }
            }
        }
        if scaleUpWithUnready {
            for name in groups.unready { metrics[name] = PodMetric(value: 0) }
        }
        let (newRatio, _, _) = try Self.utilizationRatio(metrics, requests: requests, target: targetUtilization)
        return (Self.settle(current: current, ratio: ratio, newRatio: newRatio, count: metrics.count, tolerances: tolerances), utilization, raw)
    }

    /// GetRawResourceReplicas: the replicas that bring the pods' average usage of
    /// `resource` to `targetUsage` (thousandths).
    func rawResourceReplicas(current: Int32, targetUsage: Int64, resource: String, pods: [JSON], metrics: [String: PodMetric],
                             tolerances: Tolerances = Tolerances(), now: Timestamp) throws(MetricError) -> (replicas: Int32, usage: Int64) {
        guard !pods.isEmpty else { throw MetricError("no pods returned by selector while calculating replica count") }
        var metrics = metrics
        let groups = groupPods(pods, metrics: metrics, resource: resource, now: now)
        for name in groups.ignored.union(groups.unready) { metrics[name] = nil }
        guard !metrics.isEmpty else { throw MetricError("did not receive metrics for targeted pods (pods might be unready)") }
        let (ratio, usage) = Self.usageRatio(metrics, target: targetUsage)

        let scaleUpWithUnready = !groups.unready.isEmpty && ratio > 1
        if !scaleUpWithUnready, groups.missing.isEmpty {
            if tolerances.isWithin(ratio) { return (current, usage) }
            return (Self.ceil(ratio * Double(groups.readyCount)), usage)
        }
        if !groups.missing.isEmpty {
            if ratio < 1 {
                for name in groups.missing { metrics[name] = PodMetric(value: targetUsage) }
            } else if ratio > 1 {
                for name in groups.missing { metrics[name] = PodMetric(value: 0) }
            }
        }
        if scaleUpWithUnready {
            for name in groups.unready { metrics[name] = PodMetric(value: 0) }
        }
        let (newRatio, _) = Self.usageRatio(metrics, target: targetUsage)
        return (Self.settle(current: current, ratio: ratio, newRatio: newRatio, count: metrics.count, tolerances: tolerances), usage)
    }

    static func usageRatio(_ metrics: [String: PodMetric], target: Int64) -> (ratio: Double, usage: Int64) {
        let total = metrics.values.reduce(Int64(0)) { $0 + $1.value }
        let average = total / Int64(max(1, metrics.count))
        return (Double(average) / Double(target), average)
    }

    /// The recomputed proposal, unless it is within tolerance or turns the direction the
    /// first ratio pointed (by the ratio, or by the number of pods counted).
    static func settle(current: Int32, ratio: Double, newRatio: Double, count: Int, tolerances: Tolerances) -> Int32 {
        if tolerances.isWithin(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) { return current }
        let proposal = ceil(newRatio * Double(count))
        if (newRatio < 1 && proposal > current) || (newRatio > 1 && proposal < current) { return current }
        return proposal
    }

    /// math.Ceil then int32, clamped where Go would overflow.
    static func ceil(_ x: Double) -> Int32 {
        let c = x.rounded(.up)
        if c.isNaN { return 0 }
        return c >= Double(Int32.max) ? .max : c <= Double(Int32.min) ? .min : Int32(c)
    }
}

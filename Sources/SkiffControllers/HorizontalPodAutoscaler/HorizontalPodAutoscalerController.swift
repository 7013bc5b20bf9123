import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// kube-controller-manager's horizontalpodautoscaling controller, for autoscaling/v2
/// HorizontalPodAutoscalers with Resource and ContainerResource metrics: every sync period
/// (and when an HPA is added or its spec changes) it reads the target's scale subresource
/// and its pods' usage from the resource metrics API, proposes the replicas that bring
/// usage to the target (the highest proposal over the metrics), stabilizes and
/// rate-limits that per spec.behavior, scales the target through its scale subresource,
/// and reports status, conditions and events as upstream does.
public final class HorizontalPodAutoscalerController: Controller {
    /// kube-controller-manager's --horizontal-pod-autoscaler-* flags.
    public struct Options: Sendable {
        /// --horizontal-pod-autoscaler-sync-period: how often every HPA is reconciled.
        public var syncPeriod: Duration = .seconds(15)
        /// --horizontal-pod-autoscaler-downscale-stabilization, in seconds.
        public var downscaleStabilizationWindowSeconds: Int64 = 300
        /// --horizontal-pod-autoscaler-tolerance.
        public var tolerance: Double = 0.1
        /// --horizontal-pod-autoscaler-cpu-initialization-period, in seconds.
        public var cpuInitializationPeriodSeconds: Int64 = 300
        /// --horizontal-pod-autoscaler-initial-readiness-delay, in seconds.
        public var initialReadinessDelaySeconds: Int64 = 30
        public init() {}
    }

    /// The version the controller reads and writes (autoscaling/v1 is a view of it).
    public static let resource = Resource(group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers",
                                          kind: "HorizontalPodAutoscaler", namespaced: true)

    /// Scalable kinds known without discovery, by (group, kind).
    static let scalable: [String: Resource] = [
        "apps/Deployment": .deployments, "apps/ReplicaSet": .replicaSets, "apps/StatefulSet": .statefulSets,
        "/ReplicationController": .replicationControllers,
    ]

    public let name = "horizontalpodautoscaling"
    public let queue = WorkQueue(name: "horizontalpodautoscaler")
    let client: Client
    let hpas: Informer
    let pods: Informer
    let metrics: any PodMetricsSource
    let events: EventRecorder
    let options: Options
    let calculator: ReplicaCalculator
    let now: @Sendable () -> Timestamp
    let logger = Logger(label: "skiff.controller.horizontalpodautoscaling")
    /// Per HPA key: recommendations and scale events (upstream keeps them in memory too).
    let histories = Mutex<[String: AutoscalerHistory]>([:])
    /// Per HPA key: the pod selector of its target, to find pods claimed by two HPAs.
    let selectors = Mutex<[String: LabelSelector]>([:])
    /// Per HPA key: when its next periodic sync is due, so only one is ever pending.
    let resyncs = Mutex<[String: ContinuousClock.Instant]>([:])
    /// Discovered resources (for scale targets outside the table), and when.
    let discovered = Mutex<(at: ContinuousClock.Instant, resources: [Resource])?>(nil)

    /// `metrics` defaults to the resource metrics API through the factory's client; `now`
    /// is the clock of stabilization windows, rate periods and condition times.
    public init(factory: InformerFactory, metrics: (any PodMetricsSource)? = nil, options: Options = Options(),
                now: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        client = factory.client
        hpas = factory.informer(Self.resource)
        pods = factory.informer(.pods)
        self.metrics = metrics ?? ResourceMetricsClient(client: factory.client)
        events = EventRecorder(client: factory.client, component: "horizontal-pod-autoscaler")
        self.options = options
        calculator = ReplicaCalculator(cpuInitializationPeriodSeconds: options.cpuInitializationPeriodSeconds,
                                       initialReadinessDelaySeconds: options.initialReadinessDelaySeconds)
        self.now = now
        hpas.addHandler { [weak self] e in
            guard let self else { return }
            switch e {
            case .added(let hpa):
                let key = objectKey(hpa)
                selectors.withLock { s in if s[key] == nil { s[key] = .nothing } }
                queue.add(key)
            case .updated(let old, let new):
                // A spec change is acted on at once; status writes (ours included) wait
                // for the sync period, as upstream, or the HPA would chase its own tail.
                if old.generation != new.generation || old["spec"] != new["spec"] { queue.add(objectKey(new)) }
            case .deleted(let hpa):
                let key = objectKey(hpa)
                selectors.withLock { _ = $0.removeValue(forKey: key) }
                queue.add(key)
            }
        }
    }

    public func sync(key: String) async throws {
        guard let hpa = hpas.indexer.get(key) else {
            forget(key)
            return
        }
        await reconcile(hpa, key: key)
        scheduleResync(key)
    }

    func forget(_ key: String) {
        _ = histories.withLock { $0.removeValue(forKey: key) }
        _ = selectors.withLock { $0.removeValue(forKey: key) }
        _ = resyncs.withLock { $0.removeValue(forKey: key) }
    }

    /// Queues the key again after the sync period unless a periodic sync is pending.
    /// Failures are retried the same way: upstream's HPA queue retries at the period too.
    func scheduleResync(_ key: String) {
        let period = options.syncPeriod
        let due = resyncs.withLock { r -> Bool in
            let t = ContinuousClock.now
            if let at = r[key], at > t { return false }
            r[key] = t + period
            return true
        }
        if due { queue.add(key, after: period) }
    }

    func withHistory<T>(_ key: String, _ body: (inout AutoscalerHistory) -> T) -> T {
        histories.withLock { body(&$0[key, default: AutoscalerHistory()]) }
    }

    // MARK: - Reconcile

    /// One HPA's autoscaling step (upstream's reconcileAutoscaler).
    func reconcile(_ hpa: JSON, key: String) async {
        let original = hpa["status"] ?? [:]
        var status = original
        let namespace = hpa.namespace ?? ""
        let spec = hpa["spec"] ?? [:]
        let ref = spec["scaleTargetRef"] ?? [:]
        let targetName = ref["name"]?.stringValue ?? ""
        let reference = "\(ref["kind"]?.stringValue ?? "")/\(namespace)/\(targetName)"
        let t = now()

        let resource: Resource
        var scale: JSON
        do {
            resource = try await scaleResource(apiVersion: ref["apiVersion"]?.stringValue ?? "", kind: ref["kind"]?.stringValue ?? "")
            scale = try await getScale(resource, namespace: namespace, name: targetName)
        } catch {
            let message = errorMessage(error)
            events.event(hpa, Self.resource, type: "Warning", reason: "FailedGetScale", message: message)
            Self.setCondition(&status, "AbleToScale", "False", "FailedGetScale",
                              "the HPA controller was unable to get the target's current scale: \(message)", now: t)
            await updateStatusIfNeeded(hpa, status, original: original)
            logger.debug("failed to query scale subresource", metadata: ["target": "\(reference)", "error": "\(message)"])
            return
        }
        Self.setCondition(&status, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale", now: t)
        let current = Int32(clamping: scale[path: ["spec", "replicas"]]?.int64Value ?? 0)
        withHistory(key) { $0.recordInitial(current, now: t) }
        let minReplicas = Int32(clamping: spec["minReplicas"]?.int64Value ?? 1)
        let maxReplicas = Int32(clamping: spec["maxReplicas"]?.int64Value ?? 0)
        let behavior = HPABehavior(spec["behavior"], downscaleStabilizationWindowSeconds: Int32(clamping: options.downscaleStabilizationWindowSeconds))

        var desired: Int32 = 0
        var reason = ""
        var metricStatuses: [JSON]?
        var rescale = true
        if current == 0 {
            // Scaled to zero by hand: autoscaling is off (minReplicas 0 needs the alpha
            // HPAScaleToZero, which Skiff does not have).
            rescale = false
            Self.setCondition(&status, "ScalingActive", "False", "ScalingDisabled",
                              "scaling is disabled since the replica count of the target is zero", now: t)
        } else if current > maxReplicas {
            reason = "Current number of replicas above Spec.MaxReplicas"
            desired = maxReplicas
        } else if current < minReplicas {
            reason = "Current number of replicas below Spec.MinReplicas"
            desired = minReplicas
        } else {
            let proposal = await computeReplicasForMetrics(hpa, key: key, scale: scale, status: &status, now: t)
            metricStatuses = proposal.statuses
            guard let replicas = proposal.replicas else {
                Self.setStatus(&status, hpa, current: current, desired: Int32(clamping: original["desiredReplicas"]?.int64Value ?? 0),
                               metrics: metricStatuses, rescaled: false, now: t)
                await updateStatusIfNeeded(hpa, status, original: original)
                events.event(hpa, Self.resource, type: "Warning", reason: "FailedComputeMetricsReplicas", message: proposal.error ?? "")
                logger.debug("failed to compute desired number of replicas based on listed metrics",
                             metadata: ["target": "\(reference)", "error": "\(proposal.error ?? "")"])
                return
            }
            if let error = proposal.error {
                // Some metrics failed, but the others call for scaling up: go on.
                logger.debug("some metrics are invalid", metadata: ["hpa": "\(key)", "error": "\(error)"])
            }
            var rescaleMetric = ""
            if replicas > desired {
                desired = replicas
                rescaleMetric = proposal.metric
            }
            if desired > current { reason = "\(rescaleMetric) above target" }
            if desired < current { reason = "All metrics below target" }
            let normalized = withHistory(key) {
                $0.normalize(current: current, desired: desired, minReplicas: minReplicas, maxReplicas: maxReplicas, behavior: behavior,
                             downscaleStabilizationWindowSeconds: options.downscaleStabilizationWindowSeconds, now: t)
            }
            Self.setCondition(&status, "AbleToScale", "True", normalized.stabilizedReason, normalized.stabilizedMessage, now: t)
            Self.setCondition(&status, "ScalingLimited", normalized.limited ? "True" : "False", normalized.limitedReason,
                              normalized.limitedMessage, now: t)
            desired = normalized.replicas
            rescale = desired != current
        }

        if rescale {
            do {
                try await updateScale(resource, &scale, replicas: desired)
            } catch {
                let message = errorMessage(error)
                events.event(hpa, Self.resource, type: "Warning", reason: "FailedRescale",
                             message: "New size: \(desired); reason: \(reason); error: \(message)")
                Self.setCondition(&status, "AbleToScale", "False", "FailedUpdateScale",
                                  "the HPA controller was unable to update the target scale: \(message)", now: t)
                Self.setStatus(&status, hpa, current: current, desired: Int32(clamping: original["desiredReplicas"]?.int64Value ?? 0),
                               metrics: metricStatuses, rescaled: false, now: t)
                await updateStatusIfNeeded(hpa, status, original: original)
                logger.debug("failed to rescale", metadata: ["target": "\(reference)", "error": "\(message)"])
                return
            }
            Self.setCondition(&status, "AbleToScale", "True", "SucceededRescale",
                              "the HPA controller was able to update the target scale to \(desired)", now: t)
            events.event(hpa, Self.resource, type: "Normal", reason: "SuccessfulRescale", message: "New size: \(desired); reason: \(reason)")
            withHistory(key) { $0.recordScale(behavior: behavior, from: current, to: desired, now: t) }
            logger.info("rescaled", metadata: ["hpa": "\(key)", "from": "\(current)", "to": "\(desired)", "reason": "\(reason)"])
        } else {
            desired = current
        }
        Self.setStatus(&status, hpa, current: current, desired: desired, metrics: metricStatuses, rescaled: rescale, now: t)
        await updateStatusIfNeeded(hpa, status, original: original)
    }

    // MARK: - Metrics

    /// A metric that could not be computed: the ScalingActive condition it calls for (the
    /// first such is reported) and the error.
    struct MetricFailure: Error {
        var reason: String
        var conditionMessage: String
        var error: String
    }

    /// The highest proposal over the HPA's metrics (nil replicas: none can be acted on),
    /// the metric that made it, every metric's status, and the first failure's error.
    func computeReplicasForMetrics(_ hpa: JSON, key: String, scale: JSON, status: inout JSON,
                                   now t: Timestamp) async -> (replicas: Int32?, metric: String, statuses: [JSON]?, error: String?) {
        let selectorText = scale[path: ["status", "selector"]]?.stringValue ?? ""
        let targeted: [JSON]
        switch validateAndParseSelector(hpa, key: key, selectorText) {
        case .success(let pods):
            targeted = pods
        case .failure(let e):
            Self.setCondition(&status, "ScalingActive", "False", e.reason, e.conditionMessage, now: t)
            return (nil, "", nil, e.error)
        }
        let specReplicas = Int32(clamping: scale[path: ["spec", "replicas"]]?.int64Value ?? 0)
        let specs = Self.metricSpecs(hpa)
        var statuses = [JSON](repeating: ["type": ""], count: specs.count)
        var replicas: Int32 = 0
        var metric = ""
        var invalid = 0
        var first: MetricFailure?
        for (i, spec) in specs.enumerated() {
            do {
                let r = try await computeReplicasForMetric(hpa, spec, specReplicas: specReplicas, selector: selectorText, pods: targeted, now: t)
                statuses[i] = r.status
                if replicas == 0 || r.replicas > replicas {
                    replicas = r.replicas
                    metric = r.metric
                }
            } catch {
                if first == nil { first = error }
                invalid += 1
            }
        }
        let error = first.map { "invalid metrics (\(invalid) invalid out of \(specs.count)), first error is: \($0.error)" }
        if let first, invalid >= specs.count || replicas < specReplicas {
            Self.setCondition(&status, "ScalingActive", "False", first.reason, first.conditionMessage, now: t)
            return (nil, "", statuses, error)
        }
        Self.setCondition(&status, "ScalingActive", "True", "ValidMetricFound",
                          "the HPA was able to successfully calculate a replica count from \(metric)", now: t)
        return (replicas, metric, statuses, error)
    }

    /// spec.metrics, or the API's default of 80% average CPU utilization when empty.
    static func metricSpecs(_ hpa: JSON) -> [JSON] {
        let specs = hpa[path: ["spec", "metrics"]]?.arrayValue ?? []
        if !specs.isEmpty { return specs }
        return [["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 80]]]]
    }

    /// The pods the target's selector selects; fails when it is missing,
    /// malformed, or those pods are also another HPA's.
    func validateAndParseSelector(_ hpa: JSON, key: String, _ text: String) -> Result<[JSON], MetricFailure> {
        if text.isEmpty {
            events.event(hpa, Self.resource, type: "Warning", reason: "SelectorRequired", message: "selector is required")
            return .failure(MetricFailure(reason: "InvalidSelector", conditionMessage: "the HPA target's scale is missing a selector",
                                          error: "selector is required"))
        }
        let selector: LabelSelector
        do {
            selector = try LabelSelector(parsing: text)
        } catch {
            let message = "couldn't convert selector into a corresponding internal selector object: \(error)"
            events.event(hpa, Self.resource, type: "Warning", reason: "InvalidSelector", message: message)
            return .failure(MetricFailure(reason: "InvalidSelector", conditionMessage: message, error: message))
        }
        let namespace = hpa.namespace ?? ""
        let others = selectors.withLock { s -> [(String, LabelSelector)] in
            s[key] = selector
            return s.filter { $0.key.hasPrefix("\(namespace)/") }.map { ($0.key, $0.value) }
        }
        let targeted = pods.indexer.list(namespace: namespace).filter { selector.matches($0.labels) }
        let selecting = others.filter { _, s in targeted.contains { s.matches($0.labels) } }.map(\.0).sorted()
        if selecting.count > 1 {
            let message = "pods by selector \(text) are controlled by more than one HPA (e.g. \(selecting.prefix(2).joined(separator: ", ")))"
            events.event(hpa, Self.resource, type: "Warning", reason: "AmbiguousSelector", message: message)
            return .failure(MetricFailure(reason: "AmbiguousSelector", conditionMessage: message, error: message))
        }
        return .success(targeted)
    }

    /// One metric's proposal, status and name; throws the failure (having recorded its
    /// event, as upstream's getUnableComputeReplicaCountCondition does).
    func computeReplicasForMetric(_ hpa: JSON, _ spec: JSON, specReplicas: Int32, selector: String, pods: [JSON],
                                  now t: Timestamp) async throws(MetricFailure) -> (replicas: Int32, metric: String, status: JSON) {
        let type = spec["type"]?.stringValue ?? ""
        func failure(_ reason: String, _ error: String, wrapped: String) -> MetricFailure {
            events.event(hpa, Self.resource, type: "Warning", reason: reason, message: error)
            return MetricFailure(reason: reason, conditionMessage: "the HPA was unable to compute the replica count: \(error)", error: wrapped)
        }
        switch type {
        case "Resource", "ContainerResource":
            let source = spec[type == "Resource" ? "resource" : "containerResource"] ?? [:]
            let resourceName = source["name"]?.stringValue ?? ""
            let container = type == "ContainerResource" ? source["container"]?.stringValue ?? "" : nil
            let reason = type == "Resource" ? "FailedGetResourceMetric" : "FailedGetContainerResourceMetric"
            let wrap = type == "Resource" ? "failed to get \(resourceName) resource metric value" : "failed to get \(container ?? "") container metric value"
            do {
                let (replicas, metric, current) = try await computeResourceMetric(hpa, target: source["target"] ?? [:], resource: resourceName,
                                                                                  container: container, specReplicas: specReplicas,
                                                                                  selector: selector, pods: pods, now: t)
                var status: JSON = ["name": .string(resourceName)]
                if let container { status["container"] = .string(container) }
                status["current"] = current
                return (replicas, metric, ["type": .string(type), type == "Resource" ? "resource" : "containerResource": status])
            } catch {
                throw failure(reason, error.message, wrapped: "\(wrap): \(error.message)")
            }
        case "Pods":
            let name = spec[path: ["pods", "metric", "name"]]?.stringValue ?? ""
            let e = "unable to get metric \(name): \(Self.noCustomMetrics)"
            throw failure("FailedGetPodsMetric", e, wrapped: "failed to get pods metric value: \(e)")
        case "Object":
            let name = spec[path: ["object", "metric", "name"]]?.stringValue ?? ""
            let described = spec[path: ["object", "describedObject"]] ?? [:]
            let e = "unable to get metric \(name) on \(described["kind"]?.stringValue ?? "") \(hpa.namespace ?? "")/\(described["name"]?.stringValue ?? ""): \(Self.noCustomMetrics)"
            throw failure("FailedGetObjectMetric", e, wrapped: "failed to get object metric value: \(e)")
        case "External":
            let name = spec[path: ["external", "metric", "name"]]?.stringValue ?? ""
            let e = "unable to get external metric \(hpa.namespace ?? "")/\(name): unable to fetch metrics from external metrics API: the server could not find the requested resource (external.metrics.k8s.io is not served)"
            throw failure("FailedGetExternalMetric", e, wrapped: "failed to get \(name) external metric value: \(e)")
        default:
            let e = "unknown metric source type \"\(type)\""
            throw failure("InvalidMetricSourceType", e, wrapped: e)
        }
    }

    static let noCustomMetrics = "unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"

    /// A Resource or ContainerResource metric: an AverageValue target if set, else an
    /// Utilization one (upstream's computeStatusForResourceMetricGeneric).
    func computeResourceMetric(_ hpa: JSON, target: JSON, resource: String, container: String?, specReplicas: Int32, selector: String,
                               pods: [JSON], now t: Timestamp) async throws(MetricError) -> (Int32, String, JSON) {
        let namespace = hpa.namespace ?? ""
        let tolerances = tolerances(hpa)
        if let averageValue = target["averageValue"], !averageValue.isNull {
            let targetUsage = (try? Quantity(json: averageValue))?.milliValue ?? 0
            guard targetUsage > 0 else { throw MetricError("invalid resource metric source: average value target must be positive") }
            do {
                let metrics = try await resourceMetrics(resource, container: container, namespace: namespace, selector: selector)
                let (replicas, usage) = try calculator.rawResourceReplicas(current: specReplicas, targetUsage: targetUsage, resource: resource,
                                                                           pods: pods, metrics: metrics, tolerances: tolerances, now: t)
                return (replicas, "\(resource) resource", ["averageValue": Self.quantity(milli: usage, resource: resource)])
            } catch {
                throw MetricError("failed to get \(resource) usage: \(error.message)")
            }
        }
        guard let utilization = target["averageUtilization"]?.int64Value else {
            throw MetricError("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
        }
        guard utilization > 0 else { throw MetricError("invalid resource metric source: average utilization target must be positive") }
        do {
            let metrics = try await resourceMetrics(resource, container: container, namespace: namespace, selector: selector)
            let (replicas, percentage, raw) = try calculator.resourceReplicas(current: specReplicas, targetUtilization: Int32(clamping: utilization),
                                                                              resource: resource, container: container, pods: pods,
                                                                              metrics: metrics, tolerances: tolerances, now: t)
            let name = container == nil ? "\(resource) resource utilization (percentage of request)"
                : "\(resource) container resource utilization (percentage of request)"
            return (replicas, name, ["averageValue": Self.quantity(milli: raw, resource: resource),
                                     "averageUtilization": .number(JSONNumber(Int64(percentage)))])
        } catch {
            throw MetricError("failed to get \(resource) utilization: \(error.message)")
        }
    }

    /// Upstream's buildQuantity: memory in binary SI, as metrics-server reports it.
    static func quantity(milli: Int64, resource: String) -> JSON {
        Quantity(milli: milli, format: resource == "memory" ? .binarySI : .decimalSI).json
    }

    /// The pods' usage of `resource` (or of `container`'s), by pod name (upstream's
    /// resource metrics client).
    func resourceMetrics(_ resource: String, container: String?, namespace: String,
                         selector: String) async throws(MetricError) -> [String: PodMetric] {
        let usages: [PodUsage]
        do {
            usages = try await metrics.podMetrics(namespace: namespace, selector: selector)
        } catch {
            throw MetricError("unable to get metrics for resource \(resource): unable to fetch metrics from resource metrics API: \(errorMessage(error))")
        }
        guard !usages.isEmpty else {
            throw MetricError("unable to get metrics for resource \(resource): no metrics returned from resource metrics API")
        }
        var out: [String: PodMetric] = [:]
        for u in usages {
            let value: Int64?
            if let container {
                guard let c = u.containers.first(where: { $0.name == container }) else {
                    throw MetricError("unable to get metrics for resource \(resource): container \(container) not present in metrics for pod \(namespace)/\(u.name)")
                }
                value = c.milliValue(resource)
            } else {
                value = u.milliValue(resource)
            }
            if let value { out[u.name] = PodMetric(value: value, timestamp: u.timestamp, window: u.window) }
        }
        return out
    }

    /// The controller's tolerance, or spec.behavior's per direction.
    func tolerances(_ hpa: JSON) -> Tolerances {
        var t = Tolerances(scaleDown: options.tolerance, scaleUp: options.tolerance)
        if let b = HPABehavior(hpa[path: ["spec", "behavior"]], downscaleStabilizationWindowSeconds: 0) {
            if hpa[path: ["spec", "behavior", "scaleDown", "tolerance"]] != nil, let d = b.scaleDown.tolerance { t.scaleDown = d }
            if hpa[path: ["spec", "behavior", "scaleUp", "tolerance"]] != nil, let u = b.scaleUp.tolerance { t.scaleUp = u }
        }
        return t
    }

    // MARK: - Scale subresource

    /// The resource of a scaleTargetRef (apiVersion's group and kind, any version, as
    /// upstream's RESTMapper): the built-in scalable kinds, else discovery.
    func scaleResource(apiVersion: String, kind: String) async throws -> Resource {
        let parts = apiVersion.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw ClientError(code: 0, reason: "BadRequest", message: "unexpected GroupVersion string: \(apiVersion)")
        }
        let group = parts.count == 2 ? String(parts[0]) : ""
        if let r = Self.scalable["\(group)/\(kind)"] { return r }
        func lookup(_ resources: [Resource]) -> Resource? { resources.first { $0.group == group && $0.kind == kind } }
        let cached = discovered.withLock { $0 }
        if let cached, let r = lookup(cached.resources) { return r }
        // Discover again on a miss, at most every 10 seconds.
        if cached.map({ ContinuousClock.now - $0.at > .seconds(10) }) ?? true {
            let resources = try await client.serverResources().map(\.resource)
            discovered.withLock { $0 = (ContinuousClock.now, resources) }
            if let r = lookup(resources) { return r }
        }
        throw ClientError(code: 404, reason: "NotFound", message: "no matches for kind \"\(kind)\" in group \"\(group)\"")
    }

    func getScale(_ r: Resource, namespace: String, name: String) async throws -> JSON {
        let response = try await client.transport.send(ClientRequest(method: "GET", path: r.path(namespace: namespace, name: name, subresource: "scale")))
        guard response.status == 200 else { throw ClientError(status: response.status, body: response.body) }
        return try JSON.parse(response.body)
    }

    /// Sets spec.replicas through the scale subresource, reading the scale again on a
    /// conflict (upstream retries five times).
    func updateScale(_ r: Resource, _ scale: inout JSON, replicas: Int32) async throws {
        var attempt = 0
        while true {
            scale[path: ["spec", "replicas"]] = .number(JSONNumber(Int64(replicas)))
            do {
                scale = try await client.update(r, scale, subresource: "scale")
                return
            } catch let e as ClientError where e.isConflict && attempt < 4 {
                attempt += 1
                scale = try await getScale(r, namespace: scale.namespace ?? "", name: scale.name ?? "")
            }
        }
    }

    // MARK: - Status

    /// Upstream's setStatus: replicas, metrics, lastScaleTime on a rescale, and the
    /// generation the status is for.
    static func setStatus(_ status: inout JSON, _ hpa: JSON, current: Int32, desired: Int32, metrics: [JSON]?, rescaled: Bool, now: Timestamp) {
        if let generation = hpa.generation { status["observedGeneration"] = .number(JSONNumber(generation)) }
        if rescaled { status["lastScaleTime"] = .string(now.rfc3339) }
        status["currentReplicas"] = current == 0 ? nil : .number(JSONNumber(Int64(current)))  // omitempty
        status["desiredReplicas"] = .number(JSONNumber(Int64(desired)))
        status["currentMetrics"] = metrics.map { .array($0) } ?? .null
    }

    /// Upstream's setCondition: added if absent; the transition time moves only when the
    /// status does.
    static func setCondition(_ status: inout JSON, _ type: String, _ value: String, _ reason: String, _ message: String, now: Timestamp) {
        var conditions = status["conditions"]?.arrayValue ?? []
        if !conditions.contains(where: { $0["type"]?.stringValue == type }) { conditions.append(["type": .string(type)]) }
        guard let i = conditions.firstIndex(where: { $0["type"]?.stringValue == type }) else { return }
        var c = conditions[i]
        if c["status"]?.stringValue != value {
            c["lastTransitionTime"] = .string(now.rfc3339)
        }
        var ordered: JSON = ["type": .string(type), "status": .string(value)]
        ordered["lastTransitionTime"] = c["lastTransitionTime"]
        ordered["reason"] = .string(reason)
        ordered["message"] = .string(message)
        for (k, v) in c.objectValue ?? [:] where ordered[k] == nil { ordered[k] = v }
        conditions[i] = ordered
        status["conditions"] = .array(conditions)
    }

    /// Writes the status through the status subresource when it differs from what was
    /// read. A conflict is left to the next sync.
    func updateStatusIfNeeded(_ hpa: JSON, _ status: JSON, original: JSON) async {
        guard Self.withoutNulls(status) != Self.withoutNulls(original) else { return }
        var next = hpa
        next["status"] = status
        do {
            try await client.update(Self.resource, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound || e.isConflict {
            logger.debug("status not written", metadata: ["hpa": "\(objectKey(hpa))", "error": "\(e)"])
        } catch {
            events.event(hpa, Self.resource, type: "Warning", reason: "FailedUpdateStatus", message: errorMessage(error))
            logger.warning("failed to update status", metadata: ["hpa": "\(objectKey(hpa))", "error": "\(error)"])
        }
    }

    /// `v` without null members, so that a null the server dropped is no change.
    static func withoutNulls(_ v: JSON) -> JSON {
        switch v {
        case .object(let o):
            var out = JSONObject()
            for (k, x) in o where !x.isNull { out[k] = withoutNulls(x) }
            return .object(out)
        case .array(let a): return .array(a.map(withoutNulls))
        default: return v
        }
    }
}

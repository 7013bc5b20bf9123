import Foundation
import Logging
import SkiffAPI
import SkiffCore
import SkiffRuntime

/// A probe's published verdict. Upstream's third value, Unknown, is the startup probe's
/// state before its first verdict and is never published.
public enum ProbeResult: String, Sendable, Equatable {
    case success
    case failure
}

/// A change of a container's probe result, for the kubelet to act on: a readiness change
/// updates the pod's status; a liveness or startup failure means the container must be
/// killed and restarted (see `killMessage`).
public struct ProbeUpdate: Sendable, Equatable {
    public var podUID: String
    public var containerName: String
    public var containerID: String
    public var probeType: ProbeType
    public var result: ProbeResult
    /// The output of the probe that settled the result.
    public var message: String

    /// True when the container has to be killed (and restarted per the pod's restartPolicy).
    public var requiresRestart: Bool { probeType != .readiness && result == .failure }

    /// The `Killing` event's message upstream gives such a container:
    /// `Container app failed liveness probe, will be restarted`.
    public func killMessage(willRestart: Bool) -> String {
        "Container \(containerName) failed \(probeType.rawValue.lowercased()) probe" + (willRestart ? ", will be restarted" : "")
    }
}

/// An event about a container that the prober wants recorded against its pod (the
/// kubelet's EventRecorder aggregates repeats, as upstream's does).
public struct ProbeEvent: Sendable, Equatable {
    public var podUID: String
    public var containerName: String
    public var containerID: String
    /// Always "Warning" for the prober's events.
    public var type: String
    /// "Unhealthy" for a failed or errored probe, "ProbeWarning" for a probe that passed with a warning.
    public var reason: String
    public var message: String
}

/// What the prober says about a running container, for its status: `started` and `ready`.
public struct ContainerProbeStatus: Sendable, Equatable {
    public var started: Bool
    public var ready: Bool
}

/// A container the kubelet has seen running, with the time it started (initialDelaySeconds
/// counts from it).
public struct RunningContainer: Sendable, Equatable {
    public var name: String
    public var id: String
    public var startedAt: Date
    public init(name: String, id: String, startedAt: Date) {
        self.name = name
        self.id = id
        self.startedAt = startedAt
    }
}

/// The kubelet's prober manager: one worker per (container, probe type), as upstream's
/// prober workers, each probing every periodSeconds after initialDelaySeconds and
/// publishing a result once successThreshold/failureThreshold consecutive attempts agree.
///
/// The kubelet calls `updatePod` on every sync with the containers that are running; a
/// container with a new ID starts its workers over, and a container no longer listed
/// loses them. Readiness starts as failure, liveness as success, startup as unknown; the
/// startup probe holds liveness and readiness back until it succeeds. A container without
/// a readiness probe is ready once it runs and has started — `status` answers that, so the
/// kubelet needs no rule of its own. Workers are tasks whose handles the manager keeps and
/// cancels on removal and on `shutdown`.
public actor ProbeManager {
    /// Result changes, in order; also every liveness or startup failure past its threshold.
    public nonisolated let updates: AsyncStream<ProbeUpdate>
    private let continuation: AsyncStream<ProbeUpdate>.Continuation
    private let onEvent: @Sendable (ProbeEvent) -> Void
    private let prober: Prober
    private let logger: Logger

    private struct ContainerEntry {
        var id: String
        var startedAt: Date
        var spec: JSON
        var probes: [ProbeType: Probe]
        /// Absent: unknown.
        var results: [ProbeType: ProbeResult] = [:]
        var workers: [ProbeType: Task<Void, Never>] = [:]
    }

    private struct PodEntry {
        var pod: JSON
        var podIP: String?
        var containers: [String: ContainerEntry] = [:]
    }

    private var pods: [String: PodEntry] = [:]
    private var isShutDown = false

    /// - Parameters:
    ///   - version: `<major>.<minor>` of the kubelet, for the `kube-probe/<version>` User-Agent.
    ///   - onEvent: called for every event (Unhealthy, ProbeWarning); must not block.
    public init(runtime: any RuntimeService, version: String = "1.33", logger: Logger = Logger(label: "skiff.kubelet.prober"),
                onEvent: @escaping @Sendable (ProbeEvent) -> Void) {
        (updates, continuation) = AsyncStream.makeStream(of: ProbeUpdate.self)
        prober = Prober(runtime: runtime, version: version)
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Tells the manager the pod's current spec, IP and running containers (the newest call
    /// wins). A graceful deletion ends liveness and startup probing with a success, as
    /// upstream, so that a terminating container is not restarted.
    public func updatePod(_ pod: JSON, podIP: String?, running: [RunningContainer]) {
        guard !isShutDown, let uid = pod.uid else { return }
        var entry = pods[uid] ?? PodEntry(pod: pod)
        entry.pod = pod
        entry.podIP = podIP
        let runningNames = Set(running.map(\.name))
        for (name, container) in entry.containers where !runningNames.contains(name) {
            container.workers.values.forEach { $0.cancel() }
            entry.containers[name] = nil
        }
        let deleting = pod.deletionTimestamp != nil
        for instance in running {
            guard let spec = containerSpec(named: instance.name, in: pod) else { continue }
            if let old = entry.containers[instance.name] {
                if old.id == instance.id { continue }
                old.workers.values.forEach { $0.cancel() }
            }
            var container = ContainerEntry(id: instance.id, startedAt: instance.startedAt, spec: spec, probes: [:])
            for type in ProbeType.allCases {
                if let probe = Probe(type, of: spec) { container.probes[type] = probe }
            }
            container.results[.readiness] = container.probes[.readiness] == nil ? nil : .failure
            container.results[.liveness] = .success
            for (type, probe) in container.probes where !(deleting && type != .readiness) {
                container.workers[type] = startWorker(podUID: uid, container: container, type: type, probe: probe)
            }
            entry.containers[instance.name] = container
        }
        if deleting {
            for name in Array(entry.containers.keys) {
                for type in [ProbeType.liveness, .startup] where entry.containers[name]?.probes[type] != nil {
                    entry.containers[name]?.workers.removeValue(forKey: type)?.cancel()
                    if let container = entry.containers[name] {
                        entry.containers[name] = publish(podUID: uid, name: name, container: container, type: type, result: .success, message: "")
                    }
                }
            }
        }
        pods[uid] = entry
    }

    /// Stops the workers of one container (it stopped, or was removed).
    public func removeContainer(podUID: String, containerName: String) {
        pods[podUID]?.containers.removeValue(forKey: containerName)?.workers.values.forEach { $0.cancel() }
    }

    /// Stops every worker of the pod and forgets it (the pod is gone or terminated).
    public func removePod(podUID: String) {
        pods.removeValue(forKey: podUID)?.containers.values.forEach { $0.workers.values.forEach { $0.cancel() } }
    }

    /// Stops every worker and ends `updates`; later calls are ignored.
    public func shutdown() {
        isShutDown = true
        for uid in Array(pods.keys) { removePod(podUID: uid) }
        continuation.finish()
    }

    /// Started and ready for a running container the kubelet passed to `updatePod`, as
    /// upstream's UpdatePodStatus computes them; nil for a container the manager doesn't
    /// track (not running, or a different instance).
    public func status(podUID: String, containerName: String, containerID: String) -> ContainerProbeStatus? {
        guard let c = pods[podUID]?.containers[containerName], c.id == containerID else { return nil }
        let started = c.probes[.startup] == nil || c.results[.startup] == .success
        let ready = started && (c.probes[.readiness] == nil || c.results[.readiness] == .success)
        return ContainerProbeStatus(started: started, ready: ready)
    }

    /// The current result of one probe (nil: unknown, or no such probe or container).
    public func result(podUID: String, containerName: String, probeType: ProbeType) -> ProbeResult? {
        pods[podUID]?.containers[containerName]?.results[probeType]
    }

    // MARK: Workers

    private func startWorker(podUID: String, container: ContainerEntry, type: ProbeType, probe: Probe) -> Task<Void, Never> {
        let worker = ProbeWorker(manager: self, prober: prober, podUID: podUID, containerName: container.spec["name"]?.stringValue ?? "",
                                 containerID: container.id, startedAt: container.startedAt, spec: container.spec, type: type, probe: probe,
                                 onEvent: onEvent, logger: logger)
        return Task { await worker.run() }
    }

    /// What a worker should do on this tick.
    enum Gate {
        /// The container or its worker is gone: end.
        case stop
        /// Held back by the startup probe: try again next period.
        case wait
        case probe(podIP: String?)
    }

    func gate(podUID: String, containerName: String, containerID: String, type: ProbeType) -> Gate {
        guard let pod = pods[podUID], let c = pod.containers[containerName], c.id == containerID, c.workers[type] != nil else { return .stop }
        if type != .startup, c.probes[.startup] != nil, c.results[.startup] != .success { return .wait }
        return .probe(podIP: pod.podIP)
    }

    /// Records a result that crossed its threshold; returns whether the worker goes on.
    /// After a liveness or startup failure the worker ends (the container is going to be
    /// killed; a new instance gets new workers), and so does a startup probe that passed.
    func record(podUID: String, containerName: String, containerID: String, type: ProbeType, result: ProbeResult, message: String) -> Bool {
        guard let c = pods[podUID]?.containers[containerName], c.id == containerID, c.workers[type] != nil else { return false }
        let updated = publish(podUID: podUID, name: containerName, container: c, type: type, result: result, message: message)
        pods[podUID]?.containers[containerName] = updated
        switch (type, result) {
        case (.liveness, .failure), (.startup, .failure), (.startup, .success): return false
        default: return true
        }
    }

    /// Sets a result, publishing it when it changed or when it is a liveness or startup failure.
    private func publish(podUID: String, name: String, container: ContainerEntry, type: ProbeType, result: ProbeResult, message: String) -> ContainerEntry {
        var container = container
        let previous = container.results[type]
        container.results[type] = result
        if previous != result || (type != .readiness && result == .failure) {
            continuation.yield(ProbeUpdate(podUID: podUID, containerName: name, containerID: container.id, probeType: type, result: result, message: message))
        }
        return container
    }
}

/// One probe of one container instance, as upstream's prober worker: waits out
/// initialDelaySeconds, then probes every periodSeconds, counting consecutive results.
private struct ProbeWorker: Sendable {
    let manager: ProbeManager
    let prober: Prober
    let podUID: String
    let containerName: String
    let containerID: String
    let startedAt: Date
    let spec: JSON
    let type: ProbeType
    let probe: Probe
    let onEvent: @Sendable (ProbeEvent) -> Void
    let logger: Logger

    /// Upstream retries a probe that errored (could not be run) up to three times in a row.
    static let maxRetries = 3

    func run() async {
        let clock = ContinuousClock()
        let delay = startedAt.addingTimeInterval(TimeInterval(probe.initialDelaySeconds)).timeIntervalSinceNow
        var next = clock.now + (delay > 0 ? .milliseconds(Int64(delay * 1000)) : .zero)
        let period = Duration.seconds(probe.periodSeconds)
        // A liveness or startup probe only ever needs one success (the API enforces it).
        let successThreshold = type == .readiness ? probe.successThreshold : 1
        var last: ProbeResult?
        var run = 0
        while true {
            do {
                try await clock.sleep(until: next)
            } catch {
                return  // cancelled: the container or pod is gone, or the kubelet shuts down
            }
            next = next + period
            while next <= clock.now { next = next + period }  // a slow probe skips ticks, as a Go ticker does
            let podIP: String?
            switch await manager.gate(podUID: podUID, containerName: containerName, containerID: containerID, type: type) {
            case .stop: return
            case .wait: continue
            case .probe(let ip): podIP = ip
            }
            guard let verdict = await attempt(podIP: podIP), !Task.isCancelled else { continue }
            let (result, output) = verdict
            if result == last { run += 1 } else { (last, run) = (result, 1) }
            if run < (result == .failure ? probe.failureThreshold : successThreshold) { continue }
            guard await manager.record(podUID: podUID, containerName: containerName, containerID: containerID, type: type,
                                       result: result, message: output) else { return }
            if type != .readiness, result == .failure { return }
        }
    }

    /// One probe (with retries when it errored) and its events; nil when it errored.
    private func attempt(podIP: String?) async -> (ProbeResult, String)? {
        var outcome = ProbeOutcome.errored("")
        for _ in 0..<Self.maxRetries {
            outcome = await prober.probe(probe.action, timeout: .seconds(probe.timeoutSeconds), container: spec, containerID: containerID, podIP: podIP)
            if case .errored = outcome, !Task.isCancelled { continue }
            break
        }
        if Task.isCancelled { return nil }
        switch outcome {
        case .success(let output):
            return (.success, output)
        case .warning(let output):
            event("ProbeWarning", "\(type.rawValue) probe warning: \(output)")
            return (.success, output)
        case .failure(let output):
            logger.debug("probe failed", metadata: ["pod": "\(podUID)", "container": "\(containerName)", "probe": "\(type.rawValue)", "output": "\(output)"])
            event("Unhealthy", "\(type.rawValue) probe failed: \(output)")
            return (.failure, output)
        case .errored(let error):
            logger.info("probe errored", metadata: ["pod": "\(podUID)", "container": "\(containerName)", "probe": "\(type.rawValue)", "error": "\(error)"])
            event("Unhealthy", "\(type.rawValue) probe errored and resulted in unknown state: \(error)")
            return nil
        }
    }

    private func event(_ reason: String, _ message: String) {
        onEvent(ProbeEvent(podUID: podUID, containerName: containerName, containerID: containerID, type: "Warning", reason: reason, message: message))
    }
}

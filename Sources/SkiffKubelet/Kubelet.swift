import Foundation
import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import SkiffRuntime
import Synchronization

public struct KubeletConfiguration: Sendable {
    public var nodeName: String
    /// The node's InternalIP: pods' hostIP.
    public var nodeIP: String
    /// `<data-dir>/pods`: pods' logs and volumes.
    public var podsDirectory: String
    /// The cluster DNS server(s) for dnsPolicy ClusterFirst; empty = fall back to Default.
    public var clusterDNS: [String] = []
    public var clusterDomain = "cluster.local"
    /// Restart back-off of crashing containers: 10 s doubling to 5 minutes, as upstream.
    public var crashLoopBackOffBase: Duration = .seconds(10)
    public var crashLoopBackOffMax: Duration = .seconds(300)
    /// Parallel pod workers (one pod is never synced by two at once).
    public var workers = 16
    /// Every pod is synced at least this often, as the kubelet's syncFrequency.
    public var resyncPeriod: Duration = .seconds(10)
    /// The node's allocatable resources: limits of containers that set none (downward API,
    /// OOM score).
    public var nodeAllocatable: [String: Quantity] = [:]

    public init(nodeName: String, nodeIP: String, podsDirectory: String) {
        self.nodeName = nodeName
        self.nodeIP = nodeIP
        self.podsDirectory = podsDirectory
    }
}

/// The kubelet: runs the pods bound to its node through the runtime and reports their
/// status. Informer handlers and runtime events only enqueue pod keys; one worker per pod
/// at a time syncs the newest spec against what the runtime has (upstream's pod workers,
/// level-triggered).
public final class Kubelet: Sendable {
    static let podUIDLabel = "io.kubernetes.pod.uid"
    static let podNameLabel = "io.kubernetes.pod.name"
    static let podNamespaceLabel = "io.kubernetes.pod.namespace"
    static let containerNameLabel = "io.kubernetes.container.name"

    struct BackOff {
        var delay: Duration
        var until: ContinuousClock.Instant
    }

    struct State {
        /// Per pod uid + container name: restart back-off.
        var crashBackOff: [String: BackOff] = [:]
        /// Per image reference: pull back-off after a failure, with the failure's message.
        var pullBackOff: [String: (backOff: BackOff, message: String)] = [:]
        /// Per pod uid + container name: why the container is not running, as the kubelet knows.
        var waiting: [String: (reason: String, message: String)] = [:]
        /// The last status the kubelet wrote for each pod uid.
        var reported: [String: JSON] = [:]
    }

    public let config: KubeletConfiguration
    let client: Client
    public let runtime: any RuntimeService
    let images: any ImageService
    let events: EventRecorder
    let logger = Logger(label: "skiff.kubelet")
    let pods: Informer
    /// Services, for the environment variables of Service links.
    let services: Informer
    let volumes: VolumeManager
    let prober: ProbeManager
    let lifecycle: LifecycleHandlers
    let queue = WorkQueue(name: "kubelet-pods", baseDelay: .milliseconds(500), maxDelay: .seconds(30))
    let state = Mutex(State())
    let runtimeName: String
    let hostSearches = Kubelet.hostSearches()

    public init(config: KubeletConfiguration, client: Client, runtime: any RuntimeService, images: any ImageService, runtimeName: String) {
        self.config = config
        self.client = client
        self.runtime = runtime
        self.images = images
        self.runtimeName = runtimeName
        let events = EventRecorder(client: client, component: "kubelet")
        self.events = events
        let pods = Informer(client: client, resource: .pods, fieldSelector: "spec.nodeName=\(config.nodeName)")
        self.pods = pods
        services = Informer(client: client, resource: .services)
        volumes = VolumeManager(podsDirectory: config.podsDirectory, client: client, logger: Logger(label: "skiff.kubelet.volumes"),
                                nodeAllocatable: config.nodeAllocatable)
        let version = "\(KubernetesVersion.major).\(KubernetesVersion.minor)"
        prober = ProbeManager(runtime: runtime, version: version) { e in
            guard let pod = pods.indexer.list().first(where: { $0.uid == e.podUID }) else { return }
            events.event(pod, .pods, type: e.type, reason: e.reason, message: e.message)
        }
        lifecycle = LifecycleHandlers(runtime: runtime, version: version)
        pods.addHandler { [queue] e in
            switch e {
            case .added(let p), .updated(_, let p), .deleted(let p): queue.add(objectKey(p))
            }
        }
    }

    /// Runs until cancelled: the pod informer, the workers, runtime events, housekeeping.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pods.run() }
            group.addTask { await self.services.run() }
            group.addTask { await self.queue.run() }
            group.addTask { await self.watchRuntimeEvents() }
            group.addTask { await self.watchProbeResults() }
            group.addTask {
                await self.pods.waitForSync()
                while !Task.isCancelled {
                    await self.housekeeping()
                    try? await Task.sleep(for: .seconds(2))
                }
            }
            for _ in 0..<config.workers {
                group.addTask {
                    await self.pods.waitForSync()
                    while let key = await self.queue.get() {
                        do {
                            try await self.syncPod(key)
                            self.queue.forget(key)
                        } catch {
                            self.logger.warning("pod sync failed", metadata: ["pod": "\(key)", "error": "\(error)"])
                            self.queue.addRateLimited(key)
                        }
                        self.queue.done(key)
                    }
                }
            }
        }
    }

    /// PLEG: a container changed state in the runtime, so its pod is synced again.
    func watchRuntimeEvents() async {
        for await id in runtime.containerEvents() {
            guard let status = try? await runtime.containerStatus(id),
                  let ns = status.labels[Self.podNamespaceLabel], let name = status.labels[Self.podNameLabel] else { continue }
            queue.add("\(ns)/\(name)")
        }
    }

    /// Probe results: readiness changes resync the pod's status; a liveness or startup
    /// probe past its failure threshold kills the container, which then restarts as its
    /// restartPolicy says.
    func watchProbeResults() async {
        await withTaskGroup(of: Void.self) { group in
            for await update in prober.updates {
                guard let pod = pod(uid: update.podUID) else { continue }
                let key = objectKey(pod)
                guard update.requiresRestart else {
                    queue.add(key)
                    continue
                }
                let policy = pod[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always"
                events.event(pod, .pods, type: "Normal", reason: "Killing", message: update.killMessage(willRestart: policy != "Never"))
                let grace = pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
                group.addTask {
                    do {
                        try await self.runtime.stopContainer(update.containerID, timeout: grace)
                    } catch {
                        self.logger.warning("killing an unhealthy container failed", metadata: ["pod": "\(key)", "error": "\(error)"])
                    }
                    self.queue.add(key)
                }
            }
        }
    }

    // MARK: the view of a pod in the runtime

    struct RuntimePod {
        var sandboxes: [PodSandboxStatus] = []
        var containers: [ContainerStatus] = []
        var readySandbox: PodSandboxStatus? { sandboxes.filter { $0.state == .ready }.max { $0.createdAt < $1.createdAt } }

        func instances(_ name: String) -> [ContainerStatus] {
            containers.filter { $0.name == name }.sorted { ($0.attempt, $0.createdAt) > ($1.attempt, $1.createdAt) }
        }
    }

    func runtimePod(uid: String) async throws -> RuntimePod {
        var view = RuntimePod()
        view.sandboxes = try await runtime.listPodSandboxes().filter { $0.config.uid == uid }
        let ids = Set(view.sandboxes.map(\.id))
        view.containers = try await runtime.listContainers().filter { ids.contains($0.sandboxID) }
        return view
    }

    // MARK: sync

    func syncPod(_ key: String) async throws {
        guard let pod = pods.indexer.get(key) else { return }  // gone: housekeeping removes what is left
        let uid = pod.uid ?? ""
        if pod.deletionTimestamp != nil {
            try await terminatePod(pod, finalDelete: true)
            return
        }
        let phase = pod[path: ["status", "phase"]]?.stringValue
        if phase == "Succeeded" || phase == "Failed" {
            // Terminal pods never run again; make sure nothing of them still does.
            try await stopPod(pod, gracePeriod: 0)
            return
        }
        var view = try await runtimePod(uid: uid)
        var sandbox = view.readySandbox
        if sandbox == nil {
            for old in view.sandboxes {
                try await runtime.stopPodSandbox(old.id)
                try await runtime.removePodSandbox(old.id)
            }
            do {
                let id = try await runtime.runPodSandbox(sandboxConfig(pod))
                sandbox = try await runtime.podSandboxStatus(id)
                view = try await runtimePod(uid: uid)
            } catch {
                events.event(pod, .pods, type: "Warning", reason: "FailedCreatePodSandBox", message: "Failed to create pod sandbox: \(Self.message(error))")
                try await reportStatus(pod, view: view, sandbox: nil)
                throw error
            }
        }
        guard let sandbox else { return }
        let podVolumes: PodVolumes
        do {
            podVolumes = try await volumes.setUp(pod: pod)
        } catch {
            events.event(pod, .pods, type: "Warning", reason: "FailedMount", message: error.description)
            try await reportStatus(pod, view: view, sandbox: sandbox)
            queue.add(key, after: .seconds(2))
            return
        }
        for failure in await volumes.refresh(pod: pod) {
            events.event(pod, .pods, type: "Warning", reason: "FailedMount", message: failure.description)
        }
        let policy = pod[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always"
        var retryAfter: Duration?

        // Init containers run one at a time, in order, each to success.
        var initDone = true
        for spec in pod[path: ["spec", "initContainers"]]?.arrayValue ?? [] {
            let name = spec["name"]?.stringValue ?? ""
            let latest = view.instances(name).first
            if latest?.state == .exited && latest?.exitCode == 0 { continue }
            initDone = false
            if latest?.state == .running || latest?.state == .created { break }
            if latest != nil && policy == "Never" { break }  // failed for good: the phase says Failed
            if let wait = await startIfDue(pod, spec, previous: latest, sandbox: sandbox, volumes: podVolumes) { retryAfter = min(retryAfter ?? wait, wait) }
            break
        }
        if initDone {
            for spec in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
                let name = spec["name"]?.stringValue ?? ""
                let latest = view.instances(name).first
                switch latest?.state {
                case .running?, .created?:
                    continue
                case .exited?:
                    let restart = policy == "Always" || (policy == "OnFailure" && latest?.exitCode != 0)
                    guard restart else { continue }
                    if let wait = await startIfDue(pod, spec, previous: latest, sandbox: sandbox, volumes: podVolumes) { retryAfter = min(retryAfter ?? wait, wait) }
                default:
                    if let wait = await startIfDue(pod, spec, previous: nil, sandbox: sandbox, volumes: podVolumes) { retryAfter = min(retryAfter ?? wait, wait) }
                }
            }
        }
        // Ephemeral containers (kubectl debug) start once, never restart, and may join a
        // running container's process namespace.
        for spec in pod[path: ["spec", "ephemeralContainers"]]?.arrayValue ?? [] where view.instances(spec["name"]?.stringValue ?? "").isEmpty {
            let target = spec["targetContainerName"]?.stringValue.flatMap { view.instances($0).first { $0.state == .running }?.id }
            if let wait = await startIfDue(pod, spec, previous: nil, sandbox: sandbox, volumes: podVolumes, target: target) {
                retryAfter = min(retryAfter ?? wait, wait)
            }
        }
        view = try await runtimePod(uid: uid)
        await prober.updatePod(pod, podIP: sandbox.ip ?? config.nodeIP, running: view.containers.compactMap { c in
            c.state == .running ? RunningContainer(name: c.name, id: c.id, startedAt: c.startedAt ?? c.createdAt) : nil
        })
        try await removeOldInstances(view)
        let status = try await reportStatus(pod, view: view, sandbox: sandbox)
        if let phase = status["phase"]?.stringValue, phase == "Succeeded" || phase == "Failed" {
            try await stopPod(pod, gracePeriod: 0)
        }
        queue.add(key, after: retryAfter ?? config.resyncPeriod)
    }
    func sandboxConfig(_ pod: JSON) -> PodSandboxConfig {
        PodSandboxConfig(
            name: pod.name ?? "", namespace: pod.namespace ?? "", uid: pod.uid ?? "", hostname: PodResources.hostname(pod),
            logDirectory: logDirectory(pod),
            hostNetwork: pod[path: ["spec", "hostNetwork"]]?.boolValue ?? false,
            portMappings: PodResources.portMappings(pod),
            dnsConfig: PodResources.dnsConfig(pod: pod, clusterDNS: config.clusterDNS, clusterDomain: config.clusterDomain, hostSearches: hostSearches),
            hostAliases: (pod[path: ["spec", "hostAliases"]]?.arrayValue ?? []).map {
                HostAlias(ip: $0["ip"]?.stringValue ?? "", hostnames: $0["hostnames"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            },
            cgroupParent: PodResources.cgroupParent(pod),
            labels: [Self.podUIDLabel: pod.uid ?? "", Self.podNameLabel: pod.name ?? "", Self.podNamespaceLabel: pod.namespace ?? ""])
    }

    /// The host's resolv.conf search domains, read once: ClusterFirst pods get them too.
    static func hostSearches() -> [String] {
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("search ") {
            return line.split(separator: " ").dropFirst().map(String.init)
        }
        return []
    }

    /// `<pods>/<namespace>_<name>_<uid>`: where the pod's container logs go.
    func logDirectory(_ pod: JSON) -> String {
        "\(config.podsDirectory)/\(pod.namespace ?? "")_\(pod.name ?? "")_\(pod.uid ?? "")"
    }

    /// The pod of this node with that uid.
    func pod(uid: String) -> JSON? {
        pods.indexer.list().first { $0.uid == uid }
    }

    /// Keeps the newest and the previous instance of each container (for lastState and
    /// `kubectl logs --previous`); older exited ones go.
    func removeOldInstances(_ view: RuntimePod) async throws {
        for name in Set(view.containers.map(\.name)) {
            for old in view.instances(name).dropFirst(2) where old.state == .exited {
                try await runtime.removeContainer(old.id)
            }
        }
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? RuntimeError { return e.message }
        return "\(error)"
    }
}

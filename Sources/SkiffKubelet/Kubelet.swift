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
    let runtime: any RuntimeService
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
                guard let pod = pods.indexer.list().first(where: { $0.uid == update.podUID }) else { continue }
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

    /// Starts the container unless its restart back-off or its image's pull back-off is
    /// running; returns how long until it is worth trying again, if it did not start.
    func startIfDue(_ pod: JSON, _ spec: JSON, previous: ContainerStatus?, sandbox: PodSandboxStatus, volumes podVolumes: PodVolumes) async -> Duration? {
        let uid = pod.uid ?? "", name = spec["name"]?.stringValue ?? ""
        let key = "\(uid)/\(name)"
        let now = ContinuousClock.now
        // A container that ran for twice the maximum back-off starts its back-off over.
        if let previous, let started = previous.startedAt, (previous.finishedAt ?? Date()).timeIntervalSince(started) > 2 * Double(config.crashLoopBackOffMax.components.seconds) {
            state.withLock { $0.crashBackOff[key] = nil }
        }
        if let backOff = state.withLock({ $0.crashBackOff[key] }), backOff.until > now {
            let message = "back-off \(backOff.delay.components.seconds)s restarting failed container=\(name) pod=\(pod.name ?? "")_\(pod.namespace ?? "")(\(uid))"
            state.withLock { $0.waiting[key] = ("CrashLoopBackOff", message) }
            events.event(pod, .pods, type: "Warning", reason: "BackOff",
                         message: "Back-off restarting failed container \(name) in pod \(pod.name ?? "")_\(pod.namespace ?? "")(\(uid))")
            return backOff.until - now
        }
        // Upstream's back-off: the first restart is immediate, then 10 s, 20 s, ... 5 min.
        if previous != nil { bumpCrashBackOff(key) }
        do {
            try await startContainer(pod, spec, attempt: previous.map { $0.attempt + 1 } ?? 0, sandbox: sandbox, volumes: podVolumes)
            state.withLock { $0.waiting[key] = nil }
            return nil
        } catch let e as ImagePullWait {
            state.withLock { $0.waiting[key] = (e.reason, e.message) }
            return e.retryAfter
        } catch let e as ContainerConfigError {
            state.withLock { $0.waiting[key] = ("CreateContainerConfigError", e.message) }
            events.event(pod, .pods, type: "Warning", reason: "Failed", message: "Error: \(e.message)")
            return bumpCrashBackOff(key)
        } catch {
            let reason = (error as? RuntimeError)?.reason ?? "CreateContainerError"
            let message = Self.message(error)
            state.withLock { $0.waiting[key] = (reason, message) }
            events.event(pod, .pods, type: "Warning", reason: "Failed", message: "Error: \(message)")
            return bumpCrashBackOff(key)
        }
    }

    @discardableResult
    func bumpCrashBackOff(_ key: String) -> Duration {
        state.withLock { s in
            let delay = s.crashBackOff[key].map { min($0.delay * 2, config.crashLoopBackOffMax) } ?? config.crashLoopBackOffBase
            s.crashBackOff[key] = BackOff(delay: delay, until: ContinuousClock.now + delay)
            return delay
        }
    }

    /// Why a container waits for its image, and when to try again.
    struct ImagePullWait: Error {
        var reason: String
        var message: String
        var retryAfter: Duration
    }

    /// imagePullPolicy: Always, IfNotPresent, Never (the API server defaults it from the tag).
    func ensureImage(_ pod: JSON, _ spec: JSON) async throws -> Image {
        let ref = spec["image"]?.stringValue ?? ""
        let policy = spec["imagePullPolicy"]?.stringValue ?? "IfNotPresent"
        let present = try? await images.imageStatus(ref)
        if policy == "Never" {
            if let present { return present }
            let message = "Container image \"\(ref)\" is not present with pull policy of Never"
            events.event(pod, .pods, type: "Warning", reason: "ErrImageNeverPull", message: message)
            throw ImagePullWait(reason: "ErrImageNeverPull", message: message, retryAfter: .seconds(10))
        }
        if policy == "IfNotPresent", let present {
            events.event(pod, .pods, type: "Normal", reason: "Pulled", message: "Container image \"\(ref)\" already present on machine")
            return present
        }
        let now = ContinuousClock.now
        if let pending = state.withLock({ $0.pullBackOff[ref] }), pending.backOff.until > now {
            events.event(pod, .pods, type: "Normal", reason: "BackOff", message: "Back-off pulling image \"\(ref)\"")
            throw ImagePullWait(reason: "ImagePullBackOff", message: "Back-off pulling image \"\(ref)\": \(pending.message)",
                                retryAfter: pending.backOff.until - now)
        }
        events.event(pod, .pods, type: "Normal", reason: "Pulling", message: "Pulling image \"\(ref)\"")
        let started = ContinuousClock.now
        do {
            let image = try await images.pullImage(ref, auth: try await pullCredentials(pod))
            let took = ContinuousClock.now - started
            state.withLock { $0.pullBackOff[ref] = nil }
            let seconds = String(format: "%.3fs", Double(took.components.attoseconds) / 1e18 + Double(took.components.seconds))
            events.event(pod, .pods, type: "Normal", reason: "Pulled",
                         message: "Successfully pulled image \"\(ref)\" in \(seconds) (\(seconds) including waiting). Image size: \(image.size) bytes.")
            return image
        } catch let e as RuntimeError where e.reason == "InvalidImageName" {
            events.event(pod, .pods, type: "Warning", reason: "InspectFailed", message: "Failed to apply default image tag \"\(ref)\": \(e.message)")
            throw ImagePullWait(reason: "InvalidImageName", message: e.message, retryAfter: config.crashLoopBackOffMax)
        } catch {
            let message = Self.message(error)
            state.withLock { s in
                let delay = s.pullBackOff[ref].map { min($0.backOff.delay * 2, config.crashLoopBackOffMax) } ?? config.crashLoopBackOffBase
                s.pullBackOff[ref] = (BackOff(delay: delay, until: ContinuousClock.now + delay), message)
            }
            events.event(pod, .pods, type: "Warning", reason: "Failed", message: "Failed to pull image \"\(ref)\": \(message)")
            events.event(pod, .pods, type: "Warning", reason: "Failed", message: "Error: ErrImagePull")
            throw ImagePullWait(reason: "ErrImagePull", message: message, retryAfter: config.crashLoopBackOffBase)
        }
    }

    /// Registry credentials from the pod's imagePullSecrets (kubernetes.io/dockerconfigjson
    /// or the legacy dockercfg); a missing secret is skipped, as upstream.
    func pullCredentials(_ pod: JSON) async throws -> [String: AuthConfig] {
        var auth: [String: AuthConfig] = [:]
        for ref in pod[path: ["spec", "imagePullSecrets"]]?.arrayValue ?? [] {
            guard let name = ref["name"]?.stringValue,
                  let secret = try await volumes.object(kind: "Secret", namespace: pod.namespace ?? "default", name: name) else { continue }
            for key in [".dockerconfigjson", ".dockercfg"] {
                guard let encoded = secret[path: ["data", key]]?.stringValue, let data = Data(base64Encoded: encoded) else { continue }
                auth.merge(DockerConfig.credentials(fromDockerConfigJSON: Array(data))) { first, _ in first }
            }
        }
        return auth
    }

    func startContainer(_ pod: JSON, _ spec: JSON, attempt: Int, sandbox: PodSandboxStatus, volumes podVolumes: PodVolumes) async throws {
        let name = spec["name"]?.stringValue ?? ""
        let image = try await ensureImage(pod, spec)
        // The downward API sees the addresses the pod has now.
        var current = pod
        let podIP = sandbox.ip ?? config.nodeIP
        current[path: ["status", "podIP"]] = .string(podIP)
        current[path: ["status", "podIPs"]] = [["ip": .string(podIP)]]
        current[path: ["status", "hostIP"]] = .string(config.nodeIP)
        current[path: ["status", "hostIPs"]] = [["ip": .string(config.nodeIP)]]
        let namespaceServices = services.indexer.list(namespace: pod.namespace ?? "default") + services.indexer.list(namespace: "default").filter { $0.name == "kubernetes" }
        let env = try await EnvVars.resolve(container: spec, pod: current, services: namespaceServices, nodeAllocatable: config.nodeAllocatable,
                                            lookup: { kind, namespace, name in try await self.volumes.object(kind: kind, namespace: namespace, name: name) })
        let mounts = try await volumes.mounts(for: spec, pod: current, volumes: podVolumes, env: env, attempt: attempt)
        let vars = Dictionary(env.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        let qos = pod[path: ["status", "qosClass"]]?.stringValue ?? "BestEffort"
        let nodeMemory = config.nodeAllocatable["memory"]?.value ?? 0
        var container = ContainerConfig(
            name: name, attempt: attempt, image: image.repoTags.first ?? spec["image"]?.stringValue ?? "",
            command: (spec["command"]?.arrayValue ?? []).compactMap(\.stringValue).map { EnvVars.expand($0) { vars[$0] } },
            args: (spec["args"]?.arrayValue ?? []).compactMap(\.stringValue).map { EnvVars.expand($0) { vars[$0] } },
            workingDir: spec["workingDir"]?.stringValue ?? "", envs: env, mounts: mounts,
            logPath: "\(name)/\(attempt).log",
            stdin: spec["stdin"]?.boolValue ?? false, stdinOnce: spec["stdinOnce"]?.boolValue ?? false, tty: spec["tty"]?.boolValue ?? false,
            resources: PodResources.linuxResources(container: spec, qosClass: qos, nodeMemoryBytes: nodeMemory),
            securityContext: PodResources.securityContext(container: spec, pod: pod),
            labels: [Self.podUIDLabel: pod.uid ?? "", Self.podNameLabel: pod.name ?? "", Self.podNamespaceLabel: pod.namespace ?? "",
                     Self.containerNameLabel: name])
        container.annotations = ["io.kubernetes.container.restartCount": String(attempt)]
        let id = try await runtime.createContainer(sandboxID: sandbox.id, config: container, sandboxConfig: sandbox.config)
        events.event(pod, .pods, type: "Normal", reason: "Created", message: "Created container \(name)")
        do {
            try await runtime.startContainer(id)
        } catch {
            events.event(pod, .pods, type: "Warning", reason: "Failed", message: "Error: \(Self.message(error))")
            throw error
        }
        events.event(pod, .pods, type: "Normal", reason: "Started", message: "Started container \(name)")
        if let failure = await lifecycle.runPostStart(pod: current, container: spec, containerID: id, podIP: podIP) {
            events.event(pod, .pods, type: "Warning", reason: failure.reason, message: failure.message)
            let grace = pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
            try await runtime.stopContainer(id, timeout: grace)
        }
    }

    func sandboxConfig(_ pod: JSON) -> PodSandboxConfig {
        let hostSearches = Self.hostSearches()
        return PodSandboxConfig(
            name: pod.name ?? "", namespace: pod.namespace ?? "", uid: pod.uid ?? "", hostname: PodResources.hostname(pod),
            logDirectory: "\(config.podsDirectory)/\(pod.namespace ?? "")_\(pod.name ?? "")_\(pod.uid ?? "")",
            hostNetwork: pod[path: ["spec", "hostNetwork"]]?.boolValue ?? false,
            portMappings: PodResources.portMappings(pod),
            dnsConfig: PodResources.dnsConfig(pod: pod, clusterDNS: config.clusterDNS, clusterDomain: config.clusterDomain, hostSearches: hostSearches),
            hostAliases: (pod[path: ["spec", "hostAliases"]]?.arrayValue ?? []).map {
                HostAlias(ip: $0["ip"]?.stringValue ?? "", hostnames: $0["hostnames"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            },
            cgroupParent: PodResources.cgroupParent(pod),
            labels: [Self.podUIDLabel: pod.uid ?? "", Self.podNameLabel: pod.name ?? "", Self.podNamespaceLabel: pod.namespace ?? ""])
    }

    static func hostSearches() -> [String] {
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("search ") {
            return line.split(separator: " ").dropFirst().map(String.init)
        }
        return []
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

    // MARK: status

    func containerViews(_ pod: JSON, _ specs: [JSON], _ view: RuntimePod) async -> [ContainerView] {
        let uid = pod.uid ?? ""
        var views: [ContainerView] = []
        for spec in specs {
            let name = spec["name"]?.stringValue ?? ""
            let instances = view.instances(name).map { terminationMessage(uid, $0) }
            var v = ContainerView(spec: spec, latest: instances.first, previous: instances.dropFirst().first)
            v.waiting = state.withLock { $0.waiting["\(uid)/\(name)"] }
            if let latest = v.latest, latest.state == .running {
                v.waiting = nil
                let probes = await prober.status(podUID: uid, containerName: name, containerID: latest.id)
                v.started = probes?.started ?? true
                v.ready = probes?.ready ?? true
            }
            views.append(v)
        }
        return views
    }

    /// An exited container's termination message: what it wrote to its
    /// terminationMessagePath (at most 4 KiB, as upstream).
    func terminationMessage(_ uid: String, _ status: ContainerStatus) -> ContainerStatus {
        guard status.state == .exited else { return status }
        let path = volumes.terminationMessagePath(podUID: uid, containerName: status.name, attempt: status.attempt)
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return status }
        var s = status
        s.message = String(decoding: data.prefix(4096), as: UTF8.self)
        return s
    }

    @discardableResult
    func reportStatus(_ pod: JSON, view: RuntimePod, sandbox: PodSandboxStatus?) async throws -> JSON {
        var inits = await containerViews(pod, pod[path: ["spec", "initContainers"]]?.arrayValue ?? [], view)
        for i in inits.indices { inits[i].ready = inits[i].succeeded }
        let containers = await containerViews(pod, pod[path: ["spec", "containers"]]?.arrayValue ?? [], view)
        let status = PodStatusBuilder.status(pod: pod, hostIP: config.nodeIP, podIP: sandbox?.ip ?? (sandbox != nil ? config.nodeIP : nil),
                                             sandboxReady: sandbox?.state == .ready, initContainers: inits, containers: containers,
                                             runtimeName: runtimeName, now: Timestamp.now())
        try await writeStatus(pod, status)
        return status
    }

    /// Strategic-merge-patches the status (conditions merge by type, so the scheduler's and
    /// the disruption controller's conditions stay), only when it changed.
    func writeStatus(_ pod: JSON, _ status: JSON) async throws {
        let uid = pod.uid ?? ""
        if state.withLock({ $0.reported[uid] }) == status { return }
        let patch: JSON = ["metadata": ["uid": .string(uid)], "status": status]
        let r = try await client.transport.send(ClientRequest(
            method: "PATCH", path: Resource.pods.path(namespace: pod.namespace, name: pod.name ?? "", subresource: "status"),
            body: patch.serialized(), contentType: "application/strategic-merge-patch+json"))
        if r.status == 404 || r.status == 409 { return }
        guard r.status < 300 else { throw ClientError(status: r.status, body: r.body) }
        state.withLock { $0.reported[uid] = status }
    }

    // MARK: termination

    /// Stops every container (SIGTERM, the grace period, SIGKILL) and tears the sandbox
    /// down. Idempotent.
    func stopPod(_ pod: JSON, gracePeriod: Int) async throws {
        let view = try await runtimePod(uid: pod.uid ?? "")
        let specs = (pod[path: ["spec", "initContainers"]]?.arrayValue ?? []) + (pod[path: ["spec", "containers"]]?.arrayValue ?? [])
        let podIP = view.readySandbox?.ip ?? config.nodeIP
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in view.containers where c.state == .running {
                events.event(pod, .pods, type: "Normal", reason: "Killing", message: "Stopping container \(c.name)")
                let spec = specs.first { $0["name"]?.stringValue == c.name } ?? [:]
                group.addTask {
                    var timeout = Duration.seconds(gracePeriod)
                    if gracePeriod > 0 {
                        let outcome = await self.lifecycle.runPreStop(pod: pod, container: spec, containerID: c.id, podIP: podIP, gracePeriod: timeout)
                        if let failure = outcome.failure {
                            self.events.event(pod, .pods, type: "Warning", reason: failure.reason, message: failure.message)
                        }
                        timeout = outcome.remainingGracePeriod(of: timeout)
                    }
                    try await self.runtime.stopContainer(c.id, timeout: Int(timeout.components.seconds))
                }
            }
            try await group.waitForAll()
        }
        for s in view.sandboxes where s.state == .ready { try await runtime.stopPodSandbox(s.id) }
    }

    /// A deleted pod: stop it within its grace period, report the final container states,
    /// remove everything it had on the node, then complete the deletion of the object.
    func terminatePod(_ pod: JSON, finalDelete: Bool) async throws {
        let grace = pod[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue
            ?? pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30
        try await stopPod(pod, gracePeriod: grace)
        let view = try await runtimePod(uid: pod.uid ?? "")
        if !view.containers.isEmpty || !view.sandboxes.isEmpty {
            var final = view
            final.sandboxes = []
            _ = try? await reportStatus(pod, view: final, sandbox: nil)
        }
        try await removePodFromNode(uid: pod.uid ?? "", logDirectory: sandboxConfig(pod).logDirectory)
        logger.info("pod stopped and removed from the node", metadata: ["pod": "\(objectKey(pod))", "sandboxes": "\(view.sandboxes.count)"])
        if finalDelete {
            let options: JSON = ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(pod.uid ?? "")]]
            let r = try await client.transport.send(ClientRequest(method: "DELETE", path: Resource.pods.path(namespace: pod.namespace, name: pod.name ?? ""),
                                                                  body: options.serialized()))
            if r.status >= 300, r.status != 404, r.status != 409 { throw ClientError(status: r.status, body: r.body) }
        }
    }

    func removePodFromNode(uid: String, logDirectory: String?) async throws {
        let view = try await runtimePod(uid: uid)
        for s in view.sandboxes {
            try await runtime.stopPodSandbox(s.id)
            try await runtime.removePodSandbox(s.id)
        }
        await prober.removePod(podUID: uid)
        try await volumes.tearDown(podUID: uid)
        if let logDirectory { try? FileManager.default.removeItem(atPath: logDirectory) }
        state.withLock { s in
            s.reported[uid] = nil
            s.crashBackOff = s.crashBackOff.filter { !$0.key.hasPrefix(uid + "/") }
            s.waiting = s.waiting.filter { !$0.key.hasPrefix(uid + "/") }
        }
    }

    /// Removes what belongs to no pod of this node any more: sandboxes of pods deleted while
    /// the agent was away (or force-deleted), and their log directories.
    func housekeeping() async {
        let known = Set(pods.indexer.list().compactMap(\.uid))
        do {
            for sandbox in try await runtime.listPodSandboxes() where !known.contains(sandbox.config.uid) {
                logger.info("removing an orphaned pod sandbox", metadata: ["pod": "\(sandbox.config.namespace)/\(sandbox.config.name)", "uid": "\(sandbox.config.uid)"])
                try await removePodFromNode(uid: sandbox.config.uid, logDirectory: sandbox.config.logDirectory)
            }
        } catch {
            logger.warning("housekeeping failed", metadata: ["error": "\(error)"])
        }
        for uid in await volumes.podUIDsOnDisk() where !known.contains(uid) {
            do { try await volumes.tearDown(podUID: uid) } catch {
                logger.warning("orphaned pod volumes not removed", metadata: ["uid": "\(uid)", "error": "\(error)"])
            }
        }
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: config.podsDirectory)) ?? []
        for dir in dirs where dir.contains("_") {
            guard let uid = dir.split(separator: "_").last.map(String.init), !known.contains(uid) else { continue }
            try? FileManager.default.removeItem(atPath: "\(config.podsDirectory)/\(dir)")
        }
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? RuntimeError { return e.message }
        return "\(error)"
    }
}

/// `kubectl logs` through the kubelet's server: which file holds a container's output.
extension Kubelet: ContainerLogSource {
    public func logLocation(namespace: String, pod name: String, container: String, previous: Bool) async throws -> ContainerLogLocation {
        guard let pod = pods.indexer.get("\(namespace)/\(name)") else { throw ContainerLogError.podNotFound(name) }
        let specs = (pod[path: ["spec", "initContainers"]]?.arrayValue ?? []) + (pod[path: ["spec", "containers"]]?.arrayValue ?? [])
        guard specs.contains(where: { $0["name"]?.stringValue == container }) else {
            throw ContainerLogError.containerNotFound(container, pod: name)
        }
        let instances = try await runtimePod(uid: pod.uid ?? "").instances(container)
        if previous {
            guard let earlier = instances.dropFirst().first else { throw ContainerLogError.previousNotFound(container, pod: name) }
            return ContainerLogLocation(path: earlier.logPath, isRunning: { false })
        }
        guard let latest = instances.first else {
            let reason = state.withLock { $0.waiting["\(pod.uid ?? "")/\(container)"]?.reason } ?? "ContainerCreating"
            throw ContainerLogError.waiting(container, pod: name, reason: reason)
        }
        let runtime = self.runtime, id = latest.id
        return ContainerLogLocation(path: latest.logPath, isRunning: { (try? await runtime.containerStatus(id))?.state == .running })
    }
}

import Foundation
import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import SkiffRuntime

/// Starting a container: back-off, its image, its configuration, its hooks.
extension Kubelet {
    /// Starts the container unless its restart back-off or its image's pull back-off is
    /// running; returns how long until it is worth trying again, if it did not start.
    func startIfDue(_ pod: JSON, _ spec: JSON, previous: ContainerStatus?, sandbox: PodSandboxStatus, volumes podVolumes: PodVolumes,
                    target: String? = nil) async -> Duration? {
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
            try await startContainer(pod, spec, attempt: previous.map { $0.attempt + 1 } ?? 0, sandbox: sandbox, volumes: podVolumes, target: target)
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

    func startContainer(_ pod: JSON, _ spec: JSON, attempt: Int, sandbox: PodSandboxStatus, volumes podVolumes: PodVolumes,
                        target: String? = nil) async throws {
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
        container.targetContainerID = target
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
}

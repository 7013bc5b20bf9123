import Foundation
import Logging
import SkiffCore
import SkiffRuntime

/// Runs containers' lifecycle hooks (postStart, preStop) as upstream's handler runner:
/// exec through the runtime, httpGet from the node to the pod, and sleep. A failure comes
/// back as the message of the event the kubelet records; what to do about it (kill the
/// container after a failed postStart) stays with the kubelet.
public struct LifecycleHandlers: Sendable {
    let runtime: any RuntimeService
    /// `<major>.<minor>` for the `kube-lifecycle/<version>` User-Agent.
    let version: String
    let logger: Logger
    let http = HTTPGetter()

    /// Upstream never gives a container less than this after its preStop hook.
    public static let minimumGracePeriod = Duration.seconds(2)

    public init(runtime: any RuntimeService, version: String = "1.33", logger: Logger = Logger(label: "skiff.kubelet.lifecycle")) {
        self.runtime = runtime
        self.version = version
        self.logger = logger
    }

    /// A hook that failed: the event to record against the pod.
    public struct Failure: Error, Sendable, Equatable {
        /// "FailedPostStartHook" or "FailedPreStopHook".
        public var reason: String
        public var message: String
    }

    /// Runs the container's postStart hook, if it has one, right after the container
    /// started. Upstream's kubelet (and so the caller) then records the failure as a
    /// Warning event and kills the container with reason FailedPostStartHook; the
    /// container then restarts as its pod's restartPolicy says.
    public func runPostStart(pod: JSON, container: JSON, containerID: String, podIP: String?) async -> Failure? {
        guard let hook = container[path: ["lifecycle", "postStart"]], let action = ContainerAction(hook) else { return nil }
        guard let message = await run(action, pod: pod, container: container, containerID: containerID, podIP: podIP) else { return nil }
        logger.info("postStart hook failed", metadata: ["pod": "\(podDescription(pod))", "container": "\(container["name"]?.stringValue ?? "")"])
        return Failure(reason: "FailedPostStartHook", message: message)
    }

    /// What running a preStop hook came to.
    public struct PreStopOutcome: Sendable, Equatable {
        /// Set when the hook failed. Upstream's message is only "PreStopHook failed": the
        /// details (which may include secrets) go to the log, not the event.
        public var failure: Failure?
        /// How long the hook ran (at most the grace period it was given).
        public var elapsed: Duration

        /// The grace period left for SIGTERM → SIGKILL, never below two seconds, as upstream.
        public func remainingGracePeriod(of gracePeriod: Duration) -> Duration {
            max(gracePeriod - elapsed, LifecycleHandlers.minimumGracePeriod)
        }
    }

    /// Runs the container's preStop hook, if it has one, before the container is sent
    /// SIGTERM; it gets at most `gracePeriod` (what is left of the pod's), after which it
    /// is abandoned and the container is stopped anyway.
    public func runPreStop(pod: JSON, container: JSON, containerID: String, podIP: String?, gracePeriod: Duration) async -> PreStopOutcome {
        guard let hook = container[path: ["lifecycle", "preStop"]], let action = ContainerAction(hook), gracePeriod > .zero else {
            return PreStopOutcome(failure: nil, elapsed: .zero)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let name = container["name"]?.stringValue ?? ""
        let message: String?
        do {
            let result = try await withDeadline(gracePeriod) { await run(action, pod: pod, container: container, containerID: containerID, podIP: podIP) }
            if let result {
                message = result
            } else {
                logger.info("preStop hook not completed in grace period", metadata: ["pod": "\(podDescription(pod))", "container": "\(name)"])
                message = nil
            }
        } catch {
            message = "\(error)"  // only cancellation of the caller gets here
        }
        if let message { logger.info("preStop hook failed", metadata: ["pod": "\(podDescription(pod))", "container": "\(name)", "error": "\(message)"]) }
        return PreStopOutcome(failure: message.map { _ in Failure(reason: "FailedPreStopHook", message: "PreStopHook failed") },
                              elapsed: min(clock.now - start, gracePeriod))
    }

    /// Runs one handler; nil on success, else upstream's message for it.
    public func run(_ action: ContainerAction, pod: JSON, container: JSON, containerID: String, podIP: String?) async -> String? {
        let name = goQuote(container["name"]?.stringValue ?? "")
        let podName = goQuote(podDescription(pod))
        switch action {
        case .exec(let command):
            let list = "[" + command.joined(separator: " ") + "]"
            do {
                // No timeout, as upstream: a preStop hook is bounded by the grace period instead.
                let result = try await runtime.execSync(containerID, command: command, timeout: .zero)
                guard result.exitCode != 0 else { return nil }
                let error = "command '\(command.joined(separator: " "))' exited with \(result.exitCode): \(String(decoding: result.stderr, as: UTF8.self))"
                let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
                return "Exec lifecycle hook (\(list)) for Container \(name) in Pod \(podName) failed - error: \(error), message: \(goQuote(output))"
            } catch {
                return "Exec lifecycle hook (\(list)) for Container \(name) in Pod \(podName) failed - error: \(error), message: \"\""
            }
        case .httpGet(let get):
            // As upstream, any HTTP response counts as success: only a failed request fails the hook.
            do {
                let (url, headers) = try httpRequest(get, container: container, podIP: podIP, purpose: "lifecycle", version: version)
                _ = try await http.get(url, headers: headers, redirects: .any, timeout: nil)
                return nil
            } catch {
                return "HTTP lifecycle hook (\(get.path)) for Container \(name) in Pod \(podName) failed - error: \(error)"
            }
        case .sleep(let seconds):
            do {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            } catch {
                return "Sleep lifecycle hook (\(seconds)) for Container \(name) in Pod \(podName) failed - error: container terminated before sleep hook finished"
            }
        case .tcpSocket, .grpc:
            return "Cannot run handler: invalid handler: \(action)"
        }
    }
}

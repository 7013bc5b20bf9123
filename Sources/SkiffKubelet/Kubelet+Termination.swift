import Foundation
import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import SkiffRuntime

/// Stopping pods, removing them from the node, and cleaning up orphans.
extension Kubelet {
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
        try await removePodFromNode(uid: pod.uid ?? "", logDirectory: logDirectory(pod))
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
}

import Foundation
import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import SkiffRuntime

/// The pod status the kubelet reports.
extension Kubelet {
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
        var status = PodStatusBuilder.status(pod: pod, hostIP: config.nodeIP, podIP: sandbox?.ip ?? (sandbox != nil ? config.nodeIP : nil),
                                             sandboxReady: sandbox?.state == .ready, initContainers: inits, containers: containers,
                                             runtimeName: runtimeName, now: Timestamp.now())
        // Ephemeral containers are reported apart; they never make the pod (un)ready.
        let ephemeral = await containerViews(pod, pod[path: ["spec", "ephemeralContainers"]]?.arrayValue ?? [], view)
        if !ephemeral.isEmpty {
            status["ephemeralContainerStatuses"] = .array(ephemeral.map {
                PodStatusBuilder.containerStatus($0, runtimeName: runtimeName, defaultWaiting: "ContainerCreating")
            })
        }
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
}

import Foundation
import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import SkiffRuntime

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

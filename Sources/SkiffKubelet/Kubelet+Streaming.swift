import SkiffCore
import SkiffRuntime

/// What exec and port-forward need from the kubelet: the runtime objects behind a pod.
public protocol ContainerStreamingSource: Sendable {
    var runtime: any RuntimeService { get }
    /// The runtime id of the pod's running container `container`; errors carry upstream's
    /// codes (404 for a pod the kubelet does not run).
    func runningContainer(namespace: String, pod: String, container: String) async throws(ContainerLogError) -> String
    /// The id of the pod's ready sandbox (its network namespace).
    func readySandbox(namespace: String, pod: String) async throws(ContainerLogError) -> String
}

extension Kubelet: ContainerStreamingSource {
    public func runningContainer(namespace: String, pod name: String, container: String) async throws(ContainerLogError) -> String {
        guard let pod = pods.indexer.get("\(namespace)/\(name)") else { throw .podNotFound(name) }
        let specs = ["initContainers", "containers", "ephemeralContainers"].flatMap { pod[path: ["spec", $0]]?.arrayValue ?? [] }
        guard specs.contains(where: { $0["name"]?.stringValue == container }) else {
            throw .containerNotFound(container, pod: name)
        }
        let latest = (try? await runtimePod(uid: pod.uid ?? ""))?.instances(container).first
        guard let latest, latest.state == .running else {
            throw ContainerLogError(code: 400, message: "container \"\(container)\" in pod \"\(name)\" is not running")
        }
        return latest.id
    }

    public func readySandbox(namespace: String, pod name: String) async throws(ContainerLogError) -> String {
        guard let pod = pods.indexer.get("\(namespace)/\(name)") else { throw .podNotFound(name) }
        guard let sandbox = (try? await runtimePod(uid: pod.uid ?? ""))?.readySandbox else {
            throw ContainerLogError(code: 400, message: "pod \"\(name)\" has no running sandbox")
        }
        return sandbox.id
    }
}

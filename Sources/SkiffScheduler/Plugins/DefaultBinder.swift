import SkiffAPI
import SkiffClient
import SkiffCore

/// Binds through pods/binding, as upstream's DefaultBinder.
struct DefaultBinder: BindPlugin {
    let name = "DefaultBinder"
    let client: Client

    func bind(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) async -> Status {
        let (namespace, name) = (pod.namespace, pod.pod.name ?? "")
        let binding: JSON = ["apiVersion": "v1", "kind": "Binding",
                             "metadata": ["name": .string(name), "namespace": .string(namespace), "uid": .string(pod.pod.uid ?? "")],
                             "target": ["apiVersion": "v1", "kind": "Node", "name": .string(nodeName)]]
        do {
            let response = try await client.transport.send(ClientRequest(method: "POST", path: Resource.pods.path(namespace: namespace, name: name, subresource: "binding"),
                                                                         body: binding.serialized()))
            guard response.status == 201 || response.status == 200 else { throw ClientError(status: response.status, body: response.body) }
            return .success
        } catch {
            return Status(code: .error, reasons: ["\(error)"])
        }
    }
}

import SkiffAPI
import SkiffCore

/// What every cluster has from its first start, as kube-apiserver creates it: the
/// default, kube-system, kube-public and kube-node-lease namespaces, the `kubernetes`
/// Service in default and the system PriorityClasses.
extension APIHandler {
    public func bootstrap(servicePort: Int) async throws(APIError) {
        await waitUntilReady()
        guard let namespaces = registry.lookup(group: "", version: "v1", resource: "namespaces"),
              let services = registry.lookup(group: "", version: "v1", resource: "services")
        else { return }
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            try await ensure(namespaces, nil, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]])
        }
        let service: JSON = [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": "kubernetes", "namespace": "default",
                         "labels": ["component": "apiserver", "provider": "kubernetes"]],
            "spec": ["clusterIP": .string(serviceIPs.firstAddress), "type": "ClusterIP", "sessionAffinity": "None",
                     "ports": [["name": "https", "port": 443, "protocol": "TCP", "targetPort": .number(JSONNumber(servicePort))]]],
        ]
        try await ensure(services, "default", service)
        if let classes = registry.lookup(group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses") {
            for pc in Other.systemPriorityClasses { try await ensure(classes, nil, pc) }
        }
    }

    private func ensure(_ r: ResourceInfo, _ namespace: String?, _ object: JSON) async throws(APIError) {
        if await cache.get(r, key: r.key(namespace: namespace, name: object.name ?? "")) != nil { return }
        let request = APIRequest(method: "POST", path: r.prefix(namespace: namespace))
        do {
            _ = try await createObject(r, namespace, object, request)
        } catch {
            if error.code != 409 { throw error }
        }
    }
}

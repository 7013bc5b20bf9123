import SkiffAPI
import SkiffCore

/// What every cluster has from its first start, as kube-apiserver creates it: the
/// default, kube-system, kube-public and kube-node-lease namespaces, the `kubernetes`
/// Service in default with the API server's address as its endpoint, the system
/// PriorityClasses — and, as k3s ships CoreDNS, the `kube-dns` Service whose ClusterIP
/// every agent's DNS server answers on.
extension APIHandler {
    /// `advertiseAddress`: where pods reach the API server (the `kubernetes` Service's
    /// endpoint); nil leaves the Service without endpoints.
    public func bootstrap(servicePort: Int, advertiseAddress: String? = nil) async throws(APIError) {
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
        if let advertiseAddress { try await publishAPIServerEndpoints(address: advertiseAddress, port: servicePort) }
        let dns: JSON = [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": "kube-dns", "namespace": "kube-system",
                         "labels": ["k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"]],
            "spec": ["clusterIP": .string(serviceIPs.clusterDNSAddress), "type": "ClusterIP",
                     "ports": [["name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53],
                               ["name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53]]],
        ]
        try await ensure(services, "kube-system", dns)
        if let classes = registry.lookup(group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses") {
            for pc in Other.systemPriorityClasses { try await ensure(classes, nil, pc) }
        }
    }

    /// The `kubernetes` Service's Endpoints and EndpointSlice, as kube-apiserver's endpoint
    /// reconciler keeps them: this server's address and port, rewritten when they change.
    func publishAPIServerEndpoints(address: String, port: Int) async throws(APIError) {
        let ports: JSON = [["name": "https", "port": .number(JSONNumber(port)), "protocol": "TCP"]]
        let labels: JSON = ["endpointslice.kubernetes.io/skip-mirror": "true"]
        let endpoints: JSON = ["apiVersion": "v1", "kind": "Endpoints",
                               "metadata": ["name": "kubernetes", "namespace": "default", "labels": labels],
                               "subsets": [["addresses": [["ip": .string(address)]], "ports": ports]]]
        let slice: JSON = ["apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                           "metadata": ["name": "kubernetes", "namespace": "default",
                                        "labels": ["kubernetes.io/service-name": "kubernetes"]],
                           "endpoints": [["addresses": [.string(address)], "conditions": ["ready": true]]], "ports": ports]
        for (group, version, resource, object, field) in [("", "v1", "endpoints", endpoints, "subsets"),
                                                          ("discovery.k8s.io", "v1", "endpointslices", slice, "endpoints")] {
            guard let r = registry.lookup(group: group, version: version, resource: resource) else { continue }
            let request = APIRequest(method: "PUT", path: r.prefix(namespace: "default") + "/kubernetes")
            if let current = await cache.get(r, key: r.key(namespace: "default", name: "kubernetes")),
               let stored = try? JSON.parse(current.bytes) {
                if stored[field] == object[field] && stored["ports"] == object["ports"] { continue }
                _ = try await guaranteedUpdate(r, "default", "kubernetes", request, validateUpdate: true) { current throws(APIError) in
                    var next = current
                    next[field] = object[field]
                    next["ports"] = object["ports"]
                    return next
                }
            } else {
                try await ensure(r, "default", object)
            }
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

import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct EndpointSliceControllerTests {
    let services = Resource(group: "", version: "v1", plural: "services", kind: "Service", namespaced: true)
    let slices = Resource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true)
    let endpoints = Resource(group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true)

    func pod(_ c: Cluster, _ name: String, ip: String, ready: Bool) async throws {
        try await c.client.create(.pods, namespace: "default", [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": ["app": "web"]],
            "spec": ["nodeName": "n1", "containers": [["name": "c", "image": "nginx", "ports": [["name": "http", "containerPort": 8080]]]]],
        ])
        var p = try await c.client.get(.pods, namespace: "default", name)
        p["status"] = ["phase": "Running", "podIP": .string(ip),
                       "conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]
        try await c.client.update(.pods, p, subresource: "status")
    }

    @Test func slicesAndEndpointsFollowTheSelectedPods() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let run = Task { await runControllerManager(c.client) }
        defer { run.cancel() }
        try await pod(c, "a", ip: "10.42.0.5", ready: true)
        try await pod(c, "b", ip: "10.42.0.6", ready: false)
        try await c.client.create(services, namespace: "default", [
            "apiVersion": "v1", "kind": "Service", "metadata": ["name": "web"],
            "spec": ["selector": ["app": "web"], "ports": [["name": "http", "port": 80, "targetPort": "http"]]],
        ])
        try await eventually("a slice with both pods") {
            let items = try await c.client.list(slices, namespace: "default").items
            guard let slice = items.first, items.count == 1 else { return false }
            let eps = slice["endpoints"]?.arrayValue ?? []
            return slice.labels["kubernetes.io/service-name"] == "web"
                && slice["ports"] == [["name": "http", "port": 8080, "protocol": "TCP"]]
                && eps.count == 2
                && eps.contains { $0["addresses"] == ["10.42.0.5"] && $0[path: ["conditions", "ready"]] == true }
                && eps.contains { $0["addresses"] == ["10.42.0.6"] && $0[path: ["conditions", "ready"]] == false && $0[path: ["targetRef", "name"]] == "b" }
        }
        try await eventually("endpoints with ready and not-ready addresses") {
            let e = try? await c.client.get(endpoints, namespace: "default", "web")
            let subset = e?["subsets"]?.arrayValue?.first
            return subset?["addresses"]?.arrayValue?.map { $0["ip"] } == ["10.42.0.5"]
                && subset?["notReadyAddresses"]?.arrayValue?.map { $0["ip"] } == ["10.42.0.6"]
                && subset?["ports"] == [["name": "http", "port": 8080, "protocol": "TCP"]]
        }
        // A pod going away leaves the slice.
        // Bound to a node, the pod terminates gracefully; a zero grace period finishes it.
        _ = try await c.client.transport.send(ClientRequest(method: "DELETE", path: Resource.pods.path(namespace: "default", name: "b"),
                                                             body: Array(#"{"gracePeriodSeconds":0}"#.utf8)))
        try await eventually("one endpoint left") {
            try await c.client.list(slices, namespace: "default").items.first?["endpoints"]?.arrayValue?.count == 1
        }
        // Deleting the Service removes its Endpoints (and the GC its slices).
        try await c.client.delete(services, namespace: "default", "web")
        try await eventually("endpoints and slices gone") {
            let left = try await c.client.list(slices, namespace: "default").items
            let e = try? await c.client.get(endpoints, namespace: "default", "web")
            return left.isEmpty && e == nil
        }
    }

    @Test func headlessServicesNamePodsAndMayPublishNotReadyOnes() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let run = Task { await runControllerManager(c.client) }
        defer { run.cancel() }
        for (name, subdomain) in [("web-0", "nginx"), ("other", "elsewhere")] {
            var p = try await c.client.create(.pods, namespace: "default", [
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": ["app": "web"]],
                "spec": ["nodeName": "n1", "hostname": .string(name), "subdomain": .string(subdomain), "containers": [["name": "c", "image": "nginx"]]],
            ])
            p["status"] = ["phase": "Running", "podIP": .string(name == "other" ? "10.42.0.8" : "10.42.0.7"), "conditions": [["type": "Ready", "status": "False"]]]
            try await c.client.update(.pods, p, subresource: "status")
        }
        try await c.client.create(services, namespace: "default", [
            "apiVersion": "v1", "kind": "Service", "metadata": ["name": "nginx"],
            "spec": ["clusterIP": "None", "publishNotReadyAddresses": true, "selector": ["app": "web"], "ports": [["port": 80]]],
        ])
        try await eventually("both published as ready; only the pod of this subdomain named") {
            let eps = try await c.client.list(slices, namespace: "default").items.first { $0.labels["kubernetes.io/service-name"] == "nginx" }?["endpoints"]?.arrayValue ?? []
            return eps.count == 2 && eps.allSatisfy { $0[path: ["conditions", "ready"]] == true }
                && eps.first { $0["addresses"] == ["10.42.0.7"] }?["hostname"] == "web-0"
                && eps.first { $0["addresses"] == ["10.42.0.8"] }?["hostname"] == nil
        }
        try await eventually("Endpoints carry the hostname too") {
            let e = try? await c.client.get(endpoints, namespace: "default", "nginx")
            return e?["subsets"]?.arrayValue?.first?["addresses"]?.arrayValue?.first { $0["ip"] == "10.42.0.7" }?["hostname"] == "web-0"
        }
    }
}

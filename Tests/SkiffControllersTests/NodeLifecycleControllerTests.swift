import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Testing

@Suite struct NodeLifecycleControllerTests {
    func readyNode(_ name: String, heartbeat: Timestamp) -> JSON {
        ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)],
         "status": ["conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "lastHeartbeatTime": .string(heartbeat.rfc3339), "lastTransitionTime": .string(heartbeat.rfc3339)]]]]
    }

    @Test func aSilentNodeBecomesUnknownIsTaintedAndItsPodsAreEvicted() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let factory = InformerFactory(client: c.client)
        let controller = NodeLifecycleController(factory: factory, gracePeriodSeconds: 1)
        let run = startAfterSync(factory) {
            async let work: Void = controller.run(workers: 1)
            async let monitor: Void = controller.monitor()
            _ = await (work, monitor)
        }
        defer { run.cancel() }
        try await c.client.create(.nodes, readyNode("quiet", heartbeat: Timestamp.now()))
        // Tolerates the unreachable taint for 1 s (admission would give 300).
        try await c.client.create(.pods, namespace: "default", [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"],
            "spec": ["nodeName": "quiet", "containers": [["name": "c", "image": "nginx"]],
                     "tolerations": [["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 1],
                                     ["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 1]]],
        ])
        try await eventually("Ready=Unknown and tainted", tries: 800) {
            let n = try await c.client.get(.nodes, "quiet")
            let ready = n[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Ready" }
            let taints = n[path: ["spec", "taints"]]?.arrayValue ?? []
            return ready?["status"] == "Unknown" && ready?["reason"] == "NodeStatusUnknown"
                && taints.contains { $0["key"] == "node.kubernetes.io/unreachable" && $0["effect"] == "NoExecute" }
                && taints.contains { $0["key"] == "node.kubernetes.io/unreachable" && $0["effect"] == "NoSchedule" }
        }
        try await eventually("pod evicted after its toleration", tries: 800) {
            (try await c.client.get(.pods, namespace: "default", "p")).deletionTimestamp != nil
        }
        // The node comes back: the taints go.
        var n = try await c.client.get(.nodes, "quiet")
        n[path: ["status", "conditions"]] = readyNode("quiet", heartbeat: Timestamp.now().adding(seconds: 3600))[path: ["status", "conditions"]]
        try await c.client.update(.nodes, n, subresource: "status")
        try await eventually("taints removed") {
            try await c.client.get(.nodes, "quiet")[path: ["spec", "taints"]] == JSON?.none
        }
    }
}

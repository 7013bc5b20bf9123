import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Testing

@Suite struct TTLAfterFinishedControllerTests {
    @Test func deletesAFinishedJobWhenItsTTLRunsOut() async throws {
        let clock = TestClock()
        let c = try await Cluster.start()
        defer { c.stop() }
        let factory = InformerFactory(client: c.client)
        let controller = TTLAfterFinishedController(factory: factory, now: { clock.now })
        let run = startAfterSync(factory) { await controller.run(workers: 1) }
        defer { run.cancel() }
        try await c.client.create(.jobs, namespace: "default", jobJSON("short", spec: ["ttlSecondsAfterFinished": 100]))
        try await c.client.create(.jobs, namespace: "default", jobJSON("running", spec: ["ttlSecondsAfterFinished": 0]))
        var job = try await c.client.get(.jobs, namespace: "default", "short")
        let finished = clock.now
        job["status"] = ["conditions": [["type": "Complete", "status": "True", "lastTransitionTime": .string(finished.rfc3339)]],
                         "completionTime": .string(finished.rfc3339)]
        try await c.client.update(.jobs, job, subresource: "status")
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await c.client.get(.jobs, namespace: "default", "short").deletionTimestamp == nil)
        #expect(TTLAfterFinishedController.expiry(try await c.client.get(.jobs, namespace: "default", "short")) == Timestamp(seconds: finished.seconds + 100))
        clock.advance(seconds: 101)
        try await c.client.patch(.jobs, namespace: "default", "short", merge: ["metadata": ["annotations": ["tick": "1"]]])
        try await eventually("deleted") {
            do {
                return try await c.client.get(.jobs, namespace: "default", "short").deletionTimestamp != nil
            } catch let e as ClientError where e.isNotFound {
                return true
            }
        }
        // A Job that has not finished is never deleted.
        #expect(try await c.client.get(.jobs, namespace: "default", "running").deletionTimestamp == nil)
    }
}

@Suite struct PodGCControllerTests {
    func pod(_ name: String, node: String? = nil, phase: String? = nil) -> JSON {
        var p: JSON = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name)], "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        if let node { p[path: ["spec", "nodeName"]] = .string(node) }
        return p
    }

    func exists(_ c: Cluster, _ name: String) async throws -> Bool {
        do {
            _ = try await c.client.get(.pods, namespace: "default", name)
            return true
        } catch let e as ClientError where e.isNotFound {
            return false
        }
    }

    func setPhase(_ c: Cluster, _ name: String, _ phase: String) async throws {
        var p = try await c.client.get(.pods, namespace: "default", name)
        p[path: ["status", "phase"]] = .string(phase)
        try await c.client.update(.pods, p, subresource: "status")
    }

    func start(_ c: Cluster, threshold: Int, clock: TestClock) -> (PodGCController, Task<Void, Never>) {
        let factory = InformerFactory(client: c.client)
        let controller = PodGCController(factory: factory, terminatedPodThreshold: threshold, period: .milliseconds(50), quarantineSeconds: 40,
                                         now: { clock.now })
        return (controller, startAfterSync(factory) { await controller.run(workers: 1) })
    }

    @Test func deletesTheOldestTerminatedPodsBeyondTheThreshold() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        try await c.client.create(.nodes, ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "n1"]])
        for i in 0..<4 {
            try await c.client.create(.pods, namespace: "default", pod("p\(i)", node: "n1"))
            try await Task.sleep(for: .milliseconds(1100))  // creationTimestamps are in seconds
        }
        for i in 0..<3 { try await setPhase(c, "p\(i)", i == 1 ? "Failed" : "Succeeded") }
        let (_, run) = start(c, threshold: 1, clock: TestClock())
        defer { run.cancel() }
        try await eventually("oldest two terminated pods deleted") {
            let p0 = try await exists(c, "p0"), p1 = try await exists(c, "p1")
            return !p0 && !p1
        }
        #expect(try await exists(c, "p2"))  // the newest terminated pod is kept
        #expect(try await exists(c, "p3"))  // running pods are not counted
    }

    @Test func podsOfAVanishedNodeGoAfterTheQuarantine() async throws {
        let clock = TestClock()
        let c = try await Cluster.start()
        defer { c.stop() }
        try await c.client.create(.pods, namespace: "default", pod("lost", node: "gone"))
        let (controller, run) = start(c, threshold: 0, clock: clock)
        defer { run.cancel() }
        try await eventually("the missing node noticed") { controller.missingNodes.withLock { $0["gone"] != nil } }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await exists(c, "lost"))  // quarantined
        clock.advance(seconds: 41)
        try await eventually("orphaned pod removed") { try await !exists(c, "lost") }
    }
}

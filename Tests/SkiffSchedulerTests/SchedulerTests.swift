import SkiffAPI
import SkiffAPIServer
import SkiffClient
import SkiffCore
@testable import SkiffScheduler
import SkiffStore
import Synchronization
import Testing

func node(_ name: String, cpu: String = "4", memory: String = "8Gi", pods: Int = 110, labels: [String: String] = [:], taints: [JSON] = [],
          unschedulable: Bool = false) -> JSON {
    var n: JSON = ["apiVersion": "v1", "kind": "Node",
                   "metadata": ["name": .string(name), "labels": .object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))],
                   "status": ["allocatable": ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(String(pods))],
                              "capacity": ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(String(pods))]]]
    if !taints.isEmpty { n[path: ["spec", "taints"]] = .array(taints) }
    if unschedulable { n[path: ["spec", "unschedulable"]] = true }
    return n
}

func pod(_ name: String, cpu: String? = "500m", memory: String? = nil, extra: (inout JSON) -> Void = { _ in }) -> JSON {
    var requests = JSONObject()
    if let cpu { requests["cpu"] = .string(cpu) }
    if let memory { requests["memory"] = .string(memory) }
    var p: JSON = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"],
                   "spec": ["containers": [["name": "c", "image": "nginx", "resources": ["requests": .object(requests)]]]]]
    extra(&p)
    return p
}

/// A cycle state over an empty cluster, for plugins that read none.
let none = CycleState(snapshot: Snapshot())

@Suite struct PluginTests {
    @Test func resourcesFitCountsContainersInitContainersAndOverhead() {
        let p = PodInfo(pod("p", cpu: "500m", memory: "1Gi") { p in
            p[path: ["spec", "initContainers"]] = [["name": "i", "image": "x", "resources": ["requests": ["cpu": "2"]]]]
            p[path: ["spec", "overhead"]] = ["cpu": "100m"]
        })
        #expect(p.requests.milliCPU == 2100)
        #expect(p.requests.memory == 1 << 30)
        let fit = NodeResourcesFit()
        #expect(fit.filter(p, NodeInfo(node("big")), none).isSuccess)
        #expect(fit.filter(p, NodeInfo(node("small", cpu: "2")), none) == .unschedulable("Insufficient cpu"))
        #expect(fit.filter(p, NodeInfo(node("full", pods: 0)), none).reasons == ["Too many pods"])
    }

    @Test func taintsAndTolerations() {
        let taint: JSON = ["key": "dedicated", "value": "web", "effect": "NoSchedule"]
        let tainted = NodeInfo(node("t", taints: [taint]))
        let plugin = TaintToleration()
        #expect(plugin.filter(PodInfo(pod("p")), tainted, none) == .unresolvable("node(s) had untolerated taint {dedicated: web}"))
        let tolerant = PodInfo(pod("q") { $0[path: ["spec", "tolerations"]] = [["key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"]] })
        #expect(plugin.filter(tolerant, tainted, none).isSuccess)
        let exists = PodInfo(pod("r") { $0[path: ["spec", "tolerations"]] = [["operator": "Exists"]] })
        #expect(plugin.filter(exists, tainted, none).isSuccess)
        let soft = NodeInfo(node("s", taints: [["key": "a", "effect": "PreferNoSchedule"]]))
        var scores = [plugin.score(PodInfo(pod("p")), soft, none), plugin.score(PodInfo(pod("p")), NodeInfo(node("clean")), none)]
        plugin.normalize(&scores, none)
        #expect(scores == [0, 100])
    }

    @Test func nodeSelectorAndAffinity() {
        let ssd = NodeInfo(node("a", labels: ["disk": "ssd", "zone": "z1"]))
        let hdd = NodeInfo(node("b", labels: ["disk": "hdd"]))
        let plugin = NodeAffinity()
        let selecting = PodInfo(pod("p") { $0[path: ["spec", "nodeSelector"]] = ["disk": "ssd"] })
        #expect(plugin.filter(selecting, ssd, none).isSuccess)
        #expect(plugin.filter(selecting, hdd, none) == .unresolvable("node(s) didn't match Pod's node affinity/selector"))
        let affine = PodInfo(pod("q") {
            $0[path: ["spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]] =
                [["matchExpressions": [["key": "zone", "operator": "Exists"]]], ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["b"]]]]]
        })
        #expect(plugin.filter(affine, ssd, none).isSuccess)
        #expect(plugin.filter(affine, hdd, none).isSuccess)
        #expect(!plugin.filter(affine, NodeInfo(node("c")), none).isSuccess)
    }

    @Test func hostPortsConflict() {
        var n = NodeInfo(node("a"))
        let web = PodInfo(pod("w") { $0[path: ["spec", "containers", "0"]] = nil; $0[path: ["spec", "containers"]] = [["name": "c", "image": "x", "ports": [["containerPort": 80, "hostPort": 8080]]]] })
        #expect(NodePorts().filter(web, n, none).isSuccess)
        n.add(web)
        let other = PodInfo(pod("o") { $0[path: ["spec", "containers"]] = [["name": "c", "image": "x", "ports": [["containerPort": 80, "hostPort": 8080]]]] })
        #expect(!NodePorts().filter(other, n, none).isSuccess)
    }

    @Test func fitErrorMessageHasUpstreamsShape() {
        var e = Scheduler.FitError(nodes: 3, reasons: ["Insufficient cpu": 1, "node(s) had untolerated taint {dedicated: web}": 2])
        e.postFilterMessage = "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        #expect(e.message == "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: web}. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
    }

    @Test func parallelFilteringKeepsTheNodesOrder() {
        let indices = Array((0..<1000).reversed())
        let statuses = Scheduler.filterInParallel(indices) { $0 % 3 == 0 ? .success : .unschedulable("node \($0)") }
        #expect(statuses.count == 1000)
        #expect(statuses.enumerated().allSatisfy { i, s in indices[i] % 3 == 0 ? s.isSuccess : s.reasons == ["node \(indices[i])"] })
    }

    @Test func queueOrdersByPriorityThenArrival() {
        var q = SchedulingQueue()
        q.add("low", priority: 0)
        q.add("high", priority: 100)
        q.add("low2", priority: 0)
        q.add("low", priority: 0)
        #expect(q.pop()?.key == "high")
        #expect(q.pop()?.key == "low")
        #expect(q.pop()?.key == "low2")
        #expect(q.pop() == nil)
    }
}

@Suite struct SchedulerTests {
    func withScheduler(plugins: [any Plugin] = [], _ body: (Client) async throws -> Void) async throws {
        let handler = APIHandler(store: MVCCStore())
        let server = Task { try await handler.run() }
        defer { server.cancel() }
        try await handler.bootstrap(servicePort: 6443)
        let client = Client(transport: InProcessTransport(handler: handler, user: "system:admin"))
        let factory = InformerFactory(client: client)
        let scheduler = Scheduler(factory: factory, extraPlugins: plugins)
        let run = Task {
            await withTaskGroup(of: Void.self) { g in
                g.addTask { await factory.run() }
                await factory.waitForSync()
                g.addTask { await scheduler.run() }
            }
        }
        defer { run.cancel() }
        try await body(client)
    }

    func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("never happened: \(what)")
    }

    func nodeName(_ c: Client, _ name: String) async throws -> String? {
        try await c.get(.pods, namespace: "default", name)[path: ["spec", "nodeName"]]?.stringValue
    }

    @Test func bindsPodsWhereTheyFitAndSpreadsThem() async throws {
        try await withScheduler { c in
            try await c.create(.nodes, node("n1", cpu: "2"))
            try await c.create(.nodes, node("n2", cpu: "2"))
            for i in 0..<4 { try await c.create(.pods, namespace: "default", pod("p\(i)", cpu: "900m")) }
            try await eventually("all bound") {
                var bound = 0
                for i in 0..<4 where try await nodeName(c, "p\(i)") != nil { bound += 1 }
                return bound == 4
            }
            var perNode: [String: Int] = [:]
            for i in 0..<4 { perNode[try await nodeName(c, "p\(i)") ?? "", default: 0] += 1 }
            #expect(perNode == ["n1": 2, "n2": 2])
            let events = try await c.list(.events, namespace: "default").items
            #expect(events.contains { $0["reason"] == "Scheduled" && $0["message"]?.stringValue?.hasPrefix("Successfully assigned default/p0 to n") == true })
        }
    }

    @Test func anUnfitPodIsReportedAndScheduledOnceANodeFits() async throws {
        try await withScheduler { c in
            try await c.create(.nodes, node("small", cpu: "1"))
            try await c.create(.nodes, node("tainted", cpu: "8", taints: [["key": "dedicated", "value": "web", "effect": "NoSchedule"]]))
            try await c.create(.pods, namespace: "default", pod("big", cpu: "4"))
            try await eventually("reported unschedulable") {
                let p = try await c.get(.pods, namespace: "default", "big")
                let condition = p[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "PodScheduled" }
                return condition?["reason"] == "Unschedulable"
                    && condition?["message"]?.stringValue == "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: web}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
            }
            try await eventually("FailedScheduling event") {
                try await c.list(.events, namespace: "default").items.contains { $0["reason"] == "FailedScheduling" && $0["type"] == "Warning" }
            }
            // A node that fits arrives: the parked pod is tried again and bound.
            try await c.create(.nodes, node("large", cpu: "8"))
            try await eventually("bound to the new node") { try await nodeName(c, "big") == "large" }
        }
    }

    @Test func podsForOtherSchedulersAndPinnedPodsAreLeftAlone() async throws {
        try await withScheduler { c in
            try await c.create(.nodes, node("n1"))
            try await c.create(.pods, namespace: "default", pod("mine"))
            try await c.create(.pods, namespace: "default", pod("theirs") { $0[path: ["spec", "schedulerName"]] = "other" })
            try await eventually("mine bound") { try await nodeName(c, "mine") == "n1" }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await nodeName(c, "theirs") == nil)
        }
    }

    /// Reserve sees every placement; a Permit rejection sends the pod back unbound, and
    /// Unreserve is told.
    @Test func reserveAndPermitPluginsTakePart() async throws {
        final class Gate: ReservePlugin, PermitPlugin, @unchecked Sendable {
            let name = "Gate"
            let log = Mutex<[String]>([])
            func reserve(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) -> Status {
                log.withLock { $0.append("reserve \(pod.key) \(nodeName)") }
                return .success
            }
            func unreserve(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) { log.withLock { $0.append("unreserve \(pod.key)") } }
            func permit(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) -> Status {
                pod.labels["gate"] == "closed" ? .unschedulable("rejected by the gate") : .success
            }
        }
        let gate = Gate()
        try await withScheduler(plugins: [gate]) { c in
            try await c.create(.nodes, node("n1"))
            try await c.create(.pods, namespace: "default", pod("open"))
            try await c.create(.pods, namespace: "default", pod("closed") { $0[path: ["metadata", "labels"]] = ["gate": "closed"] })
            try await eventually("open bound") { try await nodeName(c, "open") == "n1" }
            try await eventually("closed reported") {
                let p = try await c.get(.pods, namespace: "default", "closed")
                return p[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "PodScheduled" }?["message"] == "0/1 nodes are available: rejected by the gate."
            }
            #expect(try await nodeName(c, "closed") == nil)
            let log = gate.log.withLock { $0 }
            #expect(log.contains("reserve default/open n1") && log.contains("reserve default/closed n1") && log.contains("unreserve default/closed"))
        }
    }
}

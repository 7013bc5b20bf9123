import SkiffAPI
import SkiffCore
@testable import SkiffScheduler
import Testing

func prioritized(_ name: String, priority: Int64, cpu: String = "1", labels: [String: String] = [:], started: String? = nil,
                 extra: (inout JSON) -> Void = { _ in }) -> JSON {
    var p = labeled(name, labels, extra: extra)
    p[path: ["spec", "containers"]] = [["name": "c", "image": "nginx", "resources": ["requests": ["cpu": .string(cpu)]]]]
    p[path: ["spec", "priority"]] = .number(JSONNumber(priority))
    if let started { p[path: ["status", "startTime"]] = .string(started) }
    return p
}

func pdb(_ selector: [String: String], allowed: Int) -> JSON {
    ["metadata": ["name": "budget", "namespace": "default"],
     "spec": ["selector": ["matchLabels": .object(JSONObject(selector.map { ($0.key, JSON.string($0.value)) }))]],
     "status": ["disruptionsAllowed": .number(JSONNumber(allowed))]]
}

@Suite struct DefaultPreemptionTests {
    let framework = Framework([NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(), NodePorts(), NodeResourcesFit(),
                               PodTopologySpread { _ in .init() }, InterPodAffinity()])

    /// What DefaultPreemption decides for `pod` after a real filter pass.
    func preempt(_ pod: JSON, _ s: Snapshot, pdbs: [JSON] = []) -> PostFilterResult {
        let info = PodInfo(pod)
        var state = CycleState(snapshot: s)
        _ = framework.runPreFilters(info, &state)
        var statuses: [String: Status] = [:]
        for n in s.nodes { statuses[n.name] = framework.runFilters(info, n, state) }
        #expect(statuses.values.allSatisfy { !$0.isSuccess })
        return DefaultPreemption { _ in pdbs }.postFilter(info, state, statuses, framework)
    }

    static let twoNodes = [node("n1", cpu: "2"), node("n2", cpu: "2")]

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var existing: [(JSON, String)]
        var pdbs: [JSON] = []
        var node: String
        var victims: [String]
        var testDescription: String { name }
    }

    static let jan = "2026-01-01T00:00:00Z", feb = "2026-02-01T00:00:00Z", mar = "2026-03-01T00:00:00Z"

    static let cases: [Case] = [
        Case(name: "the node whose most important victim matters least; the longer-running pod stays",
             existing: [(prioritized("a", priority: 1, started: jan), "n1"), (prioritized("b", priority: 1, started: feb), "n1"),
                        (prioritized("c", priority: 5, started: jan), "n2"), (prioritized("d", priority: 5, started: feb), "n2")],
             node: "n1", victims: ["b"]),
        Case(name: "fewest PDB violations first",
             existing: [(prioritized("a", priority: 1, labels: ["app": "guarded"], started: jan), "n1"), (prioritized("b", priority: 1, labels: ["app": "guarded"], started: feb), "n1"),
                        (prioritized("c", priority: 5, started: jan), "n2"), (prioritized("d", priority: 5, started: feb), "n2")],
             pdbs: [pdb(["app": "guarded"], allowed: 0)], node: "n2", victims: ["d"]),
        Case(name: "a PDB allowing one disruption: the pod it would not cover is put back first",
             existing: [(prioritized("a", priority: 1, labels: ["app": "guarded"], started: jan), "n1"), (prioritized("b", priority: 1, labels: ["app": "guarded"], started: feb), "n1"),
                        (prioritized("c", priority: 5, started: jan), "n2"), (prioritized("d", priority: 5, started: feb), "n2")],
             pdbs: [pdb(["app": "guarded"], allowed: 1)], node: "n1", victims: ["a"]),
        Case(name: "fewer and cheaper victims when priorities tie",
             existing: [(prioritized("a", priority: 1, cpu: "500m", started: jan), "n1"), (prioritized("b", priority: 1, cpu: "500m", started: jan), "n1"),
                        (prioritized("c", priority: 1, started: mar), "n1"),
                        (prioritized("e", priority: 1, cpu: "600m", started: jan), "n2"), (prioritized("f", priority: 1, cpu: "600m", started: feb), "n2"),
                        (prioritized("g", priority: 1, cpu: "800m", started: mar), "n2")],
             node: "n1", victims: ["c"]),
        Case(name: "the most important pods are kept: only what must go goes",
             existing: [(prioritized("keep", priority: 8), "n1"), (prioritized("go", priority: 2), "n1"), (prioritized("high", priority: 9, cpu: "2"), "n2")],
             node: "n1", victims: ["go"]),
        Case(name: "latest start among equals",
             existing: [(prioritized("old", priority: 1, cpu: "2", started: jan), "n1"), (prioritized("young", priority: 1, cpu: "2", started: mar), "n2")],
             node: "n2", victims: ["young"]),
    ]

    @Test(arguments: cases) func victims(_ c: Case) {
        let result = preempt(prioritized("vip", priority: 10), snapshot(Self.twoNodes, c.existing), pdbs: c.pdbs)
        #expect(result.status.isSuccess)
        #expect(result.nominatedNodeName == c.node)
        #expect(result.victims.map { $0.pod.name ?? "" } == c.victims)
    }

    @Test func nothingToPreempt() {
        let s = snapshot(Self.twoNodes + [node("tainted", cpu: "8", taints: [["key": "k", "effect": "NoSchedule"]])],
                         [(prioritized("a", priority: 10, cpu: "2"), "n1"), (prioritized("b", priority: 20, cpu: "2"), "n2")])
        let result = preempt(prioritized("vip", priority: 10), s)
        #expect(result.nominatedNodeName == nil)
        #expect(result.status.reasons == ["preemption: 0/3 nodes are available: 2 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."])
        let never = preempt(prioritized("vip", priority: 100) { $0[path: ["spec", "preemptionPolicy"]] = "Never" }, s)
        #expect(never.status.reasons == ["preemption: not eligible due to preemptionPolicy=Never."])
    }

    @Test func evictingLowerPriorityPodsMustAlsoSatisfyAntiAffinity() {
        // The pod needs its own host apart from app=db; the only db pod is more important.
        let anti = affinity("podAntiAffinity", required: [term(["app": "db"], "kubernetes.io/hostname")])
        let s = snapshot([node("n1", cpu: "2", labels: ["kubernetes.io/hostname": "n1"])],
                         [(prioritized("db", priority: 50, cpu: "1", labels: ["app": "db"]), "n1"), (prioritized("filler", priority: 1, cpu: "1"), "n1")])
        let result = preempt(prioritized("vip", priority: 10, extra: anti), s)
        #expect(result.nominatedNodeName == nil)
        #expect(result.status.reasons == ["preemption: 0/1 nodes are available: 1 \(InterPodAffinity.antiAffinityReason)."])
        // A lower-priority db pod is evicted along with what must go for room.
        let s2 = snapshot([node("n1", cpu: "2", labels: ["kubernetes.io/hostname": "n1"])],
                          [(prioritized("db", priority: 5, cpu: "500m", labels: ["app": "db"]), "n1"), (prioritized("filler", priority: 1, cpu: "1500m"), "n1")])
        let evicting = preempt(prioritized("vip", priority: 10, cpu: "500m", extra: anti), s2)
        #expect(evicting.victims.map { $0.pod.name ?? "" } == ["db"])
    }
}

import SkiffAPI
import SkiffCore
@testable import SkiffScheduler
import Testing

func spread(_ key: String, maxSkew: Int = 1, when: String = "DoNotSchedule", minDomains: Int? = nil, selector: [String: String] = ["app": "web"],
            extra: [String: JSON] = [:]) -> JSON {
    var c: JSON = ["maxSkew": .number(JSONNumber(maxSkew)), "topologyKey": .string(key), "whenUnsatisfiable": .string(when),
                   "labelSelector": ["matchLabels": .object(JSONObject(selector.map { ($0.key, JSON.string($0.value)) }))]]
    if let minDomains { c["minDomains"] = .number(JSONNumber(minDomains)) }
    for (k, v) in extra { c[k] = v }
    return c
}

func spreading(_ constraints: [JSON], labels: [String: String] = ["app": "web"], extra: (inout JSON) -> Void = { _ in }) -> JSON {
    labeled("new", labels) { p in
        p[path: ["spec", "topologySpreadConstraints"]] = .array(constraints)
        extra(&p)
    }
}

let noWorkloads = PodTopologySpread { _ in .init() }

@Suite struct PodTopologySpreadTests {
    static let reason = PodTopologySpread.reason
    static func web(_ i: Int) -> JSON { labeled("w\(i)", ["app": "web"]) }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var pod: JSON
        var existing: [(JSON, String)]
        var nodes: [JSON] = zonedNodes
        var want: [String: String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "zone a is ahead by two: only zone b", pod: spreading([spread("zone")]), existing: [(web(1), "n1"), (web(2), "n2")],
             want: ["n1": reason, "n2": reason, "n3": "ok"]),
        Case(name: "balanced zones: either", pod: spreading([spread("zone")]), existing: [(web(1), "n1"), (web(2), "n3")],
             want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
        Case(name: "maxSkew 2 allows one more", pod: spreading([spread("zone", maxSkew: 2)]), existing: [(web(1), "n1")],
             want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
        Case(name: "pods of other apps and namespaces do not count", pod: spreading([spread("zone")]),
             existing: [(labeled("x", ["app": "db"]), "n3"), (labeled("y", ["app": "web"], namespace: "other"), "n3"), (web(1), "n1")],
             want: ["n1": reason, "n2": reason, "n3": "ok"]),
        Case(name: "minDomains above the domains there are treats the minimum as 0", pod: spreading([spread("zone", minDomains: 3)]),
             existing: [(web(1), "n1"), (web(2), "n3")], want: ["n1": reason, "n2": reason, "n3": reason]),
        Case(name: "by hostname", pod: spreading([spread("kubernetes.io/hostname")]), existing: [(web(1), "n1"), (web(2), "n2")],
             want: ["n1": reason, "n2": reason, "n3": "ok"]),
        Case(name: "a node without the key", pod: spreading([spread("zone")]), existing: [],
             nodes: zonedNodes + [node("bare")], want: ["n1": "ok", "n2": "ok", "n3": "ok", "bare": PodTopologySpread.missingLabelReason]),
        Case(name: "nodeAffinityPolicy Honor: zone b is outside the pod's node selector and does not count", pod: spreading([spread("zone")]) { p in
                 p[path: ["spec", "nodeSelector"]] = ["zone": "a"]
             }, existing: [(web(1), "n1")], want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
        Case(name: "nodeAffinityPolicy Ignore: zone b counts with its 0 pods", pod: spreading([spread("zone", extra: ["nodeAffinityPolicy": "Ignore"])]) { p in
                 p[path: ["spec", "nodeSelector"]] = ["zone": "a"]
             }, existing: [(web(1), "n1")], want: ["n1": reason, "n2": reason, "n3": "ok"]),
        Case(name: "matchLabelKeys counts only the same version", pod: spreading([spread("zone", extra: ["matchLabelKeys": ["version"]])], labels: ["app": "web", "version": "v2"]),
             existing: [(labeled("old1", ["app": "web", "version": "v1"]), "n1"), (labeled("old2", ["app": "web", "version": "v1"]), "n2")],
             want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
        Case(name: "ScheduleAnyway does not filter", pod: spreading([spread("zone", when: "ScheduleAnyway")]), existing: [(web(1), "n1"), (web(2), "n2")],
             want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
    ]

    @Test(arguments: cases) func filter(_ c: Case) {
        #expect(filtered(noWorkloads, c.pod, snapshot(c.nodes, c.existing)) == c.want)
    }

    @Test func scheduleAnywayScoresEmptierDomainsHigher() {
        let s = snapshot(zonedNodes, [(Self.web(1), "n1"), (Self.web(2), "n2")])
        let scores = scored(noWorkloads, spreading([spread("zone", when: "ScheduleAnyway")]), s)
        #expect(scores["n3"] == 100)
        #expect(scores["n1"]! < 100 && scores["n1"] == scores["n2"])
    }

    @Test func podsWithoutConstraintsSpreadByTheirServiceSelector() {
        let service: JSON = ["metadata": ["name": "web", "namespace": "default"], "spec": ["selector": ["app": "web"]]]
        let plugin = PodTopologySpread { ns in .init(services: ns == "default" ? [service] : []) }
        let s = snapshot(zonedNodes, [(Self.web(1), "n1"), (Self.web(2), "n1"), (Self.web(3), "n2")])
        let scores = scored(plugin, labeled("new", ["app": "web"]), s)
        #expect(scores["n3"] == 100)
        #expect(scores["n1"]! < scores["n2"]!)
        // No workload selects it: no default constraints.
        #expect(scored(noWorkloads, labeled("new", ["app": "web"]), s) == [:])
        #expect(PodTopologySpread.defaultSelector(PodInfo(labeled("new", ["app": "web", "tier": "x"])),
                                                  .init(services: [service], replicaSets: [["spec": ["selector": ["matchLabels": ["tier": "x"]]]]])).description == "app=web,tier=x")
    }
}

@Suite struct ImageLocalityTests {
    static func imageNode(_ name: String, _ images: [(String, Int64)]) -> JSON {
        var n = node(name)
        n[path: ["status", "images"]] = .array(images.map { ["names": [.string($0.0)], "sizeBytes": .number(JSONNumber($0.1))] })
        return n
    }

    @Test func scoresBySizeScaledByHowManyNodesHaveTheImage() {
        let mb: Int64 = 1024 * 1024
        let s = snapshot([Self.imageNode("has", [("nginx:1.25", 500 * mb)]), Self.imageNode("not", []),
                          Self.imageNode("both", [("nginx:1.25", 500 * mb), ("redis:latest", 2000 * mb)])])
        let p = PodInfo(pod("p") { $0[path: ["spec", "containers"]] = [["name": "c", "image": "nginx:1.25"]] })
        let state = CycleState(snapshot: s)
        let plugin = ImageLocality()
        // 500 MB on 2 of 3 nodes counts as 333 MB, between the 23 MB and 1000 MB thresholds.
        let expected = 100 * (500 * mb * 2 / 3 - 23 * mb) / (1000 * mb - 23 * mb)
        #expect(plugin.score(p, s["has"]!, state) == expected)
        #expect(plugin.score(p, s["not"]!, state) == 0)
        // An untagged image is ":latest"; 2000 MB on 1 of 3 nodes counts as 667 MB.
        let r = PodInfo(pod("r") { $0[path: ["spec", "containers"]] = [["name": "c", "image": "redis"]] })
        #expect(r.images == ["redis:latest"])
        #expect(plugin.score(r, s["both"]!, state) == 65)
        #expect(ImageLocality.normalized("registry:5000/app") == "registry:5000/app:latest")
        #expect(ImageLocality.normalized("app@sha256:abc") == "app@sha256:abc")
    }
}

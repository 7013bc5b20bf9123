import SkiffAPI
import SkiffCore
@testable import SkiffScheduler
import Testing

/// A cluster of hand-built nodes with pods placed on them.
func snapshot(_ nodes: [JSON], _ pods: [(JSON, String)] = [], namespaces: [String: [String: String]] = [:]) -> Snapshot {
    var s = Snapshot()
    for n in nodes { s.setNode(n) }
    for (p, n) in pods { s.addPod(PodInfo(p), to: n) }
    for (name, labels) in namespaces { s.setNamespace(name, labels: labels) }
    return s
}

func labeled(_ name: String, _ labels: [String: String], namespace: String = "default", extra: (inout JSON) -> Void = { _ in }) -> JSON {
    pod(name) { p in
        p[path: ["metadata", "labels"]] = .object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))
        p[path: ["metadata", "namespace"]] = .string(namespace)
        extra(&p)
    }
}

/// PreFilter once, then Filter on every node: the node names that passed, or the
/// PreFilter's Skip as "skip".
func filtered(_ plugin: some PreFilterPlugin & FilterPlugin, _ pod: JSON, _ s: Snapshot) -> [String: String] {
    let info = PodInfo(pod)
    var state = CycleState(snapshot: s)
    let (status, _) = plugin.preFilter(info, &state)
    var out: [String: String] = [:]
    for n in s.nodes {
        let verdict = status.code == .skip ? Status.success : plugin.filter(info, n, state)
        out[n.name] = verdict.isSuccess ? "ok" : verdict.reasons.joined()
    }
    return out
}

/// PreScore, Score and NormalizeScore over every node.
func scored(_ plugin: some PreScorePlugin & ScorePlugin, _ pod: JSON, _ s: Snapshot) -> [String: Int64] {
    let info = PodInfo(pod)
    var state = CycleState(snapshot: s)
    if plugin.preScore(info, s.nodes, &state).code == .skip { return [:] }
    var scores = s.nodes.map { plugin.score(info, $0, state) }
    plugin.normalize(&scores, state)
    return Dictionary(uniqueKeysWithValues: zip(s.nodes.map(\.name), scores))
}

let zonedNodes = [node("n1", labels: ["zone": "a", "kubernetes.io/hostname": "n1"]),
                  node("n2", labels: ["zone": "a", "kubernetes.io/hostname": "n2"]),
                  node("n3", labels: ["zone": "b", "kubernetes.io/hostname": "n3"])]

func term(_ selector: [String: String], _ key: String, namespaces: [String]? = nil, namespaceSelector: JSON? = nil) -> JSON {
    var t: JSON = ["labelSelector": ["matchLabels": .object(JSONObject(selector.map { ($0.key, JSON.string($0.value)) }))], "topologyKey": .string(key)]
    if let namespaces { t["namespaces"] = .array(namespaces.map { .string($0) }) }
    if let namespaceSelector { t["namespaceSelector"] = namespaceSelector }
    return t
}

func affinity(_ kind: String, required: [JSON] = [], preferred: [(Int, JSON)] = []) -> (inout JSON) -> Void {
    { p in
        if !required.isEmpty { p[path: ["spec", "affinity", kind, "requiredDuringSchedulingIgnoredDuringExecution"]] = .array(required) }
        if !preferred.isEmpty {
            p[path: ["spec", "affinity", kind, "preferredDuringSchedulingIgnoredDuringExecution"]] =
                .array(preferred.map { ["weight": .number(JSONNumber($0.0)), "podAffinityTerm": $0.1] })
        }
    }
}

@Suite struct InterPodAffinityTests {
    static let db = labeled("db", ["app": "db"])
    static let affinityMiss = InterPodAffinity.affinityReason
    static let antiMiss = InterPodAffinity.antiAffinityReason
    static let existingMiss = InterPodAffinity.existingAntiAffinityReason

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var pod: JSON
        var existing: [(JSON, String)] = [(InterPodAffinityTests.db, "n1")]
        var namespaces: [String: [String: String]] = [:]
        var want: [String: String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "required affinity by zone", pod: labeled("web", ["app": "web"], extra: affinity("podAffinity", required: [term(["app": "db"], "zone")])),
             want: ["n1": "ok", "n2": "ok", "n3": affinityMiss]),
        Case(name: "required anti-affinity by hostname", pod: labeled("web", ["app": "web"], extra: affinity("podAntiAffinity", required: [term(["app": "db"], "kubernetes.io/hostname")])),
             want: ["n1": antiMiss, "n2": "ok", "n3": "ok"]),
        Case(name: "anti-affinity by zone covers the whole zone", pod: labeled("web", ["app": "web"], extra: affinity("podAntiAffinity", required: [term(["app": "db"], "zone")])),
             want: ["n1": antiMiss, "n2": antiMiss, "n3": "ok"]),
        Case(name: "symmetry: an existing pod's anti-affinity keeps the pod out of its zone", pod: labeled("web", ["app": "web"]),
             existing: [(labeled("loner", ["app": "loner"], extra: affinity("podAntiAffinity", required: [term(["app": "web"], "zone")])), "n3")],
             want: ["n1": "ok", "n2": "ok", "n3": existingMiss]),
        Case(name: "symmetry does not apply across namespaces", pod: labeled("web", ["app": "web"], namespace: "other"),
             existing: [(labeled("loner", ["app": "loner"], extra: affinity("podAntiAffinity", required: [term(["app": "web"], "zone")])), "n3")],
             want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
        Case(name: "the first pod of a self-affine group goes anywhere", pod: labeled("web", ["app": "web"], extra: affinity("podAffinity", required: [term(["app": "web"], "zone")])),
             want: ["n1": "ok", "n2": "ok", "n3": "ok"]),
        Case(name: "affinity to pods that exist nowhere fits nowhere", pod: labeled("web", ["app": "web"], extra: affinity("podAffinity", required: [term(["app": "cache"], "zone")])),
             want: ["n1": affinityMiss, "n2": affinityMiss, "n3": affinityMiss]),
        Case(name: "affinity looks only in the pod's namespace by default", pod: labeled("web", ["app": "web"], namespace: "other", extra: affinity("podAffinity", required: [term(["app": "db"], "zone")])),
             want: ["n1": affinityMiss, "n2": affinityMiss, "n3": affinityMiss]),
        Case(name: "listed namespaces", pod: labeled("web", ["app": "web"], namespace: "other", extra: affinity("podAffinity", required: [term(["app": "db"], "zone", namespaces: ["default"])])),
             want: ["n1": "ok", "n2": "ok", "n3": affinityMiss]),
        Case(name: "namespaceSelector", pod: labeled("web", ["app": "web"], namespace: "other",
                                                     extra: affinity("podAffinity", required: [term(["app": "db"], "zone", namespaceSelector: ["matchLabels": ["team": "data"]])])),
             namespaces: ["default": ["team": "data"], "other": [:]], want: ["n1": "ok", "n2": "ok", "n3": affinityMiss]),
        Case(name: "a node without the topology key cannot satisfy affinity",
             pod: labeled("web", ["app": "web"], extra: affinity("podAffinity", required: [term(["app": "db"], "rack")])),
             existing: [(InterPodAffinityTests.db, "n1")], want: ["n1": affinityMiss, "n2": affinityMiss, "n3": affinityMiss]),
        Case(name: "matchLabelKeys narrows the selector to the pod's own value",
             pod: labeled("web", ["app": "web", "version": "v2"], extra: { p in
                 var t = term(["app": "web"], "kubernetes.io/hostname")
                 t["matchLabelKeys"] = ["version"]
                 affinity("podAntiAffinity", required: [t])(&p)
             }),
             existing: [(labeled("old", ["app": "web", "version": "v1"]), "n1"), (labeled("new", ["app": "web", "version": "v2"]), "n2")],
             want: ["n1": "ok", "n2": antiMiss, "n3": "ok"]),
    ]

    @Test(arguments: cases) func filter(_ c: Case) {
        #expect(filtered(InterPodAffinity(), c.pod, snapshot(zonedNodes, c.existing, namespaces: c.namespaces)) == c.want)
    }

    @Test func preferredTermsAndExistingPodsRequiredAffinityScore() {
        let plugin = InterPodAffinity()
        let near = labeled("web", ["app": "web"], extra: affinity("podAffinity", preferred: [(10, term(["app": "db"], "zone"))]))
        #expect(scored(plugin, near, snapshot(zonedNodes, [(Self.db, "n1")])) == ["n1": 100, "n2": 100, "n3": 0])
        let away = labeled("web", ["app": "web"], extra: affinity("podAntiAffinity", preferred: [(10, term(["app": "db"], "zone"))]))
        #expect(scored(plugin, away, snapshot(zonedNodes, [(Self.db, "n1")])) == ["n1": 0, "n2": 0, "n3": 100])
        // An existing pod that requires affinity to the incoming pod draws it (hardPodAffinityWeight).
        let follower = labeled("f", ["app": "f"], extra: affinity("podAffinity", required: [term(["app": "web"], "zone")]))
        #expect(scored(plugin, labeled("web", ["app": "web"]), snapshot(zonedNodes, [(follower, "n3")])) == ["n1": 0, "n2": 0, "n3": 100])
        // Nothing relates: PreScore skips.
        #expect(scored(plugin, labeled("web", ["app": "web"]), snapshot(zonedNodes, [(Self.db, "n1")])) == [:])
    }

    @Test func countsFollowPodsAddedAndRemovedAfterTheFirstQuestion() {
        var s = snapshot(zonedNodes)
        let web = labeled("web", ["app": "web"], extra: affinity("podAntiAffinity", required: [term(["app": "db"], "kubernetes.io/hostname")]))
        #expect(filtered(InterPodAffinity(), web, s) == ["n1": "ok", "n2": "ok", "n3": "ok"])
        s.addPod(PodInfo(Self.db), to: "n2")
        #expect(filtered(InterPodAffinity(), web, s) == ["n1": "ok", "n2": Self.antiMiss, "n3": "ok"])
        s.removePod(PodInfo(Self.db), from: "n2")
        s.addPod(PodInfo(Self.db), to: "n3")
        #expect(filtered(InterPodAffinity(), web, s) == ["n1": "ok", "n2": "ok", "n3": Self.antiMiss])
    }
}

import SkiffAPI
import SkiffClient
@testable import SkiffControllers
import SkiffCore
import Synchronization
import Testing

func statefulSetJSON(replicas: Int = 3, policy: String = "OrderedReady", extraSpec: JSONObject = [:]) -> JSON {
    var spec: JSON = [
        "replicas": .number(JSONNumber(replicas)), "serviceName": "nginx", "podManagementPolicy": .string(policy),
        "selector": ["matchLabels": ["app": "web"]],
        "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "nginx", "image": "nginx:1"]]]],
        "volumeClaimTemplates": [["metadata": ["name": "www"],
                                  "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]]],
    ]
    for (k, v) in extraSpec { spec[k] = v }
    return ["apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "web"], "spec": spec]
}

/// A clock that stands still until the test moves it, for minReadySeconds.
final class StoppedClock: Sendable {
    let time = Mutex(Timestamp.now())
    func now() -> Timestamp { time.withLock { $0 } }
    func advance(_ seconds: Int64) { time.withLock { $0 = $0.adding(seconds: seconds) } }
}

@Suite struct StatefulSetControllerTests {
    func withController(clock: StoppedClock = StoppedClock(), kubelet: Bool = false, _ body: (Cluster) async throws -> Void) async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let factory = InformerFactory(client: cluster.client)
        let controller = StatefulSetController(factory: factory, now: { clock.now() })
        let run = startAfterSync(factory) { await controller.run(workers: 2) }
        defer { run.cancel() }
        let readying = kubelet ? Task { await readyAllPods(cluster.client) } : nil
        defer { readying?.cancel() }
        try await body(cluster)
    }

    func pods(_ c: Cluster) async throws -> [String: JSON] {
        let all = try await c.client.list(.pods, namespace: "default").items
        return Dictionary(uniqueKeysWithValues: all.map { ($0.name ?? "", $0) })
    }

    func set(_ c: Cluster) async throws -> JSON { try await c.client.get(.statefulSets, namespace: "default", "web") }

    /// Plays the kubelet for one pod: Running, and Ready as of `at`.
    func markRunning(_ c: Cluster, _ name: String, ready: Bool = true, phase: String = "Running", at time: Timestamp = .now()) async throws {
        var pod = try await c.client.get(.pods, namespace: "default", name)
        pod["status"] = ["phase": .string(phase),
                         "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False"), "lastTransitionTime": .string(time.rfc3339)]]]
        try await c.client.update(.pods, pod, subresource: "status")
    }

    func revisions(_ c: Cluster) async throws -> [JSON] {
        ControllerHistory.sorted(try await c.client.list(.controllerRevisions, namespace: "default").items)
    }

    @Test func createsPodsOneAtATimeInOrdinalOrderWithTheirIdentityAndClaims() async throws {
        try await withController { c in
            let sts = try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON())
            for ordinal in 0..<3 {
                let name = "web-\(ordinal)"
                try await eventually("\(name) created") { try await pods(c)[name] != nil }
                // Until it is Running and Ready, the next ordinal waits.
                try await eventually("status counts \(name)") { try await set(c)[path: ["status", "replicas"]]?.intValue == ordinal + 1 }
                #expect(try await pods(c).count == ordinal + 1)
                let pod = try #require(try await pods(c)[name])
                #expect(pod.labels["statefulset.kubernetes.io/pod-name"] == name)
                #expect(pod.labels["apps.kubernetes.io/pod-index"] == String(ordinal))
                #expect(pod.labels["app"] == "web")
                #expect(pod[path: ["spec", "hostname"]]?.stringValue == name)
                #expect(pod[path: ["spec", "subdomain"]] == "nginx")
                let volume = pod[path: ["spec", "volumes"]]?.arrayValue?.first
                #expect(volume?["name"] == "www" && volume?[path: ["persistentVolumeClaim", "claimName"]]?.stringValue == "www-web-\(ordinal)")
                #expect(controllerRef(pod)?["uid"]?.stringValue == sts.uid)
                let claim = try await c.client.get(.persistentVolumeClaims, namespace: "default", "www-\(name)")
                #expect(claim.labels == ["app": "web"])
                #expect(claim[path: ["spec", "resources", "requests", "storage"]] == "1Gi")
                #expect(claim.ownerReferences.isEmpty)  // whenDeleted: Retain
                try await markRunning(c, name)
            }
            try await eventually("all ready, one revision current") {
                let s = try await set(c)
                return s[path: ["status", "readyReplicas"]] == 3 && s[path: ["status", "currentReplicas"]] == 3
                    && s[path: ["status", "updatedReplicas"]] == 3 && s[path: ["status", "observedGeneration"]] == 1
            }
            let status = try await set(c)["status"] ?? [:]
            let history = try await revisions(c)
            #expect(history.count == 1)
            let revision = try #require(history.first)
            #expect(status["currentRevision"]?.stringValue == revision.name && status["updateRevision"]?.stringValue == revision.name)
            #expect(status["collisionCount"] == 0)
            #expect(revision["revision"] == 1)
            #expect(revision[path: ["data", "spec", "template", "$patch"]] == "replace")
            #expect(revision[path: ["data", "spec", "template", "spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1")
            #expect(controllerRef(revision)?["uid"]?.stringValue == sts.uid)
            let hash = try #require(revision.labels["controller-revision-hash"])
            #expect(revision.name == "web-\(hash)")
            #expect(try await pods(c).values.allSatisfy { $0.labels["controller-revision-hash"] == revision.name })
            // The events upstream records on the set, in order.
            let events = try await c.client.list(.events, namespace: "default").items
                .filter { $0[path: ["involvedObject", "uid"]]?.stringValue == sts.uid }
                .sorted { ($0.name ?? "") < ($1.name ?? "") }
            #expect(events.map { $0["message"]?.stringValue ?? "" } == [
                "create Claim www-web-0 Pod web-0 in StatefulSet web success", "create Pod web-0 in StatefulSet web successful",
                "create Claim www-web-1 Pod web-1 in StatefulSet web success", "create Pod web-1 in StatefulSet web successful",
                "create Claim www-web-2 Pod web-2 in StatefulSet web success", "create Pod web-2 in StatefulSet web successful",
            ])
            #expect(events.allSatisfy { $0["reason"] == "SuccessfulCreate" && $0["type"] == "Normal" && $0[path: ["source", "component"]] == "statefulset-controller" })
        }
    }

    @Test func scalesDownHighestOrdinalFirstEachGoneBeforeTheNext() async throws {
        try await withController(kubelet: true) { c in
            // A finalizer keeps deleted pods terminating until the test lets them go.
            var sts = statefulSetJSON()
            sts[path: ["spec", "template", "metadata", "finalizers"]] = ["test.skiff.dev/hold"]
            try await c.client.create(.statefulSets, namespace: "default", sts)
            try await eventually("3 ready") { try await set(c)[path: ["status", "readyReplicas"]] == 3 }
            try await c.client.patch(.statefulSets, namespace: "default", "web", merge: ["spec": ["replicas": 1]])
            try await eventually("web-2 terminating") { try await pods(c)["web-2"]?.deletionTimestamp != nil }
            try await eventually("status sees web-2 go") { try await set(c)[path: ["status", "observedGeneration"]] == 2 }
            #expect(try await pods(c)["web-1"]?.deletionTimestamp == nil)
            try await c.client.patch(.pods, namespace: "default", "web-2", merge: ["metadata": ["finalizers": nil]])
            try await eventually("web-1 terminating after web-2 is gone") {
                let all = try await pods(c)
                return all["web-2"] == nil && all["web-1"]?.deletionTimestamp != nil
            }
            #expect(try await pods(c)["web-0"]?.deletionTimestamp == nil)
            try await c.client.patch(.pods, namespace: "default", "web-1", merge: ["metadata": ["finalizers": nil]])
            try await eventually("one replica") {
                let s = try await set(c)
                return try await pods(c).keys.sorted() == ["web-0"] && s[path: ["status", "replicas"]] == 1
            }
            // Claims are retained by default.
            let claims = try await c.client.list(.persistentVolumeClaims, namespace: "default").items.compactMap(\.name).sorted()
            #expect(claims == ["www-web-0", "www-web-1", "www-web-2"])
        }
    }

    @Test func parallelCreatesEveryPodWithoutWaiting() async throws {
        try await withController { c in
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 4, policy: "Parallel"))
            try await eventually("4 pods at once, none ready") { try await pods(c).keys.sorted() == ["web-0", "web-1", "web-2", "web-3"] }
            try await c.client.patch(.statefulSets, namespace: "default", "web", merge: ["spec": ["replicas": 1]])
            try await eventually("scaled down at once") { try await pods(c).keys.sorted() == ["web-0"] }
        }
    }

    @Test func honoursTheStartOrdinal() async throws {
        try await withController(kubelet: true) { c in
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 2, extraSpec: ["ordinals": ["start": 5]]))
            try await eventually("web-5 and web-6") { try await pods(c).keys.sorted() == ["web-5", "web-6"] }
            #expect(try await pods(c)["web-6"]?.labels["apps.kubernetes.io/pod-index"] == "6")
        }
    }

    @Test func waitsMinReadySecondsBeforeTheNextOrdinal() async throws {
        let clock = StoppedClock()
        try await withController(clock: clock) { c in
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 2, extraSpec: ["minReadySeconds": 30]))
            try await eventually("web-0") { try await pods(c)["web-0"] != nil }
            try await markRunning(c, "web-0", at: clock.now())
            try await eventually("web-0 ready, not available") {
                let s = try await set(c)
                return s[path: ["status", "readyReplicas"]] == 1 && s[path: ["status", "availableReplicas"]] == 0
            }
            #expect(try await pods(c)["web-1"] == nil)
            clock.advance(31)
            try await c.client.patch(.statefulSets, namespace: "default", "web", merge: ["metadata": ["annotations": ["touch": "1"]]])
            try await eventually("web-1 once web-0 is available") { try await pods(c)["web-1"] != nil }
        }
    }

    @Test func rollsOutFromTheHighestOrdinalDownToThePartition() async throws {
        try await withController(kubelet: true) { c in
            try await c.client.create(.statefulSets, namespace: "default",
                                      statefulSetJSON(extraSpec: ["updateStrategy": ["type": "RollingUpdate", "rollingUpdate": ["partition": 2]]]))
            try await eventually("3 ready") { try await set(c)[path: ["status", "readyReplicas"]] == 3 }
            let first = try #require(try await set(c)[path: ["status", "currentRevision"]]?.stringValue)
            try await c.client.patch(.statefulSets, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "nginx", "image": "nginx:2"]]]]]])
            try await eventually("web-2 updated, status says so") {
                let s = try await set(c), all = try await pods(c)
                guard let update = s[path: ["status", "updateRevision"]]?.stringValue, update != first else { return false }
                return all["web-2"]?.labels["controller-revision-hash"] == update && s[path: ["status", "updatedReplicas"]] == 1
                    && s[path: ["status", "readyReplicas"]] == 3 && s[path: ["status", "currentReplicas"]] == 2
            }
            let all = try await pods(c)
            #expect(all["web-2"]?[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:2")
            for name in ["web-0", "web-1"] {
                #expect(all[name]?.labels["controller-revision-hash"] == first)
                #expect(all[name]?[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1")
            }
            #expect(try await set(c)[path: ["status", "currentRevision"]]?.stringValue == first)
            // A pod below the partition that is deleted comes back at the current revision.
            try await c.client.delete(.pods, namespace: "default", "web-0")
            try await eventually("web-0 back at the old revision") {
                let p = try await pods(c)["web-0"]
                return p != nil && p?.uid != all["web-0"]?.uid && p?.labels["controller-revision-hash"] == first
            }
            try await c.client.patch(.statefulSets, namespace: "default", "web", merge: ["spec": ["updateStrategy": ["rollingUpdate": ["partition": 0]]]])
            try await eventually("every pod updated and the update revision current") {
                let s = try await set(c)
                return s[path: ["status", "updatedReplicas"]] == 3 && s[path: ["status", "currentReplicas"]] == 3
                    && s[path: ["status", "currentRevision"]] == s[path: ["status", "updateRevision"]]
            }
            #expect(try await pods(c).values.allSatisfy { $0[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:2" })
        }
    }

    @Test func maxUnavailableReplacesSeveralPodsAtOnce() async throws {
        try await withController(kubelet: true) { c in
            var sts = statefulSetJSON(extraSpec: ["updateStrategy": ["type": "RollingUpdate", "rollingUpdate": ["partition": 0, "maxUnavailable": 2]]])
            sts[path: ["spec", "template", "metadata", "finalizers"]] = ["test.skiff.dev/hold"]
            try await c.client.create(.statefulSets, namespace: "default", sts)
            try await eventually("3 ready") { try await set(c)[path: ["status", "readyReplicas"]] == 3 }
            try await c.client.patch(.statefulSets, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "nginx", "image": "nginx:2"]]]]]])
            try await eventually("web-2 and web-1 replaced together") {
                let all = try await pods(c)
                return all["web-2"]?.deletionTimestamp != nil && all["web-1"]?.deletionTimestamp != nil
            }
            try await eventually("status sees them go") {
                let s = try await set(c)
                return s[path: ["status", "currentReplicas"]] == 1 && s[path: ["status", "updatedReplicas"]] == nil
            }
            #expect(try await pods(c)["web-0"]?.deletionTimestamp == nil)
        }
    }

    @Test func parallelReplacesABrokenPodWhenTheTemplateChanges() async throws {
        try await withController { c in
            // Nothing plays the kubelet: the pods never become ready.
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 2, policy: "Parallel"))
            try await eventually("2 pods, and status naming their revision") {
                let named = try await set(c)[path: ["status", "currentRevision"]] != nil
                return try await pods(c).count == 2 && named
            }
            let old = try #require(try await pods(c)["web-1"])
            try await c.client.patch(.statefulSets, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "nginx", "image": "nginx:2"]]]]]])
            try await eventually("web-1 replaced at the update revision") {
                let update = try await set(c)[path: ["status", "updateRevision"]]?.stringValue
                let now = try await pods(c)["web-1"]
                return now != nil && now?.uid != old.uid && now?.labels["controller-revision-hash"] == update
            }
            // The new web-1 is not available either, so web-0 waits: one at a time.
            try await eventually("status counts the new web-1") { try await set(c)[path: ["status", "updatedReplicas"]] == 1 }
            let current = try await set(c)[path: ["status", "currentRevision"]]?.stringValue
            #expect(try await pods(c)["web-0"]?.labels["controller-revision-hash"] == current)
        }
    }

    @Test func onDeleteLeavesPodsUntilTheyAreDeleted() async throws {
        try await withController(kubelet: true) { c in
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 2, extraSpec: ["updateStrategy": ["type": "OnDelete"]]))
            try await eventually("2 ready") { try await set(c)[path: ["status", "readyReplicas"]] == 2 }
            try await c.client.patch(.statefulSets, namespace: "default", "web",
                                     merge: ["spec": ["template": ["spec": ["containers": [["name": "nginx", "image": "nginx:2"]]]]]])
            try await eventually("new update revision") { try await set(c)[path: ["status", "observedGeneration"]] == 2 }
            #expect(try await pods(c).values.allSatisfy { $0[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1" })
            try await c.client.delete(.pods, namespace: "default", "web-1")
            try await eventually("web-1 recreated from the new template") {
                try await pods(c)["web-1"]?[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:2"
            }
            #expect(try await pods(c)["web-0"]?[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1")
        }
    }

    @Test func keepsRevisionHistoryRenumbersOnRollbackAndTruncates() async throws {
        try await withController(kubelet: true) { c in
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 1, extraSpec: ["revisionHistoryLimit": 1]))
            func image(_ tag: String) async throws {
                try await c.client.patch(.statefulSets, namespace: "default", "web",
                                         merge: ["spec": ["template": ["spec": ["containers": [["name": "nginx", "image": .string("nginx:\(tag)")]]]]]])
                try await eventually("rolled out nginx:\(tag)") {
                    let s = try await set(c)
                    let running = try await pods(c)["web-0"]?[path: ["spec", "containers"]]?.arrayValue?.first?["image"]?.stringValue
                    return s[path: ["status", "updatedReplicas"]] == 1 && s[path: ["status", "currentRevision"]] == s[path: ["status", "updateRevision"]]
                        && s[path: ["status", "observedGeneration"]] == s[path: ["metadata", "generation"]] && running == "nginx:\(tag)"
                }
            }
            try await eventually("revision 1") { try await revisions(c).count == 1 }
            let one = try #require(try await revisions(c).first)
            try await image("2")
            try await eventually("revisions 1 and 2") { try await revisions(c).map { $0["revision"]?.intValue } == [1, 2] }
            // Back to the first template: its revision becomes number 3 rather than a copy being made.
            try await image("1")
            try await eventually("revision 1 renumbered to 3") {
                let h = try await revisions(c)
                return h.map { $0["revision"]?.intValue } == [2, 3] && h.last?.name == one.name && h.last?.uid == one.uid
            }
            try await image("3")
            try await image("4")
            // revisionHistoryLimit 1: the live revision and one more.
            try await eventually("history truncated to the limit") {
                try await revisions(c).map { $0["revision"]?.intValue } == [4, 5]
            }
        }
    }

    @Test func adoptsOrphanRevisionsAndNumbersAfterThem() async throws {
        try await withController { c in
            // A revision left by an earlier set of the same name (deleted with orphan propagation).
            let orphan: JSON = ["apiVersion": "apps/v1", "kind": "ControllerRevision",
                                "metadata": ["name": "web-old", "labels": ["app": "web", "controller-revision-hash": "old"]],
                                "data": ["spec": ["template": ["$patch": "replace", "metadata": ["labels": ["app": "web"]],
                                                               "spec": ["containers": [["name": "nginx", "image": "nginx:0"]]]]]],
                                "revision": 7]
            try await c.client.create(.controllerRevisions, namespace: "default", orphan)
            let sts = try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 1))
            try await eventually("the orphan adopted and the set's own revision numbered 8") {
                let h = try await revisions(c)
                return h.map { $0["revision"]?.intValue } == [7, 8] && h.allSatisfy { controllerRef($0)?["uid"]?.stringValue == sts.uid }
            }
        }
    }

    @Test func replacesFailedAndDeletedPods() async throws {
        try await withController { c in
            try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 2))
            try await eventually("web-0") { try await pods(c)["web-0"] != nil }
            try await markRunning(c, "web-0")
            try await eventually("web-1") { try await pods(c)["web-1"] != nil }
            try await markRunning(c, "web-1")
            let before = try await pods(c)
            try await markRunning(c, "web-0", ready: false, phase: "Failed")
            try await eventually("failed web-0 replaced") {
                let p = try await pods(c)["web-0"]
                return p != nil && p?.uid != before["web-0"]?.uid
            }
            try await c.client.delete(.pods, namespace: "default", "web-1")
            try await markRunning(c, "web-0")
            try await eventually("deleted web-1 replaced") {
                let p = try await pods(c)["web-1"]
                return p != nil && p?.uid != before["web-1"]?.uid
            }
        }
    }

    @Test func adoptsOrphansNamedAfterItAndReleasesPodsThatStopMatching() async throws {
        try await withController { c in
            for name in ["web-0", "stranger"] {
                try await c.client.create(.pods, namespace: "default", ["apiVersion": "v1", "kind": "Pod",
                                                                         "metadata": ["name": .string(name), "labels": ["app": "web"]],
                                                                         "spec": ["containers": [["name": "nginx", "image": "nginx:1"]]]])
            }
            let sts = try await c.client.create(.statefulSets, namespace: "default", statefulSetJSON(replicas: 1))
            let orphan = try #require(try await pods(c)["web-0"])
            try await eventually("web-0 adopted") { controllerRef(try await pods(c)["web-0"] ?? [:])?["uid"]?.stringValue == sts.uid }
            try await markRunning(c, "web-0")
            // At no revision, so once Ready the rolling update replaces it, as upstream does.
            try await eventually("web-0 replaced at the set's revision, with its identity labels") {
                let p = try await pods(c)["web-0"], update = try await set(c)[path: ["status", "updateRevision"]]?.stringValue
                return p != nil && p?.uid != orphan.uid && p?.labels["statefulset.kubernetes.io/pod-name"] == "web-0"
                    && p?.labels["controller-revision-hash"] == update
            }
            // Matching labels are not enough: a pod not named after the set is not its.
            #expect(try await pods(c)["stranger"]?.ownerReferences.isEmpty == true)
            try await c.client.patch(.pods, namespace: "default", "web-0", merge: ["metadata": ["labels": ["app": "other"]]])
            try await eventually("released once it stops matching") { try await pods(c)["web-0"]?.ownerReferences.isEmpty == true }
        }
    }

    @Test func aPodWaitsForAClaimItsPredecessorLeftToBeCollected() async throws {
        try await withController(kubelet: true) { c in
            // The claim of a web-1 removed by a scale-down, still owned by that pod (no
            // garbage collector runs here, so it stays until the test lets it go).
            let claim: JSON = ["apiVersion": "v1", "kind": "PersistentVolumeClaim",
                               "metadata": ["name": "www-web-1", "ownerReferences": [["apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": "gone",
                                                                                      "controller": true]]],
                               "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]]
            try await c.client.create(.persistentVolumeClaims, namespace: "default", claim)
            try await c.client.create(.statefulSets, namespace: "default",
                                      statefulSetJSON(replicas: 2, extraSpec: ["persistentVolumeClaimRetentionPolicy": ["whenDeleted": "Retain", "whenScaled": "Delete"]]))
            try await eventually("web-0 ready and seen") { try await set(c)[path: ["status", "readyReplicas"]] == 1 }
            #expect(try await pods(c)["web-1"] == nil)
            try await c.client.delete(.persistentVolumeClaims, namespace: "default", "www-web-1")
            try await eventually("web-1 once the stale claim is gone, with a fresh claim") {
                let fresh = try? await c.client.get(.persistentVolumeClaims, namespace: "default", "www-web-1")
                return try await pods(c)["web-1"] != nil && fresh != nil && fresh?.ownerReferences.isEmpty == true
            }
        }
    }

    @Test func retentionPolicyDeleteOwnsClaimsBySetAndByScaledDownPod() async throws {
        try await withController(kubelet: true) { c in
            let sts = try await c.client.create(.statefulSets, namespace: "default",
                                                statefulSetJSON(replicas: 2, extraSpec: ["persistentVolumeClaimRetentionPolicy": ["whenDeleted": "Delete", "whenScaled": "Delete"]]))
            try await eventually("2 ready") { try await set(c)[path: ["status", "readyReplicas"]] == 2 }
            for name in ["www-web-0", "www-web-1"] {
                let claim = try await c.client.get(.persistentVolumeClaims, namespace: "default", name)
                #expect(claim.ownerReferences.map { $0["uid"]?.stringValue } == [sts.uid])
                #expect(claim.ownerReferences.first?["controller"] == true)
            }
            let web1 = try #require(try await pods(c)["web-1"])
            try await c.client.patch(.statefulSets, namespace: "default", "web", merge: ["spec": ["replicas": 1]])
            try await eventually("web-1's claim owned by web-1 alone") {
                let claim = try await c.client.get(.persistentVolumeClaims, namespace: "default", "www-web-1")
                return claim.ownerReferences.map { $0["uid"]?.stringValue } == [web1.uid] && claim.ownerReferences.first?["kind"] == "Pod"
            }
            #expect(try await c.client.get(.persistentVolumeClaims, namespace: "default", "www-web-0").ownerReferences.map { $0["uid"]?.stringValue } == [sts.uid])
        }
    }
}

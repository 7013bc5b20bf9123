import SkiffAPIServer
import SkiffCore
import Testing

/// StatefulSet defaulting and validation as kube-apiserver applies them, and the Tables
/// of the kinds a StatefulSet brings along (ControllerRevisions, claims).
@Suite struct StatefulSetStrategyTests {
    static let path = "/apis/apps/v1/namespaces/default/statefulsets"

    static func body(spec extra: String = "") -> String {
        #"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web"},"spec":{"serviceName":"nginx","#
            + #""selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"#
            + #""spec":{"containers":[{"name":"nginx","image":"nginx"}]}}"# + extra + "}}"
    }

    @Test func defaultsAsUpstream() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let sts = try await s.create(Self.path, Self.body(spec: #","volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"accessModes":["ReadWriteOnce"]}}]"#))
        let spec = sts["spec"] ?? [:]
        #expect(spec["replicas"] == 1)
        #expect(spec["podManagementPolicy"] == "OrderedReady")
        #expect(spec["updateStrategy"] == ["type": "RollingUpdate", "rollingUpdate": ["partition": 0]])
        #expect(spec["revisionHistoryLimit"] == 10)
        #expect(spec["persistentVolumeClaimRetentionPolicy"] == ["whenDeleted": "Retain", "whenScaled": "Retain"])
        #expect(spec[path: ["volumeClaimTemplates"]]?.arrayValue?.first?[path: ["spec", "volumeMode"]] == "Filesystem")
        #expect(spec[path: ["volumeClaimTemplates"]]?.arrayValue?.first?[path: ["status", "phase"]] == "Pending")
        #expect(sts["status"] == ["replicas": 0, "availableReplicas": 0])
    }

    @Test func defaultsOnlyWhatIsMissing() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        // An explicit RollingUpdate without rollingUpdate stays so (upstream sets the
        // partition only inside a rollingUpdate that is there); a half policy is completed.
        let sts = try await s.create(Self.path, Self.body(spec: #","updateStrategy":{"type":"RollingUpdate"},"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete"}"#))
        #expect(sts[path: ["spec", "updateStrategy"]] == ["type": "RollingUpdate"])
        #expect(sts[path: ["spec", "persistentVolumeClaimRetentionPolicy"]] == ["whenScaled": "Delete", "whenDeleted": "Retain"])
        let onDelete = try await s.create(Self.path, Self.body(spec: #","updateStrategy":{"type":"OnDelete"}"#).replacingOccurrences(of: #""web"}"#, with: #""other"}"#))
        #expect(onDelete[path: ["spec", "updateStrategy"]] == ["type": "OnDelete"])
    }

    @Test func rejectsUnknownPoliciesAndForbiddenUpdates() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let bad = await s.request("POST", Self.path, Self.body(spec: #","podManagementPolicy":"Random","updateStrategy":{"type":"OnDelete","rollingUpdate":{"partition":1}}"#))
        #expect(bad.status == 422)
        let fields = bad.json[path: ["details", "causes"]]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("spec.podManagementPolicy") && fields.contains("spec.updateStrategy.rollingUpdate"))
        #expect(bad.json["message"]?.stringValue?.contains(#"spec.podManagementPolicy: Unsupported value: "Random": supported values: "OrderedReady", "Parallel""#) == true)

        try await s.create(Self.path, Self.body())
        let scaled = await s.request("PATCH", Self.path + "/web", #"{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:2"}]}}}}"#)
        #expect(scaled.status == 200)
        let renamed = await s.request("PATCH", Self.path + "/web", #"{"spec":{"serviceName":"other"}}"#)
        #expect(renamed.status == 422)
        #expect(renamed.json["message"]?.stringValue?.contains("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
            + "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden") == true)
    }

    @Test func tablesOfRevisionsAndClaims() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let sts = try await s.create(Self.path, Self.body())
        let revision = #"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"web-abc","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"\#(sts.uid ?? "")","controller":true}]},"data":{"spec":{"template":{"$patch":"replace"}}},"revision":2}"#
        let created = try await s.create("/apis/apps/v1/namespaces/default/controllerrevisions", revision)
        #expect(created.generation == nil)
        let accept = ["Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"]
        let revisions = await s.request("GET", "/apis/apps/v1/namespaces/default/controllerrevisions", headers: accept)
        #expect(revisions.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "Controller", "Revision", "Age"])
        #expect(Array(revisions.json[path: ["rows"]]?.arrayValue?.first?["cells"]?.arrayValue?.prefix(3) ?? []) == ["web-abc", "statefulset.apps/web", 2])
        try await s.create("/api/v1/namespaces/default/persistentvolumeclaims",
                           #"{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"www-web-0"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}"#)
        let claims = await s.request("GET", "/api/v1/namespaces/default/persistentvolumeclaims", headers: accept)
        #expect(claims.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            == ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age", "VolumeMode"])
        #expect(claims.json[path: ["rows"]]?.arrayValue?.first?["cells"]?.arrayValue?[1] == "Pending")
    }
}

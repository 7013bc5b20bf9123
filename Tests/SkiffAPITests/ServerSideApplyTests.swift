import Testing
import SkiffCore
@testable import SkiffAPI

/// Server-side apply and managedFields bookkeeping, checked against what kube-apiserver
/// writes (expectations taken from k8s.io/kubernetes test/integration/apiserver/apply).
@Suite struct ServerSideApplyTests {
    let schema = APISchema.builtIn
    static let t1 = "2024-01-01T00:00:01Z", t2 = "2024-01-01T00:00:02Z", t3 = "2024-01-01T00:00:03Z", t4 = "2024-01-01T00:00:04Z"

    // MARK: Helpers

    func json(_ text: String) throws -> JSON { try JSON.parse(text) }

    func apply(_ config: String, to live: JSON?, _ manager: String, force: Bool = false, type: String?, now: String = t1) throws -> JSON {
        try ServerSideApply.apply(json(config), to: live, manager: manager, force: force, type: type, schema: schema, now: now)
    }

    func entries(_ object: JSON) -> [JSON] { object[path: ["metadata", "managedFields"]]?.arrayValue ?? [] }

    func entry(_ object: JSON, _ manager: String, _ operation: String = "Apply") -> JSON? {
        entries(object).first { $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == operation }
    }

    func fields(_ object: JSON, _ manager: String, _ operation: String = "Apply") -> String? {
        entry(object, manager, operation)?["fieldsV1"]?.serializedString()
    }

    func conflict(_ body: () throws -> JSON) -> APIError? {
        do {
            _ = try body()
            return nil
        } catch let error as APIError {
            return error
        } catch {
            return nil
        }
    }

    // MARK: FieldsV1

    static let fieldsV1RoundTrips: [String] = [
        #"{}"#,
        #"{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#,
        #"{"f:spec":{"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}"#,
        #"{"f:metadata":{"f:finalizers":{".":{},"v:\"a\"":{},"v:\"b\"":{}}}}"#,
        #"{"f:a":{},"f:b":{"i:0":{},"i:2":{},"i:10":{}}}"#,
    ]

    @Test(arguments: fieldsV1RoundTrips)
    func fieldsV1RoundTrip(_ text: String) throws {
        let set = try FieldSet(fieldsV1: json(text))
        #expect(set.fieldsV1.serializedString() == text)
    }

    /// Keys come out sorted (fields before keys before values before indexes), key fields
    /// sorted by name, "." first; unknown element types are dropped, as upstream.
    @Test func fieldsV1IsNormalized() throws {
        let set = try FieldSet(fieldsV1: json(#"{"x:zzz":{},"i:1":{},"v:2":{},"k:{\"protocol\":\"TCP\",\"containerPort\":80}":{"f:name":{},".":{}},"f:b":{},"f:a":{".":{},"f:c":{}}}"#))
        #expect(set.fieldsV1.serializedString()
            == #"{"f:a":{".":{},"f:c":{}},"f:b":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{}},"v:2":{},"i:1":{}}"#)
        #expect(throws: FieldsV1Error.self) { try FieldSet(fieldsV1: json(#"{"f":{}}"#)) }
        #expect(throws: FieldsV1Error.self) { try FieldSet(fieldsV1: json(#"{"f:a":"b"}"#)) }
    }

    static let pathStrings: [(FieldPath, String)] = [
        ([.field("spec"), .field("replicas")], ".spec.replicas"),
        ([.field("spec"), .field("containers"), .key([KeyField(name: "name", value: "nginx")]), .field("image")],
         #".spec.containers[name="nginx"].image"#),
        ([.field("ports"), .key([KeyField(name: "containerPort", value: 80), KeyField(name: "protocol", value: "TCP")])],
         #".ports[containerPort=80,protocol="TCP"]"#),
        ([.field("finalizers"), .value("a")], #".finalizers[="a"]"#),
        ([.field("args"), .index(2)], ".args[2]"),
    ]

    @Test(arguments: pathStrings)
    func pathsPrintAsUpstream(_ path: FieldPath, _ expected: String) {
        #expect(path.pathString == expected)
    }

    // MARK: Apply

    static let deployment = #"""
    {"apiVersion":"apps/v1","kind":"Deployment",
     "metadata":{"name":"nginx","namespace":"default","labels":{"app":"nginx"}},
     "spec":{"replicas":3,"selector":{"matchLabels":{"app":"nginx"}},
       "template":{"metadata":{"labels":{"app":"nginx"}},
         "spec":{"containers":[{"name":"nginx","image":"nginx:1.14.2","ports":[{"containerPort":80}]}]}}}}
    """#

    /// `kubectl apply --server-side` of a small Deployment: the FieldsV1 upstream writes
    /// (labels without ".", the port keyed with its defaulted protocol).
    @Test func createByApplyRecordsUpstreamFieldsV1() throws {
        let created = try apply(Self.deployment, to: nil, "kubectl", type: "apps/v1.Deployment")
        #expect(entries(created).count == 1)
        let e = try #require(entry(created, "kubectl"))
        #expect(e["apiVersion"] == "apps/v1")
        #expect(e["time"] == .string(Self.t1))
        #expect(e["fieldsType"] == "FieldsV1")
        #expect(e.objectValue?.keys == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"])
        #expect(fields(created, "kubectl") == #"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#)
        #expect(ServerSideApply.removingManagedFields(created) == (try json(Self.deployment)))
    }

    @Test func reapplyingTheSameConfigurationChangesNothing() throws {
        let created = try apply(Self.deployment, to: nil, "kubectl", type: "apps/v1.Deployment")
        let again = try apply(Self.deployment, to: created, "kubectl", type: "apps/v1.Deployment", now: Self.t2)
        #expect(again == created)
        #expect(again.serializedString() == created.serializedString())
    }

    /// A second manager applying identical values co-owns them; the object does not change,
    /// so, as upstream, its entry gets no time.
    @Test func identicalApplyBySecondManagerCoOwns() throws {
        let created = try apply(Self.deployment, to: nil, "a", type: "apps/v1.Deployment")
        let shared = try apply(Self.deployment, to: created, "b", type: "apps/v1.Deployment", now: Self.t2)
        #expect(fields(shared, "a") == fields(shared, "b"))
        #expect(entry(shared, "b")?["time"] == nil)
        #expect(ServerSideApply.removingManagedFields(shared) == ServerSideApply.removingManagedFields(created))
    }

    struct UnsetCase: Sendable, CustomStringConvertible {
        var description: String
        var coOwners: [String]
        var replicasAfter: JSON?
        var hostnameAfter: JSON?
    }

    static let unsetCases: [UnsetCase] = [
        UnsetCase(description: "exclusively owned fields are removed", coOwners: [], replicasAfter: nil, hostnameAfter: nil),
        UnsetCase(description: "shared fields stay", coOwners: ["shared_owner_2"], replicasAfter: 3, hostnameAfter: "test-hostname"),
    ]

    /// TestApplyUnsetExclusivelyOwnedFields / TestApplyUnsetSharedFields.
    @Test(arguments: unsetCases)
    func applyRemovesFieldsItNoLongerSpecifies(_ c: UnsetCase) throws {
        let full = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"app":"nginx"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"nginx"}},"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"hostname":"test-hostname","containers":[{"name":"nginx","image":"nginx:latest"}]}}}}"#
        let reduced = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"app":"nginx"}},"spec":{"selector":{"matchLabels":{"app":"nginx"}},"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx:latest"}]}}}}"#
        var object = try apply(full, to: nil, "shared_owner_1", type: "apps/v1.Deployment")
        for owner in c.coOwners { object = try apply(full, to: object, owner, type: "apps/v1.Deployment", now: Self.t2) }
        object = try apply(reduced, to: object, "shared_owner_1", type: "apps/v1.Deployment", now: Self.t3)
        #expect(object[path: ["spec", "replicas"]] == c.replicasAfter)
        #expect(object[path: ["spec", "template", "spec", "hostname"]] == c.hostnameAfter)
        #expect(object[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.count == 1)
        #expect(fields(object, "shared_owner_1")?.contains("f:replicas") == false)
    }

    /// TestApplyCanTransferFieldOwnershipToController: a controller that updated a field
    /// owns it, so the applier dropping it leaves the controller's value.
    @Test func fieldTakenByAnUpdaterSurvivesItsApplierDroppingIt() throws {
        let created = try apply(Self.deployment, to: nil, "test_applier", type: "apps/v1.Deployment")
        var scaled = created
        scaled[path: ["spec", "replicas"]] = 4
        let updated = ServerSideApply.update(scaled, from: created, manager: "test_updater", subresource: nil,
                                             type: "apps/v1.Deployment", schema: schema, now: Self.t2)
        #expect(fields(updated, "test_updater", "Update") == #"{"f:spec":{"f:replicas":{}}}"#)
        let withoutReplicas = Self.deployment.replacing(#""replicas":3,"#, with: "")
        let applied = try apply(withoutReplicas, to: updated, "test_applier", type: "apps/v1.Deployment", now: Self.t3)
        #expect(applied[path: ["spec", "replicas"]] == 4)
    }

    /// TestRenamingAppliedFieldManagers' first half: appliers of different fields coexist.
    @Test func appliersOfDifferentFieldsCoexist() throws {
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"just-a-pod","labels":{"a":"one"}},"spec":{"containers":[{"name":"test-container-a","image":"test-image-one"}]}}"#
        var object = try apply(pod, to: nil, "multi_manager_one", type: "core/v1.Pod")
        object = try apply(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"just-a-pod","labels":{"b":"two"}}}"#,
                           to: object, "multi_manager_two", type: "core/v1.Pod", now: Self.t2)
        #expect(object[path: ["metadata", "labels"]] == ["a": "one", "b": "two"])
        #expect(fields(object, "multi_manager_two") == #"{"f:metadata":{"f:labels":{"f:b":{}}}}"#)
        #expect(fields(object, "multi_manager_one")?.contains(#""f:a":{}"#) == true)
        #expect(entries(object).map { $0["manager"] } == ["multi_manager_one", "multi_manager_two"])
    }

    struct MergeCase: Sendable, CustomStringConvertible {
        var description: String
        var live: [String]
        var applied: [String]
        var merged: [String]
    }

    /// Upstream's list-map ordering: live order kept, applied items where the applied list
    /// puts them.
    static let mergeCases: [MergeCase] = [
        MergeCase(description: "new item appended", live: ["a", "b"], applied: ["b", "c"], merged: ["a", "b", "c"]),
        MergeCase(description: "shared items follow the applied order", live: ["a", "b", "c"], applied: ["c", "a"], merged: ["b", "c", "a"]),
        MergeCase(description: "new item between shared ones", live: ["a", "b"], applied: ["a", "x", "b"], merged: ["a", "x", "b"]),
    ]

    @Test(arguments: mergeCases)
    func containersMergeByName(_ c: MergeCase) throws {
        func pod(_ names: [String], image: String) -> String {
            let containers = names.map { #"{"name":"\#($0)","image":"\#(image)"}"# }.joined(separator: ",")
            return #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[\#(containers)]}}"#
        }
        var live = try json(pod(c.live, image: "old"))
        live[path: ["spec", "containers"]] = .array((live[path: ["spec", "containers"]]?.arrayValue ?? []).map { item in
            var item = item
            item["terminationMessagePath"] = "/dev/termination-log"
            return item
        })
        live = ServerSideApply.update(live, from: nil, manager: "creator", subresource: nil, type: "core/v1.Pod", schema: schema, now: Self.t1)
        let merged = try apply(pod(c.applied, image: "new"), to: live, "applier", force: true, type: "core/v1.Pod", now: Self.t2)
        let containers = merged[path: ["spec", "containers"]]?.arrayValue ?? []
        #expect(containers.compactMap { $0["name"]?.stringValue } == c.merged)
        for container in containers {
            let applied = c.applied.contains(container["name"]?.stringValue ?? "")
            #expect(container["image"] == (applied ? "new" : "old"))
            // Fields the applier did not send survive the merge.
            let wasLive = c.live.contains(container["name"]?.stringValue ?? "")
            #expect(container["terminationMessagePath"] == (wasLive ? "/dev/termination-log" : nil))
        }
    }

    // MARK: Upstream's duplicates test

    static let daemonSet = #"""
    {"apiVersion":"apps/v1","kind":"DaemonSet",
     "metadata":{"name":"example-daemonset","namespace":"default","labels":{"app":"example"},
       "annotations":{"deprecated.daemonset.template.generation":"1"}},
     "spec":{"selector":{"matchLabels":{"app":"example"}},
       "template":{"metadata":{"labels":{"app":"example"}},
         "spec":{"containers":[{"name":"nginx","image":"nginx",
             "ports":[{"name":"port0","containerPort":1,"protocol":"TCP"},{"name":"port1","containerPort":80,"protocol":"TCP"},
                      {"name":"port2","containerPort":80,"protocol":"TCP"}],
             "env":[{"name":"ENV0","value":"/env0value"},{"name":"PATH","value":"/bin"},{"name":"PATH","value":"$PATH:/usr/bin"}],
             "resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"Always"}],
           "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},
           "schedulerName":"default-scheduler"}},
       "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}},
       "revisionHistoryLimit":10},
     "status":{"currentNumberScheduled":0,"numberMisscheduled":0,"desiredNumberScheduled":0,"numberReady":0}}
    """#

    static let createFieldsV1 = #"{"f:metadata":{"f:annotations":{".":{},"f:deprecated.daemonset.template.generation":{}},"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:revisionHistoryLimit":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{".":{},"k:{\"name\":\"ENV0\"}":{".":{},"f:name":{},"f:value":{}},"k:{\"name\":\"PATH\"}":{}},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":1,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{},"f:protocol":{}},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{}},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}},"f:updateStrategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}}}}"#

    static let firstApply = #"""
    {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"example-daemonset","labels":{"app":"example"}},
     "spec":{"selector":{"matchLabels":{"app":"example"}},"template":{"spec":{"containers":[{"name":"nginx","image":"nginx",
       "ports":[{"name":"port3","containerPort":443}],"env":[{"name":"HOME","value":"/usr/home"}]}]}}}}
    """#

    static let firstApplyFieldsV1 = #"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{"k:{\"name\":\"HOME\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":443,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{}}}}}}}}}"#

    /// TestDuplicatesInAssociativeLists, step by step: creation (duplicates owned whole,
    /// value structs without ".", pointers with it), an additive apply, an update that
    /// rewrites the duplicates, and a forced apply that replaces them.
    @Test func duplicatesInAssociativeListsAsUpstream() throws {
        let type = "apps/v1.DaemonSet"
        let created = ServerSideApply.update(try json(Self.daemonSet), from: nil, manager: "create", subresource: nil,
                                             type: type, schema: schema, now: Self.t1)
        #expect(fields(created, "create", "Update") == Self.createFieldsV1)

        var applied = try apply(Self.firstApply, to: created, "apply", type: type, now: Self.t2)
        #expect(fields(applied, "apply") == Self.firstApplyFieldsV1)
        #expect(fields(applied, "create", "Update") == Self.createFieldsV1)
        let ports = applied[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["ports"]?.arrayValue ?? []
        #expect(ports.compactMap { $0["name"]?.stringValue } == ["port0", "port1", "port2", "port3"])
        let env = applied[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["env"]?.arrayValue ?? []
        #expect(env.count == 4)

        // Defaulting fills the new port's protocol; then a PUT renames the duplicates.
        var containers = applied[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
        containers[0]["ports"] = try json(#"[{"name":"port0","containerPort":1,"protocol":"TCP"},{"name":"port1","containerPort":80,"protocol":"TCP"},{"name":"port2","containerPort":80,"protocol":"TCP"},{"name":"port3","containerPort":443,"protocol":"TCP"}]"#)
        applied[path: ["spec", "template", "spec", "containers"]] = .array(containers)
        var put = ServerSideApply.removingManagedFields(applied)
        containers[0]["ports"] = try json(#"[{"name":"port0","containerPort":1,"protocol":"TCP"},{"name":"port3","containerPort":443,"protocol":"TCP"},{"name":"port4","containerPort":80,"protocol":"TCP"},{"name":"port5","containerPort":80,"protocol":"TCP"}]"#)
        containers[0]["env"] = try json(#"[{"name":"ENV0","value":"/env0value"},{"name":"PATH","value":"/bin"},{"name":"PATH","value":"$PATH:/usr/bin:/usr/local/bin"},{"name":"HOME","value":"/usr/home"}]"#)
        put[path: ["spec", "template", "spec", "containers"]] = .array(containers)
        put[path: ["metadata", "annotations", "deprecated.daemonset.template.generation"]] = "2"
        let updated = ServerSideApply.update(put, from: applied, manager: "update", subresource: nil, type: type, schema: schema, now: Self.t3)
        #expect(entries(updated).compactMap { $0["manager"]?.stringValue } == ["apply", "create", "update"])
        #expect(fields(updated, "apply") == Self.firstApplyFieldsV1)
        let createAfterPut = #"{"f:metadata":{"f:annotations":{},"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:revisionHistoryLimit":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{".":{},"k:{\"name\":\"ENV0\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":1,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{},"f:protocol":{}}},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}},"f:updateStrategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}}}}"#
        #expect(fields(updated, "create", "Update") == createAfterPut)
        #expect(fields(updated, "update", "Update") == #"{"f:metadata":{"f:annotations":{"f:deprecated.daemonset.template.generation":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{"f:env":{"k:{\"name\":\"PATH\"}":{}},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{}}}}}}}}"#)

        let replacing = #"{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"example-daemonset","labels":{"app":"example"}},"spec":{"selector":{"matchLabels":{"app":"example"}},"template":{"spec":{"containers":[{"name":"nginx","image":"nginx","ports":[{"name":"port80","containerPort":80}],"env":[{"name":"PATH","value":"/bin:/usr/bin:/usr/local/bin"}]}]}}}}"#
        let forced = try apply(replacing, to: updated, "apply", force: true, type: type, now: Self.t4)
        let final = forced[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first
        #expect(final?["env"] == (try json(#"[{"name":"ENV0","value":"/env0value"},{"name":"PATH","value":"/bin:/usr/bin:/usr/local/bin"}]"#)))
        #expect(final?["ports"] == (try json(#"[{"name":"port0","containerPort":1,"protocol":"TCP"},{"name":"port80","containerPort":80}]"#)))
        #expect(fields(forced, "apply") == #"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:env":{"k:{\"name\":\"PATH\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{}}}}}}}}}"#)
        #expect(fields(forced, "create", "Update") == createAfterPut)
        #expect(fields(forced, "update", "Update") == #"{"f:metadata":{"f:annotations":{"f:deprecated.daemonset.template.generation":{}}}}"#)
    }

    /// TestApplyRemoveContainerPort: the only port dropped from the configuration goes,
    /// and with it the emptied list.
    @Test func applyRemovesTheLastListItem() throws {
        let withPort = Self.deployment
        let withoutPort = Self.deployment.replacing(#","ports":[{"containerPort":80}]"#, with: "")
        let created = try apply(withPort, to: nil, "apply_test", type: "apps/v1.Deployment")
        let applied = try apply(withoutPort, to: created, "apply_test", type: "apps/v1.Deployment", now: Self.t2)
        #expect(applied[path: ["spec", "template", "spec", "containers"]] == (try json(#"[{"name":"nginx","image":"nginx:1.14.2"}]"#)))
        #expect(fields(applied, "apply_test")?.contains("f:ports") == false)
    }

    /// TestApplyRemovesEmptyManagedFields: an apply of nothing but identity owns nothing.
    @Test func applyOfIdentityOnlyLeavesNoEntry() throws {
        let cm = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"test-cm","namespace":"default"}}"#
        let created = try apply(cm, to: nil, "apply_test", type: "core/v1.ConfigMap")
        let again = try apply(cm, to: created, "apply_test", type: "core/v1.ConfigMap", now: Self.t2)
        #expect(created[path: ["metadata", "managedFields"]] == nil)
        #expect(again == created)
    }

    /// What Go would not see changing owns nothing: zero values of omitempty fields,
    /// quantities in another notation, null value structs.
    @Test func updatesCompareAsGoWouldStore() throws {
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"memory":"2Gi"}}}]}}"#
        let created = ServerSideApply.update(try json(pod), from: nil, manager: "creator", subresource: nil, type: "core/v1.Pod", schema: schema, now: Self.t1)
        var same = created
        same[path: ["spec", "hostNetwork"]] = false
        same[path: ["spec", "nodeName"]] = ""
        same[path: ["spec", "containers"]] = try json(#"[{"name":"c","image":"i","resources":{"limits":{"memory":"2048Mi"}},"args":[]}]"#)
        let updated = ServerSideApply.update(same, from: created, manager: "editor", subresource: nil, type: "core/v1.Pod", schema: schema, now: Self.t2)
        #expect(entries(updated).map { $0["manager"] } == ["creator"])
    }

    // MARK: Small schemas and custom resources

    static let widgetSchema = """
        package x/v1
        type Widget object
          metadata meta/v1.ObjectMeta 1
          spec WidgetSpec 2
        type WidgetSpec
          selector Selector 1
          tags []string 2 merge
          items []Item 3 map=name
          args []string 4
          labels map[string]string 5
        type Selector atomic
          a string 1
          b string 2
        type Item
          name string 1
          value string 2
        package meta/v1
        type ObjectMeta
          name string 1
          labels map[string]string 2
          finalizers []string 3 merge set
          managedFields []ManagedFieldsEntry 4 atomic
        type ManagedFieldsEntry
          manager string 1
        type ListMeta
          resourceVersion string 1
        """

    struct WidgetCase: Sendable, CustomStringConvertible {
        var description: String
        /// (manager, force, spec) applied in turn.
        var steps: [(String, Bool, String)]
        var spec: String
        var fields: [String: String]
        var conflict: String? = nil
    }

    static let widgetCases: [WidgetCase] = [
        WidgetCase(description: "an atomic struct is replaced whole",
                   steps: [("a", false, #"{"selector":{"a":"1","b":"2"}}"#), ("b", true, #"{"selector":{"a":"1"}}"#)],
                   spec: #"{"selector":{"a":"1"}}"#, fields: ["b": #"{"f:spec":{"f:selector":{}}}"#]),
        WidgetCase(description: "sets merge by value and prune what the applier dropped",
                   steps: [("a", false, #"{"tags":["x","y"]}"#), ("b", false, #"{"tags":["z"]}"#), ("a", false, #"{"tags":["x"]}"#)],
                   spec: #"{"tags":["x","z"]}"#,
                   fields: ["a": #"{"f:spec":{"f:tags":{"v:\"x\"":{}}}}"#, "b": #"{"f:spec":{"f:tags":{"v:\"z\"":{}}}}"#]),
        WidgetCase(description: "a list without a strategy is atomic",
                   steps: [("a", false, #"{"args":["1"]}"#), ("b", false, #"{"args":["2"]}"#)],
                   spec: #"{"args":["1"]}"#, fields: ["a": #"{"f:spec":{"f:args":{}}}"#],
                   conflict: #"Apply failed with 1 conflict: conflict with "a": .spec.args"#),
        WidgetCase(description: "list-map items of two appliers",
                   steps: [("a", false, #"{"items":[{"name":"i","value":"1"}]}"#), ("b", false, #"{"items":[{"name":"j"}]}"#)],
                   spec: #"{"items":[{"name":"i","value":"1"},{"name":"j"}]}"#,
                   fields: ["a": #"{"f:spec":{"f:items":{"k:{\"name\":\"i\"}":{".":{},"f:name":{},"f:value":{}}}}}"#,
                            "b": #"{"f:spec":{"f:items":{"k:{\"name\":\"j\"}":{".":{},"f:name":{}}}}}"#]),
        WidgetCase(description: "map entries of two appliers",
                   steps: [("a", false, #"{"labels":{"x":"1"}}"#), ("b", false, #"{"labels":{"y":"2"}}"#), ("a", false, #"{}"#)],
                   spec: #"{"labels":{"y":"2"}}"#, fields: ["b": #"{"f:spec":{"f:labels":{"f:y":{}}}}"#]),
    ]

    @Test(arguments: widgetCases)
    func widgetSchemaMerges(_ c: WidgetCase) throws {
        let schema = try APISchema(sources: [Self.widgetSchema])
        var object: JSON?
        var lastError: APIError?
        for (i, (manager, force, spec)) in c.steps.enumerated() {
            let config = try json(#"{"apiVersion":"x/v1","kind":"Widget","metadata":{"name":"w"},"spec":\#(spec)}"#)
            do {
                object = try ServerSideApply.apply(config, to: object, manager: manager, force: force, type: "x/v1.Widget",
                                                   schema: schema, now: "2024-01-01T00:00:0\(i)Z")
            } catch {
                lastError = error
            }
        }
        let result = try #require(object)
        #expect(result["spec"] == (try json(c.spec)))
        for (manager, expected) in c.fields { #expect(fields(result, manager) == expected) }
        #expect(lastError?.message == c.conflict)
    }

    /// Without a schema (custom resources) lists are atomic and maps granular, except the
    /// typed metadata.
    @Test func customResourcesAreDeduced() throws {
        let config = #"{"apiVersion":"example.com/v1","kind":"Foo","metadata":{"name":"x","finalizers":["a"]},"spec":{"list":[1,2],"map":{"a":1}}}"#
        let created = try apply(config, to: nil, "a", type: nil)
        #expect(fields(created, "a") == #"{"f:metadata":{"f:finalizers":{"v:\"a\"":{}}},"f:spec":{".":{},"f:list":{},"f:map":{".":{},"f:a":{}}}}"#)
        let second = try apply(#"{"apiVersion":"example.com/v1","kind":"Foo","metadata":{"name":"x"},"spec":{"map":{"b":2}}}"#,
                               to: created, "b", type: nil, now: Self.t2)
        #expect(second["spec"] == (try json(#"{"list":[1,2],"map":{"a":1,"b":2}}"#)))
        let error = try #require(conflict {
            try apply(#"{"apiVersion":"example.com/v1","kind":"Foo","metadata":{"name":"x"},"spec":{"list":[3]}}"#, to: second, "b", type: nil, now: Self.t3)
        })
        #expect(error.causes.map(\.field) == [".spec.list"])
    }

    /// TestDroppingSubresourceField: one manager's applies to the object and to /status are
    /// separate entries.
    @Test func applyToStatusIsItsOwnEntry() throws {
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"just-a-pod"},"spec":{"containers":[{"name":"test-container-a","image":"test-image-one"}]}}"#
        var object = try apply(pod, to: nil, "first", type: "core/v1.Pod")
        object = try apply(#"{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"one"}}}"#, to: object, "label_manager", type: "core/v1.Pod", now: Self.t2)
        object = try ServerSideApply.apply(try json(#"{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"b":"two"}},"spec":{"nodeName":"n"}}"#),
                                           to: object, manager: "label_manager", force: false, type: "core/v1.Pod", schema: schema,
                                           now: Self.t2, subresource: "status")
        let list = entries(object)
        #expect(list.map { $0["manager"] } == ["first", "label_manager", "label_manager"])
        #expect(list.map { $0["subresource"] } == [nil, nil, "status"])
        // spec is not the status subresource's to own.
        #expect(list[2]["fieldsV1"]?.serializedString() == #"{"f:metadata":{"f:labels":{"f:b":{}}}}"#)
    }

    /// TestApplyConvertsManagedFieldsVersion: entries a client sends on create are kept
    /// for fields the object does not have; an apply moves the applier to the served version.
    @Test func createKeepsSentEntriesForAbsentFields() throws {
        var object = try json(Self.deployment)
        object[path: ["metadata", "managedFields"]] = try json(#"""
            [{"manager":"sidecar_controller","operation":"Apply","apiVersion":"extensions/v1beta1","fieldsType":"FieldsV1",
              "fieldsV1":{"f:metadata":{"f:labels":{"f:sidecar_version":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{}}}}}}}}]
            """#)
        let created = ServerSideApply.update(object, from: nil, manager: "creator", subresource: nil, type: "apps/v1.Deployment", schema: schema, now: Self.t1)
        #expect(entries(created).map { $0["manager"] } == ["sidecar_controller", "creator"])
        let sidecar = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx","labels":{"sidecar_version":"release"}},"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"sidecar:latest"}]}}}}"#
        let applied = try apply(sidecar, to: created, "sidecar_controller", type: "apps/v1.Deployment", now: Self.t2)
        #expect(entries(applied).count == 2)
        #expect(entry(applied, "sidecar_controller")?["apiVersion"] == "apps/v1")
        #expect(fields(applied, "sidecar_controller") == #"{"f:metadata":{"f:labels":{"f:sidecar_version":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#)
    }

    /// TestApplyAlsoCreates: a second manager applying what a Service already holds
    /// (ports keyed by port and protocol) does not conflict.
    @Test func serviceReappliedByAnotherManager() throws {
        let svc = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"test-svc"},"spec":{"ports":[{"port":8080,"protocol":"UDP"}]}}"#
        let created = try apply(svc, to: nil, "apply_test", type: "core/v1.Service")
        #expect(fields(created, "apply_test") == #"{"f:spec":{"f:ports":{"k:{\"port\":8080,\"protocol\":\"UDP\"}":{".":{},"f:port":{},"f:protocol":{}}}}}"#)
        let again = try apply(svc, to: created, "apply_test_2", type: "core/v1.Service", now: Self.t2)
        #expect(entries(again).count == 2)
    }

    // MARK: Conflicts

    /// A field kubectl's client-side apply set, applied with another value by another
    /// manager: 409 in upstream's shape, then force takes it over.
    @Test func conflictWithClientSideApplyThenForce() throws {
        var live = try json(Self.deployment)
        live = ServerSideApply.update(live, from: nil, manager: "kubectl-client-side-apply", subresource: nil,
                                      type: "apps/v1.Deployment", schema: schema, now: Self.t1)
        let changed = Self.deployment.replacing(#""replicas":3"#, with: #""replicas":5"#)
        let error = try #require(conflict { try apply(changed, to: live, "apply_test", type: "apps/v1.Deployment", now: Self.t2) })
        #expect(error.code == 409)
        #expect(error.reason == "Conflict")
        #expect(error.message == #"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#)
        #expect(error.causes == [APIError.Cause(type: "FieldManagerConflict", message: #"conflict with "kubectl-client-side-apply" using apps/v1"#, field: ".spec.replicas")])
        #expect(error.name == nil && error.kind == nil)

        let forced = try apply(changed, to: live, "apply_test", force: true, type: "apps/v1.Deployment", now: Self.t2)
        #expect(forced[path: ["spec", "replicas"]] == 5)
        #expect(fields(forced, "kubectl-client-side-apply", "Update")?.contains("f:replicas") == false)
        #expect(fields(forced, "apply_test")?.contains("f:replicas") == true)
        #expect(entries(forced).map { $0["operation"] } == ["Apply", "Update"])
    }

    @Test func severalConflictsAreGroupedByManager() throws {
        var live = try json(Self.deployment)
        live = ServerSideApply.update(live, from: nil, manager: "creator", subresource: nil,
                                      type: "apps/v1.Deployment", schema: schema, now: Self.t1)
        let changed = Self.deployment
            .replacing(#""replicas":3"#, with: #""replicas":5"#)
            .replacing("nginx:1.14.2", with: "nginx:1.25")
        let error = try #require(conflict { try apply(changed, to: live, "applier", type: "apps/v1.Deployment") })
        #expect(error.message == """
            Apply failed with 2 conflicts: conflicts with "creator" using apps/v1:
            - .spec.replicas
            - .spec.template.spec.containers[name="nginx"].image
            """)
        #expect(error.causes.map(\.field) == [".spec.replicas", #".spec.template.spec.containers[name="nginx"].image"#])
    }

    /// TestDefaultMissingKeys: an item keyed by a defaulted key is the same item.
    @Test func defaultedKeyMatchesExplicitKey() throws {
        let first = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"app":"nginx"}},"spec":{"selector":{"matchLabels":{"app":"nginx"}},"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx:latest","ports":[{"name":"foo","containerPort":80}]}]}}}}"#
        var live = try apply(first, to: nil, "test_applier", type: "apps/v1.Deployment")
        // What defaulting adds after the apply.
        live[path: ["spec", "template", "spec", "containers"]] = try json(#"[{"name":"nginx","image":"nginx:latest","ports":[{"name":"foo","containerPort":80,"protocol":"TCP"}]}]"#)
        let second = first.replacing(#"{"name":"foo","containerPort":80}"#, with: #"{"name":"bar","containerPort":80,"protocol":"TCP"}"#)
        let error = try #require(conflict { try apply(second, to: live, "test_applier_conflict", type: "apps/v1.Deployment") })
        #expect(error.causes.map(\.field) == [#".spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"].name"#])
    }

    /// TestUpgradeClientSideToServerSideApply: kubectl may take over fields its
    /// last-applied annotation still matches, not those changed since.
    @Test func kubectlUpgradesFromClientSideApply() throws {
        let lastApplied = #"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"my-deployment","labels":{"app":"my-app"}},"spec":{"replicas": 3,"template":{"metadata":{"labels":{"app":"my-app"}},"spec":{"containers":[{"name":"my-c","image":"my-image"}]}}}}"#
        var live = try json(#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"my-deployment","annotations":{},"labels":{"app":"my-app"}},"spec":{"replicas":100000,"selector":{"matchLabels":{"app":"my-app"}},"template":{"metadata":{"labels":{"app":"my-app"}},"spec":{"containers":[{"name":"my-c","image":"my-image"}]}}}}"#)
        live[path: ["metadata", "annotations", ServerSideApply.lastAppliedAnnotation]] = .string(lastApplied)
        live = ServerSideApply.update(live, from: nil, manager: "kubectl-client-side-apply", subresource: nil,
                                      type: "apps/v1.Deployment", schema: schema, now: Self.t1)
        let withReplicas = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"my-deployment","labels":{"app":"my-new-label"}},"spec":{"replicas":3,"template":{"metadata":{"labels":{"app":"my-app"}},"spec":{"containers":[{"name":"my-c","image":"my-image"}]}}}}"#
        let error = try #require(conflict { try apply(withReplicas, to: live, "kubectl", type: "apps/v1.Deployment", now: Self.t2) })
        #expect(error.causes.map(\.field) == [".spec.replicas"])

        let withoutReplicas = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"my-deployment","labels":{"app":"my-new-label"}},"spec":{"template":{"metadata":{"labels":{"app":"my-app"}},"spec":{"containers":[{"name":"my-c","image":"my-image-new"}]}}}}"#
        let applied = try apply(withoutReplicas, to: live, "kubectl", type: "apps/v1.Deployment", now: Self.t2)
        #expect(applied[path: ["spec", "replicas"]] == 100000)
        #expect(applied[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["image"] == "my-image-new")
        #expect(applied[path: ["metadata", "labels", "app"]] == "my-new-label")
        // The annotation now holds what kubectl applied.
        let annotation = try #require(applied[path: ["metadata", "annotations", ServerSideApply.lastAppliedAnnotation]]?.stringValue)
        #expect(try JSON.parse(annotation) == (try json(withoutReplicas)))
        // Another manager gets no such pass.
        #expect(conflict { try apply(withoutReplicas, to: live, "other", type: "apps/v1.Deployment", now: Self.t2) }?.code == 409)
    }

    /// skipNonAppliedManager: fields of an object nobody tracked belong to
    /// "before-first-apply", so the first apply conflicts on values it changes.
    @Test func firstApplyToUntrackedObjectConflicts() throws {
        let live = try json(Self.deployment)
        let changed = Self.deployment.replacing(#""replicas":3"#, with: #""replicas":5"#)
        let error = try #require(conflict { try apply(changed, to: live, "applier", type: "apps/v1.Deployment") })
        #expect(error.message == #"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#)
        let applied = try apply(Self.deployment, to: live, "applier", type: "apps/v1.Deployment")
        #expect(entries(applied).map { $0["manager"] } == ["applier", "before-first-apply"])
    }

    // MARK: Apply errors

    struct ErrorCase: Sendable, CustomStringConvertible {
        var description: String
        var config: String
        var code: Int
        var message: String
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(description: "managedFields in the configuration",
                  config: #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx","managedFields":[]}}"#,
                  code: 400, message: "metadata.managedFields must be nil"),
        ErrorCase(description: "another version",
                  config: #"{"apiVersion":"extensions/v1beta","kind":"Deployment","metadata":{"name":"nginx"}}"#,
                  code: 400, message: "invalid object type: extensions/v1beta, Kind=Deployment"),
        ErrorCase(description: "duplicate list-map items",
                  config: #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx"},"spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"a"}]}}}}"#,
                  code: 500, message: #"failed to create typed patch object (/nginx; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="a"]"#),
        ErrorCase(description: "undeclared field",
                  config: #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx"},"spec":{"replicaz":1}}"#,
                  code: 500, message: "failed to create typed patch object (/nginx; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema"),
        ErrorCase(description: "wrong scalar type",
                  config: #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx"},"spec":{"replicas":"3"}}"#,
                  code: 500, message: "failed to create typed patch object (/nginx; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string"),
        ErrorCase(description: "item without its key",
                  config: #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"nginx"},"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#,
                  code: 500, message: #"failed to create typed patch object (/nginx; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits all key fields ["name"] (and doesn't have default values for any key fields)"#),
    ]

    @Test(arguments: errorCases)
    func applyRejects(_ c: ErrorCase) throws {
        let live = try apply(Self.deployment, to: nil, "kubectl", type: "apps/v1.Deployment")
        let error = try #require(conflict { try apply(c.config, to: live, "kubectl", type: "apps/v1.Deployment") })
        #expect(error.code == c.code)
        #expect(error.message == c.message)
        #expect(error.reason == (c.code == 400 ? "BadRequest" : ""))
    }

    // MARK: Updates

    /// TestApplyManagedFields: an applier's field changed by an updater moves to it; two
    /// updates by one manager share an entry with the later time.
    @Test func updatesTakeChangedFields() throws {
        let cm = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"test-cm","namespace":"default","labels":{"test-label":"test"}},"data":{"key":"value"}}"#
        let created = try apply(cm, to: nil, "apply_test", type: "core/v1.ConfigMap")
        var next = created
        next[path: ["data", "new-key"]] = "value"
        let first = ServerSideApply.update(next, from: created, manager: "updater", subresource: nil, type: "core/v1.ConfigMap", schema: schema, now: Self.t2)
        next = first
        next[path: ["data", "key"]] = "new value"
        let second = ServerSideApply.update(next, from: first, manager: "updater", subresource: nil, type: "core/v1.ConfigMap", schema: schema, now: Self.t3)
        #expect(second[path: ["metadata", "managedFields"]] == (try json("""
            [{"manager":"apply_test","operation":"Apply","apiVersion":"v1","time":"\(Self.t1)","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:test-label":{}}}}},
             {"manager":"updater","operation":"Update","apiVersion":"v1","time":"\(Self.t3)","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:key":{},"f:new-key":{}}}}]
            """)))
        #expect(second[path: ["data"]] == ["key": "new value", "new-key": "value"])
    }

    struct BookkeepingCase: Sendable, CustomStringConvertible {
        var description: String
        /// managedFields the stored object has (nil: none).
        var stored: String?
        /// managedFields the client sends (nil: none).
        var sent: String?
        var subresource: String?
        /// What the update changes.
        var change: [String]
        var expected: String?
    }

    static let storedEntries = #"[{"manager":"apply_test","operation":"Apply","apiVersion":"v1","time":"2024-01-01T00:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}}]"#

    static let bookkeepingCases: [BookkeepingCase] = [
        BookkeepingCase(description: "untracked object stays untracked", stored: nil, sent: nil, subresource: nil, change: ["data", "b"], expected: nil),
        BookkeepingCase(description: "an empty list resets", stored: storedEntries, sent: "[]", subresource: nil, change: ["data", "b"], expected: nil),
        BookkeepingCase(description: "one empty entry resets", stored: storedEntries, sent: "[{}]", subresource: nil, change: ["data", "b"], expected: nil),
        BookkeepingCase(description: "sent entries replace stored ones", stored: storedEntries,
                        sent: #"[{"manager":"renamed","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}}]"#,
                        subresource: nil, change: ["data", "b"],
                        expected: #"[{"manager":"renamed","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}},{"manager":"editor","operation":"Update","apiVersion":"v1","time":"2024-01-01T00:00:02Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:b":{}}}}]"#),
        BookkeepingCase(description: "invalid sent entries fall back to stored ones", stored: storedEntries,
                        sent: #"[{"manager":"x","operation":"Apply","apiVersion":"v1","fieldsType":"","fieldsV1":{}}]"#,
                        subresource: nil, change: ["data", "b"],
                        expected: #"[{"manager":"apply_test","operation":"Apply","apiVersion":"v1","time":"2024-01-01T00:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}},{"manager":"editor","operation":"Update","apiVersion":"v1","time":"2024-01-01T00:00:02Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:b":{}}}}]"#),
        BookkeepingCase(description: "a subresource ignores sent entries", stored: storedEntries, sent: "[]", subresource: "status", change: ["data", "b"],
                        expected: #"[{"manager":"apply_test","operation":"Apply","apiVersion":"v1","time":"2024-01-01T00:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}},{"manager":"editor","operation":"Update","apiVersion":"v1","time":"2024-01-01T00:00:02Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:b":{}}},"subresource":"status"}]"#),
        BookkeepingCase(description: "no change, no new entry", stored: storedEntries, sent: nil, subresource: nil, change: [], expected: storedEntries),
    ]

    @Test(arguments: bookkeepingCases)
    func updateBookkeeping(_ c: BookkeepingCase) throws {
        var old = try json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"a":"1"}}"#)
        if let stored = c.stored { old[path: ["metadata", "managedFields"]] = try json(stored) }
        var new = ServerSideApply.removingManagedFields(old)
        if let sent = c.sent { new[path: ["metadata", "managedFields"]] = try json(sent) }
        if !c.change.isEmpty { new[path: c.change] = "2" }
        let result = ServerSideApply.update(new, from: old, manager: "editor", subresource: c.subresource,
                                            type: "core/v1.ConfigMap", schema: schema, now: Self.t2)
        #expect(result[path: ["metadata", "managedFields"]] == (try c.expected.map(json)))
        #expect(ServerSideApply.removingManagedFields(result) == ServerSideApply.removingManagedFields(new))
    }

    /// Creating an object gives the creator everything it set except what the system owns.
    @Test func createGivesTheCreatorAnUpdateEntry() throws {
        let cm = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"default","uid":"u","resourceVersion":"1","generation":1,"creationTimestamp":"2024-01-01T00:00:00Z","labels":{"a":"b"}},"data":{"k":"v"}}"#
        let created = ServerSideApply.update(try json(cm), from: nil, manager: "", subresource: nil, type: "core/v1.ConfigMap", schema: schema, now: Self.t1)
        #expect(created[path: ["metadata", "managedFields"]] == (try json("""
            [{"manager":"unknown","operation":"Update","apiVersion":"v1","time":"\(Self.t1)","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:k":{}},"f:metadata":{"f:labels":{".":{},"f:a":{}}}}}]
            """)))
    }

    struct ResetCase: Sendable, CustomStringConvertible {
        var description: String
        var type: String
        var subresource: String?
        var change: [String]
        var expected: String?
    }

    /// Reset fields: the main resource does not own status, /status does not own spec
    /// (Deployment's also not labels).
    static let resetCases: [ResetCase] = [
        ResetCase(description: "status via the main resource", type: "apps/v1.Deployment", subresource: nil, change: ["status", "replicas"], expected: nil),
        ResetCase(description: "status via /status", type: "apps/v1.Deployment", subresource: "status", change: ["status", "replicas"],
                  expected: #"{"f:status":{"f:replicas":{}}}"#),
        ResetCase(description: "spec via /status", type: "apps/v1.Deployment", subresource: "status", change: ["spec", "replicas"], expected: nil),
        ResetCase(description: "labels via Deployment /status", type: "apps/v1.Deployment", subresource: "status", change: ["metadata", "labels", "x"], expected: nil),
        ResetCase(description: "labels via Pod /status", type: "core/v1.Pod", subresource: "status", change: ["metadata", "labels", "x"],
                  expected: #"{"f:metadata":{"f:labels":{"f:x":{}}}}"#),
        ResetCase(description: "ownerReferences via Pod /status", type: "core/v1.Pod", subresource: "status",
                  change: ["metadata", "ownerReferences"], expected: nil),
        ResetCase(description: "spec via a Service", type: "core/v1.Service", subresource: nil, change: ["spec", "type"],
                  expected: #"{"f:spec":{"f:type":{}}}"#),
    ]

    @Test(arguments: resetCases)
    func resetFieldsAreNotOwned(_ c: ResetCase) throws {
        var old = try json(#"{"apiVersion":"v1","kind":"X","metadata":{"name":"x","labels":{"app":"a"}},"spec":{},"status":{}}"#)
        old = ServerSideApply.update(old, from: nil, manager: "creator", subresource: nil, type: c.type, schema: schema, now: Self.t1)
        var new = old
        new[path: c.change] = c.change.last == "ownerReferences"
            ? try json(#"[{"apiVersion":"v1","kind":"X","name":"o","uid":"1"}]"#)
            : (c.change.last == "replicas" ? 2 : "v")
        let result = ServerSideApply.update(new, from: old, manager: "editor", subresource: c.subresource, type: c.type, schema: schema, now: Self.t2)
        #expect(entries(result).first { $0["manager"] == "editor" }?["fieldsV1"]?.serializedString() == c.expected)
    }

    /// TestApplyGroupsManySeparateUpdates: past ten update entries the oldest merge into
    /// "ancient-changes".
    @Test func updateEntriesAreCappedAtTen() throws {
        var object = try apply(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","labels":{"applier":"true"}}}"#,
                               to: nil, "apply_test", type: "core/v1.ConfigMap")
        for i in 0..<20 {
            var next = object
            next[path: ["metadata", "labels", "updater\(i)"]] = "new"
            object = ServerSideApply.update(next, from: object, manager: "updater\(i)", subresource: nil, type: "core/v1.ConfigMap",
                                            schema: schema, now: "2024-01-01T00:01:\(i < 10 ? "0" : "")\(i)Z")
        }
        let managers = entries(object).compactMap { $0["manager"]?.stringValue }
        #expect(managers.count == 11)
        #expect(managers.prefix(2) == ["apply_test", "ancient-changes"])
        #expect(managers.last == "updater19")
        let ancient = try #require(fields(object, "ancient-changes", "Update"))
        #expect((0...10).allSatisfy { ancient.contains("f:updater\($0)\"") })
    }

    @Test func unchangedObjectKeepsOldTimestamps() throws {
        let old = try apply(Self.deployment, to: nil, "kubectl", type: "apps/v1.Deployment")
        var new = old
        var entriesWithNewTime = entries(old)
        entriesWithNewTime[0]["time"] = .string(Self.t4)
        new[path: ["metadata", "managedFields"]] = .array(entriesWithNewTime)
        #expect(ServerSideApply.keepingTimestamps(new, old: old) == old)
        new[path: ["spec", "replicas"]] = 4
        #expect(ServerSideApply.keepingTimestamps(new, old: old) == new)
    }

    static let userAgents: [(String?, String?, String)] = [
        ("kubectl-edit", "kubectl/v1.30.0 (linux/amd64)", "kubectl-edit"),
        (nil, "kubectl/v1.30.0 (linux/amd64) kubernetes/abc", "kubectl"),
        ("", "kube-controller-manager/v1.30.0", "kube-controller-manager"),
        (nil, "tab\there/1", "tabhere"),
        (nil, nil, ""),
    ]

    @Test(arguments: userAgents)
    func managerNames(_ fieldManager: String?, _ userAgent: String?, _ expected: String) {
        #expect(ServerSideApply.managerName(fieldManager: fieldManager, userAgent: userAgent) == expected)
    }
}

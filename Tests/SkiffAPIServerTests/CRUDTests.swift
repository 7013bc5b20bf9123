import SkiffAPI
import SkiffAPIServer
import SkiffCore
import Testing

@Suite struct CRUDTests {
    @Test func createGetListDelete() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let created = try await s.create("/api/v1/namespaces/default/pods", pod("a"))
        #expect(created[path: ["metadata", "uid"]]?.stringValue?.count == 36)
        #expect(created[path: ["metadata", "resourceVersion"]]?.stringValue != nil)
        #expect(created[path: ["metadata", "creationTimestamp"]]?.stringValue?.hasSuffix("Z") == true)
        // Defaults, as upstream fills them in.
        #expect(created[path: ["spec", "restartPolicy"]] == "Always")
        #expect(created[path: ["spec", "dnsPolicy"]] == "ClusterFirst")
        #expect(created[path: ["spec", "terminationGracePeriodSeconds"]] == 30)
        #expect(created[path: ["spec", "schedulerName"]] == "default-scheduler")
        #expect(created[path: ["spec", "containers"]]?.arrayValue?.first?["imagePullPolicy"] == "IfNotPresent")
        #expect(created[path: ["spec", "containers"]]?.arrayValue?.first?[path: ["ports"]]?.arrayValue?.first?["protocol"] == "TCP")
        #expect(created[path: ["status", "phase"]] == "Pending")
        #expect(created[path: ["status", "qosClass"]] == "BestEffort")

        let got = await s.request("GET", "/api/v1/namespaces/default/pods/a")
        #expect(got.status == 200)
        #expect(got.json == created)

        _ = try await s.create("/api/v1/namespaces/default/pods", pod("b", tier: "back"))
        let list = await s.request("GET", "/api/v1/namespaces/default/pods")
        #expect(list.json["kind"] == "PodList")
        #expect(list.json["items"]?.arrayValue?.compactMap { $0.name } == ["a", "b"])
        #expect(list.json[path: ["metadata", "resourceVersion"]]?.stringValue != nil)

        let deleted = await s.request("DELETE", "/api/v1/namespaces/default/pods/a", #"{"propagationPolicy":"Background"}"#)
        #expect(deleted.status == 200)
        #expect(deleted.json.name == "a")
        #expect(await s.request("GET", "/api/v1/namespaces/default/pods/a").status == 404)
    }

    @Test func errorsAreStatusObjects() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let missing = await s.request("GET", "/api/v1/namespaces/default/pods/nope")
        #expect(missing.status == 404)
        #expect(missing.json["kind"] == "Status")
        #expect(missing.json["reason"] == "NotFound")
        #expect(missing.json["message"] == #"pods "nope" not found"#)
        #expect(missing.json[path: ["details", "name"]] == "nope")

        let appsMissing = await s.request("GET", "/apis/apps/v1/namespaces/default/deployments/x")
        #expect(appsMissing.json["message"] == #"deployments.apps "x" not found"#)

        _ = try await s.create("/api/v1/namespaces/default/pods", pod("a"))
        let dup = await s.request("POST", "/api/v1/namespaces/default/pods", pod("a"))
        #expect(dup.status == 409)
        #expect(dup.json["reason"] == "AlreadyExists")

        let malformed = await s.request("POST", "/api/v1/namespaces/default/pods", "{not json")
        #expect(malformed.status == 400)
        #expect(malformed.json["reason"] == "BadRequest")

        let wrongKind = await s.request("POST", "/api/v1/namespaces/default/pods", #"{"kind":"Service","apiVersion":"v1","metadata":{"name":"x"}}"#)
        #expect(wrongKind.status == 400)

        let noNamespace = await s.request("POST", "/api/v1/namespaces/missing/pods", pod("a"))
        #expect(noNamespace.status == 404)
        #expect(noNamespace.json["message"] == #"namespaces "missing" not found"#)

        let badMedia = await s.request("POST", "/api/v1/namespaces/default/pods", pod("z"), headers: ["Content-Type": "text/html"])
        #expect(badMedia.status == 415)
        #expect(badMedia.json["reason"] == "UnsupportedMediaType")

        let invalid = await s.request("POST", "/api/v1/namespaces/default/pods",
                                      #"{"metadata":{"name":"Bad_Name","labels":{"a":"b c"}},"spec":{"containers":[]}}"#)
        #expect(invalid.status == 422)
        #expect(invalid.json["reason"] == "Invalid")
        let fields = invalid.json[path: ["details", "causes"]]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("metadata.name"))
        #expect(fields.contains("metadata.labels"))
        #expect(fields.contains("spec.containers"))

        let tooBig = await s.request("POST", "/api/v1/namespaces/default/configmaps",
                                     #"{"metadata":{"name":"big"},"data":{"x":""# + String(repeating: "a", count: 3 * 1024 * 1024 + 10) + #""}}"#)
        #expect(tooBig.status == 413)

        let unknownResource = await s.request("GET", "/api/v1/namespaces/default/widgets")
        #expect(unknownResource.status == 404)
        let method = await s.request("PUT", "/api/v1/namespaces/default/pods")
        #expect(method.status == 405)
    }

    @Test func quantitiesAreStoredInCanonicalForm() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let p = try await s.create("/api/v1/namespaces/default/pods", """
            {"metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"0.5","memory":"1024Mi"},"limits":{"cpu":2}}}]}}
            """)
        let resources = p[path: ["spec", "containers"]]?.arrayValue?.first?["resources"]
        #expect(resources?[path: ["requests", "cpu"]] == "500m")
        #expect(resources?[path: ["requests", "memory"]] == "1Gi")
        #expect(resources?[path: ["limits", "cpu"]] == "2")
        #expect(p[path: ["status", "qosClass"]] == "Burstable")
        let bad = await s.request("POST", "/api/v1/namespaces/default/pods",
                                  #"{"metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"lots"}}}]}}"#)
        #expect(bad.status == 400)
        #expect(bad.json["message"]?.stringValue?.contains("quantities must match") == true)
    }

    @Test func generateNameAndDryRun() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let made = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"generateName":"cfg-"},"data":{"a":"1"}}"#)
        let name = try #require(made.name)
        #expect(name.hasPrefix("cfg-") && name.count == 9)

        let dry = await s.request("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", #"{"metadata":{"name":"dry"}}"#)
        #expect(dry.status == 201)
        #expect(await s.request("GET", "/api/v1/namespaces/default/configmaps/dry").status == 404)
    }

    @Test func updateWithStaleResourceVersionConflicts() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let v1 = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"c"},"data":{"a":"1"}}"#)
        var next = v1
        next["data"] = ["a": "2"]
        let ok = await s.request("PUT", "/api/v1/namespaces/default/configmaps/c", next.serializedString())
        #expect(ok.status == 200)
        #expect(ok.json[path: ["data", "a"]] == "2")
        #expect(ok.json.resourceVersion != v1.resourceVersion)
        // The same (now stale) resourceVersion again: 409 Conflict.
        let stale = await s.request("PUT", "/api/v1/namespaces/default/configmaps/c", next.serializedString())
        #expect(stale.status == 409)
        #expect(stale.json["reason"] == "Conflict")
        #expect(stale.json["message"]?.stringValue?.contains("the object has been modified") == true)
        // An unchanged object is not rewritten.
        let same = await s.request("PUT", "/api/v1/namespaces/default/configmaps/c", ok.json.serializedString())
        #expect(same.json.resourceVersion == ok.json.resourceVersion)
    }

    @Test func generationTracksSpecAndStatusIsSeparate() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let d = try await s.create("/apis/apps/v1/namespaces/default/deployments", deploymentJSON)
        #expect(d.generation == 1)
        #expect(d[path: ["spec", "strategy", "rollingUpdate", "maxSurge"]] == "25%")
        #expect(d[path: ["spec", "revisionHistoryLimit"]] == 10)
        #expect(d[path: ["spec", "progressDeadlineSeconds"]] == 600)
        let labeled = await s.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", #"{"metadata":{"labels":{"x":"y"}}}"#)
        #expect(labeled.json.generation == 1)
        let scaled = await s.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", #"{"spec":{"replicas":5}}"#)
        #expect(scaled.json.generation == 2)
        // Writing status through the main resource is ignored; through /status it sticks.
        _ = await s.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", #"{"status":{"replicas":9}}"#)
        #expect(await s.request("GET", "/apis/apps/v1/namespaces/default/deployments/web").json[path: ["status", "replicas"]] == nil)
        let status = await s.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/status",
                                     #"{"status":{"replicas":9,"observedGeneration":2}}"#)
        #expect(status.json[path: ["status", "replicas"]] == 9)
        #expect(status.json.generation == 2)
    }

    @Test func scaleSubresource() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/apis/apps/v1/namespaces/default/deployments", deploymentJSON)
        let scale = await s.request("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale")
        #expect(scale.json["kind"] == "Scale")
        #expect(scale.json["apiVersion"] == "autoscaling/v1")
        #expect(scale.json[path: ["spec", "replicas"]] == 2)
        #expect(scale.json[path: ["status", "selector"]] == "app=web")
        let patched = await s.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", #"{"spec":{"replicas":7}}"#)
        #expect(patched.json[path: ["spec", "replicas"]] == 7)
        #expect(await s.request("GET", "/apis/apps/v1/namespaces/default/deployments/web").json[path: ["spec", "replicas"]] == 7)
        let negative = await s.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", #"{"spec":{"replicas":-1}}"#)
        #expect(negative.status == 422)
    }

    @Test func finalizersKeepObjectsUntilRemoved() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"f","finalizers":["example.com/hold"]}}"#)
        let deleting = await s.request("DELETE", "/api/v1/namespaces/default/configmaps/f")
        #expect(deleting.status == 200)
        #expect(deleting.json.deletionTimestamp != nil)
        #expect(await s.request("GET", "/api/v1/namespaces/default/configmaps/f").status == 200)
        let add = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/f",
                                  #"{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}"#)
        #expect(add.status == 422)
        let released = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/f", #"{"metadata":{"finalizers":null}}"#)
        #expect(released.status == 200)
        #expect(await s.request("GET", "/api/v1/namespaces/default/configmaps/f").status == 404)
    }

    @Test func podsOnNodesDeleteGracefully() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/pods", pod("p"))
        let bind = await s.request("POST", "/api/v1/namespaces/default/pods/p/binding",
                                   #"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n1"}}"#)
        #expect(bind.status == 201)
        let again = await s.request("POST", "/api/v1/namespaces/default/pods/p/binding",
                                    #"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n2"}}"#)
        #expect(again.status == 409)
        let bound = await s.request("GET", "/api/v1/namespaces/default/pods/p").json
        #expect(bound[path: ["spec", "nodeName"]] == "n1")

        let graceful = await s.request("DELETE", "/api/v1/namespaces/default/pods/p")
        #expect(graceful.json.deletionGracePeriodSeconds == 30)
        #expect(await s.request("GET", "/api/v1/namespaces/default/pods/p").status == 200)
        // The kubelet's final delete with grace 0 removes it.
        let final = await s.request("DELETE", "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0")
        #expect(final.status == 200)
        #expect(await s.request("GET", "/api/v1/namespaces/default/pods/p").status == 404)
    }

    @Test func deletePreconditionsAndNamespaceTermination() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"c"}}"#)
        let pre = await s.request("DELETE", "/api/v1/namespaces/default/configmaps/c", #"{"preconditions":{"uid":"nope"}}"#)
        #expect(pre.status == 409)
        _ = try await s.create("/api/v1/namespaces", #"{"metadata":{"name":"gone"}}"#)
        let ns = await s.request("DELETE", "/api/v1/namespaces/gone")
        #expect(ns.json[path: ["status", "phase"]] == "Terminating")
        let refused = await s.request("POST", "/api/v1/namespaces/gone/configmaps", #"{"metadata":{"name":"x"}}"#)
        #expect(refused.status == 403)
    }

    @Test func servicesGetClusterIPs() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let svc = try await s.create("/api/v1/namespaces/default/services",
                                     #"{"metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}"#)
        let ip = try #require(svc[path: ["spec", "clusterIP"]]?.stringValue)
        #expect(ip.hasPrefix("10."))
        #expect(svc[path: ["spec", "ports"]]?.arrayValue?.first?["targetPort"] == 80)
        #expect(svc[path: ["spec", "type"]] == "ClusterIP")
        let np = try await s.create("/api/v1/namespaces/default/services",
                                    #"{"metadata":{"name":"np"},"spec":{"type":"NodePort","ports":[{"port":80}]}}"#)
        let port = try #require(np[path: ["spec", "ports"]]?.arrayValue?.first?["nodePort"]?.int64Value)
        #expect((30000...32767).contains(port))
        let taken = await s.request("POST", "/api/v1/namespaces/default/services",
                                    #"{"metadata":{"name":"dup"},"spec":{"clusterIP":"\#(ip)","ports":[{"port":80}]}}"#)
        #expect(taken.status == 422)
    }

    /// What kubectl replace and apply rely on: allocations the client left out are kept;
    /// a type losing NodePorts gives them back; explicit ones are checked.
    @Test func serviceAllocationsAcrossUpdates() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let base = "/api/v1/namespaces/default/services"
        let np = try await s.create(base, #"{"metadata":{"name":"np"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}}"#)
        let ip = try #require(np[path: ["spec", "clusterIP"]]?.stringValue)
        let taken = await s.request("POST", base, #"{"metadata":{"name":"np2"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}}"#)
        #expect(taken.status == 422 && taken.text.contains("spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"))
        let outside = await s.request("POST", base, #"{"metadata":{"name":"np3"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":29999}]}}"#)
        #expect(outside.status == 422 && outside.text.contains("The range of valid ports is 30000-32767"))

        let replaced = await s.request("PUT", base + "/np", #"{"metadata":{"name":"np"},"spec":{"type":"NodePort","ports":[{"port":80}]}}"#)
        #expect(replaced.status == 200, "\(replaced.text)")
        #expect(replaced.json[path: ["spec", "clusterIP"]]?.stringValue == ip)
        #expect(replaced.json[path: ["spec", "ports"]]?.arrayValue?.first?["nodePort"] == 30080)

        let moved = await s.request("PATCH", base + "/np", #"{"spec":{"clusterIP":"10.96.0.99","clusterIPs":["10.96.0.99"]}}"#)
        #expect(moved.status == 422 && moved.text.contains("may not change once set"))
        let clusterIP = await s.request("PATCH", base + "/np", #"{"spec":{"type":"ClusterIP"}}"#)
        #expect(clusterIP.status == 200, "\(clusterIP.text)")
        #expect(clusterIP.json[path: ["spec", "ports"]]?.arrayValue?.first?["nodePort"] == nil)
        _ = try await s.create(base, #"{"metadata":{"name":"np4"},"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}}"#)
        let back = await s.request("PATCH", base + "/np", #"{"spec":{"type":"LoadBalancer"}}"#)
        let port = try #require(back.json[path: ["spec", "ports"]]?.arrayValue?.first?["nodePort"]?.int64Value)
        #expect(port != 30080 && (30000...32767).contains(port))
    }

    @Test func servicePortValidation() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let base = "/api/v1/namespaces/default/services"
        let cases: [(String, String)] = [
            (#"[{"port":53,"protocol":"ICMP"}]"#, #"spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""#),
            (#"[{"port":80,"targetPort":"Web_Port"}]"#, #"spec.ports[0].targetPort: Invalid value: \"Web_Port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#),
            (#"[{"port":80,"targetPort":70000}]"#, "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
            (#"[{"name":"a","port":80},{"name":"a","port":81}]"#, #"spec.ports[1].name: Duplicate value: \"a\""#),
            (#"[{"port":80,"nodePort":30001}]"#, "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
        ]
        for (ports, message) in cases {
            let r = await s.request("POST", base, #"{"metadata":{"name":"bad"},"spec":{"ports":"# + ports + "}}")
            #expect(r.status == 422 && r.text.contains(message), "\(ports): \(r.text)")
        }
    }

    /// The `kubernetes` Service reaches the API server; kube-dns is the cluster DNS' address.
    @Test func bootstrapServicesAndAPIServerEndpoints() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        try await s.handler.bootstrap(servicePort: 6443, advertiseAddress: "192.0.2.9")
        let slice = await s.request("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
        #expect(slice.json[path: ["endpoints"]]?.arrayValue?.first?["addresses"] == ["192.0.2.9"])
        #expect(slice.json[path: ["ports"]]?.arrayValue?.first?["port"] == 6443)
        try await s.handler.bootstrap(servicePort: 6443, advertiseAddress: "192.0.2.10")
        let endpoints = await s.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
        #expect(endpoints.json[path: ["subsets"]]?.arrayValue?.first?["addresses"]?.arrayValue?.first?["ip"] == "192.0.2.10")
        let dns = await s.request("GET", "/api/v1/namespaces/kube-system/services/kube-dns")
        #expect(dns.json[path: ["spec", "clusterIP"]]?.stringValue?.hasSuffix(".0.10") == true)
    }
}

@Suite struct ServiceAccountTokenTests {
    @Test func tokenRequestIssuesAVerifiableToken() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/serviceaccounts", #"{"metadata":{"name":"robot"}}"#)
        let r = await s.request("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token",
                                #"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}"#)
        #expect(r.status == 201)
        let token = try #require(r.json[path: ["status", "token"]]?.stringValue)
        #expect(r.json[path: ["status", "expirationTimestamp"]]?.stringValue != nil)
        let key = try #require(s.handler.tokensForTests)
        #expect(key.verify(token) == "system:serviceaccount:default:robot")
        #expect(key.verify(token + "x") == nil)
        #expect(key.verify(token, now: Timestamp.now().seconds + 7200) == nil)
        let missing = await s.request("POST", "/api/v1/namespaces/default/serviceaccounts/ghost/token", #"{"spec":{}}"#)
        #expect(missing.status == 404)
        let short = await s.request("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", #"{"spec":{"expirationSeconds":10}}"#)
        #expect(short.status == 422)
    }
}

@Suite struct UIDPreconditionTests {
    @Test func aUIDInAnUpdateOrPatchIsAPrecondition() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let cm = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"c"},"data":{"a":"1"}}"#)
        let same = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/c",
                                   #"{"metadata":{"uid":"\#(cm.uid ?? "")"},"data":{"a":"2"}}"#)
        #expect(same.status == 200)
        let other = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/c", #"{"metadata":{"uid":"not-it"},"data":{"a":"3"}}"#)
        #expect(other.status == 409)
        #expect(other.json["reason"] == "Conflict")
        #expect(other.json["message"]?.stringValue?.contains("Precondition failed: UID in precondition: not-it, UID in object meta: \(cm.uid ?? "")") == true)
        let now = await s.request("GET", "/api/v1/namespaces/default/configmaps/c")
        #expect(now.json[path: ["data", "a"]] == "2")
    }
}

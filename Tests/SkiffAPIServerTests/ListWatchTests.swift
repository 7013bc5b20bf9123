import SkiffAPIServer
import SkiffCore
import Testing

@Suite struct ListWatchTests {
    @Test func labelAndFieldSelectors() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/pods", pod("a", tier: "front"))
        _ = try await s.create("/api/v1/namespaces/default/pods", pod("b", tier: "back"))
        _ = try await s.create("/api/v1/namespaces", #"{"metadata":{"name":"other"}}"#)
        _ = try await s.create("/api/v1/namespaces/other/pods", pod("c", tier: "front"))

        func names(_ target: String) async -> [String] {
            await s.request("GET", target).json["items"]?.arrayValue?.compactMap { $0.name } ?? []
        }
        #expect(await names("/api/v1/pods") == ["a", "b", "c"])
        #expect(await names("/api/v1/namespaces/default/pods?labelSelector=tier%3Dfront") == ["a"])
        #expect(await names("/api/v1/pods?labelSelector=tier%20in%20(front,back),app") == ["a", "b", "c"])
        #expect(await names("/api/v1/pods?labelSelector=tier!%3Dfront") == ["b"])
        #expect(await names("/api/v1/pods?labelSelector=!tier") == [])
        #expect(await names("/api/v1/pods?fieldSelector=metadata.name%3Dc") == ["c"])
        #expect(await names("/api/v1/pods?fieldSelector=metadata.namespace%3Dother") == ["c"])
        #expect(await names("/api/v1/pods?fieldSelector=status.phase%3DPending,metadata.name!%3Da") == ["b", "c"])
        let bad = await s.request("GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx")
        #expect(bad.status == 400)
        let badLabel = await s.request("GET", "/api/v1/pods?labelSelector=a%20in%20(b")
        #expect(badLabel.status == 400)
    }

    @Test func paginationWithContinue() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        for i in 0..<7 { _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"c\#(i)"}}"#) }
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = await s.request("GET", "/api/v1/namespaces/default/configmaps?limit=3" + (token.map { "&continue=\($0)" } ?? ""))
            #expect(page.status == 200)
            seen += page.json["items"]?.arrayValue?.compactMap { $0.name } ?? []
            token = page.json[path: ["metadata", "continue"]]?.stringValue
            if pages == 0 { #expect(page.json[path: ["metadata", "remainingItemCount"]] == 4) }
            pages += 1
            // Writes between pages do not show: the list is consistent at its first revision.
            _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"late\#(pages)"}}"#)
        } while token != nil && pages < 10
        #expect(seen == (0..<7).map { "c\($0)" })
        #expect(pages == 3)
        let garbage = await s.request("GET", "/api/v1/namespaces/default/configmaps?limit=3&continue=garbage")
        #expect(garbage.status == 400)
    }

    @Test func watchFromResourceVersionDeliversLaterEventsInOrder() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let first = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"a"}}"#)
        let rv = try #require(first.resourceVersion)
        let watch = await s.request("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(rv)")
        #expect(watch.status == 200)
        _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"b"}}"#)
        _ = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/a", #"{"data":{"k":"v"}}"#)
        _ = await s.request("DELETE", "/api/v1/namespaces/default/configmaps/b")
        let events = try await watch.lines(3)
        #expect(events.map { $0["type"]?.stringValue ?? "" } == ["ADDED", "MODIFIED", "DELETED"])
        #expect(events.map { $0["object"]?.name ?? "" } == ["b", "a", "b"])
        let rvs = events.compactMap { $0["object"]?.resourceVersion.flatMap { Int($0) } }
        #expect(rvs == rvs.sorted() && Set(rvs).count == 3)
        #expect(events[0]["object"]?["kind"] == "ConfigMap")
    }

    @Test func watchWithoutResourceVersionStartsWithCurrentObjects() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"a","labels":{"x":"1"}}}"#)
        _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"b"}}"#)
        let watch = await s.request("GET", "/api/v1/namespaces/default/configmaps?watch=1&labelSelector=x")
        // A label change that makes an object match is an ADDED for this watcher.
        _ = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/b", #"{"metadata":{"labels":{"x":"2"}}}"#)
        _ = await s.request("PATCH", "/api/v1/namespaces/default/configmaps/a", #"{"metadata":{"labels":{"x":null}}}"#)
        let events = try await watch.lines(3)
        #expect(events.map { "\($0["type"]?.stringValue ?? "") \($0["object"]?.name ?? "")" } == ["ADDED a", "ADDED b", "DELETED a"])
    }

    @Test func watchTimesOutAndTooOldVersionsExpire() async throws {
        let s = try await TestServer.start(watchCacheCapacity: 3)
        defer { s.stop() }
        let watch = await s.request("GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=1")
        #expect(try await watch.lines(100).isEmpty)
        let first = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"c0"}}"#)
        for i in 1..<6 { _ = try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"c\#(i)"}}"#) }
        let tooOld = await s.request("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(first.resourceVersion ?? "")")
        let lines = try await tooOld.lines(1)
        #expect(lines.first?["type"] == "ERROR")
        #expect(lines.first?[path: ["object", "code"]] == 410)
        #expect(lines.first?[path: ["object", "reason"]] == "Expired")
    }

    @Test func tablesForKubectlGet() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/pods", pod("a"))
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        let table = await s.request("GET", "/api/v1/namespaces/default/pods?limit=500", headers: ["Accept": accept])
        #expect(table.response.header("Content-Type") == "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(table.json["kind"] == "Table")
        let columns = table.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(columns.prefix(5) == ["Name", "Ready", "Status", "Restarts", "Age"])
        let row = try #require(table.json["rows"]?.arrayValue?.first)
        #expect(row["cells"]?.arrayValue?.prefix(3) == ["a", "0/1", "Pending"])
        #expect(row[path: ["object", "kind"]] == "PartialObjectMetadata")
        #expect(row[path: ["object", "metadata", "labels", "app"]] == "web")
        // The row's metadata is the object's, managedFields included, as upstream sends it.
        #expect(row[path: ["object", "metadata", "managedFields"]]?.arrayValue?.count == 1)
    }

    @Test func tableListsManyRowsInOrderWithPagingAndWholeObjects() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        for i in 0..<150 { _ = try await s.create("/api/v1/namespaces/default/pods", pod(String(format: "p%03d", i))) }
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io"
        let page = await s.request("GET", "/api/v1/namespaces/default/pods?limit=100", headers: ["Accept": accept])
        let rows = page.json["rows"]?.arrayValue ?? []
        #expect(rows.count == 100)
        #expect(rows.map { $0["cells"]?.arrayValue?.first?.stringValue ?? "" } == (0..<100).map { String(format: "p%03d", $0) })
        #expect(page.json[path: ["metadata", "remainingItemCount"]] == 50)
        let token = try #require(page.json[path: ["metadata", "continue"]]?.stringValue)
        let rest = await s.request("GET", "/api/v1/namespaces/default/pods?limit=100&continue=\(token)", headers: ["Accept": accept])
        #expect(rest.json["rows"]?.arrayValue?.count == 50)
        let whole = await s.request("GET", "/api/v1/namespaces/default/pods/p007?includeObject=Object", headers: ["Accept": accept])
        let object = whole.json["rows"]?.arrayValue?.first?["object"]
        #expect(object?["kind"] == "Pod")
        #expect(object?[path: ["spec", "containers"]]?.arrayValue?.count == 1)
        let none = await s.request("GET", "/api/v1/namespaces/default/pods?includeObject=None", headers: ["Accept": accept])
        #expect(none.json["rows"]?.arrayValue?.first?["object"] == nil)
        #expect(none.json["rows"]?.arrayValue?.count == 150)
    }

    @Test func discoveryNegotiation() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let v2 = await s.request("GET", "/apis", headers: ["Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"])
        #expect(v2.response.header("Content-Type") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        #expect(v2.json["kind"] == "APIGroupDiscoveryList")
        let v2beta1 = await s.request("GET", "/api", headers: ["Accept": "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"])
        #expect(v2beta1.json["apiVersion"] == "apidiscovery.k8s.io/v2beta1")
        let pods = v2beta1.json["items"]?.arrayValue?.first?["versions"]?.arrayValue?.first?["resources"]?.arrayValue?.first { $0["resource"] == "pods" }
        #expect(pods?["scope"] == "Namespaced")
        #expect(pods?["categories"] == ["all"])
        #expect(pods?["responseKind"]?["kind"] == "Pod")
        let legacy = await s.request("GET", "/apis")
        #expect(legacy.json["kind"] == "APIGroupList")
        let autoscaling = legacy.json["groups"]?.arrayValue?.first { $0["name"] == "autoscaling" }
        #expect(autoscaling?[path: ["preferredVersion", "version"]] == "v2")
        let core = await s.request("GET", "/api/v1")
        #expect(core.json["kind"] == "APIResourceList")
        let scale = await s.request("GET", "/apis/apps/v1")
        let sub = scale.json["resources"]?.arrayValue?.first { $0["name"] == "deployments/scale" }
        #expect(sub?["group"] == "autoscaling")
        let version = await s.request("GET", "/version")
        #expect(version.json.objectValue?.count == 9)
    }
}

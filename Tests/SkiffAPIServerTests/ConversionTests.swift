import SkiffAPIServer
import SkiffCore
import Testing

@Suite struct ConversionTests {
    @Test func eventsAreOneObjectInTwoVersions() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let created = try await s.create("/apis/events.k8s.io/v1/namespaces/default/events", """
            {"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e1"},"eventTime":"2026-11-27T07:00:00.000000Z",
             "reportingController":"skiff/test","reportingInstance":"test-1","action":"Testing","reason":"Tested","type":"Normal",
             "note":"it works","regarding":{"kind":"Pod","name":"p","namespace":"default"}}
            """)
        #expect(created["note"] == "it works")
        #expect(created.apiVersion == "events.k8s.io/v1")
        let core = await s.request("GET", "/api/v1/namespaces/default/events/e1").json
        #expect(core.apiVersion == "v1")
        #expect(core["message"] == "it works")
        #expect(core[path: ["involvedObject", "name"]] == "p")
        #expect(core["reportingComponent"] == "skiff/test")
        let byField = await s.request("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp")
        #expect(byField.json["items"]?.arrayValue?.count == 1)
        let list = await s.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events")
        #expect(list.json["items"]?.arrayValue?.first?["regarding"]?["name"] == "p")
        #expect(list.json["items"]?.arrayValue?.first?["involvedObject"] == nil)
    }

    @Test func horizontalPodAutoscalersConvertBetweenV1AndV2() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers", """
            {"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},
             "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":5,
                     "targetCPUUtilizationPercentage":60}}
            """)
        let v2 = await s.request("GET", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web").json
        #expect(v2[path: ["spec", "metrics"]]?.arrayValue?.first?[path: ["resource", "target", "averageUtilization"]] == 60)
        #expect(v2[path: ["spec", "targetCPUUtilizationPercentage"]] == nil)
        let patched = await s.request("PATCH", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web",
                                      #"{"spec":{"targetCPUUtilizationPercentage":75}}"#)
        #expect(patched.json[path: ["spec", "targetCPUUtilizationPercentage"]] == 75)
        let again = await s.request("GET", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web").json
        #expect(again[path: ["spec", "metrics"]]?.arrayValue?.first?[path: ["resource", "target", "averageUtilization"]] == 75)
    }
}

@Suite struct EventTTLTests {
    @Test func eventsExpireAfterTheirLastUpdate() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        _ = try await s.create("/api/v1/namespaces/default/events", """
            {"metadata":{"name":"old"},"involvedObject":{"kind":"Pod","name":"p"},"reason":"R","message":"m",
             "firstTimestamp":"2020-01-01T00:00:00Z","lastTimestamp":"2020-01-01T00:00:00Z"}
            """)
        _ = try await s.create("/api/v1/namespaces/default/events", """
            {"metadata":{"name":"fresh"},"involvedObject":{"kind":"Pod","name":"p"},"reason":"R","message":"m",
             "lastTimestamp":"\(Timestamp.now().adding(seconds: 5400).rfc3339)"}
            """)
        // Two hours on: "old" was last written at its creation; "fresh" was updated 90 minutes on.
        await s.handler.expireEvents(olderThan: .seconds(3600), now: Timestamp.now().adding(seconds: 7200))
        #expect(await s.request("GET", "/api/v1/namespaces/default/events/old").status == 404)
        #expect(await s.request("GET", "/api/v1/namespaces/default/events/fresh").status == 200)
        #expect(APIHandler.parseDuration("1h30m") == .seconds(5400))
        #expect(APIHandler.parseDuration("45s") == .seconds(45))
        #expect(APIHandler.parseDuration("10") == .seconds(10))
        #expect(APIHandler.parseDuration("1x") == nil)
    }
}

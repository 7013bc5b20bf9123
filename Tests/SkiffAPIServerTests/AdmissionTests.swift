import SkiffAPIServer
import SkiffCore
import Testing

@Suite struct AdmissionTests {
    func podWith(_ name: String, _ spec: String) -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\#(name)"},"spec":{\#(spec)"containers":[{"name":"c","image":"nginx"}]}}"#
    }

    @Test func priorityComesFromThePodsPriorityClass() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        // The system classes exist from the start.
        let system = await s.request("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical")
        #expect(system.json["value"] == 2_000_001_000)

        try await s.create("/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"high"},"value":1000,"preemptionPolicy":"Never"}"#)
        let high = try await s.create("/api/v1/namespaces/default/pods", podWith("a", #""priorityClassName":"high","#))
        #expect(high[path: ["spec", "priority"]] == 1000)
        #expect(high[path: ["spec", "preemptionPolicy"]] == "Never")
        let plain = try await s.create("/api/v1/namespaces/default/pods", podWith("b", ""))
        #expect(plain[path: ["spec", "priority"]] == 0)
        #expect(plain[path: ["spec", "preemptionPolicy"]] == "PreemptLowerPriority")

        let missing = await s.request("POST", "/api/v1/namespaces/default/pods", podWith("c", #""priorityClassName":"nope","#))
        #expect(missing.status == 403)
        #expect(missing.json["message"] == #"pods "c" is forbidden: no PriorityClass with name nope was found"#)
        let forged = await s.request("POST", "/api/v1/namespaces/default/pods", podWith("d", #""priorityClassName":"high","priority":5,"#))
        #expect(forged.status == 403)
        #expect(forged.json["message"] == #"pods "d" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"#)

        // A global default applies to pods that name no class; there is only ever one.
        try await s.create("/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"normal"},"value":10,"globalDefault":true}"#)
        let defaulted = try await s.create("/api/v1/namespaces/default/pods", podWith("e", ""))
        #expect(defaulted[path: ["spec", "priorityClassName"]] == "normal")
        #expect(defaulted[path: ["spec", "priority"]] == 10)
        let second = await s.request("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"other"},"value":20,"globalDefault":true}"#)
        #expect(second.status == 403)
        #expect(second.json["message"] == #"priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal is already marked as default. Only one default can exist"#)
    }

    @Test func priorityClassValuesAreValidated() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let reserved = await s.request("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"system-mine"},"value":1}"#)
        #expect(reserved.status == 422)
        #expect(reserved.text.contains("priority class names with 'system-' prefix are reserved for system use only"))
        let tooHigh = await s.request("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"huge"},"value":1000000001}"#)
        #expect(tooHigh.status == 422)
        #expect(tooHigh.text.contains("maximum allowed value of a user defined priority is 1000000000"))
        try await s.create("/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"fixed"},"value":1}"#)
        let changed = await s.request("PATCH", "/apis/scheduling.k8s.io/v1/priorityclasses/fixed", #"{"value":2}"#)
        #expect(changed.status == 422)
        #expect(changed.text.contains("may not be changed in an update."))
    }

    @Test func concurrentCreatesNeverOverrunAQuota() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        try await s.create("/api/v1/namespaces/default/resourcequotas", #"{"metadata":{"name":"q"},"spec":{"hard":{"pods":"5"}}}"#)
        // Before the quota controller has counted, nothing is admitted.
        let early = await s.request("POST", "/api/v1/namespaces/default/pods", podWith("early", ""))
        #expect(early.status == 403)
        #expect(early.json["message"] == #"pods "early" is forbidden: status unknown for quota: q, resource: pods"#)
        let counted = await s.request("PUT", "/api/v1/namespaces/default/resourcequotas/q/status",
                                      #"{"metadata":{"name":"q"},"spec":{"hard":{"pods":"5"}},"status":{"hard":{"pods":"5"},"used":{"pods":"0"}}}"#)
        #expect(counted.status == 200)
        let codes = await withTaskGroup(of: Int.self) { group in
            for i in 0..<20 { group.addTask { await s.request("POST", "/api/v1/namespaces/default/pods", podWith("p\(i)", "")).status } }
            var out: [Int] = []
            for await c in group { out.append(c) }
            return out
        }
        #expect(codes.filter { $0 == 201 }.count == 5)
        #expect(codes.filter { $0 == 403 }.count == 15)
        let quota = await s.request("GET", "/api/v1/namespaces/default/resourcequotas/q")
        #expect(quota.json[path: ["status", "used", "pods"]] == "5")
        // Other kinds are not charged against a quota on pods.
        try await s.create("/api/v1/namespaces/default/configmaps", #"{"metadata":{"name":"free"}}"#)
    }

    @Test func aQuotaScopedToAPriorityClassChargesOnlyItsPods() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        try await s.create("/apis/scheduling.k8s.io/v1/priorityclasses", #"{"metadata":{"name":"high"},"value":1000}"#)
        let quota = #"{"metadata":{"name":"q"},"spec":{"hard":{"pods":"1"},"scopeSelector":{"matchExpressions":[{"scopeName":"PriorityClass","operator":"In","values":["high"]}]}}}"#
        try await s.create("/api/v1/namespaces/default/resourcequotas", quota)
        let status = #"{"metadata":{"name":"q"},"spec":{"hard":{"pods":"1"},"scopeSelector":{"matchExpressions":[{"scopeName":"PriorityClass","operator":"In","values":["high"]}]}},"status":{"hard":{"pods":"1"},"used":{"pods":"0"}}}"#
        #expect(await s.request("PUT", "/api/v1/namespaces/default/resourcequotas/q/status", status).status == 200)
        for i in 0..<3 { try await s.create("/api/v1/namespaces/default/pods", podWith("plain\(i)", "")) }
        try await s.create("/api/v1/namespaces/default/pods", podWith("first", #""priorityClassName":"high","#))
        let second = await s.request("POST", "/api/v1/namespaces/default/pods", podWith("second", #""priorityClassName":"high","#))
        #expect(second.status == 403)
        #expect(second.json["message"] == #"pods "second" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1"#)
    }
}

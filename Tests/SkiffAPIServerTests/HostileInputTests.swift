import SkiffAPIServer
import SkiffCore
import Testing

/// No input crashes the server or changes what it should not: random and truncated bodies
/// for every body-taking verb get a Status error, and the stored object is unchanged.
@Suite struct HostileInputTests {
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func randomAndTruncatedBodiesGetStatusErrors() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        let original = try await s.create("/apis/apps/v1/namespaces/default/deployments", deploymentJSON)
        var rng = SeededRandom(state: 42)
        let valid = Array(deploymentJSON.utf8)
        let contentTypes = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
                            "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json",
                            "application/apply-patch+yaml"]
        for i in 0..<300 {
            var body: [UInt8]
            switch i % 3 {
            case 0: body = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: body = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &rng)))
            default:
                body = valid
                for _ in 0..<5 { body[Int.random(in: 0..<body.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            }
            if i % 7 == 0 { body = Array("k8s\0".utf8) + body }
            let contentType = contentTypes[i % contentTypes.count]
            let isPatch = contentType.contains("patch")
            let method = isPatch ? "PATCH" : (i % 2 == 0 ? "POST" : "PUT")
            let path = method == "POST" ? "/apis/apps/v1/namespaces/default/deployments" : "/apis/apps/v1/namespaces/default/deployments/web"
            let target = contentType == "application/apply-patch+yaml" ? path + "?fieldManager=fuzz" : path
            let response = await s.handler.handle(APIRequest(method: method, path: target, query: target.contains("?") ? ["fieldManager": ["fuzz"]] : [:],
                                                             headers: ["content-type": contentType], body: body))
            #expect(response.status < 500 || response.status == 500 && Reply(response).json["kind"] == "Status",
                    "\(method) \(contentType) -> \(response.status)")
            if response.status >= 400 {
                #expect(Reply(response).json["kind"] == "Status")
            }
        }
        // Whatever was accepted, the object is still a valid deployment that reads back.
        let after = await s.request("GET", "/apis/apps/v1/namespaces/default/deployments/web")
        #expect(after.status == 200)
        #expect(after.json.uid == original.uid)
    }

    @Test func hostilePathsAndQueries() async throws {
        let s = try await TestServer.start()
        defer { s.stop() }
        for target in ["/api/v1/namespaces/default/pods/..", "/api/v1/namespaces//pods", "/apis/apps", "/apis/nope/v1/things",
                       "/api/v1/namespaces/default/pods?limit=-1&continue=%ZZ", "/api/v1/pods?labelSelector=%28%28%28",
                       "/api/v1/pods?watch=true&resourceVersion=abc", "/api/v1/pods?fieldSelector=%3D%3D%3D",
                       "/api/v1/namespaces/default/pods/x/y/z/w", "/api/v1/namespaces/default/pods?resourceVersionMatch=Exact"] {
            let r = await s.request("GET", target)
            #expect(r.status >= 200 && r.status < 500, "\(target) -> \(r.status)")
        }
    }
}

import SkiffAPIServer
import SkiffCore
import SkiffStore
import Testing

/// An API server over an in-memory store, driven without sockets.
struct TestServer {
    let handler: APIHandler
    let task: Task<Void, any Error>

    static func start(watchCacheCapacity: Int = 10_000) async throws -> TestServer {
        let handler = APIHandler(store: MVCCStore(), watchCacheCapacity: watchCacheCapacity,
                                 serviceAccountTokens: try ServiceAccountTokens(keyPEM: ServiceAccountTokens.newKeyPEM()))
        let task = Task { try await handler.run() }
        try await handler.bootstrap(servicePort: 6443)
        return TestServer(handler: handler, task: task)
    }

    func stop() { task.cancel() }

    @discardableResult
    func request(_ method: String, _ target: String, _ body: String = "", headers: [String: String] = [:]) async -> Reply {
        var h = ["content-type": method == "PATCH" ? "application/merge-patch+json" : "application/json"]
        for (k, v) in headers { h[k.lowercased()] = v }
        return Reply(await handler.handle(APIRequest(method, target, body: body, headers: h)))
    }

    func create(_ target: String, _ body: String) async throws -> JSON {
        let r = await request("POST", target, body)
        #expect(r.status == 201, "\(r.text)")
        return r.json
    }
}

struct Reply {
    let response: APIResponse
    var status: Int { response.status }
    var text: String { String(decoding: response.bodyBytes, as: UTF8.self) }
    var json: JSON { (try? JSON.parse(response.bodyBytes)) ?? .null }

    init(_ r: APIResponse) { response = r }

    /// The first `count` chunks of a streamed body (watches), as JSON lines.
    func lines(_ count: Int) async throws -> [JSON] {
        guard case .stream(let produce) = response.body else { return [] }
        let collected = Collector()
        struct Enough: Error {}
        do {
            try await produce { chunk in
                for line in String(decoding: chunk, as: UTF8.self).split(separator: "\n") {
                    let n = await collected.add(try JSON.parse(String(line)))
                    if n >= count { throw Enough() }
                }
            }
        } catch is Enough {}
        return await collected.items
    }
}

actor Collector {
    var items: [JSON] = []
    func add(_ j: JSON) -> Int {
        items.append(j)
        return items.count
    }
}

let podJSON = """
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"%NAME%","labels":{"app":"web","tier":"%TIER%"}},
     "spec":{"containers":[{"name":"main","image":"nginx:1.27","ports":[{"containerPort":80}]}]}}
    """

func pod(_ name: String, tier: String = "front") -> String {
    podJSON.replacingOccurrences(of: "%NAME%", with: name).replacingOccurrences(of: "%TIER%", with: tier)
}

let deploymentJSON = """
    {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
     "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
             "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"main","image":"nginx:1.27"}]}}}}
    """

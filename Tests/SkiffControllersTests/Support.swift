import SkiffAPIServer
import SkiffClient
import SkiffControllers
import SkiffCore
import SkiffStore
import Testing

/// An API server over an in-memory store, and a client that reaches it in process.
struct Cluster {
    let handler: APIHandler
    let client: Client
    let task: Task<Void, any Error>

    static func start() async throws -> Cluster {
        let handler = APIHandler(store: MVCCStore())
        let task = Task { try await handler.run() }
        try await handler.bootstrap(servicePort: 6443)
        return Cluster(handler: handler, client: Client(transport: InProcessTransport(handler: handler, user: "system:admin")), task: task)
    }

    func stop() { task.cancel() }
}

/// Polls `condition` until it holds (controllers act asynchronously); fails after `tries`.
func eventually(_ what: String, tries: Int = 500, _ condition: () async throws -> Bool) async throws {
    for _ in 0..<tries {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("never happened: \(what)")
}

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

/// Plays the kubelet for tests without nodes: every pod becomes Running and Ready.
func readyAllPods(_ client: Client) async {
    while !Task.isCancelled {
        if let pods = try? await client.list(.pods).items {
            for pod in pods where pod.deletionTimestamp == nil && pod[path: ["status", "phase"]]?.stringValue != "Running" {
                var next = pod
                let now = Timestamp.now().rfc3339
                next["status"] = ["phase": "Running", "conditions": [["type": "Ready", "status": "True", "lastTransitionTime": .string(now)]]]
                _ = try? await client.update(.pods, next, subresource: "status")
            }
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// The controller manager with its informers, as the server runs it.
func runControllerManager(_ client: Client) async {
    let factory = InformerFactory(client: client)
    let manager = ControllerManager(factory: factory)
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await factory.run() }
        group.addTask { await manager.run() }
    }
}

/// Runs the factory's informers and, once they have synced, `work`; cancel to stop.
func startAfterSync(_ factory: InformerFactory, _ work: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
    Task {
        await withTaskGroup(of: Void.self) { g in
            g.addTask { await factory.run() }
            await factory.waitForSync()
            g.addTask { await work() }
        }
    }
}

import SkiffAPI
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct ServiceAccountControllerTests {
    @Test func everyNamespaceHasADefaultServiceAccount() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let factory = InformerFactory(client: c.client)
        let controller = ServiceAccountController(factory: factory)
        let run = startAfterSync(factory) { await controller.run(workers: 1) }
        defer { run.cancel() }
        func exists(_ ns: String) async -> Bool { (try? await c.client.get(.serviceAccounts, namespace: ns, "default")) != nil }
        try await eventually("one in kube-system, made at bootstrap") { await exists("kube-system") }
        try await c.client.create(.namespaces, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]])
        try await eventually("one in a new namespace") { await exists("team") }
        try await c.client.delete(.serviceAccounts, namespace: "team", "default")
        try await eventually("made again after a delete") { await exists("team") }
    }
}

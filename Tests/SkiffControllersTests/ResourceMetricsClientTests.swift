import SkiffAPIServer
import SkiffClient
import SkiffControllers
import SkiffCore
import Testing

@Suite struct ResourceMetricsClientTests {
    /// The HPA controller's client reads what the API server serves from its scraper.
    @Test func readsTheServersPodMetrics() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        _ = try await cluster.client.create(.namespaces, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "shop"]])
        for (name, app) in [("web-1", "web"), ("web-2", "web"), ("db", "db")] {
            let pod: JSON = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "shop", "labels": ["app": .string(app)]],
                             "spec": ["containers": [["name": "main", "image": "busybox"]]]]
            _ = try await cluster.client.create(.pods, namespace: "shop", pod)
        }
        let t0: Int64 = 1_700_000_000_000_000_000
        func cycle(_ at: Int64, cpu: UInt64) -> [String: ResourceMetricsBatch] {
            var pods: [PodReference: [String: MetricsPoint]] = [:]
            for name in ["web-1", "web-2", "db"] {
                pods[PodReference(namespace: "shop", name: name)] = [
                    "main": MetricsPoint(timestamp: at, cumulativeCPUNanoseconds: cpu, memoryWorkingSetBytes: 64 << 20, startTime: t0 - 3_600_000_000_000)]
            }
            return ["n1": ResourceMetricsBatch(pods: pods)]
        }
        cluster.handler.resourceMetrics.store(cycle(t0, cpu: 1_000_000_000))
        cluster.handler.resourceMetrics.store(cycle(t0 + 15_000_000_000, cpu: 4_000_000_000))

        let usage = try await ResourceMetricsClient(client: cluster.client).podMetrics(namespace: "shop", selector: "app=web")
        #expect(usage.map(\.name) == ["web-1", "web-2"])
        #expect(usage.first?.containers == [PodUsage.Container(name: "main", cpu: 200, memory: 64 << 20)])
        #expect(usage.first?.window == .seconds(15))
        #expect(usage.first?.timestamp == Timestamp(seconds: 1_700_000_015))
    }
}

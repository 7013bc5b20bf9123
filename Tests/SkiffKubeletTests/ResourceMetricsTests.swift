import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import SkiffAPI
import SkiffCore
import SkiffRuntime
import SkiffStore
import Synchronization
import Testing
@testable import SkiffAPIServer
@testable import SkiffKubelet

/// A runtime that lists containers and answers their stats from what the test sets.
final class FakeStatsRuntime: RuntimeService {
    let containers = Mutex<[ContainerStatus]>([])
    let stats = Mutex<[String: ContainerStats]>([:])

    func listContainers() async throws -> [ContainerStatus] { containers.withLock { $0 } }
    func containerStats(_ id: String) async throws -> ContainerStats {
        guard let s = stats.withLock({ $0[id] }) else { throw RuntimeError("NotFound", "container \(id) not found") }
        return s
    }
    func listPodSandboxes() async throws -> [PodSandboxStatus] { [] }

    private func unsupported() -> RuntimeError { RuntimeError("Unimplemented", "the fake runtime only lists containers and their stats") }
    func version() async throws -> RuntimeVersion { throw unsupported() }
    func runPodSandbox(_ config: PodSandboxConfig) async throws -> String { throw unsupported() }
    func stopPodSandbox(_ id: String) async throws { throw unsupported() }
    func removePodSandbox(_ id: String) async throws { throw unsupported() }
    func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus { throw unsupported() }
    func createContainer(sandboxID: String, config: ContainerConfig, sandboxConfig: PodSandboxConfig) async throws -> String { throw unsupported() }
    func startContainer(_ id: String) async throws { throw unsupported() }
    func stopContainer(_ id: String, timeout: Int) async throws { throw unsupported() }
    func removeContainer(_ id: String) async throws { throw unsupported() }
    func containerStatus(_ id: String) async throws -> ContainerStatus { throw unsupported() }
    func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult { throw unsupported() }
    func exec(_ id: String, command: [String], io: ExecIO) async throws -> Int32 { throw unsupported() }
    func attach(_ id: String, io: ExecIO) async throws { throw unsupported() }
    func portForward(_ sandboxID: String, port: UInt16) async throws -> Int32 { throw unsupported() }
    func containerEvents() -> AsyncStream<String> { AsyncStream { $0.finish() } }

    /// A running container of pod `namespace/pod`, as the kubelet labels it.
    func add(_ id: String, namespace: String, pod: String, container: String, state: ContainerState = .running, created: Date,
             labelled: Bool = true) {
        let labels = labelled ? [Kubelet.podNamespaceLabel: namespace, Kubelet.podNameLabel: pod, Kubelet.podUIDLabel: "uid-\(pod)",
                                 Kubelet.containerNameLabel: container] : [:]
        containers.withLock {
            $0.append(ContainerStatus(id: id, sandboxID: "s-\(pod)", name: container, attempt: 0, state: state, createdAt: created,
                                      image: "busybox", imageRef: "busybox", logPath: "", labels: labels))
        }
    }

    func set(_ id: String, cpu: UInt64?, memory: UInt64?, at: Date) {
        stats.withLock {
            $0[id] = ContainerStats(attributes: ContainerAttributes(id: id, name: id),
                                    cpu: cpu.map { CpuUsage(timestamp: at, usageCoreNanoSeconds: $0) },
                                    memory: memory.map { MemoryUsage(timestamp: at, workingSetBytes: $0, usageBytes: $0) })
        }
    }
}

func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

func nodeUsage(cpu: UInt64, memory: UInt64, at: Date) -> NodeUsage {
    NodeUsage(cpu: CpuUsage(timestamp: at, usageCoreNanoSeconds: cpu), memory: MemoryUsage(timestamp: at, workingSetBytes: memory, usageBytes: memory))
}

@Suite struct ResourceMetricsTests {
    @Test func rendersUpstreamsFormat() {
        let at = date(1_700_000_000)
        var s = ResourceMetrics.Snapshot(node: nodeUsage(cpu: 32_479_158_256_000, memory: 12_715_470_848, at: date(1_700_000_000.002)))
        s.containers = [
            .init(namespace: "default", pod: "web-1", container: "sidecar", startTime: date(1_699_999_950.5),
                  cpu: CpuUsage(timestamp: at, usageCoreNanoSeconds: 250_000), memory: MemoryUsage(timestamp: at, workingSetBytes: 4096, usageBytes: 8192)),
            .init(namespace: "shop", pod: "cart", container: "main", startTime: date(1_699_999_900),
                  cpu: CpuUsage(timestamp: date(1_700_000_000.001), usageCoreNanoSeconds: 123), memory: nil),
            .init(namespace: "default", pod: "web-1", container: "main", startTime: date(1_699_999_900),
                  cpu: CpuUsage(timestamp: at, usageCoreNanoSeconds: 1_500_000_000),
                  memory: MemoryUsage(timestamp: at, workingSetBytes: 10_485_760, usageBytes: 20_000_000)),
        ]
        let expected = """
            # HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
            # TYPE container_cpu_usage_seconds_total counter
            container_cpu_usage_seconds_total{container="main",namespace="default",pod="web-1"} 1.5 1700000000000
            container_cpu_usage_seconds_total{container="main",namespace="shop",pod="cart"} 1.23e-07 1700000000001
            container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web-1"} 0.00025 1700000000000
            # HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
            # TYPE container_memory_working_set_bytes gauge
            container_memory_working_set_bytes{container="main",namespace="default",pod="web-1"} 1.048576e+07 1700000000000
            container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web-1"} 4096 1700000000000
            # HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
            # TYPE container_start_time_seconds gauge
            container_start_time_seconds{container="main",namespace="default",pod="web-1"} 1.6999999e+09 1699999900000
            container_start_time_seconds{container="main",namespace="shop",pod="cart"} 1.6999999e+09 1699999900000
            container_start_time_seconds{container="sidecar",namespace="default",pod="web-1"} 1.6999999505e+09 1699999950500
            # HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
            # TYPE node_cpu_usage_seconds_total counter
            node_cpu_usage_seconds_total 32479.158256 1700000000002
            # HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
            # TYPE node_memory_working_set_bytes gauge
            node_memory_working_set_bytes 1.2715470848e+10 1700000000002
            # HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
            # TYPE pod_cpu_usage_seconds_total counter
            pod_cpu_usage_seconds_total{namespace="default",pod="web-1"} 1.50025 1700000000000
            pod_cpu_usage_seconds_total{namespace="shop",pod="cart"} 1.23e-07 1700000000001
            # HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
            # TYPE pod_memory_working_set_bytes gauge
            pod_memory_working_set_bytes{namespace="default",pod="web-1"} 1.0489856e+07 1700000000000
            # HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
            # TYPE resource_scrape_error gauge
            resource_scrape_error 0
            # HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise
            # TYPE scrape_error gauge
            scrape_error 0

            """
        #expect(ResourceMetrics.render(s) == expected)

        // Nothing but the error flag when the node cannot be read and no container runs.
        #expect(ResourceMetrics.render(.init(node: nil, containers: [], scrapeError: true)) == """
            # HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
            # TYPE resource_scrape_error gauge
            resource_scrape_error 1
            # HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise
            # TYPE scrape_error gauge
            scrape_error 1

            """)
    }

    @Test func escapesLabelValues() {
        #expect(ResourceMetrics.escapeLabel("a\"b\\c\nd") == #"a\"b\\c\nd"#)
    }

    @Test(arguments: [
        (1.0, "1"), (0.0, "0"), (-1.0, "-1"), (4.8, "4.8"), (32479.158256, "32479.158256"), (123456.0, "123456"),
        (1234567.0, "1.234567e+06"), (12_715_470_848.0, "1.2715470848e+10"), (0.0001, "0.0001"), (0.00001, "1e-05"),
        (0.000123, "0.000123"), (1.23e-7, "1.23e-07"), (1e21, "1e+21"), (1.7e9, "1.7e+09"), (100.5, "100.5"), (-0.5, "-0.5"),
        (1e100, "1e+100"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"), (5e-324, "5e-324"),
    ])
    func formatsFloatsAsGo(value: Double, text: String) {
        #expect(goFormatFloat(value) == text)
    }

    @Test func collectsRunningContainersOfPods() async {
        let runtime = FakeStatsRuntime()
        let at = date(1_700_000_000)
        runtime.add("c1", namespace: "default", pod: "web", container: "main", created: date(1_699_999_000))
        runtime.add("c2", namespace: "default", pod: "web", container: "old", state: .exited, created: date(1_699_998_000))
        runtime.add("c3", namespace: "", pod: "", container: "", created: at, labelled: false)
        runtime.add("c4", namespace: "default", pod: "web", container: "gone", created: at)  // no stats: exited meanwhile
        runtime.set("c1", cpu: 5, memory: 6, at: at)
        runtime.set("c2", cpu: 7, memory: 8, at: at)
        runtime.set("c3", cpu: 9, memory: 10, at: at)
        let metrics = ResourceMetrics(runtime: runtime, nodeUsage: { nodeUsage(cpu: 1, memory: 2, at: at) })
        let snapshot = await metrics.collect()
        #expect(snapshot == ResourceMetrics.Snapshot(
            node: nodeUsage(cpu: 1, memory: 2, at: at),
            containers: [.init(namespace: "default", pod: "web", container: "main", startTime: date(1_699_999_000),
                               cpu: CpuUsage(timestamp: at, usageCoreNanoSeconds: 5), memory: MemoryUsage(timestamp: at, workingSetBytes: 6, usageBytes: 6))],
            scrapeError: false))

        struct Broken: Error {}
        let failing = await ResourceMetrics(runtime: runtime, nodeUsage: { throw Broken() }).collect()
        #expect(failing.scrapeError)
        #expect(failing.node == nil)
        #expect(failing.containers.count == 1)
    }
}

/// A kubelet server serving the resource metrics of `runtime` on a loopback port.
func withMetricsKubelet(_ pki: TestPKI, _ metrics: ResourceMetrics, _ body: (Int) async throws -> Void) async throws {
    try await withKubeletServer(pki, FakeLogSource(c1: try makeLogFile()), routes: metrics.addRoutes, body)
}

@Suite struct ResourceMetricsEndToEndTests {
    /// The kubelet's /metrics/resource, scraped twice by the API server's scraper over TLS,
    /// served as metrics.k8s.io.
    @Test func kubectlTopsDataFlowsFromTheKubeletToTheMetricsAPI() async throws {
        let pki = try TestPKI()
        let runtime = FakeStatsRuntime()
        let node = Mutex(nodeUsage(cpu: 1_000_000_000_000, memory: 2 << 30, at: date(1_700_000_000)))
        runtime.add("c1", namespace: "default", pod: "web", container: "main", created: date(1_699_990_000))
        runtime.set("c1", cpu: 1_500_000_000, memory: 10_485_760, at: date(1_700_000_000))
        let metrics = ResourceMetrics(runtime: runtime, nodeUsage: { node.withLock { $0 } })

        try await withMetricsKubelet(pki, metrics) { port in
            let base = "https://127.0.0.1:\(port)"
            let admin = (pki.pki.adminCertificatePEM, pki.pki.adminKeyPEM)
            var (status, body) = try await get(base + "/metrics/resource", pki: pki, certificate: admin)
            #expect(status == 200)
            #expect(body.contains(#"container_cpu_usage_seconds_total{container="main",namespace="default",pod="web"} 1.5 1700000000000"#))
            #expect(body.contains("node_memory_working_set_bytes 2.147483648e+09 1700000000000\n"))
            (status, body) = try await get(base + "/metrics", pki: pki, certificate: admin)
            #expect(status == 200)
            #expect(body.contains(#"kubelet_running_containers{container_state="running"} 1"#))
            #expect(body.contains("process_resident_memory_bytes "))
            (status, _) = try await get(base + "/metrics/resource", pki: pki, certificate: (pki.nodeCertificatePEM, pki.nodeKeyPEM))
            #expect(status == 403)

            let config = KubeletClientConfig(pki: pki.pki)
            let handler = APIHandler(store: MVCCStore(), kubeletClient: config)
            let cacheTask = Task { try await handler.run() }
            defer { cacheTask.cancel() }
            try await handler.bootstrap(servicePort: 6443)
            func request(_ method: String, _ target: String, _ body: String = "", contentType: String = "application/json") async -> APIResponse {
                await handler.handle(APIRequest(method, target, body: body, headers: ["content-type": contentType]))
            }
            #expect(await request("POST", "/api/v1/nodes", #"{"metadata":{"name":"n1"}}"#).status == 201)
            #expect(await request("POST", "/api/v1/nodes", #"{"metadata":{"name":"simulated"}}"#).status == 201)
            let ready = #"{"type":"Ready","status":"True","reason":"KubeletReady"}"#
            let status1 = #"{"status":{"conditions":[\#(ready)],"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":\#(port)}}}}"#
            #expect(await request("PATCH", "/api/v1/nodes/n1/status", status1, contentType: "application/merge-patch+json").status == 200)
            // Ready but without a kubelet endpoint (a simulated node): not scraped.
            let status2 = #"{"status":{"conditions":[\#(ready)],"addresses":[{"type":"InternalIP","address":"192.0.2.1"}]}}"#
            #expect(await request("PATCH", "/api/v1/nodes/simulated/status", status2, contentType: "application/merge-patch+json").status == 200)
            let pod = #"{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"nodeName":"n1","containers":[{"name":"main","image":"busybox"}]}}"#
            #expect(await request("POST", "/api/v1/namespaces/default/pods", pod).status == 201)
            try await waitUntil { await handler.scrapeTargets().map(\.node) == ["n1"] }

            var tls = try config.tlsConfiguration(skipVerify: false)
            tls.certificateVerification = .fullVerification
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
            do {
                let scraper = ResourceMetricsScraper(handler: handler)
                await scraper.scrape(client)
                var r = await request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1")
                #expect(r.status == 404)

                node.withLock { $0 = nodeUsage(cpu: 1_015_000_000_000, memory: 2 << 30, at: date(1_700_000_015.004)) }
                runtime.set("c1", cpu: 3_000_000_000, memory: 11_534_336, at: date(1_700_000_015.004))
                await scraper.scrape(client)

                r = await request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1")
                #expect(r.status == 200)
                let nodeMetrics = try JSON.parse(r.bodyBytes)
                #expect(nodeMetrics["usage"] == ["cpu": "999733404n", "memory": "2Gi"])
                #expect(nodeMetrics["window"] == "15.004s")
                #expect(nodeMetrics["timestamp"] == "2023-11-14T22:13:35Z")

                r = await request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb")
                let pods = try JSON.parse(r.bodyBytes)
                #expect(pods["items"]?.arrayValue?.count == 1)
                #expect(pods[path: ["items"]]?.arrayValue?.first?["containers"] == [["name": "main", "usage": ["cpu": "99973340n", "memory": "11Mi"]]])
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}

/// Polls `condition` until it holds; fails after about 5 s.
private func waitUntil(_ condition: () async -> Bool) async throws {
    for _ in 0..<500 {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("the condition never held")
}

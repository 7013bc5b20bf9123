import SkiffCore
import Testing
@testable import SkiffAPIServer

@Suite struct PrometheusTextTests {
    @Test(arguments: [
        ("node_cpu_usage_seconds_total 32479.158256 1736179157272",
         PrometheusSample(name: "node_cpu_usage_seconds_total", value: 32479.158256, timestamp: 1_736_179_157_272)),
        ("node_memory_working_set_bytes 1.2715470848e+10 1736179157272",
         PrometheusSample(name: "node_memory_working_set_bytes", value: 12_715_470_848, timestamp: 1_736_179_157_272)),
        (#"container_cpu_usage_seconds_total{container="main",namespace="default",pod="web-1"} 4.8 1700000000000"#,
         PrometheusSample(name: "container_cpu_usage_seconds_total", labels: ["container": "main", "namespace": "default", "pod": "web-1"],
                          value: 4.8, timestamp: 1_700_000_000_000)),
        (#"m{a="quote \" back \\ nl \n",b="",} 0"#, PrometheusSample(name: "m", labels: ["a": "quote \" back \\ nl \n", "b": ""], value: 0)),
        ("  spaced_out { a = \"x\" }   7   -5  ", PrometheusSample(name: "spaced_out", labels: ["a": "x"], value: 7, timestamp: -5)),
        ("resource_scrape_error 0", PrometheusSample(name: "resource_scrape_error", value: 0)),
        ("up +Inf", PrometheusSample(name: "up", value: .infinity)),
        ("up -Inf 1", PrometheusSample(name: "up", value: -.infinity, timestamp: 1)),
        ("with:colon_name 1e-05", PrometheusSample(name: "with:colon_name", value: 0.00001)),
    ])
    func parsesASample(line: String, expected: PrometheusSample) throws {
        #expect(try PrometheusText.parse(line) == [expected])
    }

    @Test func skipsCommentsAndBlankLines() throws {
        let text = """
            # HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
            # TYPE node_cpu_usage_seconds_total counter
            node_cpu_usage_seconds_total 1 2

            #no space comment
            up NaN\r

            """
        let samples = try PrometheusText.parse(text)
        #expect(samples.count == 2)
        #expect(samples[0] == PrometheusSample(name: "node_cpu_usage_seconds_total", value: 1, timestamp: 2))
        #expect(samples[1].name == "up" && samples[1].value.isNaN)
    }

    @Test(arguments: [
        (#"m{a="b" 1"#, 1), ("m abc", 1), ("m 1 x", 1), (#"{a="b"} 1"#, 1), (#"m{a="b\q"} 1"#, 1), ("ok 1\nm", 2), ("m 1 2 3", 1),
        ("m 0x10", 1), ("m infinity", 1),
    ])
    func rejectsABadLine(text: String, line: Int) {
        #expect(throws: PrometheusParseError.self) { try PrometheusText.parse(text) }
        do {
            _ = try PrometheusText.parse(text)
        } catch {
            #expect(error.line == line)
        }
    }
}

let t0: Int64 = 1_700_000_000_000_000_000
let ms: Int64 = 1_000_000
let second: Int64 = 1_000_000_000

func point(_ at: Int64, cpu: UInt64, memory: UInt64, start: Int64? = nil) -> MetricsPoint {
    MetricsPoint(timestamp: at, cumulativeCPUNanoseconds: cpu, memoryWorkingSetBytes: memory, startTime: start)
}

@Suite struct ResourceMetricsBatchTests {
    @Test func decodesAKubeletsResourceMetrics() throws {
        let text = """
            # HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
            # TYPE container_cpu_usage_seconds_total counter
            container_cpu_usage_seconds_total{container="main",namespace="default",pod="web-1"} 1.5 1700000000000
            container_cpu_usage_seconds_total{container="new",namespace="default",pod="web-1"} 0 1700000000000
            container_cpu_usage_seconds_total{container="side",namespace="shop",pod="cart"} 0.25 1700000000001
            container_cpu_usage_seconds_total{namespace="shop",pod="cart"} 9 1700000000001
            # TYPE container_memory_working_set_bytes gauge
            container_memory_working_set_bytes{container="main",namespace="default",pod="web-1"} 1.048576e+07 1700000000000
            container_memory_working_set_bytes{container="new",namespace="default",pod="web-1"} 4096 1700000000000
            container_memory_working_set_bytes{container="side",namespace="shop",pod="cart"} 2.097152e+06 1700000000001
            container_start_time_seconds{container="main",namespace="default",pod="web-1"} 1.6999999e+09 1699999900000
            node_cpu_usage_seconds_total 32479.158256 1700000000002
            node_memory_working_set_bytes 1.2715470848e+10 1700000000002
            pod_cpu_usage_seconds_total{namespace="default",pod="web-1"} 1.5 1700000000000
            resource_scrape_error 0
            scrape_error 0
            """
        let batch = ResourceMetricsBatch(decoding: try PrometheusText.parse(text), scrapedAt: 0)
        #expect(batch.node == point(t0 + 2 * ms, cpu: 32_479_158_256_000, memory: 12_715_470_848))
        // A container that has used no CPU yet (no data) is left out; one without a name is ignored.
        #expect(batch.pods == [
            PodReference(namespace: "default", name: "web-1"): ["main": point(t0, cpu: 1_500_000_000, memory: 10_485_760, start: 1_699_999_900 * second)],
            PodReference(namespace: "shop", name: "cart"): ["side": point(t0 + ms, cpu: 250_000_000, memory: 2_097_152)],
        ])
    }

    @Test func samplesWithoutATimestampAreTakenAtTheScrape() throws {
        let batch = ResourceMetricsBatch(decoding: try PrometheusText.parse("node_cpu_usage_seconds_total 2\nnode_memory_working_set_bytes 3\n"), scrapedAt: 77)
        #expect(batch.node == point(77, cpu: 2_000_000_000, memory: 3))
    }
}

@Suite struct ResourceMetricsStorageTests {
    @Test func cpuIsTheRateBetweenTheLastTwoPoints() {
        let usage = ResourceUsage.between(point(t0 + 15_004 * ms, cpu: 3_000_000_000, memory: 5), point(t0, cpu: 1_500_000_000, memory: 9))
        #expect(usage == ResourceUsage(cpuNanocores: 99_973_340, memoryBytes: 5, timestamp: t0 + 15_004 * ms, window: 15_004 * ms))
        // A counter that went back, or points out of order, give nothing.
        #expect(ResourceUsage.between(point(t0 + second, cpu: 1, memory: 1), point(t0, cpu: 2, memory: 1)) == nil)
        #expect(ResourceUsage.between(point(t0, cpu: 2, memory: 1), point(t0, cpu: 1, memory: 1)) == nil)
    }

    @Test func aNodeAndAPodShowAfterTwoScrapes() {
        let storage = ResourceMetricsStorage()
        let web = PodReference(namespace: "default", name: "web")
        func batch(_ at: Int64, _ cpu: UInt64) -> [String: ResourceMetricsBatch] {
            ["n1": ResourceMetricsBatch(node: point(at, cpu: cpu * 10, memory: 100),
                                        pods: [web: ["a": point(at, cpu: cpu, memory: 10, start: t0 - 3600 * second),
                                                     "b": point(at + ms, cpu: cpu * 2, memory: 20, start: t0 - 3600 * second)]])]
        }
        storage.store(batch(t0, 1_000_000_000))
        #expect(storage.node("n1") == nil)
        #expect(storage.pod(web) == nil)

        storage.store(batch(t0 + 15 * second, 2_500_000_000))
        #expect(storage.node("n1") == ResourceUsage(cpuNanocores: 1_000_000_000, memoryBytes: 100, timestamp: t0 + 15 * second, window: 15 * second))
        let pod = storage.pod(web)
        #expect(pod?.containers["a"] == ResourceUsage(cpuNanocores: 100_000_000, memoryBytes: 10, timestamp: t0 + 15 * second, window: 15 * second))
        #expect(pod?.containers["b"]?.cpuNanocores == 200_000_000)
        // The pod's time and window are its earliest-read container's.
        #expect(pod?.timestamp == t0 + 15 * second)
        #expect(pod?.window == 15 * second)

        // A cycle without the node (its scrape failed) forgets it: two more scrapes are needed.
        storage.store([:])
        #expect(storage.node("n1") == nil)
        #expect(storage.pod(web) == nil)
        storage.store(batch(t0 + 45 * second, 4_000_000_000))
        #expect(storage.node("n1") == nil)
    }

    @Test func aScrapeWithTheSameTimestampKeepsThePreviousPoint() {
        let storage = ResourceMetricsStorage()
        storage.store(["n1": ResourceMetricsBatch(node: point(t0, cpu: 1_000, memory: 1))])
        storage.store(["n1": ResourceMetricsBatch(node: point(t0 + second, cpu: 2_000, memory: 1))])
        storage.store(["n1": ResourceMetricsBatch(node: point(t0 + second, cpu: 2_000, memory: 1))])
        #expect(storage.node("n1")?.cpuNanocores == 1_000)
    }

    @Test func aRestartedContainerCountsFromItsStart() {
        let storage = ResourceMetricsStorage()
        let web = PodReference(namespace: "default", name: "web")
        storage.store(["n1": ResourceMetricsBatch(pods: [web: ["a": point(t0, cpu: 9_000_000_000, memory: 1, start: t0 - 3600 * second)]])])
        storage.store(["n1": ResourceMetricsBatch(pods: [web: ["a": point(t0 + 15 * second, cpu: 10_000_000_000, memory: 1, start: t0 - 3600 * second)]])])
        #expect(storage.pod(web)?.containers["a"]?.cpuNanocores == 66_666_666)
        // Restarted 12 s before this scrape: its new counter is measured from its start.
        storage.store(["n1": ResourceMetricsBatch(pods: [web: ["a": point(t0 + 30 * second, cpu: 1_200_000_000, memory: 1, start: t0 + 18 * second)]])])
        #expect(storage.pod(web)?.containers["a"] == ResourceUsage(cpuNanocores: 100_000_000, memoryBytes: 1, timestamp: t0 + 30 * second, window: 12 * second))
        // Restarted only 2 s before: too little to go on, it waits for the next scrape.
        storage.store(["n1": ResourceMetricsBatch(pods: [web: ["a": point(t0 + 45 * second, cpu: 100_000_000, memory: 1, start: t0 + 43 * second)]])])
        #expect(storage.pod(web) == nil)
    }
}

/// Builds the metrics API's data: nodes n1 (with metrics) and n2 (without), pods web-1
/// (tier front), web-2 (tier back) and web-3 (no metrics) in default, cart in shop.
func metricsServer() async throws -> TestServer {
    let s = try await TestServer.start()
    _ = try await s.create("/api/v1/nodes", #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"zone":"a"}}}"#)
    _ = try await s.create("/api/v1/nodes", #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}"#)
    for (name, tier) in [("web-1", "front"), ("web-2", "back"), ("web-3", "back")] {
        _ = try await s.create("/api/v1/namespaces/default/pods", pod(name, tier: tier))
    }
    _ = try await s.create("/api/v1/namespaces", #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}"#)
    _ = try await s.create("/api/v1/namespaces/shop/pods", pod("cart"))
    func batch(_ at: Int64, _ seconds: UInt64) -> [String: ResourceMetricsBatch] {
        let start = t0 - 3600 * second
        return ["n1": ResourceMetricsBatch(
            node: point(at, cpu: seconds * 1_000_000_000, memory: 104_861_696),
            pods: [PodReference(namespace: "default", name: "web-1"): ["main": point(at, cpu: seconds * 100_000_000, memory: 10_485_760, start: start),
                                                                      "sidecar": point(at, cpu: seconds * 1_000_000, memory: 1_000_000, start: start)],
                   PodReference(namespace: "default", name: "web-2"): ["main": point(at, cpu: seconds * 200_000_000, memory: 20_971_520, start: start)],
                   PodReference(namespace: "shop", name: "cart"): ["main": point(at, cpu: seconds * 1_000_000, memory: 4096, start: start)]])]
    }
    s.handler.resourceMetrics.store(batch(t0, 100))
    s.handler.resourceMetrics.store(batch(t0 + 15_004 * ms, 115))
    return s
}

@Suite struct ResourceMetricsAPITests {
    @Test func listsAndGetsNodeMetrics() async throws {
        let s = try await metricsServer()
        defer { s.stop() }
        var r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
        #expect(r.status == 200)
        #expect(r.json["kind"] == "NodeMetricsList")
        #expect(r.json["apiVersion"] == "metrics.k8s.io/v1beta1")
        #expect(r.json["metadata"] == [:])
        let items = r.json["items"]?.arrayValue ?? []
        #expect(items.count == 1)
        let n1 = items.first ?? [:]
        #expect(n1[path: ["metadata", "name"]] == "n1")
        #expect(n1[path: ["metadata", "labels"]] == ["zone": "a"])
        #expect(n1[path: ["metadata", "creationTimestamp"]]?.stringValue != nil)
        #expect(n1["timestamp"] == "2023-11-14T22:13:35Z")
        #expect(n1["window"] == "15.004s")
        // 15 CPU-seconds over 15.004 s; 102404 KiB.
        #expect(n1["usage"] == ["cpu": "999733404n", "memory": "102404Ki"])
        #expect(n1["kind"] == nil)

        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db")
        #expect(r.json["items"] == [])
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dn1")
        #expect(r.json["items"]?.arrayValue?.count == 1)

        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1")
        #expect(r.status == 200)
        #expect(r.json["kind"] == "NodeMetrics")
        #expect(r.json["apiVersion"] == "metrics.k8s.io/v1beta1")
        #expect(r.json["usage"] == n1["usage"])

        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n2")
        #expect(r.status == 404)
        #expect(r.json["message"] == #"nodemetrics.metrics.k8s.io "n2" not found"#)
        #expect(r.json["reason"] == "NotFound")
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/nope")
        #expect(r.status == 404)
        #expect(r.json["message"] == #"nodes "nope" not found"#)
    }

    @Test func listsAndGetsPodMetrics() async throws {
        let s = try await metricsServer()
        defer { s.stop() }
        var r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
        #expect(r.status == 200)
        #expect(r.json["kind"] == "PodMetricsList")
        let names = (r.json["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue }
        #expect(names == ["web-1", "web-2"])
        let web1 = r.json["items"]?.arrayValue?.first ?? [:]
        #expect(web1[path: ["metadata", "namespace"]] == "default")
        #expect(web1[path: ["metadata", "labels"]] == ["app": "web", "tier": "front"])
        #expect(web1["window"] == "15.004s")
        #expect(web1["containers"] == [["name": "main", "usage": ["cpu": "99973340n", "memory": "10Mi"]],
                                       ["name": "sidecar", "usage": ["cpu": "999733n", "memory": "1000000"]]])

        // As the HPA controller asks.
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb%2Ctier%3Dback")
        #expect((r.json["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue } == ["web-2"])
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-1")
        #expect((r.json["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue } == ["web-1"])
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=in%3D%3D%3D")
        #expect(r.status == 400)

        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/pods")
        #expect((r.json["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue } == ["web-1", "web-2", "cart"])
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dshop")
        #expect((r.json["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue } == ["cart"])

        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/cart")
        #expect(r.status == 200, "\(r.text)")
        #expect(r.json["kind"] == "PodMetrics")
        #expect(r.json["containers"] == [["name": "main", "usage": ["cpu": "999733n", "memory": "4Ki"]]])

        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-3")
        #expect(r.status == 404)
        #expect(r.json["message"] == #"podmetrics.metrics.k8s.io "default/web-3" not found"#)
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope")
        #expect(r.status == 404)
        #expect(r.json["message"] == #"pods "nope" not found"#)
    }

    @Test func refusesWhatMetricsServerDoesNotServe() async throws {
        let s = try await metricsServer()
        defer { s.stop() }
        #expect(await s.request("POST", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", "{}").status == 405)
        #expect(await s.request("DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/n1").status == 405)
        #expect(await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes?watch=true").status == 405)
        #expect(await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes").status == 404)
        #expect(await s.request("GET", "/apis/metrics.k8s.io/v1beta1/deployments").status == 404)
        #expect(await s.request("GET", "/apis/metrics.k8s.io/v1/nodes").status == 404)
        #expect(await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/status").status == 404)
    }

    @Test func isDiscoverable() async throws {
        let s = try await metricsServer()
        defer { s.stop() }
        var r = await s.request("GET", "/apis")
        let group = r.json["groups"]?.arrayValue?.first { $0["name"] == "metrics.k8s.io" }
        #expect(group?["preferredVersion"] == ["groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"])
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1")
        #expect(r.json["resources"] == [
            ["name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]],
            ["name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]],
        ])
        for version in ["v2", "v2beta1"] {
            r = await s.request("GET", "/apis", headers: ["Accept": "application/json;g=apidiscovery.k8s.io;v=\(version);as=APIGroupDiscoveryList,application/json"])
            let entry = r.json["items"]?.arrayValue?.first { $0[path: ["metadata", "name"]] == "metrics.k8s.io" }
            let resources = entry?["versions"]?.arrayValue?.first?["resources"]?.arrayValue ?? []
            #expect(resources.map { $0["resource"] } == ["nodes", "pods"])
            #expect(resources.map { $0["scope"] } == ["Cluster", "Namespaced"])
            #expect(resources.first?["responseKind"] == ["group": "metrics.k8s.io", "version": "v1beta1", "kind": "NodeMetrics"])
        }
    }

    @Test func printsATable() async throws {
        let s = try await metricsServer()
        defer { s.stop() }
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        var r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", headers: ["Accept": table])
        #expect(r.response.header("Content-Type") == "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(r.json["kind"] == "Table")
        #expect(r.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "CPU", "Memory", "Window"])
        let row = r.json["rows"]?.arrayValue?.first
        // The pod's usage summed over its containers.
        #expect(row?["cells"] == ["web-1", "100973073n", "11485760", "15.004s"])
        #expect(row?[path: ["object", "kind"]] == "PartialObjectMetadata")
        #expect(row?[path: ["object", "metadata", "name"]] == "web-1")
        r = await s.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1", headers: ["Accept": table])
        #expect(r.json["rows"]?.arrayValue?.first?["cells"] == ["n1", "999733404n", "102404Ki", "15.004s"])
    }

    @Test(arguments: [
        (Int64(0), "0s"), (15_004_000_000, "15.004s"), (60_500_000_000, "1m0.5s"), (3_600_000_000_000, "1h0m0s"),
        (250_000_000, "250ms"), (1_500, "1.5µs"), (999, "999ns"), (-2_000_000_000, "-2s"), (5_025_000_123_000, "1h23m45.000123s"),
    ])
    func formatsWindowsAsGoDurations(nanoseconds: Int64, text: String) {
        #expect(ResourceMetricsAPI.goDuration(nanoseconds) == text)
    }
}

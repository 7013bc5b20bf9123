import Hummingbird
import Prometheus

/// The proxy's metrics, named as kube-proxy names them, in Prometheus' text format on
/// 127.0.0.1:10249/metrics (kube-proxy's metrics address).
public final class ProxyMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                      .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30)]
    let programming: DurationHistogram
    let failures: Counter

    init() {
        programming = registry.makeDurationHistogram(
            descriptor: .init(metricName: "kubeproxy_network_programming_duration", unitName: "seconds",
                              helpText: "From a Service or EndpointSlice change seen by the proxy to its rules applied (Kubernetes' network programming latency SLI)."),
            buckets: Self.buckets)
        failures = registry.makeCounter(descriptor: .init(metricName: "kubeproxy_sync_proxy_rules_nftables_failures", unitName: "total",
                                                          helpText: "Transactions nft refused."))
    }

    func observeProgramming(_ d: Duration) { programming.record(d) }

    func observeSync(_ d: Duration, full: Bool) {
        registry.makeDurationHistogram(descriptor: .init(metricName: "kubeproxy_sync_proxy_rules_duration", unitName: "seconds",
                                                         helpText: "How long one sync of the rules took."),
                                       labels: [("sync", full ? "full" : "partial")], buckets: Self.buckets).record(d)
    }

    func syncFailed() { failures.increment() }

    public func render() -> [UInt8] { registry.emitToBuffer() }

    /// Serves /metrics and /healthz until cancelled.
    public func serve(host: String = "127.0.0.1", port: Int = 10249) async throws {
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: self.render())))
        }
        router.get("/healthz") { _, _ in "ok" }
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil))
        try await app.runService()
    }
}

import Prometheus
import SkiffCore
import Synchronization

/// The API server's metrics in Prometheus' text format at /metrics, named as
/// kube-apiserver names them where it has the same measure.
public final class APIMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let inflightWatches: Gauge
    let storeRevision: Gauge
    let databaseBytes: Gauge
    let compactions: Gauge
    let inflightRequests: Gauge
    static let buckets: [Duration] = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                      .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]

    public init() {
        inflightWatches = registry.makeGauge(descriptor: .init(metricName: "apiserver_longrunning_requests", unitName: "",
                                                               helpText: "Watches being served."))
        storeRevision = registry.makeGauge(descriptor: .init(metricName: "skiff_store_revision", unitName: "",
                                                             helpText: "The store's current revision."))
        databaseBytes = registry.makeGauge(descriptor: .init(metricName: "apiserver_storage_db_total_size_in", unitName: "bytes",
                                                             helpText: "Size of the database file."))
        compactions = registry.makeGauge(descriptor: .init(metricName: "skiff_store_compactions", unitName: "total",
                                                           helpText: "History compactions run by the store."))
        inflightRequests = registry.makeGauge(descriptor: .init(metricName: "apiserver_current_inflight_requests", unitName: "",
                                                                helpText: "Requests being served, watches excluded."))
    }

    func observe(verb: String, resource: String, code: Int, duration: Duration) {
        registry.makeCounter(descriptor: .init(metricName: "apiserver_request", unitName: "total",
                                               helpText: "Requests by verb, resource and HTTP code."),
                             labels: [("verb", verb), ("resource", resource), ("code", String(code))]).increment()
        registry.makeDurationHistogram(descriptor: .init(metricName: "apiserver_request_duration", unitName: "seconds",
                                                         helpText: "Request latency by verb and resource."),
                                       labels: [("verb", verb), ("resource", resource)], buckets: Self.buckets).record(duration)
    }

    func render() -> [UInt8] { registry.emitToBuffer() }
}

/// Who may do what. Every authenticated user may do anything for now; RBAC will
/// implement this protocol.
public protocol Authorizer: Sendable {
    func authorize(user: String, verb: String, resource: String, namespace: String?) -> Bool
}

public struct AlwaysAllow: Authorizer {
    public init() {}
    public func authorize(user: String, verb: String, resource: String, namespace: String?) -> Bool { true }
}

/// kube-apiserver's max-requests-inflight: past the limit a request is answered 429 with
/// Retry-After at once, instead of queueing until everything is slow.
final class InflightLimiter: Sendable {
    let limit: Int
    let current = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    func acquire() -> Bool {
        let n = current.wrappingAdd(1, ordering: .relaxed).newValue
        if n > limit {
            current.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { current.wrappingSubtract(1, ordering: .relaxed) }
}

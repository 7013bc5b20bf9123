import SkiffAPI
import SkiffClient
import SkiffCore

/// One pod's resource usage over a window, as the resource metrics API
/// (metrics.k8s.io/v1beta1 PodMetrics) reports it.
public struct PodUsage: Sendable, Equatable {
    public struct Container: Sendable, Equatable {
        public var name: String
        /// CPU in millicores; nil when the sample has none.
        public var cpu: Int64?
        /// Memory in bytes; nil when the sample has none.
        public var memory: Int64?

        public init(name: String, cpu: Int64? = nil, memory: Int64? = nil) {
            self.name = name
            self.cpu = cpu
            self.memory = memory
        }

        /// This container's usage of `resource` in thousandths of its unit (millicores,
        /// millibytes), the scale upstream computes in (Quantity.MilliValue).
        func milliValue(_ resource: String) -> Int64? {
            switch resource {
            case "cpu": cpu
            case "memory": memory.map { $0.multipliedReportingOverflow(by: 1000).overflow ? .max : $0 * 1000 }
            default: nil
            }
        }
    }

    public var name: String
    /// When the sample was taken, and the window it averages over.
    public var timestamp: Timestamp
    public var window: Duration
    public var containers: [Container]

    public init(name: String, timestamp: Timestamp, window: Duration, containers: [Container]) {
        self.name = name
        self.timestamp = timestamp
        self.window = window
        self.containers = containers
    }

    /// The pod's usage of `resource` summed over its containers, in thousandths; nil when
    /// a container lacks it or there are none (upstream then treats the pod as missing).
    func milliValue(_ resource: String) -> Int64? {
        guard !containers.isEmpty else { return nil }
        var sum: Int64 = 0
        for c in containers {
            guard let v = c.milliValue(resource) else { return nil }
            sum = sum.addingReportingOverflow(v).overflow ? .max : sum + v
        }
        return sum
    }
}

/// Where the HPA controller reads pod resource usage: the resource metrics API in a
/// cluster, a fake in tests.
public protocol PodMetricsSource: Sendable {
    /// The usage of the pods in `namespace` that `selector` (a label selector string, ""
    /// for all) matches.
    func podMetrics(namespace: String, selector: String) async throws -> [PodUsage]
}

/// The resource metrics API (metrics.k8s.io/v1beta1, served by metrics-server upstream)
/// read through the API server, as kube-controller-manager's resource metrics client does.
public struct ResourceMetricsClient: PodMetricsSource {
    let client: Client

    public init(client: Client) { self.client = client }

    public func podMetrics(namespace: String, selector: String) async throws -> [PodUsage] {
        let request = ClientRequest(method: "GET", path: "/apis/metrics.k8s.io/v1beta1/namespaces/\(namespace)/pods",
                                    query: selector.isEmpty ? [] : [("labelSelector", selector)])
        let response = try await client.transport.send(request)
        guard response.status == 200 else {
            var error = ClientError(status: response.status, body: response.body)
            // As client-go words a Status without details: which resource it asked for.
            if error.code == 404 { error.message += " (get pods.metrics.k8s.io)" }
            throw error
        }
        let list: JSON
        do {
            list = try JSON.parse(response.body)
        } catch {
            throw ClientError(code: response.status, reason: "InvalidResponse", message: "\(error)")
        }
        return (list["items"]?.arrayValue ?? []).map(Self.podUsage)
    }

    /// A PodMetrics item. Usage that does not parse is left out, so the pod counts as
    /// missing a metric rather than failing every pod's calculation.
    static func podUsage(_ item: JSON) -> PodUsage {
        let containers = (item["containers"]?.arrayValue ?? []).map { c in
            let usage = c["usage"]
            return PodUsage.Container(name: c["name"]?.stringValue ?? "",
                                      cpu: usage?["cpu"].flatMap { try? Quantity(json: $0) }?.milliValue,
                                      memory: usage?["memory"].flatMap { try? Quantity(json: $0) }?.value)
        }
        return PodUsage(name: item.name ?? "",
                        timestamp: item["timestamp"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) ?? Timestamp(seconds: 0),
                        window: item["window"]?.stringValue.flatMap(parseGoDuration) ?? .zero,
                        containers: containers)
    }
}

/// A Go time.Duration string ("30s", "1m0.5s", "250ms", "1h2m"), as metav1.Duration
/// serializes; nil when it is not one.
func parseGoDuration(_ text: String) -> Duration? {
    var s = Substring(text)
    var negative = false
    if s.first == "-" || s.first == "+" {
        negative = s.first == "-"
        s = s.dropFirst()
    }
    if s == "0" { return .zero }
    guard !s.isEmpty else { return nil }
    let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
    var total = 0.0
    while !s.isEmpty {
        let number = s.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number) else { return nil }
        s = s.dropFirst(number.count)
        // Longest unit first: "ms" before "m".
        guard let unit = units.filter({ s.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
        s = s.dropFirst(unit.0.count)
        total += value * unit.1
    }
    return .nanoseconds(Int64((negative ? -total : total) * 1e9))
}

import SkiffCore
import Synchronization

/// Cumulative CPU time and the working set of a node or container at one instant, as a
/// kubelet's /metrics/resource reports them (metrics-server's MetricsPoint).
public struct MetricsPoint: Sendable, Equatable {
    /// When the kubelet read it, in nanoseconds since the epoch.
    public var timestamp: Int64
    public var cumulativeCPUNanoseconds: UInt64
    public var memoryWorkingSetBytes: UInt64
    /// A container's start time (nanoseconds since the epoch): a later one than the point
    /// before means it restarted and its counter began again.
    public var startTime: Int64?

    public init(timestamp: Int64, cumulativeCPUNanoseconds: UInt64, memoryWorkingSetBytes: UInt64, startTime: Int64? = nil) {
        self.timestamp = timestamp
        self.cumulativeCPUNanoseconds = cumulativeCPUNanoseconds
        self.memoryWorkingSetBytes = memoryWorkingSetBytes
        self.startTime = startTime
    }
}

/// A pod by namespace and name.
public struct PodReference: Sendable, Hashable, Comparable {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (a: PodReference, b: PodReference) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// What one scrape of one kubelet said: the node's point and its pods' containers' points.
public struct ResourceMetricsBatch: Sendable, Equatable {
    public var node: MetricsPoint?
    /// Container name → point, per pod.
    public var pods: [PodReference: [String: MetricsPoint]]

    public init(node: MetricsPoint? = nil, pods: [PodReference: [String: MetricsPoint]] = [:]) {
        self.node = node
        self.pods = pods
    }

    /// Reads a kubelet's /metrics/resource as metrics-server decodes it: node and
    /// container CPU seconds and working sets, and container start times; samples without
    /// a timestamp are taken as read at `scrapedAt`. Points missing CPU or memory, or
    /// reporting zero for either (the kubelet had no data yet), are left out.
    public init(decoding samples: [PrometheusSample], scrapedAt: Int64) {
        struct Partial {
            var timestamp: Int64?
            var cpu: UInt64?
            var memory: UInt64?
            var start: Int64?

            var point: MetricsPoint? {
                guard let timestamp, let cpu, let memory, cpu > 0, memory > 0 else { return nil }
                return MetricsPoint(timestamp: timestamp, cumulativeCPUNanoseconds: cpu, memoryWorkingSetBytes: memory, startTime: start)
            }
        }
        func nanoseconds(_ seconds: Double) -> UInt64? {
            guard seconds.isFinite, seconds >= 0, seconds * 1e9 < Double(UInt64.max) else { return nil }
            return UInt64((seconds * 1e9).rounded())
        }
        func bytes(_ value: Double) -> UInt64? {
            guard value.isFinite, value >= 0, value < Double(UInt64.max) else { return nil }
            return UInt64(value)
        }
        var node = Partial()
        var containers: [PodReference: [String: Partial]] = [:]
        for s in samples {
            let at = s.timestamp.map { $0 * 1_000_000 } ?? scrapedAt
            switch s.name {
            case "node_cpu_usage_seconds_total":
                node.cpu = nanoseconds(s.value)
                node.timestamp = at
            case "node_memory_working_set_bytes":
                node.memory = bytes(s.value)
                if node.timestamp == nil { node.timestamp = at }
            case "container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_start_time_seconds":
                guard let namespace = s.labels["namespace"], let pod = s.labels["pod"], let container = s.labels["container"],
                      !namespace.isEmpty, !pod.isEmpty, !container.isEmpty else { continue }
                let ref = PodReference(namespace: namespace, name: pod)
                var p = containers[ref]?[container] ?? Partial()
                switch s.name {
                case "container_cpu_usage_seconds_total":
                    p.cpu = nanoseconds(s.value)
                    p.timestamp = at
                case "container_memory_working_set_bytes":
                    p.memory = bytes(s.value)
                    if p.timestamp == nil { p.timestamp = at }
                default:
                    p.start = nanoseconds(s.value).map { Int64(clamping: $0) }
                }
                containers[ref, default: [:]][container] = p
            default:
                continue
            }
        }
        self.node = node.point
        var pods: [PodReference: [String: MetricsPoint]] = [:]
        for (ref, byName) in containers {
            let points = byName.compactMapValues(\.point)
            if !points.isEmpty { pods[ref] = points }
        }
        self.pods = pods
    }
}

/// Usage over a window: CPU as a rate, memory as the last working set.
public struct ResourceUsage: Sendable, Equatable {
    public var cpuNanocores: UInt64
    public var memoryBytes: UInt64
    /// The later point's time and the span back to the earlier one (nanoseconds).
    public var timestamp: Int64
    public var window: Int64

    public init(cpuNanocores: UInt64, memoryBytes: UInt64, timestamp: Int64, window: Int64) {
        self.cpuNanocores = cpuNanocores
        self.memoryBytes = memoryBytes
        self.timestamp = timestamp
        self.window = window
    }

    /// metrics-server's rate: the CPU time used between two points over the time between
    /// them; nil when the counter went back (a reset) or the points are not in order.
    public static func between(_ last: MetricsPoint, _ prev: MetricsPoint) -> ResourceUsage? {
        guard last.cumulativeCPUNanoseconds >= prev.cumulativeCPUNanoseconds, last.timestamp > prev.timestamp else { return nil }
        let window = last.timestamp - prev.timestamp
        let rate = Double(last.cumulativeCPUNanoseconds - prev.cumulativeCPUNanoseconds) / (Double(window) / 1e9)
        return ResourceUsage(cpuNanocores: UInt64(rate), memoryBytes: last.memoryWorkingSetBytes, timestamp: last.timestamp, window: window)
    }
}

/// One pod's usage: per container, and the time and window of the pod as a whole (those
/// of its container read earliest, as metrics-server reports them).
public struct PodResourceUsage: Sendable, Equatable {
    public var containers: [String: ResourceUsage]
    public var timestamp: Int64
    public var window: Int64
}

/// The last two points of every node and container, kept in memory as metrics-server keeps
/// them (nothing is stored in the API's store): each scrape cycle's batches replace the
/// last points, and the ones they replace become the previous points the rates are
/// computed against. A node or pod missing from a cycle is forgotten.
public final class ResourceMetricsStorage: Sendable {
    struct State {
        var nodes: [String: MetricsPoint] = [:]
        var previousNodes: [String: MetricsPoint] = [:]
        var pods: [PodReference: [String: MetricsPoint]] = [:]
        var previousPods: [PodReference: [String: MetricsPoint]] = [:]
    }

    /// A container started this recently before it was read (but not more recently than
    /// this) counts from its start with no CPU used, so it shows after one scrape.
    static let freshContainerMinimumAge: Int64 = 10_000_000_000

    private let state = Mutex(State())

    public init() {}

    /// Takes one scrape cycle's batches, by node name. `resolution` is the scrape interval.
    public func store(_ batches: [String: ResourceMetricsBatch], resolution: Duration = .seconds(15)) {
        let resolutionNanos = resolution.components.seconds * 1_000_000_000 + resolution.components.attoseconds / 1_000_000_000
        state.withLock { s in
            var nodes: [String: MetricsPoint] = [:]
            var previousNodes: [String: MetricsPoint] = [:]
            var pods: [PodReference: [String: MetricsPoint]] = [:]
            var previousPods: [PodReference: [String: MetricsPoint]] = [:]
            for (name, batch) in batches {
                if let point = batch.node {
                    nodes[name] = point
                    if let last = s.nodes[name], point.timestamp > last.timestamp {
                        previousNodes[name] = last
                    } else if let prev = s.previousNodes[name], prev.timestamp < point.timestamp {
                        previousNodes[name] = prev
                    }
                }
                for (ref, containers) in batch.pods {
                    pods[ref] = containers
                    var previous: [String: MetricsPoint] = [:]
                    for (container, point) in containers {
                        if let last = s.pods[ref]?[container], (point.startTime ?? .min) < last.timestamp {
                            // The same instance as last time.
                            if point.timestamp > last.timestamp {
                                previous[container] = last
                            } else if let prev = s.previousPods[ref]?[container], prev.timestamp < point.timestamp {
                                previous[container] = prev
                            }
                        } else if let start = point.startTime, start < point.timestamp,
                                  point.timestamp - start < resolutionNanos, point.timestamp - start >= Self.freshContainerMinimumAge {
                            // New or restarted within the last interval: it used no CPU before it started.
                            previous[container] = MetricsPoint(timestamp: start, cumulativeCPUNanoseconds: 0, memoryWorkingSetBytes: 0, startTime: start)
                        }
                    }
                    if !previous.isEmpty { previousPods[ref] = previous }
                }
            }
            s = State(nodes: nodes, previousNodes: previousNodes, pods: pods, previousPods: previousPods)
        }
    }

    /// The node's usage, once it has two points.
    public func node(_ name: String) -> ResourceUsage? {
        state.withLock { s in
            guard let last = s.nodes[name], let prev = s.previousNodes[name] else { return nil }
            return ResourceUsage.between(last, prev)
        }
    }

    /// The pod's usage, once every container it reported has two points.
    public func pod(_ ref: PodReference) -> PodResourceUsage? {
        state.withLock { s in
            guard let last = s.pods[ref], let prev = s.previousPods[ref] else { return nil }
            var containers: [String: ResourceUsage] = [:]
            var earliest: ResourceUsage?
            for (name, point) in last {
                guard let before = prev[name], let usage = ResourceUsage.between(point, before) else { return nil }
                containers[name] = usage
                if earliest == nil || usage.timestamp < earliest!.timestamp { earliest = usage }
            }
            guard let earliest else { return nil }
            return PodResourceUsage(containers: containers, timestamp: earliest.timestamp, window: earliest.window)
        }
    }
}

import Foundation

// Resource usage as the CRI reports it (runtime.v1 ContainerStats, CpuUsage, MemoryUsage):
// what the kubelet turns into its /metrics/resource and the resource metrics API is
// computed from. Only the fields Skiff fills are here.

/// Which container the stats are of, as CRI's ContainerAttributes.
public struct ContainerAttributes: Sendable, Equatable {
    public var id: String
    /// The container's name in its pod, and its attempt (CRI's ContainerMetadata).
    public var name: String
    public var attempt: Int
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(id: String, name: String, attempt: Int = 0, labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.attempt = attempt
        self.labels = labels
        self.annotations = annotations
    }
}

/// Cumulative CPU time, read at `timestamp`.
public struct CpuUsage: Sendable, Equatable {
    public var timestamp: Date
    /// CPU time used since the cgroup was made, over all cores (CRI's usage_core_nano_seconds).
    public var usageCoreNanoSeconds: UInt64

    public init(timestamp: Date, usageCoreNanoSeconds: UInt64) {
        self.timestamp = timestamp
        self.usageCoreNanoSeconds = usageCoreNanoSeconds
    }
}

/// Memory in use, read at `timestamp`.
public struct MemoryUsage: Sendable, Equatable {
    public var timestamp: Date
    /// What the kernel cannot easily reclaim: usage minus inactive file pages, as cAdvisor
    /// and the kubelet compute it (the figure OOM decisions and `kubectl top` use).
    public var workingSetBytes: UInt64
    /// Everything charged to the cgroup, page cache included.
    public var usageBytes: UInt64
    /// Anonymous memory and swap cache (cgroup v1 total_rss, v2 anon).
    public var rssBytes: UInt64?
    /// The limit minus the working set; nil without a limit.
    public var availableBytes: UInt64?
    public var pageFaults: UInt64?
    public var majorPageFaults: UInt64?

    public init(timestamp: Date, workingSetBytes: UInt64, usageBytes: UInt64, rssBytes: UInt64? = nil, availableBytes: UInt64? = nil,
                pageFaults: UInt64? = nil, majorPageFaults: UInt64? = nil) {
        self.timestamp = timestamp
        self.workingSetBytes = workingSetBytes
        self.usageBytes = usageBytes
        self.rssBytes = rssBytes
        self.availableBytes = availableBytes
        self.pageFaults = pageFaults
        self.majorPageFaults = majorPageFaults
    }
}

/// One container's resource usage (CRI's ContainerStats). `cpu` and `memory` are nil when
/// the container has no cgroup to read (it is not running).
public struct ContainerStats: Sendable, Equatable {
    public var attributes: ContainerAttributes
    public var cpu: CpuUsage?
    public var memory: MemoryUsage?

    public init(attributes: ContainerAttributes, cpu: CpuUsage? = nil, memory: MemoryUsage? = nil) {
        self.attributes = attributes
        self.cpu = cpu
        self.memory = memory
    }
}

/// The whole machine's usage, as the kubelet reports the node's: the root cgroup's CPU
/// time and working set (node_cpu_usage_seconds_total, node_memory_working_set_bytes).
public struct NodeUsage: Sendable, Equatable {
    public var cpu: CpuUsage
    public var memory: MemoryUsage

    public init(cpu: CpuUsage, memory: MemoryUsage) {
        self.cpu = cpu
        self.memory = memory
    }
}

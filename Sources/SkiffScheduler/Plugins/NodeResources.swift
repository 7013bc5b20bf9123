/// The node must have room for the pod's requests: cpu, memory, ephemeral-storage,
/// extended resources, and a pod slot. Scoring prefers the least allocated node.
struct NodeResourcesFit: FilterPlugin, ScorePlugin {
    let name = "NodeResourcesFit"
    let weight: Int64 = 1

    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        var reasons: [String] = []
        if node.requested.pods + 1 > node.allocatable.pods { reasons.append("Too many pods") }
        let r = pod.requests, free = node.allocatable, used = node.requested
        if r.milliCPU > 0, used.milliCPU + r.milliCPU > free.milliCPU { reasons.append("Insufficient cpu") }
        if r.memory > 0, used.memory + r.memory > free.memory { reasons.append("Insufficient memory") }
        if r.ephemeralStorage > 0, used.ephemeralStorage + r.ephemeralStorage > free.ephemeralStorage { reasons.append("Insufficient ephemeral-storage") }
        for (name, want) in r.scalar.sorted(by: { $0.key < $1.key }) where want > 0 && (used.scalar[name] ?? 0) + want > (free.scalar[name] ?? 0) {
            reasons.append("Insufficient \(name)")
        }
        return reasons.isEmpty ? .success : Status(code: .unschedulable, reasons: reasons)
    }

    /// LeastAllocated: the share of cpu and memory left once the pod is placed.
    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        func left(_ requested: Int64, _ capacity: Int64) -> Int64 {
            capacity <= 0 || requested > capacity ? 0 : (capacity - requested) * 100 / capacity
        }
        let cpu = left(node.nonZeroRequested.milliCPU + pod.nonZeroRequests.milliCPU, node.allocatable.milliCPU)
        let memory = left(node.nonZeroRequested.memory + pod.nonZeroRequests.memory, node.allocatable.memory)
        return (cpu + memory) / 2
    }
}

/// Prefers nodes whose cpu and memory would be used in equal shares.
struct NodeResourcesBalancedAllocation: ScorePlugin {
    let name = "NodeResourcesBalancedAllocation"
    let weight: Int64 = 1

    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64 {
        func fraction(_ requested: Int64, _ capacity: Int64) -> Double {
            capacity <= 0 ? 1 : min(1, Double(requested) / Double(capacity))
        }
        let cpu = fraction(node.nonZeroRequested.milliCPU + pod.nonZeroRequests.milliCPU, node.allocatable.milliCPU)
        let memory = fraction(node.nonZeroRequested.memory + pod.nonZeroRequests.memory, node.allocatable.memory)
        // The standard deviation of two fractions is half their difference.
        return Int64((1 - abs(cpu - memory) / 2) * 100)
    }
}

import Foundation

/// ContainerStats from the container's cgroup. The files are read outside the actor: only
/// the record is looked up inside it.
extension OCIRuntime {
    public nonisolated func containerStats(_ id: String) async throws -> ContainerStats {
        let (status, cgroupsPath) = try await statsTarget(id)
        let attributes = ContainerAttributes(id: id, name: status.name, attempt: status.attempt, labels: status.labels,
                                             annotations: status.annotations)
        // Only a running container has a cgroup to read (the runtime removes it on exit).
        guard status.state == .running else { return ContainerStats(attributes: attributes) }
        let (cpu, memory) = try cgroups.usage(cgroupsPath)
        return ContainerStats(attributes: attributes, cpu: cpu, memory: memory)
    }

    func statsTarget(_ id: String) throws -> (ContainerStatus, String) {
        guard let record = containers[id] else { throw RuntimeError("NotFound", "container \(id) not found") }
        return (record.status, record.cgroupsPath)
    }
}

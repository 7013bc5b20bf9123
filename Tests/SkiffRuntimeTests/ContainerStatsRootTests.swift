import Foundation
import Logging
import SkiffTestSupport
import Testing
@testable import SkiffRuntime

/// Root-only: a real container's usage read from its cgroup, through crun and runc. The
/// pod uses the host's network, so no CNI is involved.
@Suite(.serialized) struct ContainerStatsRootTests {
    @Test(arguments: ["crun", "runc"])
    func readsARunningContainersUsage(runtimeName: String) async throws {
        if let reason = OCIRuntimeTests.skipReason {
            print("SKIPPED ContainerStatsRootTests: \(reason)")
            return
        }
        let base = "/tmp/skiff-stats-\(runtimeName)-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try BusyboxImages.makeLayer(at: "\(base)/layer")
        let mode = CgroupMode.detect()
        let cgroups = Cgroups(mode: mode)
        let runtime = try OCIRuntime(binary: try OCIRuntimeBinary.locate(runtimeName, stateRoot: "\(base)/state", cgroups: mode),
                                     root: "\(base)/runtime", images: BusyboxImages(layer: "\(base)/layer"), cgroups: cgroups,
                                     logs: try ContainerLogCopier(logger: Logger(label: "test")), logger: Logger(label: "test"))
        let exits = Task { await runtime.run() }
        defer { exits.cancel() }
        let sandboxConfig = PodSandboxConfig(name: "burn", namespace: "default", uid: "uid-stats-\(runtimeName)", hostname: "burn",
                                             logDirectory: "\(base)/logs", hostNetwork: true, cgroupParent: "/skiff-test-stats/\(runtimeName)")
        let sandbox = try await runtime.runPodSandbox(sandboxConfig)
        // Whatever fails below, the sandbox goes: no mount, process or cgroup stays.
        do {
            try await measure(runtime, cgroups, sandbox: sandbox, sandboxConfig: sandboxConfig)
        } catch {
            Issue.record(error)
        }
        try await runtime.stopPodSandbox(sandbox)
        try await runtime.removePodSandbox(sandbox)
        for dir in cgroups.directories("/skiff-test-stats") { rmdir(dir) }
    }

    func measure(_ runtime: OCIRuntime, _ cgroups: Cgroups, sandbox: String, sandboxConfig: PodSandboxConfig) async throws {
        // Busy for a moment, then idle in a shell that holds a 4 MB string.
        let script = "x=$(yes | head -c 4000000); i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; while :; do sleep 1; done"
        let id = try await runtime.createContainer(sandboxID: sandbox, config: ContainerConfig(
            name: "burn", image: "busybox", command: ["sh", "-c", script], logPath: "burn/0.log", labels: ["k": "v"]), sandboxConfig: sandboxConfig)
        try await runtime.startContainer(id)
        try await Task.sleep(for: .seconds(2))
        let stats = try await runtime.containerStats(id)
        #expect(stats.attributes == ContainerAttributes(id: id, name: "burn", labels: ["k": "v"]))
        let cpu = try #require(stats.cpu)
        let memory = try #require(stats.memory)
        #expect(cpu.usageCoreNanoSeconds > 10_000_000, "a busy shell used more than 10 ms of CPU")
        #expect(memory.workingSetBytes > 1 << 20 && memory.workingSetBytes <= memory.usageBytes)
        let later = try await runtime.containerStats(id)
        #expect((later.cpu?.usageCoreNanoSeconds ?? 0) >= cpu.usageCoreNanoSeconds)

        let node = try cgroups.nodeUsage()
        #expect(node.cpu.usageCoreNanoSeconds >= cpu.usageCoreNanoSeconds)

        try await runtime.stopContainer(id, timeout: 0)
        let stopped = try await runtime.containerStats(id)
        #expect(stopped.cpu == nil && stopped.memory == nil)
        await #expect(throws: RuntimeError.self) { try await runtime.containerStats("nope") }
    }
}

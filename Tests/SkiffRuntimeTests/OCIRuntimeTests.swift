import Foundation
import Logging
import SkiffCore
import SkiffTestSupport
import Testing
@testable import SkiffRuntime

/// Root-only: real crun/runc, CNI bridge and cgroups on this machine.
@Suite(.serialized) struct OCIRuntimeTests {
    static var skipReason: String? {
        if getuid() != 0 { return "needs root (namespaces, mounts, cgroups)" }
        for tool in ["/usr/bin/crun", "/usr/sbin/runc", "/usr/lib/cni/bridge", "/bin/busybox"] where !FileManager.default.fileExists(atPath: tool) {
            if tool == "/usr/sbin/runc" && FileManager.default.fileExists(atPath: "/usr/bin/runc") { continue }
            return "\(tool) is missing (scripts/setup installs it)"
        }
        return nil
    }

    /// This process's children called `comm` (the test runtime, as the agent, is a
    /// subreaper: what a runtime leaves behind is adopted here).
    static func children(named comm: String) -> [pid_t] {
        OrphanReaper.children().filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == comm
        }
    }

    @Test(arguments: ["crun", "runc"])
    func podLifecycle(runtimeName: String) async throws {
        if let reason = Self.skipReason {
            print("SKIPPED OCIRuntimeTests.podLifecycle: \(reason)")
            return
        }
        let base = "/tmp/skiff-rt-\(runtimeName)-\(getpid())"
        let fm = FileManager.default
        try? fm.removeItem(atPath: base)
        try BusyboxImages.makeLayer(at: "\(base)/layer")
        try fm.createDirectory(atPath: "\(base)/www", withIntermediateDirectories: true)
        try "hello from the pod\n".write(toFile: "\(base)/www/index.html", atomically: true, encoding: .utf8)
        let podCIDR = IPv4CIDR("10.88.\(runtimeName == "crun" ? 7 : 8).0/24")!
        let bridge = "skifft\(runtimeName == "crun" ? 7 : 8)"
        // No packet for the test's pod range may leave the machine.
        _ = try await ChildProcess.run("/usr/sbin/ip", ["route", "replace", "unreachable", "10.88.0.0/16"])
        defer {
            _ = try? FileManager.default.removeItem(atPath: base)
        }

        let mode = CgroupMode.detect()
        let binary = try OCIRuntimeBinary.locate(runtimeName, stateRoot: "\(base)/state", cgroups: mode)
        let runtime = try OCIRuntime(binary: binary, root: "\(base)/runtime", images: BusyboxImages(layer: "\(base)/layer"),
                                     cgroups: Cgroups(mode: mode), logs: try ContainerLogCopier(logger: Logger(label: "test")), logger: Logger(label: "test"))
        await runtime.configureNetwork(CNINetwork(bridgeName: bridge, podCIDR: podCIDR, ipamDirectory: "\(base)/ipam"))
        let exits = Task { await runtime.run() }
        defer { exits.cancel() }

        let version = try await runtime.version()
        #expect(version.runtimeName == runtimeName && !version.runtimeVersion.isEmpty)

        let sandboxConfig = PodSandboxConfig(name: "web", namespace: "default", uid: "uid-\(runtimeName)", hostname: "web-\(runtimeName)",
                                             logDirectory: "\(base)/logs", cgroupParent: "/skiff-test-runtime/\(runtimeName)")
        let sandbox = try await runtime.runPodSandbox(sandboxConfig)
        let status = try await runtime.podSandboxStatus(sandbox)
        let ip = try #require(status.ip)
        #expect(podCIDR.contains(IPv4CIDR.parse(ip) ?? 0))

        var httpd = ContainerConfig(name: "httpd", image: "busybox", command: ["httpd", "-f", "-p", "80", "-h", "/www"], logPath: "httpd/0.log")
        httpd.mounts = [Mount(containerPath: "/www", hostPath: "\(base)/www", readOnly: true)]
        httpd.resources.memoryLimitInBytes = 64 << 20
        let web = try await runtime.createContainer(sandboxID: sandbox, config: httpd, sandboxConfig: sandboxConfig)
        try await runtime.startContainer(web)
        #expect(try await runtime.containerStatus(web).state == .running)

        var body = ""
        for _ in 0..<50 {
            let curl = try await ChildProcess.run("/usr/bin/curl", ["-s", "--max-time", "2", "http://\(ip)/"])
            body = curl.stdoutString
            if curl.status == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(body == "hello from the pod\n")
        let hostname = try await runtime.execSync(web, command: ["cat", "/etc/hostname"], timeout: .seconds(5))
        #expect(String(decoding: hostname.stdout, as: UTF8.self) == "web-\(runtimeName)\n")
        #expect(try await runtime.execSync(web, command: ["sh", "-c", "exit 4"], timeout: .seconds(5)).exitCode == 4)
        // Past its timeout the command itself is killed, not only the runtime waiting for
        // it (which left it running, adopted by us, then a zombie); and a process it left
        // behind holding the output open does not hold up the caller (this would wait an hour).
        // (A busybox of its own name, so that nothing else's processes count.)
        let slow = try await runtime.execSync(web, command: ["sh", "-c", "cp /bin/busybox /tmp/busybox-slow; /tmp/busybox-slow sleep 3601 & exec /tmp/busybox-slow sleep 3602"],
                                              timeout: .seconds(1))
        #expect(slow.exitCode == 137)
        #expect(Self.children(named: "busybox-slow").isEmpty)

        // A container that writes and exits with a code; its output reaches the log.
        let events = runtime.containerEvents()
        let echo = try await runtime.createContainer(sandboxID: sandbox, config: ContainerConfig(
            name: "echo", image: "busybox", command: ["sh", "-c", "echo out; echo err >&2; exit 3"], logPath: "echo/0.log"), sandboxConfig: sandboxConfig)
        try await runtime.startContainer(echo)
        for await id in events where id == echo { break }
        let exited = try await runtime.containerStatus(echo)
        #expect(exited.state == .exited && exited.exitCode == 3 && exited.reason == "Error")
        let log = try String(contentsOfFile: "\(base)/logs/echo/0.log", encoding: .utf8)
        #expect(log.contains("out") && log.contains("err"))

        // Past its memory limit: OOMKilled, 137.
        var hog = ContainerConfig(name: "hog", image: "busybox", command: ["tail", "/dev/zero"], logPath: "hog/0.log")
        hog.resources.memoryLimitInBytes = 16 << 20
        let oom = try await runtime.createContainer(sandboxID: sandbox, config: hog, sandboxConfig: sandboxConfig)
        try await runtime.startContainer(oom)
        for await id in events where id == oom { break }
        let killed = try await runtime.containerStatus(oom)
        #expect(killed.reason == "OOMKilled" && killed.exitCode == 137)

        try await runtime.stopContainer(web, timeout: 2)
        #expect(try await runtime.containerStatus(web).state == .exited)
        try await runtime.stopPodSandbox(sandbox)
        try await runtime.removePodSandbox(sandbox)

        // Nothing left behind: mounts, cgroups, IP allocations, the runtime's records.
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(base))
        #expect(Cgroups(mode: mode).directories("/skiff-test-runtime/\(runtimeName)").allSatisfy { !fm.fileExists(atPath: $0) })
        for dir in Cgroups(mode: mode).directories("/skiff-test-runtime") { rmdir(dir) }
        let allocations = ((try? fm.contentsOfDirectory(atPath: "\(base)/ipam/skiff")) ?? []).filter { $0.hasPrefix("10.") }
        #expect(allocations.isEmpty)
        #expect(try await runtime.listContainers().isEmpty)
        #expect(try await runtime.listPodSandboxes().isEmpty)
        _ = try await ChildProcess.run("/usr/sbin/ip", ["link", "del", bridge])
        _ = try await ChildProcess.run("/usr/sbin/ip", ["route", "del", "unreachable", "10.88.0.0/16"])
    }
}

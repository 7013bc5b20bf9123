import Foundation
import Logging
import SkiffAPIServer
import SkiffClient
import SkiffCore
import SkiffStore
import SkiffTestSupport
import Testing
@testable import SkiffKubelet
@testable import SkiffRuntime

/// The kubelet against an in-process API server and the real runtime (crun, CNI, cgroups):
/// root only, as in CI.
@Suite(.serialized) struct KubeletTests {
    static let node = "kubelet-test-node"

    static func pod(_ name: String, _ containers: [JSON], restartPolicy: String = "Always", initContainers: [JSON] = [], grace: Int = 2) -> JSON {
        var spec: JSONObject = ["nodeName": .string(node), "containers": .array(containers), "restartPolicy": .string(restartPolicy),
                                "terminationGracePeriodSeconds": .number(JSONNumber(grace))]
        if !initContainers.isEmpty { spec["initContainers"] = .array(initContainers) }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"], "spec": .object(spec)]
    }

    static func container(_ name: String, _ command: [String]) -> JSON {
        ["name": .string(name), "image": "skiff.test/busybox:1", "imagePullPolicy": "IfNotPresent", "command": .array(command.map { .string($0) })]
    }

    func status(_ pod: JSON, _ list: String, _ i: Int, _ rest: [String]) -> JSON? {
        guard let items = pod[path: ["status", list]]?.arrayValue, i < items.count else { return nil }
        return items[i][path: rest]
    }

    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test func podsRunRestartFinishAndGo() async throws {
        if getuid() != 0 || !FileManager.default.fileExists(atPath: "/usr/bin/crun") || !FileManager.default.fileExists(atPath: "/usr/lib/cni/bridge") {
            print("SKIPPED KubeletTests: needs root, crun and the CNI plugins (CI installs them with scripts/setup)")
            return
        }
        let base = "/tmp/skiff-kubelet-test-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        try BusyboxImages.makeLayer(at: "\(base)/layer")
        _ = try await ChildProcess.run("/usr/sbin/ip", ["route", "replace", "unreachable", "10.88.0.0/16"])

        let handler = APIHandler(store: MVCCStore())
        let server = Task { try await handler.run() }
        defer { server.cancel() }
        try await handler.bootstrap(servicePort: 6443)
        let client = Client(transport: InProcessTransport(handler: handler, user: "system:admin"))
        try await client.create(.nodes, ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(Self.node)]])

        let mode = CgroupMode.detect()
        let runtime = try OCIRuntime(binary: try OCIRuntimeBinary.locate("crun", stateRoot: "\(base)/crun", cgroups: mode),
                                     root: "\(base)/runtime", images: BusyboxImages(layer: "\(base)/layer"), cgroups: Cgroups(mode: mode),
                                     logs: try ContainerLogCopier(logger: Logger(label: "test")), logger: Logger(label: "test"))
        await runtime.configureNetwork(CNINetwork(bridgeName: "skifft9", podCIDR: IPv4CIDR("10.88.9.0/24")!, ipamDirectory: "\(base)/ipam"))
        var config = KubeletConfiguration(nodeName: Self.node, nodeIP: "127.0.0.1", podsDirectory: "\(base)/pods")
        config.crashLoopBackOffBase = .seconds(1)
        let kubelet = Kubelet(config: config, client: client, runtime: runtime, images: BusyboxImages(layer: "\(base)/layer"), runtimeName: "crun")
        let running = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await runtime.run() }
                group.addTask { await kubelet.run() }
            }
        }
        defer { running.cancel() }

        func get(_ name: String) async throws -> JSON { try await client.get(.pods, namespace: "default", name) }

        // A web server: Running, Ready, with an IP that answers.
        try await client.create(.pods, namespace: "default", Self.pod("web", [Self.container("httpd", ["httpd", "-f", "-p", "80", "-h", "/"])]))
        try await waitFor("web Ready") {
            let p = try await get("web")
            return p[path: ["status", "phase"]]?.stringValue == "Running"
                && p[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } == true
        }
        let web = try await get("web")
        let ip = try #require(web[path: ["status", "podIP"]]?.stringValue)
        #expect(ip.hasPrefix("10.88.9."))
        #expect(status(web, "containerStatuses", 0, ["containerID"])?.stringValue?.hasPrefix("crun://") == true)
        let curl = try await ChildProcess.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://\(ip)/"])
        #expect(curl.stdoutString == "200" || curl.stdoutString == "403" || curl.stdoutString == "404")

        // Its process killed: restarted, restartCount 1, the kill in lastState.
        let containerID = String(status(web, "containerStatuses", 0, ["containerID"])?.stringValue?.dropFirst(7) ?? "")
        let state = try #require(try await runtime.binary.state(id: containerID))
        kill(state.pid, SIGKILL)
        try await waitFor("web restarted") {
            let p = try await get("web")
            return status(p, "containerStatuses", 0, ["restartCount"])?.intValue == 1
                && status(p, "containerStatuses", 0, ["state", "running"]) != nil
        }
        let restarted = try await get("web")
        #expect(status(restarted, "containerStatuses", 0, ["lastState", "terminated", "exitCode"])?.intValue == 137)

        // restartPolicy Never and a failing command: Failed, with the exit code.
        try await client.create(.pods, namespace: "default", Self.pod("once", [Self.container("c", ["sh", "-c", "exit 3"])], restartPolicy: "Never"))
        try await waitFor("once Failed") { try await get("once")[path: ["status", "phase"]]?.stringValue == "Failed" }
        #expect(status(try await get("once"), "containerStatuses", 0, ["state", "terminated", "exitCode"])?.intValue == 3)

        // Init containers first, in order; then the app.
        try await client.create(.pods, namespace: "default", Self.pod("init", [Self.container("main", ["sleep", "1000"])],
                                                                      initContainers: [Self.container("i1", ["sleep", "1"]), Self.container("i2", ["true"])]))
        try await waitFor("init Running") { try await get("init")[path: ["status", "phase"]]?.stringValue == "Running" }
        let initPod = try await get("init")
        for i in 0..<2 {
            #expect(status(initPod, "initContainerStatuses", i, ["state", "terminated", "reason"])?.stringValue == "Completed")
        }
        let i1Done = status(initPod, "initContainerStatuses", 0, ["state", "terminated", "finishedAt"])?.stringValue ?? ""
        let i2Start = status(initPod, "initContainerStatuses", 1, ["state", "terminated", "startedAt"])?.stringValue ?? ""
        #expect(i1Done <= i2Start)

        // A command that does not exist: the error is in the container's status.
        try await client.create(.pods, namespace: "default", Self.pod("bad", [Self.container("c", ["/no/such/command"])]))
        try await waitFor("bad's error") {
            status(try await get("bad"), "containerStatuses", 0, ["state", "waiting", "reason"])?.stringValue == "CrashLoopBackOff"
        }

        // Deleted: stopped within the grace period (2 s here: PID 1 ignores SIGTERM), the object goes, nothing stays on the node.
        for name in ["web", "once", "init", "bad"] {
            try await client.delete(.pods, namespace: "default", name)
        }
        try await waitFor("pods gone") { try await client.list(.pods, namespace: "default").items.isEmpty }
        try await waitFor("runtime empty") {
            let sandboxes = try await runtime.listPodSandboxes(), containers = try await runtime.listContainers()
            return sandboxes.isEmpty && containers.isEmpty
        }
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(base))
        try await waitFor("pod directories removed") { ((try? FileManager.default.contentsOfDirectory(atPath: "\(base)/pods")) ?? []).isEmpty }

        running.cancel()
        _ = try await ChildProcess.run("/usr/sbin/ip", ["link", "del", "skifft9"])
        _ = try await ChildProcess.run("/usr/sbin/ip", ["route", "del", "unreachable", "10.88.0.0/16"])
        try? FileManager.default.removeItem(atPath: base)
    }
}

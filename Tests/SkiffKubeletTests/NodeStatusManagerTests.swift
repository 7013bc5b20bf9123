import Foundation
import SkiffAPIServer
import SkiffClient
import SkiffCore
@testable import SkiffKubelet
import SkiffStore
import Synchronization
import Testing

@Suite struct NodeStatusManagerTests {
    static let machine = MachineInfo(
        cpuCount: 4, memoryCapacityBytes: 8 << 30, ephemeralStorageCapacityBytes: 100 << 30, kernelVersion: "6.12.0-test",
        osImage: "Debian GNU/Linux 13 (trixie)", architecture: "amd64", machineID: "m-1", systemUUID: "u-1", bootID: "b-1",
        hostname: "host-a", nodeIP: "192.0.2.10")
    static let calm = NodeStats(memoryAvailableBytes: 4 << 30, nodeFS: .init(capacityBytes: 100 << 30, availableBytes: 50 << 30),
                                imageFS: .init(capacityBytes: 100 << 30, availableBytes: 50 << 30), maxPID: 4_194_304, runningProcesses: 500)

    static func options() -> NodeStatusManager.Options {
        NodeStatusManager.Options(nodeName: "node-a", containerRuntimeVersion: "crun://1.8.1")
    }

    @Test func buildsTheStatusAsTheKubeletDoes() {
        let images = (0..<60).map { NodeStatusManager.NodeImage(names: ["img\($0)@sha256:x", "img\($0):v1"], sizeBytes: Int64($0) * 1000) }
        let now = Timestamp(seconds: 1_800_000_000)
        let status = NodeStatusManager.nodeStatus(machine: Self.machine, options: Self.options(), pressure: [:],
                                                  ready: (false, "container runtime network not ready: NetworkReady=false"),
                                                  images: images, previous: [], now: now)
        #expect(status["capacity"] == ["cpu": "4", "ephemeral-storage": "100Gi", "memory": "8Gi", "pods": "110"])
        #expect(status["allocatable"] == ["cpu": "4", "ephemeral-storage": "90Gi", "memory": "8092Mi", "pods": "110"])
        #expect(status["addresses"] == [["type": "InternalIP", "address": "192.0.2.10"], ["type": "Hostname", "address": "node-a"]])
        #expect(status[path: ["daemonEndpoints", "kubeletEndpoint", "Port"]] == 10250)
        #expect(status["nodeInfo"] == [
            "machineID": "m-1", "systemUUID": "u-1", "bootID": "b-1", "kernelVersion": "6.12.0-test",
            "osImage": "Debian GNU/Linux 13 (trixie)", "containerRuntimeVersion": "crun://1.8.1",
            "kubeletVersion": .string(KubernetesVersion.gitVersion), "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64",
        ])
        let conditions = status["conditions"]?.arrayValue ?? []
        #expect(conditions.map { $0["type"]?.stringValue ?? "" } == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"])
        #expect(conditions.map { $0["reason"]?.stringValue ?? "" }
            == ["KubeletHasSufficientMemory", "KubeletHasNoDiskPressure", "KubeletHasSufficientPID", "KubeletNotReady"])
        #expect(conditions[3]["message"] == "container runtime network not ready: NetworkReady=false")
        #expect(conditions[0]["message"] == "kubelet has sufficient memory available")
        #expect(conditions.allSatisfy { $0["lastTransitionTime"]?.stringValue == now.rfc3339 })
        let listed = status["images"]?.arrayValue ?? []
        #expect(listed.count == 50)
        #expect(listed.first?["sizeBytes"] == 59000)
        #expect(listed.first?["names"] == ["img59@sha256:x", "img59:v1"])
    }

    @Test func conditionsTransitionOnlyWhenTheirStatusChanges() {
        let t0 = Timestamp(seconds: 1_800_000_000), t1 = t0.adding(seconds: 10), t2 = t0.adding(seconds: 20)
        func build(_ pressure: [String: Bool], ready: Bool, message: String = "", previous: [JSON], at now: Timestamp) -> [JSON] {
            NodeStatusManager.nodeStatus(machine: Self.machine, options: Self.options(), pressure: pressure, ready: (ready, message),
                                         images: [], previous: previous, now: now)["conditions"]?.arrayValue ?? []
        }
        let first = build([:], ready: false, message: "runtime not ready", previous: [], at: t0)
        let second = build([:], ready: false, message: "network not ready", previous: first, at: t1)
        #expect(second[0]["lastTransitionTime"]?.stringValue == t0.rfc3339)
        #expect(second[0]["lastHeartbeatTime"]?.stringValue == t1.rfc3339)
        #expect(second[3]["lastTransitionTime"]?.stringValue == t0.rfc3339)
        #expect(second[3]["message"] == "network not ready")
        let third = build(["MemoryPressure": true], ready: true, previous: second, at: t2)
        #expect(third[0]["status"] == "True")
        #expect(third[0]["reason"] == "KubeletHasInsufficientMemory")
        #expect(third[0]["message"] == "kubelet has insufficient memory available")
        #expect(third[0]["lastTransitionTime"]?.stringValue == t2.rfc3339)
        #expect(third[1]["lastTransitionTime"]?.stringValue == t0.rfc3339)
        #expect(third[3]["status"] == "True")
        #expect(third[3]["reason"] == "KubeletReady")
        #expect(third[3]["message"] == "kubelet is posting ready status")
        #expect(third[3]["lastTransitionTime"]?.stringValue == t2.rfc3339)
    }

    @Test func parsesNodeLabelsAndTaints() {
        #expect(NodeStatusManager.parseLabel("zone=a").map { [$0.key, $0.value] } == ["zone", "a"])
        #expect(NodeStatusManager.parseLabel("example.com/x=").map { [$0.key, $0.value] } == ["example.com/x", ""])
        #expect(NodeStatusManager.parseLabel("novalue") == nil)
        #expect(NodeStatusManager.parseTaint("dedicated=gpu:NoSchedule") == ["key": "dedicated", "value": "gpu", "effect": "NoSchedule"])
        #expect(NodeStatusManager.parseTaint("node.example.com/drain:NoExecute") == ["key": "node.example.com/drain", "effect": "NoExecute"])
        #expect(NodeStatusManager.parseTaint("key=value:Sometimes") == nil)
        #expect(NodeStatusManager.parseTaint("key=value") == nil)
    }

    /// Readings and readiness a test changes while the manager runs.
    final class Inputs: Sendable {
        let stats = Mutex(NodeStatusManagerTests.calm)
        let ready = Mutex((false, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni plugin not initialized"))
        let podCIDRs = Mutex<[String]>([])
    }

    static func cluster() async throws -> (APIHandler, Client, Task<Void, any Error>) {
        let handler = APIHandler(store: MVCCStore())
        let task = Task { try await handler.run() }
        try await handler.bootstrap(servicePort: 6443)
        return (handler, Client(transport: InProcessTransport(handler: handler, user: "system:admin")), task)
    }

    static func manager(_ client: Client, _ inputs: Inputs, controlPlane: Bool = false) -> NodeStatusManager {
        var options = Self.options()
        options.leaseRenewInterval = .milliseconds(20)
        options.nodeStatusUpdateFrequency = .milliseconds(20)
        options.controlPlane = controlPlane
        options.labels = ["zone": "a"]
        options.taints = [["key": "dedicated", "value": "gpu", "effect": "NoSchedule"]]
        return NodeStatusManager(client: client, machine: Self.machine, options: options, readiness: { inputs.ready.withLock { $0 } },
                                 stats: { inputs.stats.withLock { $0 } },
                                 onPodCIDR: { cidr in inputs.podCIDRs.withLock { $0.append(cidr) } })
    }

    static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<1000 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("never happened: \(what)")
    }

    static func condition(_ node: JSON, _ type: String) -> JSON? {
        node[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"]?.stringValue == type }
    }

    @Test func registersRenewsTheLeaseAndPatchesTheStatus() async throws {
        let (_, client, cache) = try await Self.cluster()
        defer { cache.cancel() }
        let inputs = Inputs()
        let manager = Self.manager(client, inputs, controlPlane: true)
        let running = Task { await manager.run() }
        defer { running.cancel() }

        try await Self.eventually("the node is registered with its status") {
            guard let node = try? await client.get(.nodes, "node-a") else { return false }
            return Self.condition(node, "Ready") != nil
        }
        let node = try await client.get(.nodes, "node-a")
        #expect(node[path: ["metadata", "labels", "kubernetes.io/hostname"]] == "node-a")
        #expect(node[path: ["metadata", "labels", "kubernetes.io/arch"]] == "amd64")
        #expect(node[path: ["metadata", "labels", "beta.kubernetes.io/os"]] == "linux")
        #expect(node[path: ["metadata", "labels", "node-role.kubernetes.io/control-plane"]] == "true")
        #expect(node[path: ["metadata", "labels", "node-role.kubernetes.io/master"]] == "true")
        #expect(node[path: ["metadata", "labels", "zone"]] == "a")
        #expect(node[path: ["spec", "taints"]] == [["key": "dedicated", "value": "gpu", "effect": "NoSchedule"]])
        #expect(Self.condition(node, "Ready")?["status"] == "False")
        #expect(Self.condition(node, "Ready")?["reason"] == "KubeletNotReady")
        #expect(node[path: ["status", "allocatable", "memory"]] == "8092Mi")

        let lease = try await client.get(.leases, namespace: "kube-node-lease", "node-a")
        #expect(lease[path: ["spec", "holderIdentity"]] == "node-a")
        #expect(lease[path: ["spec", "leaseDurationSeconds"]] == 40)
        #expect(lease[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"] == node[path: ["metadata", "uid"]])
        let firstRenewal = lease[path: ["spec", "renewTime"]]
        try await Self.eventually("the lease is renewed") {
            try await client.get(.leases, namespace: "kube-node-lease", "node-a")[path: ["spec", "renewTime"]] != firstRenewal
        }

        inputs.ready.withLock { $0 = (true, "") }
        inputs.stats.withLock { $0.memoryAvailableBytes = 50 << 20 }
        try await Self.eventually("the node turns Ready and reports memory pressure") {
            let node = try await client.get(.nodes, "node-a")
            return Self.condition(node, "Ready")?["status"] == "True" && Self.condition(node, "MemoryPressure")?["status"] == "True"
        }

        try await client.patch(.nodes, "node-a", merge: ["spec": ["podCIDR": "10.42.3.0/24"]])
        try await Self.eventually("the pod range is handed over") { inputs.podCIDRs.withLock { $0 } == ["10.42.3.0/24"] }

        let uid = try await client.get(.nodes, "node-a").uid
        try await client.delete(.nodes, "node-a")
        try await Self.eventually("the deleted node is registered again") {
            guard let node = try? await client.get(.nodes, "node-a") else { return false }
            return node.uid != uid && Self.condition(node, "Ready") != nil
        }
    }

    @Test func adoptsAnExistingNode() async throws {
        let (_, client, cache) = try await Self.cluster()
        defer { cache.cancel() }
        try await client.create(.nodes, ["apiVersion": "v1", "kind": "Node",
                                         "metadata": ["name": "node-a", "labels": ["kept": "yes", "kubernetes.io/os": "windows"]]])
        let manager = Self.manager(client, Inputs())
        let running = Task { await manager.run() }
        defer { running.cancel() }
        try await Self.eventually("the existing node gets its status") {
            Self.condition(try await client.get(.nodes, "node-a"), "Ready") != nil
        }
        let node = try await client.get(.nodes, "node-a")
        #expect(node[path: ["metadata", "labels", "kept"]] == "yes")
        #expect(node[path: ["metadata", "labels", "kubernetes.io/os"]] == "linux")
        #expect(node[path: ["metadata", "labels", "node-role.kubernetes.io/control-plane"]] == nil)
        #expect(node[path: ["status", "nodeInfo", "containerRuntimeVersion"]] == "crun://1.8.1")
    }

    @Test func pressureLastsTheTransitionPeriod() async throws {
        let (_, client, cache) = try await Self.cluster()
        defer { cache.cancel() }
        let manager = Self.manager(client, Inputs())
        let t0 = Timestamp(seconds: 1_800_000_000)
        var low = Self.calm
        low.nodeFS.availableBytes = 5 << 30
        func diskPressure(_ stats: NodeStats, at now: Timestamp) async -> JSON? {
            let status = await manager.status(readings: stats, ready: (true, ""), images: [], now: now)
            return status["conditions"]?.arrayValue?.first { $0["type"] == "DiskPressure" }?["status"]
        }
        #expect(await diskPressure(Self.calm, at: t0) == "False")
        #expect(await diskPressure(low, at: t0.adding(seconds: 10)) == "True")
        #expect(await diskPressure(Self.calm, at: t0.adding(seconds: 200)) == "True")
        #expect(await diskPressure(Self.calm, at: t0.adding(seconds: 311)) == "False")
        var pids = Self.calm
        pids.runningProcesses = pids.maxPID - 100
        let status = await manager.status(readings: pids, ready: (true, ""), images: [], now: t0)
        #expect(status["conditions"]?.arrayValue?.first { $0["type"] == "PIDPressure" }?["status"] == "True")
    }
}

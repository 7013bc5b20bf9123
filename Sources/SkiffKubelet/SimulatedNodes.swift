import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// Nodes without containers, as kubemark's hollow nodes: each registers a Node with the
/// capacity given, keeps its Lease in kube-node-lease renewed, and plays the kubelet for
/// the pods bound to it — they become Running and Ready at once, and finish deleting
/// when deleted; annotated pods also exit (see SimulatedContainerExit). For testing the
/// control plane at scale on one machine.
public final class SimulatedNodes: Sendable {
    public struct Capacity: Sendable {
        public var cpu = "8"
        public var memory = "32Gi"
        public var pods = 110
        /// The Lease's duration; it is renewed every quarter of it, as the kubelet does.
        public var leaseDurationSeconds: Int64 = 40
        public init() {}
    }

    let client: Client
    let names: [String]
    let capacity: Capacity
    let pods: Informer
    let queue = WorkQueue(name: "simulated-kubelet")
    let logger = Logger(label: "skiff.simulated-nodes")
    /// Each node's index, for its address.
    let nodeIndex: [String: Int]
    /// Each node's pod range (given by the control plane's node IPAM) and the last host
    /// number handed out in it.
    let podRanges = Mutex<[String: (range: IPv4CIDR, last: UInt32)]>([:])

    public init(client: Client, prefix: String, count: Int, capacity: Capacity = Capacity()) {
        self.client = client
        names = (0..<count).map { "\(prefix)-\($0)" }
        nodeIndex = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        self.capacity = capacity
        pods = Informer(client: client, resource: .pods)
        pods.addHandler { [queue, nodeIndex] e in
            switch e {
            case .added(let p), .updated(_, let p):
                if let node = p[path: ["spec", "nodeName"]]?.stringValue, nodeIndex[node] != nil { queue.add(objectKey(p)) }
            case .deleted: break
            }
        }
    }

    /// Registers the nodes, then runs their kubelets until cancelled.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for name in names {
                // Registration goes 32 at a time.
                if next >= 32 { try await group.next() } else { next += 1 }
                group.addTask { try await self.register(name) }
            }
            try await group.waitForAll()
        }
        logger.info("simulated nodes registered", metadata: ["count": "\(names.count)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pods.run() }
            group.addTask { await self.queue.run() }
            group.addTask { await self.renewLeases() }
            for _ in 0..<8 {
                group.addTask {
                    while let key = await self.queue.get() {
                        do {
                            try await self.syncPod(key)
                            self.queue.forget(key)
                        } catch {
                            self.queue.addRateLimited(key)
                        }
                        self.queue.done(key)
                    }
                }
            }
        }
    }

    func nodeObject(_ name: String) -> JSON {
        let now = Timestamp.now().rfc3339
        let resources: JSON = ["cpu": .string(capacity.cpu), "memory": .string(capacity.memory), "pods": .string(String(capacity.pods)),
                               "ephemeral-storage": "100Gi"]
        func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSON {
            ["type": .string(type), "status": .string(status), "lastHeartbeatTime": .string(now), "lastTransitionTime": .string(now),
             "reason": .string(reason), "message": .string(message)]
        }
        return [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": ["kubernetes.io/hostname": .string(name), "kubernetes.io/os": "linux",
                                                          "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "simulated"]],
            "status": [
                "capacity": resources, "allocatable": resources,
                "conditions": [condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                               condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                               condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                               condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
                "addresses": [["type": "InternalIP", "address": .string(internalIP(name))], ["type": "Hostname", "address": .string(name)]],
                "nodeInfo": ["kubeletVersion": "v1.33.0-skiff", "containerRuntimeVersion": "simulated://0", "operatingSystem": "linux",
                             "architecture": "amd64", "kernelVersion": "simulated", "osImage": "Skiff simulated node",
                             "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": ""],
            ],
        ]
    }

    /// A node's address: 10.255.x.y from its index.
    func internalIP(_ name: String) -> String {
        let index = nodeIndex[name] ?? 0
        return "10.255.\(index / 256 % 256).\(index % 256)"
    }

    func register(_ name: String) async throws {
        do {
            try await client.create(.nodes, nodeObject(name))
        } catch let e as ClientError where e.isAlreadyExists {
            var node = try await client.get(.nodes, name)
            node["status"] = nodeObject(name)["status"]
            try await client.update(.nodes, node, subresource: "status")
        }
    }

    /// Every node's Lease, renewed every quarter of its duration (10 s by default), as
    /// the kubelet does.
    func renewLeases() async {
        while !Task.isCancelled {
            let now = Timestamp.now()
            for name in names {
                let lease: JSON = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                   "metadata": ["name": .string(name), "namespace": "kube-node-lease"],
                                   "spec": ["holderIdentity": .string(name), "leaseDurationSeconds": .number(JSONNumber(capacity.leaseDurationSeconds)),
                                            "renewTime": .string(now.rfc3339Micro)]]
                do {
                    try await client.patch(.leases, namespace: "kube-node-lease", name, merge: ["spec": ["renewTime": .string(now.rfc3339Micro)]])
                } catch let e as ClientError where e.isNotFound {
                    _ = try? await client.create(.leases, namespace: "kube-node-lease", lease)
                } catch {
                    logger.debug("lease renewal failed", metadata: ["node": "\(name)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .milliseconds(capacity.leaseDurationSeconds * 250))
        }
    }

    /// A bound pod starts at once; a deleted one finishes at once.
    func syncPod(_ key: String) async throws {
        guard let pod = pods.indexer.get(key), let node = pod[path: ["spec", "nodeName"]]?.stringValue else { return }
        if pod.deletionTimestamp != nil {
            // A finalizer keeps the pod after this delete: report it stopped first.
            if !pod.finalizers.isEmpty, let stopped = SimulatedContainerExit.stopped(pod, now: Timestamp.now()) {
                var next = pod
                next["status"] = stopped
                try await updateStatus(next)
            }
            let options: JSON = ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(pod.uid ?? "")]]
            let r = try await client.transport.send(ClientRequest(method: "DELETE", path: Resource.pods.path(namespace: pod.namespace, name: pod.name),
                                                                  body: options.serialized()))
            if r.status >= 300, r.status != 404, r.status != 409 { throw ClientError(status: r.status, body: r.body) }
            return
        }
        if let step = SimulatedContainerExit.next(pod, now: Timestamp.now()) {
            if let status = step.status {
                var next = pod
                next["status"] = status
                try await updateStatus(next)
            }
            if let recheck = step.recheck { queue.add(key, after: recheck) }
            return
        }
        guard pod[path: ["status", "phase"]]?.stringValue == "Pending" || pod[path: ["status", "phase"]] == nil else { return }
        let now = Timestamp.now().rfc3339
        let ip = try await podIP(on: node)
        func condition(_ type: String) -> JSON { ["type": .string(type), "status": "True", "lastProbeTime": nil, "lastTransitionTime": .string(now)] }
        let containers = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).map { c -> JSON in
            ["name": c["name"] ?? "", "image": c["image"] ?? "", "imageID": "", "containerID": .string("simulated://\(pod.uid ?? "")/\(c["name"]?.stringValue ?? "")"),
             "ready": true, "started": true, "restartCount": 0, "state": ["running": ["startedAt": .string(now)]]]
        }
        var next = pod
        var status = pod["status"]?.objectValue ?? JSONObject()
        status["phase"] = "Running"
        status["hostIP"] = .string(internalIP(node))
        status["podIP"] = .string(ip)
        status["podIPs"] = [["ip": .string(ip)]]
        status["startTime"] = .string(now)
        status["conditions"] = [condition("PodReadyToStartContainers"), condition("Initialized"), condition("Ready"), condition("ContainersReady"), condition("PodScheduled")]
        status["containerStatuses"] = .array(containers)
        next["status"] = .object(status)
        try await updateStatus(next)
    }

    func updateStatus(_ pod: JSON) async throws {
        do {
            try await client.update(.pods, pod, subresource: "status")
        } catch let e as ClientError where e.isNotFound {}
    }

    /// The next address of the node's pod range (.1 is the node's own, as a bridge
    /// gateway would be); waits, by failing, until the node has a range.
    func podIP(on node: String) async throws -> String {
        if podRanges.withLock({ $0[node] }) == nil {
            let object = try await client.get(.nodes, node)
            guard let range = object[path: ["spec", "podCIDR"]]?.stringValue.flatMap(IPv4CIDR.init) else {
                throw ClientError(code: 0, reason: "NoPodCIDR", message: "node \(node) has no pod range yet")
            }
            podRanges.withLock { if $0[node] == nil { $0[node] = (range, 1) } }
        }
        return podRanges.withLock { ranges -> String in
            guard var entry = ranges[node] else { return "" }
            // .2 up to the last before the broadcast address, then round again.
            entry.last = UInt64(entry.last) + 2 < entry.range.size ? entry.last + 1 : 2
            ranges[node] = entry
            return IPv4CIDR.format(entry.range.base + entry.last)
        }
    }
}

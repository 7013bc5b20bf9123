import Logging
import SkiffAPI
import SkiffClient
import SkiffCore

/// The kubelet's node status loop: registers this machine's Node (adopting one that
/// exists, registering again if it is deleted), renews its Lease in kube-node-lease, and
/// recomputes the status every 10 s, patching it when something changed and at least
/// every 5 minutes — as upstream's kubelet does with its node lease and
/// nodeStatusReportFrequency.
public actor NodeStatusManager {
    /// Thresholds of the pressure conditions: upstream's hard eviction defaults.
    public struct EvictionThresholds: Sendable, Equatable {
        /// memory.available<100Mi
        public var memoryAvailableBytes: Int64 = 100 << 20
        /// nodefs.available<10%
        public var nodeFSAvailable = 0.10
        /// imagefs.available<15%
        public var imageFSAvailable = 0.15
        /// pid.available below this fraction of pid_max; upstream sets no default for it.
        public var pidAvailable = 0.10
        public init() {}
    }

    /// What the caller decides about the node.
    public struct Options: Sendable {
        public var nodeName: String
        /// nodeInfo.containerRuntimeVersion, e.g. "crun://1.8.1".
        public var containerRuntimeVersion: String
        public var kubeletVersion = KubernetesVersion.gitVersion
        /// daemonEndpoints.kubeletEndpoint.Port.
        public var kubeletPort = 10250
        public var maxPods = 110
        /// The agent runs inside a server (`skiff up`): the control-plane role labels, as k3s.
        public var controlPlane = false
        /// Extra labels (`--node-label`), set at registration and kept on restart.
        public var labels: [String: String] = [:]
        /// Taints (`--node-taint`), set when the Node is created.
        public var taints: [JSON] = []
        public var evictionHard = EvictionThresholds()
        /// How long a pressure condition stays True after its signal recovers.
        public var evictionPressureTransitionPeriod: Int64 = 300
        public var leaseDurationSeconds: Int64 = 40
        /// Lease renewal: a quarter of the lease duration upstream, 10 s.
        public var leaseRenewInterval: Duration = .seconds(10)
        public var nodeStatusUpdateFrequency: Duration = .seconds(10)
        /// The status is posted at least this often even when nothing changed.
        public var nodeStatusReportFrequency: Int64 = 300

        public init(nodeName: String, containerRuntimeVersion: String) {
            self.nodeName = nodeName
            self.containerRuntimeVersion = containerRuntimeVersion
        }
    }

    /// An image as status.images lists it.
    public struct NodeImage: Sendable, Equatable {
        public var names: [String]
        public var sizeBytes: Int64
        public init(names: [String], sizeBytes: Int64) {
            self.names = names
            self.sizeBytes = sizeBytes
        }
    }

    /// Whether the node can run pods, and why not ("container runtime network not ready: …").
    public typealias Readiness = @Sendable () async -> (ready: Bool, message: String)

    let client: Client
    let machine: MachineInfo
    let options: Options
    let readiness: Readiness
    let images: @Sendable () async -> [NodeImage]
    let stats: @Sendable () throws -> NodeStats
    let onPodCIDR: @Sendable (String) async -> Void
    let logger = Logger(label: "skiff.kubelet.node-status")

    /// The Node's uid, for the Lease's owner reference; nil until registered.
    var nodeUID: String?
    var podCIDR: String?
    /// The last status posted, without heartbeat times, to tell whether anything changed.
    var lastPosted: JSON?
    var lastPostTime: Timestamp?
    var conditions: [JSON] = []
    /// When each pressure signal was last over its threshold.
    var pressureSeen: [String: Timestamp] = [:]

    /// `stats` reads the eviction signals (NodeStats.read in production); `onPodCIDR` is
    /// told spec.podCIDR once the control plane's node IPAM has set it, and on change.
    public init(client: Client, machine: MachineInfo, options: Options, readiness: @escaping Readiness,
                images: @escaping @Sendable () async -> [NodeImage] = { [] },
                stats: @escaping @Sendable () throws -> NodeStats,
                onPodCIDR: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.client = client
        self.machine = machine
        self.options = options
        self.readiness = readiness
        self.images = images
        self.stats = stats
        self.onPodCIDR = onPodCIDR
    }

    /// Registers the Node, retrying until it succeeds, then keeps Lease and status
    /// current until cancelled.
    public func run() async {
        var delay = 0.1
        while !Task.isCancelled {
            do {
                try await register()
                break
            } catch {
                logger.warning("unable to register node with API server", metadata: ["node": "\(options.nodeName)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 7)
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.leaseLoop() }
            group.addTask { await self.statusLoop() }
        }
    }

    func leaseLoop() async {
        while !Task.isCancelled {
            do { try await renewLease(now: .now()) } catch {
                logger.warning("failed to renew the node lease", metadata: ["node": "\(options.nodeName)", "error": "\(error)"])
            }
            try? await Task.sleep(for: options.leaseRenewInterval)
        }
    }

    func statusLoop() async {
        while !Task.isCancelled {
            let hadPodCIDR = podCIDR != nil
            do { try await syncStatus(now: .now()) } catch {
                logger.warning("error updating node status", metadata: ["node": "\(options.nodeName)", "error": "\(error)"])
            }
            // The pod range arrived during that sync: networking is set up now, so the
            // node's readiness changed — report it at once.
            if !hadPodCIDR && podCIDR != nil { continue }
            // Until the pod range appears, look for it five times a second: the kubelet
            // cannot configure pod networking without it, and the node turns Ready at once
            // when it can.
            let deadline = ContinuousClock.now + options.nodeStatusUpdateFrequency
            while !Task.isCancelled, ContinuousClock.now < deadline {
                guard podCIDR == nil else {
                    try? await Task.sleep(until: deadline)
                    break
                }
                try? await Task.sleep(for: .milliseconds(200))
                do { await notePodCIDR(try await client.get(.nodes, options.nodeName)) } catch {
                    logger.debug("reading the node for its pod range failed", metadata: ["error": "\(error)"])
                }
                if podCIDR != nil { break }
            }
        }
    }

    /// Creates the Node; if it exists, adopts it: its default and extra labels are set
    /// again, as upstream's kubelet updates its default labels. The status follows in the
    /// next sync.
    func register() async throws {
        let labels = defaultLabels().merging(options.labels) { _, extra in extra }
        var metadata: JSON = ["name": .string(options.nodeName), "labels": .object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                              "annotations": ["volumes.kubernetes.io/controller-managed-attach-detach": "true"]]
        let node: JSON
        do {
            var object: JSON = ["apiVersion": "v1", "kind": "Node", "metadata": metadata, "spec": [:]]
            if !options.taints.isEmpty { object["spec"] = ["taints": .array(options.taints)] }
            node = try await client.create(.nodes, object)
            logger.info("node registered", metadata: ["node": "\(options.nodeName)"])
        } catch let e as ClientError where e.isAlreadyExists {
            metadata["name"] = nil
            node = try await client.patch(.nodes, options.nodeName, merge: ["metadata": metadata])
            logger.info("node already registered; adopted it", metadata: ["node": "\(options.nodeName)"])
        }
        nodeUID = node.uid
        lastPosted = nil
        await notePodCIDR(node)
    }

    /// Upstream's default node labels, plus k3s' control-plane roles for a server.
    func defaultLabels() -> [String: String] {
        var labels = ["kubernetes.io/hostname": options.nodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": machine.architecture,
                      "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": machine.architecture]
        if options.controlPlane {
            labels["node-role.kubernetes.io/control-plane"] = "true"
            labels["node-role.kubernetes.io/master"] = "true"
        }
        return labels
    }

    func notePodCIDR(_ node: JSON) async {
        guard let cidr = node[path: ["spec", "podCIDR"]]?.stringValue, cidr != podCIDR else { return }
        podCIDR = cidr
        await onPodCIDR(cidr)
    }

    /// Renews the Lease, creating it (owned by the Node) when it is missing.
    func renewLease(now: Timestamp) async throws {
        let renew: JSON = ["spec": ["holderIdentity": .string(options.nodeName), "leaseDurationSeconds": .number(JSONNumber(options.leaseDurationSeconds)),
                                    "renewTime": .string(now.rfc3339Micro)]]
        do {
            try await client.patch(.leases, namespace: "kube-node-lease", options.nodeName, merge: renew)
        } catch let e as ClientError where e.isNotFound {
            var metadata: JSON = ["name": .string(options.nodeName), "namespace": "kube-node-lease"]
            if let nodeUID {
                metadata["ownerReferences"] = [["apiVersion": "v1", "kind": "Node", "name": .string(options.nodeName), "uid": .string(nodeUID)]]
            }
            var lease: JSON = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata]
            lease["spec"] = renew["spec"]
            try await client.create(.leases, namespace: "kube-node-lease", lease)
        }
    }

    /// Recomputes the status and patches it when it changed (heartbeats aside) or the
    /// report frequency has passed, else reads the Node (as upstream's kubelet watches
    /// it); registers the Node again if it was deleted.
    func syncStatus(now: Timestamp) async throws {
        let readings = try stats()
        let ready = await readiness()
        let status = await status(readings: readings, ready: ready, images: images(), now: now)
        let comparable = Self.withoutHeartbeats(status)
        let due = comparable != lastPosted || lastPostTime.map { now.seconds - $0.seconds >= options.nodeStatusReportFrequency } ?? true
        let node: JSON
        do {
            node = due ? try await client.patch(.nodes, options.nodeName, merge: ["status": status], subresource: "status")
                : try await client.get(.nodes, options.nodeName)
        } catch let e as ClientError where e.isNotFound {
            logger.warning("node was deleted; registering it again", metadata: ["node": "\(options.nodeName)"])
            try await register()
            node = try await client.patch(.nodes, options.nodeName, merge: ["status": status], subresource: "status")
        }
        if due || lastPosted == nil {
            conditions = status["conditions"]?.arrayValue ?? []
            lastPosted = comparable
            lastPostTime = now
        }
        await notePodCIDR(node)
    }

    /// The status from the machine, the readings and readiness, with conditions carried
    /// on from the last ones posted.
    func status(readings: NodeStats, ready: (ready: Bool, message: String), images: [NodeImage], now: Timestamp) -> JSON {
        let t = options.evictionHard
        var observed: [String: Bool] = [
            "MemoryPressure": readings.memoryAvailableBytes < t.memoryAvailableBytes,
            "DiskPressure": Double(readings.nodeFS.availableBytes) < t.nodeFSAvailable * Double(readings.nodeFS.capacityBytes)
                || Double(readings.imageFS.availableBytes) < t.imageFSAvailable * Double(readings.imageFS.capacityBytes),
            "PIDPressure": Double(readings.pidAvailable) < t.pidAvailable * Double(readings.maxPID),
        ]
        for (type, over) in observed {
            if over { pressureSeen[type] = now }
            // Pressure lasts the transition period past the last observation, as upstream's eviction manager.
            observed[type] = pressureSeen[type].map { now.seconds - $0.seconds < options.evictionPressureTransitionPeriod } ?? false
        }
        return Self.nodeStatus(machine: machine, options: options, pressure: observed, ready: ready, images: images,
                               previous: conditions, now: now)
    }

    /// The Node's status as upstream's kubelet builds it (a pure function of its inputs).
    static func nodeStatus(machine: MachineInfo, options: Options, pressure: [String: Bool], ready: (ready: Bool, message: String),
                           images: [NodeImage], previous: [JSON], now: Timestamp) -> JSON {
        func quantity(_ bytes: Int64) -> JSON { .string(Quantity(bytes, format: .binarySI).description) }
        let capacity: JSON = ["cpu": .string(String(machine.cpuCount)), "ephemeral-storage": quantity(machine.ephemeralStorageCapacityBytes),
                              "memory": quantity(machine.memoryCapacityBytes), "pods": .string(String(options.maxPods))]
        // Allocatable is capacity less the hard eviction thresholds (no kube/system reservations).
        let storageReserve = Int64(Double(machine.ephemeralStorageCapacityBytes) * options.evictionHard.nodeFSAvailable)
        let allocatable: JSON = ["cpu": .string(String(machine.cpuCount)),
                                 "ephemeral-storage": quantity(machine.ephemeralStorageCapacityBytes - storageReserve),
                                 "memory": quantity(max(0, machine.memoryCapacityBytes - options.evictionHard.memoryAvailableBytes)),
                                 "pods": .string(String(options.maxPods))]
        let conditions = [
            condition("MemoryPressure", pressure["MemoryPressure"] ?? false,
                      ok: ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                      bad: ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"), previous: previous, now: now),
            condition("DiskPressure", pressure["DiskPressure"] ?? false,
                      ok: ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                      bad: ("KubeletHasDiskPressure", "kubelet has disk pressure"), previous: previous, now: now),
            condition("PIDPressure", pressure["PIDPressure"] ?? false,
                      ok: ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                      bad: ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"), previous: previous, now: now),
            readyCondition(ready, previous: previous, now: now),
        ]
        // Largest first, at most 50 images of at most 5 names each, as upstream.
        let listed = images.sorted { $0.sizeBytes > $1.sizeBytes }.prefix(50).map { image -> JSON in
            ["names": .array(image.names.prefix(5).map { .string($0) }), "sizeBytes": .number(JSONNumber(image.sizeBytes))]
        }
        return [
            "capacity": capacity, "allocatable": allocatable, "conditions": .array(conditions),
            "addresses": [["type": "InternalIP", "address": .string(machine.nodeIP)], ["type": "Hostname", "address": .string(options.nodeName)]],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": .number(JSONNumber(options.kubeletPort))]],
            "nodeInfo": [
                "machineID": .string(machine.machineID), "systemUUID": .string(machine.systemUUID), "bootID": .string(machine.bootID),
                "kernelVersion": .string(machine.kernelVersion), "osImage": .string(machine.osImage),
                "containerRuntimeVersion": .string(options.containerRuntimeVersion), "kubeletVersion": .string(options.kubeletVersion),
                "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": .string(machine.architecture),
            ],
            "images": .array(listed),
        ]
    }

    /// A pressure condition: reason and message are set, and the transition time moves,
    /// only when its status flips; the heartbeat is always now.
    static func condition(_ type: String, _ pressure: Bool, ok: (String, String), bad: (String, String), previous: [JSON], now: Timestamp) -> JSON {
        let status = pressure ? "True" : "False"
        if var old = previous.first(where: { $0["type"]?.stringValue == type }), old["status"]?.stringValue == status {
            old["lastHeartbeatTime"] = .string(now.rfc3339)
            return old
        }
        let (reason, message) = pressure ? bad : ok
        return ["type": .string(type), "status": .string(status), "lastHeartbeatTime": .string(now.rfc3339),
                "lastTransitionTime": .string(now.rfc3339), "reason": .string(reason), "message": .string(message)]
    }

    /// Ready: made anew each time (the message follows the runtime), keeping the
    /// transition time while the status stays.
    static func readyCondition(_ ready: (ready: Bool, message: String), previous: [JSON], now: Timestamp) -> JSON {
        let status = ready.ready ? "True" : "False"
        let old = previous.first { $0["type"]?.stringValue == "Ready" }
        let transition = old?["status"]?.stringValue == status ? old?["lastTransitionTime"] ?? .string(now.rfc3339) : .string(now.rfc3339)
        return ["type": "Ready", "status": .string(status), "lastHeartbeatTime": .string(now.rfc3339), "lastTransitionTime": transition,
                "reason": ready.ready ? "KubeletReady" : "KubeletNotReady",
                "message": .string(ready.ready ? "kubelet is posting ready status" : ready.message)]
    }

    static func withoutHeartbeats(_ status: JSON) -> JSON {
        var copy = status
        copy["conditions"] = .array((status["conditions"]?.arrayValue ?? []).map { c in
            var c = c
            c["lastHeartbeatTime"] = nil
            return c
        })
        return copy
    }

    /// A `--node-label` value, "key=value".
    public static func parseLabel(_ text: String) -> (key: String, value: String)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
        guard Validation.isQualifiedName(key).isEmpty, Validation.isValidLabelValue(value).isEmpty else { return nil }
        return (key, value)
    }

    /// A `--node-taint` value, "key=value:Effect" or "key:Effect", as k3s and the
    /// kubelet's --register-with-taints take it.
    public static func parseTaint(_ text: String) -> JSON? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let effect = String(text[text.index(after: colon)...])
        guard ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) else { return nil }
        let pair = text[..<colon].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let key = pair[0], value = pair.count > 1 ? pair[1] : ""
        guard Validation.isQualifiedName(key).isEmpty, Validation.isValidLabelValue(value).isEmpty else { return nil }
        var taint: JSON = ["key": .string(key)]
        if !value.isEmpty { taint["value"] = .string(value) }
        taint["effect"] = .string(effect)
        return taint
    }
}

import Foundation
import Logging
import SkiffClient
import SkiffCore
import SkiffRuntime

/// A real worker node, assembled: its identity from the join, the image store, the OCI
/// runtime with CNI, the kubelet, its HTTPS server and the Node's status and Lease.
public struct NodeAgent: Sendable {
    public struct Options: Sendable {
        public var server: String
        public var token: String
        public var nodeName: String?
        public var nodeIP: String?
        /// `<data-dir>`: agent/ (identity), images/, runtime/, pods/, cni/.
        public var dataDir: String
        /// "crun", "runc", or nil: crun where installed, else runc.
        public var runtime: String?
        public var registryConfig: String?
        public var kubeletPort = 10250
        /// The whole pod range: packets to it that match no route are dropped here, and
        /// pod traffic leaving it is masqueraded.
        public var clusterCIDR = IPv4CIDR("10.42.0.0/16")!
        public var clusterDNS: [String] = []
        public var clusterDomain = "cluster.local"
        public var labels: [String: String] = [:]
        public var taints: [JSON] = []
        /// Inside `skiff up`: the node is also the control plane (role labels).
        public var controlPlane = false

        public init(server: String, token: String, dataDir: String) {
            self.server = server
            self.token = token
            self.dataDir = dataDir
        }
    }

    public let kubelet: Kubelet
    /// The node's API client (its own identity), for the node's other parts: the proxy, the DNS.
    public let client: Client
    public var nodeName: String { kubelet.config.nodeName }
    public let nodeStatus: NodeStatusManager
    public let server: KubeletServer
    public let runtime: OCIRuntime
    public let images: ImageStore
    let logs: ContainerLogCopier
    let transport: HTTPSTransport
    let logger: Logger

    /// Joins the control plane and builds the node's parts; `run()` starts them.
    public static func make(_ o: Options, logger: Logger) async throws -> NodeAgent {
        let fm = FileManager.default
        try fm.createDirectory(atPath: o.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let machine = try MachineInfo.read(dataDir: o.dataDir, nodeIP: o.nodeIP)
        let name = (o.nodeName ?? machine.hostname).lowercased()
        let identity = try await NodeIdentity.join(server: o.server, token: o.token, nodeName: name, nodeIPs: [machine.nodeIP], dataDir: o.dataDir)
        let transport = try identity.transport(server: o.server)
        do {
            return try await make(o, identity: identity, machine: machine, transport: transport, logger: logger)
        } catch {
            try? await transport.shutdown()
            throw error
        }
    }

    static func make(_ o: Options, identity: NodeIdentity, machine: MachineInfo, transport: HTTPSTransport, logger: Logger) async throws -> NodeAgent {
        let name = identity.nodeName
        let client = Client(transport: transport)

        let registries = try RegistryConfig.load(path: o.registryConfig ?? RegistryConfig.defaultPath(dataDirectory: o.dataDir))
        let images = try ImageStore(root: "\(o.dataDir)/images", registries: registries, logger: Logger(label: "skiff.images"))
        let cgroups = CgroupMode.detect()
        let runtimeName = o.runtime ?? ((try? OCIRuntimeBinary.locate("crun", stateRoot: "", cgroups: cgroups)) != nil ? "crun" : "runc")
        let binary = try OCIRuntimeBinary.locate(runtimeName, stateRoot: "\(o.dataDir)/runtime/\(runtimeName)", cgroups: cgroups)
        let logs = try ContainerLogCopier(logger: Logger(label: "skiff.runtime.logs"))
        let cgroupFiles = Cgroups(mode: cgroups)
        let runtime = try OCIRuntime(binary: binary, root: "\(o.dataDir)/runtime", images: images, cgroups: cgroupFiles,
                                     logs: logs, logger: Logger(label: "skiff.runtime"))
        await runtime.recover()
        let version = try await runtime.version()
        logger.info("container runtime", metadata: ["runtime": "\(version.containerRuntimeVersion)", "cgroups": "\(cgroups.rawValue)",
                                                   "hideCgroup2": "\(binary.hideMount ?? "no")"])

        var config = KubeletConfiguration(nodeName: name, nodeIP: machine.nodeIP, podsDirectory: "\(o.dataDir)/pods")
        config.clusterDNS = o.clusterDNS
        config.clusterDomain = o.clusterDomain
        config.nodeAllocatable = ["cpu": Quantity(Int64(machine.cpuCount)), "memory": Quantity(machine.memoryCapacityBytes - (100 << 20))]
        let kubelet = Kubelet(config: config, client: client, runtime: runtime, images: images, runtimeName: runtimeName)

        var statusOptions = NodeStatusManager.Options(nodeName: name, containerRuntimeVersion: version.containerRuntimeVersion)
        statusOptions.kubeletPort = o.kubeletPort
        statusOptions.controlPlane = o.controlPlane
        statusOptions.labels = o.labels
        statusOptions.taints = o.taints
        let clusterCIDR = o.clusterCIDR, dataDir = o.dataDir
        let nodeStatus = NodeStatusManager(
            client: client, machine: machine, options: statusOptions,
            readiness: {
                await runtime.networkReady
                    ? (true, "")
                    : (false, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: no podCIDR assigned to the node yet")
            },
            images: {
                ((try? await images.listImages()) ?? []).map { NodeStatusManager.NodeImage(names: $0.repoDigests + $0.repoTags, sizeBytes: $0.size) }
            },
            stats: { try NodeStats.read(dataDir: dataDir, imageDir: "\(dataDir)/images") },
            onPodCIDR: { cidr in
                guard let range = IPv4CIDR(cidr) else { return }
                do {
                    try await NodeNetwork.ensure(podCIDR: range, clusterCIDR: clusterCIDR)
                    await runtime.configureNetwork(CNINetwork(podCIDR: range, ipamDirectory: "\(dataDir)/cni/networks"))
                    logger.info("pod network configured", metadata: ["podCIDR": "\(cidr)"])
                } catch {
                    logger.error("pod network setup failed", metadata: ["podCIDR": "\(cidr)", "error": "\(error)"])
                }
            })
        let server = KubeletServer(port: o.kubeletPort,
                                   tls: ServingTLS(certificatePEM: identity.servingCertificatePEM, keyPEM: identity.servingKeyPEM,
                                                          clientCAPEM: identity.caPEM),
                                   logSource: kubelet, streaming: kubelet,
                                   routes: ResourceMetrics(runtime: runtime, nodeUsage: { try cgroupFiles.nodeUsage() }).addRoutes)
        return NodeAgent(kubelet: kubelet, client: client, nodeStatus: nodeStatus, server: server, runtime: runtime, images: images, logs: logs,
                         transport: transport, logger: logger)
    }

    /// Runs every part until cancelled. Containers keep running when the agent stops: the
    /// next start adopts them.
    public func run() async throws {
        defer { logs.shutdown() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await runtime.run() }
                group.addTask { await nodeStatus.run() }
                group.addTask { await kubelet.run() }
                group.addTask { try await server.run() }
                group.addTask { await collectImageGarbage() }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            try? await transport.shutdown()
            throw error
        }
        try await transport.shutdown()
    }

    /// The kubelet's image GC: every 5 minutes, unused images go, least recently used
    /// first, while the image filesystem is above 85 % full.
    func collectImageGarbage() async {
        while (try? await Task.sleep(for: .seconds(300))) != nil {
            let inUse = Set(((try? await runtime.listContainers()) ?? []).map(\.imageRef))
            do {
                let removed = try await images.garbageCollect(inUse: inUse)
                if !removed.isEmpty { logger.info("unused images removed", metadata: ["images": "\(removed)"]) }
            } catch {
                logger.warning("image garbage collection failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

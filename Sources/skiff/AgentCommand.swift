import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SkiffClient
import SkiffCore
import SkiffDNS
import SkiffKubelet
import SkiffProxy
import SkiffRuntime

/// `skiff agent`: a worker node that joins a control plane with its token and runs real
/// containers — or, for scale tests only, `--simulate N` nodes without containers.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "Join a control plane as a worker node.")

    @Option(help: "The control plane's URL, https://HOST:PORT.")
    var server: String?

    @Option(help: "The join token (the server's <data-dir>/token): it authenticates the agent and pins the cluster CA.")
    var token: String?

    @Flag(help: "Remove the proxy's nftables table and the Service range's route, then exit (as kube-proxy --cleanup).")
    var cleanupProxy = false

    @Flag(help: "Remove the node's pod networking (table skiff_node, bridge cni0, the cluster CIDR's unreachable route, routes to other nodes' pods), then exit.")
    var cleanupNetwork = false

    @OptionGroup var node: NodeOptions

    @Option(help: "Run this many simulated nodes (no containers) instead of a real one: for scale tests and benchmarks.")
    var simulate: Int?

    @Option(help: "Name prefix of simulated nodes.")
    var nodeNamePrefix = "sim"

    @Option(help: "CPU of each simulated node.")
    var nodeCpu = "8"

    @Option(help: "Memory of each simulated node.")
    var nodeMemory = "32Gi"

    @Option(help: "Pods per simulated node.")
    var nodePods = 110

    @Option(help: "Duration of each simulated node's Lease in kube-node-lease; renewed every quarter of it.")
    var nodeLeaseDurationSeconds: Int64 = 40

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let logger = Logger(label: "skiff.agent")
        if cleanupProxy || cleanupNetwork {
            if cleanupProxy { try await Proxier.cleanup(serviceCIDR: node.serviceCidr) }
            if cleanupNetwork {
                guard let cidr = IPv4CIDR(node.clusterCidr) else { throw ValidationError("--cluster-cidr: not an IPv4 CIDR: \(node.clusterCidr)") }
                await NodeNetwork.cleanup(clusterCIDR: cidr)
                await NodeRoutes.cleanup()
            }
            return
        }
        guard let server, let token else { throw ValidationError("--server and --token are required") }
        let service: any Service
        if let simulate, simulate > 0 {
            let transport = try await HTTPSTransport.join(server: server, token: token)
            var capacity = SimulatedNodes.Capacity()
            capacity.cpu = nodeCpu
            capacity.memory = nodeMemory
            capacity.pods = nodePods
            capacity.leaseDurationSeconds = nodeLeaseDurationSeconds
            service = SimulatedNodesService(nodes: SimulatedNodes(client: Client(transport: transport), prefix: nodeNamePrefix,
                                                                  count: simulate, capacity: capacity))
        } else {
            service = AgentService(options: try node.agentOptions(server: server, token: token, controlPlane: false),
                                   serviceCIDR: node.serviceCidr, logger: logger)
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: MemoryTrimService(logger: logger)), .init(service: service)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The flags of a real node, shared by `skiff agent` and `skiff up`.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's name (default: the host name).")
    var nodeName: String?

    @Option(help: "The node's InternalIP (default: the address of the interface holding the default route).")
    var nodeIp: String?

    @Option(help: "Directory for the node's identity, images, containers and pod logs.")
    var dataDir = "/var/lib/skiff"

    @Option(help: "OCI runtime: crun or runc (default: crun where installed, else runc).")
    var runtime: String?

    @Option(help: "Registry mirrors and credentials, k3s' registries.yaml format (default <data-dir>/registries.yaml).")
    var registryConfig: String?

    @Option(help: "Port of the kubelet's HTTPS API (logs; the API server connects to it).")
    var kubeletPort = 10250

    @Option(help: "The cluster's pod range, as the server's --cluster-cidr.")
    var clusterCidr = "10.42.0.0/16"

    @Option(help: "The cluster's Service range, as the server's --service-cidr: routed to this node itself, so no packet for it leaves.")
    var serviceCidr = "10.43.0.0/16"

    @Option(parsing: .singleValue, help: "Cluster DNS server for pods with dnsPolicy ClusterFirst (repeatable; default: the 10th address of --service-cidr, which this node's DNS server answers on).")
    var clusterDns: [String] = []

    @Option(help: "The cluster's DNS domain.")
    var clusterDomain = "cluster.local"

    @Option(parsing: .singleValue, help: "A label for the node, key=value (repeatable).")
    var nodeLabel: [String] = []

    @Option(parsing: .singleValue, help: "A taint for the node, key=value:Effect (repeatable).")
    var nodeTaint: [String] = []

    func agentOptions(server: String, token: String, controlPlane: Bool) throws -> NodeAgent.Options {
        var o = NodeAgent.Options(server: server, token: token, dataDir: dataDir)
        o.nodeName = nodeName
        o.nodeIP = nodeIp
        if let runtime, !["crun", "runc"].contains(runtime) { throw ValidationError("--runtime must be crun or runc, not \(runtime)") }
        o.runtime = runtime
        o.registryConfig = registryConfig
        o.kubeletPort = kubeletPort
        guard let cidr = IPv4CIDR(clusterCidr) else { throw ValidationError("--cluster-cidr: not an IPv4 CIDR: \(clusterCidr)") }
        o.clusterCIDR = cidr
        guard let services = IPv4CIDR(serviceCidr), services.prefixLength <= 28 else { throw ValidationError("--service-cidr: not an IPv4 CIDR: \(serviceCidr)") }
        o.clusterDNS = clusterDns.isEmpty ? [IPv4CIDR.format(services.base + 10)] : clusterDns
        o.clusterDomain = clusterDomain
        for label in nodeLabel {
            guard let (k, v) = NodeStatusManager.parseLabel(label) else { throw ValidationError("--node-label \(label): not key=value") }
            o.labels[k] = v
        }
        o.taints = try nodeTaint.map {
            guard let t = NodeStatusManager.parseTaint($0) else { throw ValidationError("--node-taint \($0): not key=value:Effect") }
            return t
        }
        o.controlPlane = controlPlane
        return o
    }
}

/// A real node: joins (retrying while the server is not up yet; a CA that does not match
/// the token is fatal), then runs until shutdown.
struct AgentService: Service {
    let options: NodeAgent.Options
    let serviceCIDR: String
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            var agent: NodeAgent?
            while agent == nil {
                do {
                    agent = try await NodeAgent.make(options, logger: logger)
                } catch let e as ClientError where e.reason == "CAMismatch" || e.reason == "InvalidToken" || e.code == 401 {
                    throw e
                } catch {
                    if Task.isCancelled { return }
                    logger.info("waiting for the control plane", metadata: ["server": "\(options.server)", "error": "\(error)"])
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            guard let agent else { return }
            try await runNode(agent)
        }
    }

    /// The kubelet's parts, and beside them the routes to other nodes' pods, the proxy and
    /// the cluster DNS, sharing one informer per resource.
    func runNode(_ agent: NodeAgent) async throws {
        let factory = InformerFactory(client: agent.client)
        let services = factory.informer(.services), slices = factory.informer(.endpointSlices), nodes = factory.informer(.nodes)
        let dnsIP = options.clusterDNS.first
        var proxyOptions = Proxier.Options(nodeName: agent.nodeName, clusterCIDR: options.clusterCIDR.description, serviceCIDR: serviceCIDR)
        if let dnsIP { proxyOptions.localServices = ["\(dnsIP) udp 53", "\(dnsIP) tcp 53"] }
        let proxier = Proxier(options: proxyOptions, services: services, slices: slices, nodes: nodes, logger: Logger(label: "skiff.proxy"))
        let routes = NodeRoutes(nodeName: agent.nodeName, nodes: nodes, logger: Logger(label: "skiff.network"))
        try await Proxier.prepareHost(options: proxyOptions)
        let records = ClusterDNSRecords(domain: options.clusterDomain)
        services.addHandler { records.apply(service: $0) }
        slices.addHandler { records.apply(endpointSlice: $0) }
        factory.informer(.namespaces).addHandler { records.apply(namespace: $0) }
        var dnsConfig = ClusterDNSConfig()
        dnsConfig.domain = options.clusterDomain
        let dns = ClusterDNS(config: dnsConfig, records: records, logger: Logger(label: "skiff.dns"))
        // Only the kubelet's end (or an error) ends the node: the proxy's metrics or the
        // DNS failing to start is logged, not fatal to the pods.
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await agent.run(); return true }
            group.addTask { await factory.run(); return false }
            group.addTask { await proxier.run(); return false }
            group.addTask { await routes.run(); return false }
            if let dnsIP {
                // Answers start once the caches hold every Service, never from a partial list.
                group.addTask {
                    await services.waitForSync()
                    await slices.waitForSync()
                    do {
                        try await dns.run(host: dnsIP, port: 53)
                    } catch {
                        logger.error("the cluster DNS server did not start", metadata: ["address": "\(dnsIP):53", "error": "\(error)"])
                    }
                    return false
                }
            }
            group.addTask {
                do {
                    try await proxier.metrics.serve()
                } catch {
                    logger.warning("the proxy's metrics server did not start", metadata: ["error": "\(error)"])
                }
                return false
            }
            while let agentEnded = try await group.next(), !agentEnded {}
            group.cancelAll()
        }
    }
}

struct SimulatedNodesService: Service {
    let nodes: SimulatedNodes

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await nodes.run() }
    }
}

import ArgumentParser
import Logging
import ServiceLifecycle
import SkiffClient
import SkiffKubelet

/// `skiff agent`: a worker that joins a control plane with its token. Real nodes
/// (containers through crun, CNI networking) are the next milestone; today the agent
/// runs simulated nodes, which register, renew their leases and run pods on paper.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "Join a control plane as worker node(s).")

    @Option(help: "The control plane's URL, https://HOST:PORT.")
    var server: String

    @Option(help: "The join token (the server's <data-dir>/token): it authenticates the agent and pins the cluster CA.")
    var token: String

    @Option(help: "Run this many simulated nodes (no containers) instead of a real one.")
    var simulate: Int?

    @Option(help: "Name prefix of simulated nodes.")
    var nodeNamePrefix = "sim"

    @Option(help: "CPU of each simulated node.")
    var nodeCpu = "8"

    @Option(help: "Memory of each simulated node.")
    var nodeMemory = "32Gi"

    @Option(help: "Pods per simulated node.")
    var nodePods = 110

    @Option(help: "Duration of each node's Lease in kube-node-lease; renewed every quarter of it (the server's --node-monitor-grace-period must exceed that).")
    var nodeLeaseDurationSeconds: Int64 = 40

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    func run() async throws {
        guard let simulate, simulate > 0 else {
            throw ValidationError("only simulated nodes exist so far: pass --simulate N (real nodes with crun and CNI are not built yet)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "skiff.agent")
        let transport = try await HTTPSTransport.join(server: server, token: token)
        var capacity = SimulatedNodes.Capacity()
        capacity.cpu = nodeCpu
        capacity.memory = nodeMemory
        capacity.pods = nodePods
        capacity.leaseDurationSeconds = nodeLeaseDurationSeconds
        let nodes = SimulatedNodes(client: Client(transport: transport), prefix: nodeNamePrefix, count: simulate, capacity: capacity)
        let group = ServiceGroup(configuration: .init(services: [.init(service: SimulatedNodesService(nodes: nodes))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try await transport.shutdown()
    }
}

struct SimulatedNodesService: Service {
    let nodes: SimulatedNodes

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await nodes.run() }
    }
}

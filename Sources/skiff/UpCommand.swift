import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

/// `skiff up`: a whole one-node cluster in one process — the control plane and a worker
/// node that joins it over HTTPS with the cluster's own token, as a separate agent would.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run a one-node cluster: control plane and worker node in one process.")

    @OptionGroup var node: NodeOptions

    @Option(help: "Port of the API server.")
    var port = 6443

    @Option(help: "Address the API server listens on.")
    var bindAddress = "0.0.0.0"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let server = try ServerCommand.parse(["--data-dir", "\(node.dataDir)/server", "--port", String(port), "--bind-address", bindAddress,
                                              "--cluster-cidr", node.clusterCidr, "--service-cidr", node.serviceCidr])
        let controlPlane = try server.makeControlPlane(logger: Logger(label: "skiff.server"))
        let agent = AgentService(options: try node.agentOptions(server: "https://127.0.0.1:\(port)", token: controlPlane.token.description,
                                                                controlPlane: true),
                                 serviceCIDR: node.serviceCidr, logger: Logger(label: "skiff.agent"))
        controlPlane.logger.info("kubeconfig", metadata: ["path": "\(node.dataDir)/server/kubeconfig.yaml"])
        // Listed last, the agent stops first on shutdown, while the API server still answers.
        let group = ServiceGroup(configuration: .init(services: controlPlane.services + [.init(service: agent)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: controlPlane.logger))
        try await group.run()
        await controlPlane.store.closeWatches()
    }
}

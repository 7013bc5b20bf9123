import ArgumentParser

/// One binary that is a whole cluster.
@main
struct Skiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "A Kubernetes-compatible container orchestrator: one binary that is a whole cluster.",
        subcommands: [UpCommand.self, ServerCommand.self, AgentCommand.self, KubeconfigCommand.self, ImagesCommand.self])
}

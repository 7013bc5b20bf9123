import ArgumentParser
import Foundation

/// `skiff kubeconfig`: prints the admin kubeconfig a server wrote.
struct KubeconfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kubeconfig", abstract: "Print the admin kubeconfig of a server.")

    @Option(help: "The server's data directory.")
    var dataDir: String = "/var/lib/skiff/server"

    func run() throws {
        print(try String(contentsOfFile: "\(dataDir)/kubeconfig.yaml", encoding: .utf8), terminator: "")
    }
}

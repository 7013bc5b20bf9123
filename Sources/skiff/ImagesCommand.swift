import ArgumentParser
import Foundation
import Logging
import SkiffRuntime

/// `skiff images`: the node's image store, as `crictl images` and `ctr images import` see
/// it; safe to use while the agent (or `skiff up`) runs on the same data directory.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", abstract: "Manage the node's images: import archives, pull, list, remove.",
        subcommands: [Import.self, List.self, Remove.self, Pull.self])

    /// Where the store is and how to reach registries, shared by every subcommand.
    struct StoreOptions: ParsableArguments {
        @Option(help: "The node's data directory; images live in <data-dir>/images.")
        var dataDir: String = "/var/lib/skiff"

        @Option(help: "Mirrors and registry settings in k3s' registries.yaml format (default: <data-dir>/registries.yaml).")
        var registryConfig: String?

        @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
        var logLevel = "info"

        func openStore() throws -> ImageStore {
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let registries = try RegistryConfig.load(path: registryConfig ?? RegistryConfig.defaultPath(dataDirectory: dataDir))
            return try ImageStore(root: "\(dataDir)/images", registries: registries, logger: Logger(label: "skiff.images"))
        }
    }

    /// `skiff images import FILE…`: the air-gap path.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load OCI image archives or `docker save` archives (optionally gzipped) into the store.")

        @Argument(help: "Archive files.")
        var files: [String]

        @Option(help: "Name for an image the archive does not name (a bare tag in the archive is kept as the tag).")
        var name: String?

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let images = try store.openStore()
            for file in files {
                for image in try await images.importArchive(path: file, name: name) {
                    for tag in image.repoTags { print("imported \(tag) (\(image.id))") }
                }
            }
        }
    }

    /// `skiff images ls`: the table `crictl images` prints.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the images in the store.", aliases: ["list"])

        @Flag(name: .shortAndLong, help: "Only image ids.")
        var quiet = false

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let images = try await store.openStore().listImages()
            if quiet {
                for image in images { print(image.id) }
                return
            }
            var rows = [["IMAGE", "TAG", "IMAGE ID", "SIZE"]]
            for image in images {
                let id = String(image.id.dropFirst(7).prefix(13))
                let size = Self.humanSize(image.size)
                if image.repoTags.isEmpty {
                    let repo = image.repoDigests.first.map { String($0.prefix { $0 != "@" }) } ?? "<none>"
                    rows.append([repo, "<none>", id, size])
                }
                for tag in image.repoTags {
                    let colon = tag.lastIndex(of: ":")!
                    rows.append([String(tag[..<colon]), String(tag[tag.index(after: colon)...]), id, size])
                }
            }
            let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "   ")
                    .trimmingCharacters(in: .whitespaces))
            }
        }

        /// Decimal units with three significant digits, as crictl (docker's units.HumanSize).
        static func humanSize(_ bytes: Int64) -> String {
            let units = ["B", "kB", "MB", "GB", "TB", "PB"]
            var value = Double(bytes)
            var unit = 0
            while value >= 1000, unit < units.count - 1 {
                value /= 1000
                unit += 1
            }
            let text = String(format: "%.3g", value)
            return text + units[unit]
        }
    }

    /// `skiff images rm REF…`.
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images by reference or id.", aliases: ["remove"])

        @Argument(help: "Image references (busybox:1) or ids.")
        var references: [String]

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let images = try store.openStore()
            for reference in references {
                try await images.removeImage(reference)
                print("Deleted: \(reference)")
            }
        }
    }

    /// `skiff images pull REF`, as `crictl pull`.
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pull an image from its registry (or a configured mirror).")

        @Argument(help: "Image reference, normalized as Docker does (busybox = docker.io/library/busybox:latest).")
        var reference: String

        @Option(help: "Credentials as user:password for the image's registry.")
        var creds: String?

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let images = try store.openStore()
            var auth: [String: AuthConfig] = [:]
            if let creds {
                guard let colon = creds.firstIndex(of: ":") else { throw ValidationError("--creds must be user:password") }
                let domain = try ImageReference(parsing: reference).domain
                auth[domain] = AuthConfig(username: String(creds[..<colon]), password: String(creds[creds.index(after: colon)...]))
            }
            let image = try await images.pullImage(reference, auth: auth)
            print("Image is up to date for \(image.id)")
        }
    }
}

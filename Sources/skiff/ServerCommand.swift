import ArgumentParser
import CMalloc
import Foundation
import Logging
import ServiceLifecycle
import SkiffAPIServer
import SkiffClient
import SkiffControllers
import SkiffCore
import SkiffKubelet
import SkiffScheduler
import SkiffStore

/// `skiff server`: the control plane — API server and its store.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the control plane (API server and store).")

    @Option(help: "Directory for the database, certificates, kubeconfig.yaml and token.")
    var dataDir: String = "/var/lib/skiff/server"

    @Option(help: "Port of the API server.")
    var port: Int = 6443

    @Option(help: "Address the API server listens on.")
    var bindAddress: String = "0.0.0.0"

    @Option(parsing: .singleValue, help: "Extra name or IP address for the serving certificate (repeatable).")
    var tlsSan: [String] = []

    @Option(help: "Seconds without a heartbeat (Lease renewal or node status) before a node is marked Unknown and tainted unreachable.")
    var nodeMonitorGracePeriod: Int64 = 40

    @Option(help: "tolerationSeconds given to pods for the not-ready and unreachable taints: how long pods stay on a failed node before eviction.")
    var defaultTolerationSeconds: Int64 = 300

    @Option(help: "Pod IP range; each node gets a range of it for its pods.")
    var clusterCidr: String = "10.42.0.0/16"

    @Option(help: "Prefix length of each node's pod range.")
    var nodeCidrMaskSize: Int = 24

    @Option(help: "Terminated pods (Succeeded or Failed) kept before the pod garbage collector deletes the oldest; 0 keeps all.")
    var terminatedPodGcThreshold: Int = 12500

    /// Test-only (upstream has no such flag): the Job controller's first back-off before
    /// replacing a failed pod, 10 s upstream.
    @Option(help: .hidden)
    var jobBackoffBaseSeconds: Double = 10

    @Option(help: "Service ClusterIP range.")
    var serviceCidr: String = "10.43.0.0/16"

    @Option(help: "The address pods reach the API server at: the `kubernetes` Service's endpoint (default: the address of the interface holding the default route).")
    var advertiseAddress: String?

    @Option(help: "How long the store keeps history for watches and paged lists, in seconds.")
    var historySeconds: Int = 300

    @Option(help: "At most this many revisions of history are kept.")
    var historyRevisions: Int = 20_000

    @Option(help: "How long Events are kept after their last update (Go duration, e.g. 1h or 30m).")
    var eventTtl: String = "1h"

    @Flag(help: "Keep the state in memory only (tests, benchmarks): nothing survives a restart.")
    var inMemory = false

    @Flag(help: "Serve plain HTTP with no authentication. For local experiments only.")
    var insecureHTTP = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let controlPlane = try makeControlPlane(logger: Logger(label: "skiff.server"))
        let group = ServiceGroup(configuration: .init(services: controlPlane.services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: controlPlane.logger))
        try await group.run()
        await controlPlane.store.closeWatches()
    }

    /// What `skiff server` runs, and `skiff up` runs with an agent beside it.
    struct ControlPlane {
        var services: [ServiceGroupConfiguration.ServiceConfiguration]
        var store: MVCCStore
        var token: AgentToken
        var logger: Logger
    }

    func makeControlPlane(logger: Logger) throws -> ControlPlane {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])

        let policy = CompactionPolicy(retention: .seconds(historySeconds), maxEvents: historyRevisions)
        let store: MVCCStore = inMemory
            ? MVCCStore(policy: policy)
            : try MVCCStore(persistence: try SQLitePersistence(path: "\(dataDir)/state.db"), policy: policy)

        let host = ProcessInfo.processInfo.hostName
        guard let serviceRange = IPv4CIDR(serviceCidr), serviceRange.prefixLength <= 30 else {
            throw ValidationError("--service-cidr: not an IPv4 CIDR: \(serviceCidr)")
        }
        let firstServiceIP = IPv4CIDR.format(serviceRange.base + 1)
        var controllerOptions = ControllerManager.Options()
        controllerOptions.nodeMonitorGracePeriod = nodeMonitorGracePeriod
        guard let clusterRange = IPv4CIDR(clusterCidr), (clusterRange.prefixLength...30).contains(nodeCidrMaskSize) else {
            throw ValidationError("--cluster-cidr \(clusterCidr) with --node-cidr-mask-size \(nodeCidrMaskSize): not an IPv4 CIDR with room for node ranges")
        }
        controllerOptions.clusterCIDR = clusterRange
        controllerOptions.nodeCIDRMaskSize = nodeCidrMaskSize
        controllerOptions.terminatedPodGCThreshold = terminatedPodGcThreshold
        controllerOptions.jobBackoffBase = .milliseconds(Int64(jobBackoffBaseSeconds * 1000))
        // As k3s: the machine's own addresses too, so agents can join at any of them.
        let addresses = MachineInfo.interfaceIPv4Addresses().map(\.address).filter { !$0.hasPrefix("127.") }
        var seen = Set<String>()
        let sans = (["localhost", host, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                     "kubernetes.default.svc.cluster.local", "127.0.0.1", "::1", firstServiceIP] + addresses + (advertiseAddress.map { [$0] } ?? []) + tlsSan)
            .filter { seen.insert($0).inserted }
        let pki = try ClusterPKI.loadOrCreate(in: "\(dataDir)/tls", sans: sans)
        let token = try JoinToken.loadOrCreate(at: "\(dataDir)/token", caPEM: pki.caCertificatePEM)
        let scheme = insecureHTTP ? "http" : "https"
        let kubeconfig = pki.adminKubeconfig(server: "\(scheme)://127.0.0.1:\(port)")
        try Files.writeAtomically(kubeconfig, to: "\(dataDir)/kubeconfig.yaml", mode: 0o600)

        guard let ttl = APIHandler.parseDuration(eventTtl) else { throw ValidationError("--event-ttl: not a duration: \(eventTtl)") }
        let saKeyPath = "\(dataDir)/tls/service-account.key"
        if !FileManager.default.fileExists(atPath: saKeyPath) {
            try Files.writeAtomically(ServiceAccountTokens.newKeyPEM(), to: saKeyPath, mode: 0o600)
        }
        let serviceAccounts = try ServiceAccountTokens(keyPEM: try String(contentsOfFile: saKeyPath, encoding: .utf8))
        let handler = APIHandler(store: store, registry: APIHandler.builtInRegistry(defaultTolerationSeconds: defaultTolerationSeconds),
                                 serviceCIDR: serviceCidr, serviceAccountTokens: serviceAccounts, caCertificatePEM: pki.caCertificatePEM,
                                 kubeletClient: KubeletClientConfig(pki: pki))
        let tls = insecureHTTP ? nil : ServingTLS(certificatePEM: pki.serverCertificatePEM, keyPEM: pki.serverKeyPEM, clientCAPEM: pki.caCertificatePEM)
        let app = try APIServerApp.make(
            handler: handler, host: bindAddress, port: port, tls: tls,
            authenticator: Authenticator(tokens: [token.secret: "system:skiff-agent"], insecure: insecureHTTP, serviceAccounts: serviceAccounts),
            nodeCertificates: NodeCertificateIssuer(pki: pki, tokenSecret: token.secret),
            services: [WatchCacheService(handler: handler, servicePort: port, advertiseAddress: advertiseAddress ?? MachineInfo.defaultNodeIP(), eventTTL: ttl), ControllerManagerService(handler: handler, options: controllerOptions),
                       MemoryTrimService(logger: logger), ResourceMetricsScraper(handler: handler)],
            onServerRunning: { _ in
                logger.info("API server listening", metadata: ["url": "\(scheme)://\(bindAddress):\(port)", "kubeconfig": "\(dataDir)/kubeconfig.yaml"])
            },
            logger: logger)
        return ControlPlane(services: [.init(service: app), .init(service: WatchCloser(handler: handler))], store: store, token: token, logger: logger)
    }
}

/// swift-log to standard error at the given level (trace … critical).
func bootstrapLogging(level: String) {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = Logger.Level(rawValue: level) ?? .info
        return h
    }
}

/// Runs the API server's watch cache for the life of the server, and creates the
/// objects every cluster starts with once it has loaded.
struct WatchCacheService: Service {
    let handler: APIHandler
    let servicePort: Int
    let advertiseAddress: String?
    let eventTTL: Duration

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await handler.run() }
                try await handler.bootstrap(servicePort: servicePort, advertiseAddress: advertiseAddress)
                // Expired Events are swept once a minute.
                group.addTask {
                    while (try? await Task.sleep(for: .seconds(60))) != nil {
                        await handler.expireEvents(olderThan: eventTTL)
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// The token agents join with, kept in `<data-dir>/token` as k3s writes it:
/// `K10<sha256 of the cluster CA>::server:<secret>`. The hash lets an agent trust the CA
/// it fetches from /cacerts; the secret authenticates it.
enum JoinToken {
    static func loadOrCreate(at path: String, caPEM: String) throws -> AgentToken {
        let existing = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var secret = AgentToken(parsing: existing)?.secret ?? existing
        if secret.isEmpty {
            var rng = SystemRandomNumberGenerator()
            secret = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        }
        let token = AgentToken(caHash: AgentToken.hash(caPEM), secret: secret)
        if token.description != existing { try Files.writeAtomically(token.description + "\n", to: path, mode: 0o600) }
        return token
    }
}

enum Files {
    static func writeAtomically(_ content: String, to path: String, mode: Int) throws {
        let tmp = path + ".tmp"
        try content.write(toFile: tmp, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: tmp)
        if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown) }
    }
}

/// The controller manager and the scheduler, in process: their clients reach the API
/// through the handler.
struct ControllerManagerService: Service {
    let handler: APIHandler
    let options: ControllerManager.Options

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await handler.waitUntilReady()
            let client = Client(transport: InProcessTransport(handler: handler, user: "system:kube-controller-manager"))
            // One set of informers for the controllers and the scheduler.
            let factory = InformerFactory(client: client)
            let controllers = ControllerManager(factory: factory, options: options)
            let scheduler = Scheduler(factory: factory)
            // Each leads only while it holds its Lease in kube-system, as upstream's
            // kube-controller-manager and kube-scheduler.
            let identity = "\(ProcessInfo.processInfo.hostName)_\(UUID().uuidString.lowercased())"
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await factory.run() }
                group.addTask {
                    await LeaderElector(client: client, name: "kube-controller-manager", identity: identity).run { await controllers.run() }
                }
                group.addTask {
                    await factory.waitForSync()
                    await LeaderElector(client: client, name: "kube-scheduler", identity: identity).run { await scheduler.run() }
                }
            }
        }
    }
}

/// Closes every watch as soon as shutdown begins. Services stop in reverse order, so this
/// one, listed last, acts before the HTTP server starts waiting for open responses.
struct WatchCloser: Service {
    let handler: APIHandler

    func run() async throws {
        try? await gracefulShutdown()
        await handler.closeWatches()
    }
}

/// Returns freed heap memory to the system every few seconds. glibc keeps what a burst
/// of requests freed (in every thread's arena) for reuse, so without this the server's
/// RSS stays at its peak rather than following what it holds, as Go's scavenger does.
struct MemoryTrimService: Service {
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: .seconds(5))) != nil {
                let start = ContinuousClock.now
                malloc_trim(0)
                logger.trace("heap trimmed", metadata: ["duration": "\(ContinuousClock.now - start)"])
            }
        }
    }
}

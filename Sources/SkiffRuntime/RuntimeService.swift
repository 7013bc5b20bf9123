import Foundation

// The protocol between the kubelet and a container runtime, shaped like Kubernetes' CRI
// (runtime.v1.RuntimeService and ImageService) so that the kubelet does not know which
// runtime it drives. Names and meanings follow the CRI's; only what Skiff uses is here.

/// What a pod sandbox holds: the network, IPC and UTS namespaces its containers share.
public struct PodSandboxConfig: Sendable, Codable, Equatable {
    public var name: String
    public var namespace: String
    public var uid: String
    public var attempt: Int
    public var hostname: String
    /// `<data-dir>/pods/<namespace>_<name>_<uid>`: containers' logs live below it.
    public var logDirectory: String
    public var hostNetwork: Bool
    public var portMappings: [PortMapping]
    /// The pod's /etc/resolv.conf, written by the runtime into the sandbox.
    public var dnsConfig: DNSConfig?
    /// Extra /etc/hosts lines (hostAliases), after the pod's own name.
    public var hostAliases: [HostAlias]
    /// The cgroup parent of every container of the pod (per QoS class, as the kubelet's).
    public var cgroupParent: String
    public var sysctls: [String: String]
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, namespace: String, uid: String, attempt: Int = 0, hostname: String, logDirectory: String,
                hostNetwork: Bool = false, portMappings: [PortMapping] = [], dnsConfig: DNSConfig? = nil,
                hostAliases: [HostAlias] = [], cgroupParent: String = "", sysctls: [String: String] = [:],
                labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.attempt = attempt
        self.hostname = hostname
        self.logDirectory = logDirectory
        self.hostNetwork = hostNetwork
        self.portMappings = portMappings
        self.dnsConfig = dnsConfig
        self.hostAliases = hostAliases
        self.cgroupParent = cgroupParent
        self.sysctls = sysctls
        self.labels = labels
        self.annotations = annotations
    }
}

public struct PortMapping: Sendable, Codable, Equatable {
    public var `protocol`: String  // TCP, UDP, SCTP
    public var containerPort: Int
    public var hostPort: Int
    public var hostIP: String

    public init(protocol: String = "TCP", containerPort: Int, hostPort: Int, hostIP: String = "") {
        self.protocol = `protocol`
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.hostIP = hostIP
    }
}

public struct DNSConfig: Sendable, Codable, Equatable {
    public var servers: [String]
    public var searches: [String]
    public var options: [String]

    public init(servers: [String] = [], searches: [String] = [], options: [String] = []) {
        self.servers = servers
        self.searches = searches
        self.options = options
    }
}

public struct HostAlias: Sendable, Codable, Equatable {
    public var ip: String
    public var hostnames: [String]

    public init(ip: String, hostnames: [String]) {
        self.ip = ip
        self.hostnames = hostnames
    }
}

public struct PodSandboxState: RawRepresentable, Sendable, Codable, Hashable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let ready = PodSandboxState(rawValue: "SANDBOX_READY")
    public static let notReady = PodSandboxState(rawValue: "SANDBOX_NOTREADY")
}

public struct PodSandboxStatus: Sendable, Codable, Equatable {
    public var id: String
    public var config: PodSandboxConfig
    public var state: PodSandboxState
    public var createdAt: Date
    /// The pod's IPv4 address on the pod network (nil for hostNetwork pods).
    public var ip: String?

    public init(id: String, config: PodSandboxConfig, state: PodSandboxState, createdAt: Date, ip: String?) {
        self.id = id
        self.config = config
        self.state = state
        self.createdAt = createdAt
        self.ip = ip
    }
}

/// A bind mount into a container.
public struct Mount: Sendable, Codable, Equatable {
    public var containerPath: String
    public var hostPath: String
    public var readOnly: Bool
    /// "private" (default), "rslave" (HostToContainer) or "rshared" (Bidirectional).
    public var propagation: String

    public init(containerPath: String, hostPath: String, readOnly: Bool = false, propagation: String = "private") {
        self.containerPath = containerPath
        self.hostPath = hostPath
        self.readOnly = readOnly
        self.propagation = propagation
    }
}

/// cgroup settings, in the CRI's units (computed from requests and limits by the kubelet).
public struct LinuxContainerResources: Sendable, Codable, Equatable {
    public var cpuPeriod: Int64 = 0
    public var cpuQuota: Int64 = 0
    public var cpuShares: Int64 = 0
    public var memoryLimitInBytes: Int64 = 0
    public var pidsLimit: Int64 = 0
    public var oomScoreAdj: Int64 = 0

    public init() {}
}

public struct Capabilities: Sendable, Codable, Equatable {
    public var add: [String] = []
    public var drop: [String] = []
    public init(add: [String] = [], drop: [String] = []) {
        self.add = add
        self.drop = drop
    }
}

public struct LinuxContainerSecurityContext: Sendable, Codable, Equatable {
    public var capabilities = Capabilities()
    public var privileged = false
    /// nil: the image's user.
    public var runAsUser: Int64?
    public var runAsUsername: String?
    public var runAsGroup: Int64?
    public var supplementalGroups: [Int64] = []
    public var runAsNonRoot = false
    public var readonlyRootfs = false
    public var noNewPrivs = false
    /// "RuntimeDefault" or "Unconfined" (Localhost profiles are not supported).
    public var seccompProfile = "RuntimeDefault"
    /// "Default" masks and read-only /proc paths as container runtimes do; "Unmasked" keeps none.
    public var procMount = "Default"

    public init() {}
}

public struct ContainerConfig: Sendable, Codable, Equatable {
    public var name: String
    public var attempt: Int
    public var image: String
    /// Kubernetes' command and args; the runtime combines them with the image's
    /// Entrypoint and Cmd as Kubernetes documents.
    public var command: [String]
    public var args: [String]
    public var workingDir: String
    /// In order; later values win over earlier ones and over the image's Env.
    public var envs: [KeyValue]
    public var mounts: [Mount]
    /// Relative to the sandbox's logDirectory: `<container>/<attempt>.log`.
    public var logPath: String
    public var stdin: Bool
    public var stdinOnce: Bool
    public var tty: Bool
    /// An ephemeral container's target: the running container whose process namespace it
    /// joins (kubectl debug --target).
    public var targetContainerID: String?
    public var resources: LinuxContainerResources
    public var securityContext: LinuxContainerSecurityContext
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, attempt: Int = 0, image: String, command: [String] = [], args: [String] = [],
                workingDir: String = "", envs: [KeyValue] = [], mounts: [Mount] = [], logPath: String,
                stdin: Bool = false, stdinOnce: Bool = false, tty: Bool = false,
                resources: LinuxContainerResources = .init(), securityContext: LinuxContainerSecurityContext = .init(),
                labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.attempt = attempt
        self.image = image
        self.command = command
        self.args = args
        self.workingDir = workingDir
        self.envs = envs
        self.mounts = mounts
        self.logPath = logPath
        self.stdin = stdin
        self.stdinOnce = stdinOnce
        self.tty = tty
        self.resources = resources
        self.securityContext = securityContext
        self.labels = labels
        self.annotations = annotations
    }
}

public struct KeyValue: Sendable, Codable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

public struct ContainerState: RawRepresentable, Sendable, Codable, Hashable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let created = ContainerState(rawValue: "CONTAINER_CREATED")
    public static let running = ContainerState(rawValue: "CONTAINER_RUNNING")
    public static let exited = ContainerState(rawValue: "CONTAINER_EXITED")
    public static let unknown = ContainerState(rawValue: "CONTAINER_UNKNOWN")
}

public struct ContainerStatus: Sendable, Codable, Equatable {
    public var id: String
    public var sandboxID: String
    public var name: String
    public var attempt: Int
    public var state: ContainerState
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int32
    /// "OOMKilled", "Completed", "Error", as runtimes report them.
    public var reason: String
    public var message: String
    /// The image as the pod asked for it, and its resolved `<repo>@sha256:…` (imageID).
    public var image: String
    public var imageRef: String
    /// Absolute path of the container's CRI-format log.
    public var logPath: String
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(id: String, sandboxID: String, name: String, attempt: Int, state: ContainerState, createdAt: Date,
                startedAt: Date? = nil, finishedAt: Date? = nil, exitCode: Int32 = 0, reason: String = "", message: String = "",
                image: String, imageRef: String, logPath: String, labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.id = id
        self.sandboxID = sandboxID
        self.name = name
        self.attempt = attempt
        self.state = state
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
        self.image = image
        self.imageRef = imageRef
        self.logPath = logPath
        self.labels = labels
        self.annotations = annotations
    }
}

public struct ExecResult: Sendable, Equatable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var exitCode: Int32
    public init(stdout: [UInt8], stderr: [UInt8], exitCode: Int32) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitCode = exitCode
    }
}

public struct RuntimeVersion: Sendable, Equatable {
    /// "crun", "runc", "simulated"
    public var runtimeName: String
    public var runtimeVersion: String
    /// As the Node's status.nodeInfo.containerRuntimeVersion: `crun://1.8.1`.
    public var containerRuntimeVersion: String { "\(runtimeName)://\(runtimeVersion)" }
    public init(runtimeName: String, runtimeVersion: String) {
        self.runtimeName = runtimeName
        self.runtimeVersion = runtimeVersion
    }
}

/// A runtime error the kubelet reports in a container's status, with CRI's reasons
/// (CreateContainerError, RunContainerError, CreateContainerConfigError, ...).
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var message: String
    public init(_ reason: String, _ message: String) {
        self.reason = reason
        self.message = message
    }
    public var description: String { "\(reason): \(message)" }
}

/// runtime.v1.RuntimeService: pod sandboxes and containers.
public protocol RuntimeService: Sendable {
    func version() async throws -> RuntimeVersion

    /// Creates the pod's namespaces and network; returns the sandbox id.
    func runPodSandbox(_ config: PodSandboxConfig) async throws -> String
    /// Stops every container of the sandbox and tears its network down (idempotent).
    func stopPodSandbox(_ id: String) async throws
    /// Removes what stopPodSandbox left: namespaces, directories, cgroups (idempotent).
    func removePodSandbox(_ id: String) async throws
    func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus
    func listPodSandboxes() async throws -> [PodSandboxStatus]

    /// Prepares a container (rootfs, bundle, log) without starting it; returns its id.
    func createContainer(sandboxID: String, config: ContainerConfig, sandboxConfig: PodSandboxConfig) async throws -> String
    func startContainer(_ id: String) async throws
    /// SIGTERM, then SIGKILL after `timeout` seconds (0: at once).
    func stopContainer(_ id: String, timeout: Int) async throws
    func removeContainer(_ id: String) async throws
    func containerStatus(_ id: String) async throws -> ContainerStatus
    func listContainers() async throws -> [ContainerStatus]
    /// The container's CPU and memory usage now, from its cgroup (for /metrics/resource).
    func containerStats(_ id: String) async throws -> ContainerStats
    /// Runs a command in a running container and collects its output (probes, hooks).
    func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult
    /// Runs a command in a running container with its streams connected to a client's
    /// (kubectl exec) and returns its exit code; cancelling kills it.
    func exec(_ id: String, command: [String], io: ExecIO) async throws -> Int32
    /// Connects a client to a running container's own streams (kubectl attach): its live
    /// output from now on, and its stdin or terminal when it was started with them.
    /// Returns when the container exits or the client leaves (cancellation).
    func attach(_ id: String, io: ExecIO) async throws
    /// A TCP connection to `port` on the sandbox's loopback, in its network namespace
    /// (kubectl port-forward): the connected socket's descriptor, now the caller's.
    func portForward(_ sandboxID: String, port: UInt16) async throws -> Int32
    /// A stream of container ids whose state changed (exited), for the kubelet's PLEG.
    func containerEvents() -> AsyncStream<String>
}

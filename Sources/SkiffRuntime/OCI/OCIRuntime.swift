import CSkiffSys
import Foundation
import Glibc
import Logging
import SkiffCore

/// The RuntimeService on a real OCI runtime (crun or runc): sandboxes are pinned namespaces
/// (no pause process) attached by CNI, containers are OCI bundles over an overlay of the
/// image's shared layers. State lives in `<root>` as JSON, so an agent restart adopts
/// running containers instead of restarting them.
public actor OCIRuntime: RuntimeService {
    struct SandboxRecord: Codable {
        var status: PodSandboxStatus
        var directory: String
        var netns: String?
        var ipcns: String?
        var utsns: String?
        var shm: String?
        var attachment: CNINetwork.Attachment?
    }

    struct ContainerRecord: Codable {
        var status: ContainerStatus
        var directory: String
        var cgroupsPath: String
        var pid: Int32
    }

    public let binary: OCIRuntimeBinary
    let root: String
    let images: any ImageService
    let cgroups: Cgroups
    let logs: ContainerLogCopier
    let logger: Logger
    let exits = ExitMonitor()
    var network: CNINetwork?
    var sandboxes: [String: SandboxRecord] = [:]
    var containers: [String: ContainerRecord] = [:]
    /// Terminal masters of containers started with `tty` (attach writes and resizes here).
    var terminals: [String: Int32] = [:]
    /// Marks a container created with a terminal (kept in its persisted record).
    static let terminalAnnotation = "skiff.io/tty"
    let exitStream: AsyncStream<(String, Int32?)>
    let exitContinuation: AsyncStream<(String, Int32?)>.Continuation
    let eventStream: AsyncStream<String>
    let eventContinuation: AsyncStream<String>.Continuation

    /// - Parameters:
    ///   - root: the runtime's state directory (`<data-dir>/runtime`).
    public init(binary: OCIRuntimeBinary, root: String, images: any ImageService, cgroups: Cgroups,
                logs: ContainerLogCopier, logger: Logger) throws {
        self.binary = binary
        self.root = root
        self.images = images
        self.cgroups = cgroups
        self.logs = logs
        self.logger = logger
        (exitStream, exitContinuation) = AsyncStream.makeStream()
        (eventStream, eventContinuation) = AsyncStream.makeStream()
        for dir in ["sandboxes", "containers", "state"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        guard skiff_become_subreaper() == 0 else { throw RuntimeError("RuntimeSetupError", "cannot become the subreaper of containers") }
    }

    /// Sets the pod network once the node has a podCIDR; sandboxes need it.
    public func configureNetwork(_ network: CNINetwork) {
        self.network = network
    }

    public var networkReady: Bool { network != nil }

    /// Handles container exits until cancelled; the owner runs it for the runtime's life.
    public func run() async {
        let orphans = Task { await OrphanReaper().run() }
        defer { orphans.cancel() }
        for await (id, status) in exitStream {
            await containerExited(id, status: status)
        }
    }

    public nonisolated func containerEvents() -> AsyncStream<String> { eventStream }

    public func version() async throws -> RuntimeVersion {
        RuntimeVersion(runtimeName: binary.name, runtimeVersion: try await binary.version())
    }

    // MARK: sandboxes

    public func runPodSandbox(_ config: PodSandboxConfig) async throws -> String {
        let id = Self.newID()
        let dir = "\(root)/sandboxes/\(id)"
        try FileManager.default.createDirectory(atPath: "\(dir)/ns", withIntermediateDirectories: true)
        var record = SandboxRecord(status: PodSandboxStatus(id: id, config: config, state: .notReady, createdAt: Date(), ip: nil),
                                   directory: dir)
        do {
            var flags: Int32 = 0x0800_0000  // CLONE_NEWIPC
            record.ipcns = "\(dir)/ns/ipc"
            if !config.hostNetwork {
                guard network != nil else {
                    throw RuntimeError("NetworkNotReady", "network is not ready: the node has no podCIDR yet")
                }
                flags |= 0x4000_0000 | 0x0400_0000  // CLONE_NEWNET | CLONE_NEWUTS
                record.netns = "\(dir)/ns/net"
                record.utsns = "\(dir)/ns/uts"
            }
            for path in [record.netns, record.ipcns, record.utsns].compactMap({ $0 }) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw RuntimeError("CreatePodSandboxError", "cannot create \(path)")
                }
            }
            sandboxes[id] = record  // from here on removePodSandbox can undo everything
            let rc = skiff_pin_namespaces(flags, config.hostname, record.netns, record.ipcns, record.utsns)
            guard rc == 0 else { throw RuntimeError("CreatePodSandboxError", "cannot create the pod's namespaces: \(String(cString: strerror(-rc)))") }
            let shm = "\(dir)/shm"
            try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: true)
            guard mount("shm", shm, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=1777,size=65536k") == 0 else {
                throw RuntimeError("CreatePodSandboxError", "cannot mount the pod's /dev/shm: \(String(cString: strerror(errno)))")
            }
            record.shm = shm
            sandboxes[id] = record
            if let netns = record.netns, let network {
                record.attachment = try await network.add(containerID: id, netns: netns, portMappings: config.portMappings)
                record.status.ip = record.attachment?.ip
            }
            try writeSandboxFiles(record)
            record.status.state = .ready
            sandboxes[id] = record
            try persist(record)
            return id
        } catch {
            try? await removePodSandbox(id)
            throw error
        }
    }

    /// /etc/hosts, /etc/resolv.conf and /etc/hostname as the kubelet writes them for pods.
    func writeSandboxFiles(_ r: SandboxRecord) throws {
        let c = r.status.config
        var hosts: String
        if c.hostNetwork {
            hosts = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? "127.0.0.1\tlocalhost\n"
        } else {
            hosts = """
            # Kubernetes-managed hosts file.
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters
            \(r.status.ip ?? "")\t\(c.hostname)

            """
        }
        if !c.hostAliases.isEmpty {
            hosts += "\n# Entries added by HostAliases.\n"
            for alias in c.hostAliases { hosts += "\(alias.ip)\t\(alias.hostnames.joined(separator: "\t"))\n" }
        }
        try hosts.write(toFile: "\(r.directory)/hosts", atomically: true, encoding: .utf8)
        try "\(c.hostNetwork ? Self.hostName() : c.hostname)\n".write(toFile: "\(r.directory)/hostname", atomically: true, encoding: .utf8)
        if let dns = c.dnsConfig {
            var text = ""
            if !dns.searches.isEmpty { text += "search \(dns.searches.joined(separator: " "))\n" }
            for server in dns.servers { text += "nameserver \(server)\n" }
            if !dns.options.isEmpty { text += "options \(dns.options.joined(separator: " "))\n" }
            try text.write(toFile: "\(r.directory)/resolv.conf", atomically: true, encoding: .utf8)
        } else if let host = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) {
            try host.write(toFile: "\(r.directory)/resolv.conf", atomically: true, encoding: .utf8)
        }
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func stopPodSandbox(_ id: String) async throws {
        guard var record = sandboxes[id] else { return }
        for c in containers.values where c.status.sandboxID == id && c.status.state != .exited {
            try await stopContainer(c.status.id, timeout: 0)
        }
        if let netns = record.netns, let network, record.attachment != nil || record.status.state == .ready {
            try await network.del(containerID: id, netns: netns, portMappings: record.status.config.portMappings, attachment: record.attachment)
        }
        record.attachment = nil
        record.status.state = .notReady
        sandboxes[id] = record
        try persist(record)
    }

    public func removePodSandbox(_ id: String) async throws {
        guard let record = sandboxes[id] else { return }
        for c in containers.values where c.status.sandboxID == id {
            try await removeContainer(c.status.id)
        }
        if let netns = record.netns, let network, record.attachment != nil {
            try await network.del(containerID: id, netns: netns, portMappings: record.status.config.portMappings, attachment: record.attachment)
        }
        for path in [record.netns, record.ipcns, record.utsns, record.shm].compactMap({ $0 }) {
            Self.unmount(path)
        }
        if !record.status.config.cgroupParent.isEmpty {
            do { try cgroups.remove(record.status.config.cgroupParent) } catch {
                logger.warning("pod cgroup not removed", metadata: ["sandbox": "\(id)", "error": "\(error)"])
            }
        }
        try? FileManager.default.removeItem(atPath: record.directory)
        forgetState(sandbox: id)
        sandboxes[id] = nil
    }

    public func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus {
        guard let record = sandboxes[id] else { throw RuntimeError("NotFound", "pod sandbox \(id) not found") }
        return record.status
    }

    public func listPodSandboxes() async throws -> [PodSandboxStatus] { sandboxes.values.map(\.status) }

    // MARK: containers

    public func createContainer(sandboxID: String, config: ContainerConfig, sandboxConfig: PodSandboxConfig) async throws -> String {
        guard let sandbox = sandboxes[sandboxID], sandbox.status.state == .ready else {
            throw RuntimeError("CreateContainerError", "pod sandbox \(sandboxID) is not ready")
        }
        guard let image = try await images.imageStatus(config.image) else {
            throw RuntimeError("CreateContainerError", "image \"\(config.image)\" is not present on the node")
        }
        let id = Self.newID()
        let dir = "\(root)/containers/\(id)"
        let rootfs = "\(dir)/rootfs"
        let cgroupsPath = "\(sandbox.status.config.cgroupParent.isEmpty ? "/skiff/\(sandboxID)" : sandbox.status.config.cgroupParent)/\(id)"
        let logPath = "\(sandbox.status.config.logDirectory)/\(config.logPath)"
        let record = ContainerRecord(
            status: ContainerStatus(id: id, sandboxID: sandboxID, name: config.name, attempt: config.attempt, state: .created,
                                    createdAt: Date(), image: config.image, imageRef: image.repoDigests.first ?? image.id,
                                    logPath: logPath, labels: config.labels,
                                    annotations: config.annotations.merging(config.tty ? [Self.terminalAnnotation: "true"] : [:]) { $1 }),
            directory: dir, cgroupsPath: cgroupsPath, pid: 0)
        let fm = FileManager.default
        for sub in ["rootfs", "upper", "work"] { try fm.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true) }
        containers[id] = record  // removeContainer can undo from here
        do {
            let lower = image.layerDirectories.reversed().joined(separator: ":")
            let options = "lowerdir=\(lower),upperdir=\(dir)/upper,workdir=\(dir)/work"
            guard mount("overlay", rootfs, "overlay", 0, options) == 0 else {
                throw RuntimeError("CreateContainerError", "cannot mount the container's root filesystem: \(String(cString: strerror(errno)))")
            }
            let user = try SpecBuilder.resolveUser(security: config.securityContext, imageUser: image.config.user,
                                                   passwd: try? String(contentsOfFile: "\(rootfs)/etc/passwd", encoding: .utf8),
                                                   group: try? String(contentsOfFile: "\(rootfs)/etc/group", encoding: .utf8))
            var targetPID: String?
            if let target = config.targetContainerID {
                guard let pid = containers[target]?.pid, pid > 0, containers[target]?.status.state == .running else {
                    throw RuntimeError("CreateContainerError", "the target container \(target) is not running")
                }
                targetPID = "/proc/\(pid)/ns/pid"
            }
            let paths = SpecBuilder.SandboxPaths(network: sandbox.netns, ipc: sandbox.ipcns, uts: sandbox.utsns,
                                                 hosts: "\(sandbox.directory)/hosts",
                                                 resolvConf: fm.fileExists(atPath: "\(sandbox.directory)/resolv.conf") ? "\(sandbox.directory)/resolv.conf" : nil,
                                                 hostname: "\(sandbox.directory)/hostname", shm: sandbox.shm, pid: targetPID)
            let spec = SpecBuilder().build(container: config, sandbox: sandbox.status.config, image: image.config, user: user,
                                           rootfs: rootfs, paths: paths, cgroupsPath: cgroupsPath)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(spec).write(to: URL(fileURLWithPath: "\(dir)/config.json"))

            try fm.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let pipes = ["stdout", "stderr"] + (config.stdin && !config.tty ? ["stdin"] : [])
            for stream in pipes where mkfifo("\(dir)/\(stream)", 0o600) != 0 && errno != EEXIST {
                throw RuntimeError("CreateContainerError", "cannot make the log pipe: \(String(cString: strerror(errno)))")
            }
            try persist(record)
            return id
        } catch {
            try? await removeContainer(id)
            throw error
        }
    }

    func watchExit(id: String, pid: Int32) {
        guard pid > 0 else { return }
        let continuation = exitContinuation
        exits.watch(pid: pid) { status in continuation.yield((id, status)) }
    }

    /// Creates the container in the OCI runtime and starts it, as containerd's task
    /// create + start. A failure leaves the container exited with code 128, reason
    /// StartError and the runtime's message, as containerd reports it.
    public func startContainer(_ id: String) async throws {
        guard var record = containers[id] else { throw RuntimeError("NotFound", "container \(id) not found") }
        guard record.status.state == .created else { throw RuntimeError("RunContainerError", "container \(id) is \(record.status.state.rawValue), not created") }
        let dir = record.directory
        var fifoFDs: [Int32] = []
        defer { fifoFDs.forEach { close($0) } }
        do {
            for stream in ["stdout", "stderr"] {
                // Read-write, so the container never sees EPIPE while no agent reads.
                let fd = open("\(dir)/\(stream)", O_RDWR | O_CLOEXEC)
                guard fd >= 0 else { throw RuntimeError("RunContainerError", "cannot open the log pipe: \(String(cString: strerror(errno)))") }
                fifoFDs.append(fd)
            }
            // stdin: a FIFO the container holds open itself (read-write), so it never sees
            // the end of its input; attach writes into it.
            let stdinFIFO = "\(dir)/stdin"
            var stdinFD: Int32 = -1
            if FileManager.default.fileExists(atPath: stdinFIFO) {
                stdinFD = open(stdinFIFO, O_RDWR | O_CLOEXEC)
                guard stdinFD >= 0 else { throw RuntimeError("RunContainerError", "cannot open the stdin pipe: \(String(cString: strerror(errno)))") }
                fifoFDs.append(stdinFD)
            }
            if record.status.annotations[Self.terminalAnnotation] == "true" {
                // A terminal: its master feeds the log (as stdout) and attached clients.
                let socket = "\(dir)/console.sock"
                unlink(socket)
                let listener = skiff_console_listen(socket)
                guard listener >= 0 else { throw RuntimeError("RunContainerError", "console socket: \(String(cString: strerror(-listener)))") }
                defer { close(listener); unlink(socket) }
                try await binary.create(id: id, bundle: dir, pidFile: "\(dir)/pid", logFile: "\(dir)/runtime.log",
                                        stdoutFD: fifoFDs[0], stderrFD: fifoFDs[1], consoleSocket: socket)
                let master = skiff_console_receive(listener, -1, 5000)
                guard master >= 0 else { throw RuntimeError("RunContainerError", "no terminal from \(binary.name): \(String(cString: strerror(-master)))") }
                terminals[id] = master
                try logs.start(containerID: id, terminal: dup(master), logPath: record.status.logPath)
            } else {
                try logs.start(containerID: id, stdoutFIFO: "\(dir)/stdout", stderrFIFO: "\(dir)/stderr", logPath: record.status.logPath)
                try await binary.create(id: id, bundle: dir, pidFile: "\(dir)/pid", logFile: "\(dir)/runtime.log",
                                        stdinFD: stdinFD, stdoutFD: fifoFDs[0], stderrFD: fifoFDs[1])
            }
            let pidText = (try? String(contentsOfFile: "\(dir)/pid", encoding: .utf8)) ?? ""
            record.pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            containers[id] = record
            watchExit(id: id, pid: record.pid)
            try await binary.start(id: id)
        } catch {
            let message = (error as? RuntimeError)?.message ?? "\(error)"
            try? await binary.delete(id: id, force: true)
            record = containers[id] ?? record
            record.status.state = .exited
            record.status.exitCode = 128
            record.status.reason = "StartError"
            record.status.message = message
            record.status.startedAt = Date()
            record.status.finishedAt = record.status.startedAt
            containers[id] = record
            try? persist(record)
            throw RuntimeError("RunContainerError", message)
        }
        record = containers[id] ?? record
        if record.status.state == .created {
            record.status.state = .running
            record.status.startedAt = Date()
            containers[id] = record
            try persist(record)
        }
    }

    /// Records an exit: waits for the output to reach the log, reads the OOM counter before
    /// the runtime deletes the cgroup, then tells the kubelet.
    func containerExited(_ id: String, status: Int32?) async {
        guard containers[id] != nil, containers[id]?.status.state != .exited else { return }
        // At most 2 s: a process the container left behind may hold its output open.
        let deadline = ContinuousClock.now + .seconds(2)
        while !logs.isDrained(containerID: id), ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { break }
        }
        if let master = terminals.removeValue(forKey: id) { close(master) }
        // Removed meanwhile (the actor was free while waiting): nothing to record.
        guard var record = containers[id], record.status.state != .exited else { return }
        let oom = cgroups.oomKills(record.cgroupsPath) > 0
        let code = status.map { WaitStatus($0).exitCode } ?? 255
        record.status.exitCode = code
        record.status.finishedAt = Date()
        if record.status.startedAt == nil { record.status.startedAt = record.status.finishedAt }
        record.status.state = .exited
        if status == nil {
            record.status.reason = "Unknown"
            record.status.message = "the container exited while the agent was not its parent; its exit code is unknown"
        } else {
            record.status.reason = oom ? "OOMKilled" : (code == 0 ? "Completed" : "Error")
        }
        containers[id] = record
        do {
            try await binary.delete(id: id, force: true)
        } catch {
            logger.warning("runtime delete after exit failed", metadata: ["container": "\(id)", "error": "\(error)"])
        }
        if containers[id] != nil { try? persist(record) }
        eventContinuation.yield(id)
    }

    /// Waits until the container has exited or `timeout` passed; true if it exited.
    func waitForExit(_ id: String, timeout: Duration) async -> Bool {
        if containers[id]?.status.state != .running { return true }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if containers[id]?.status.state != .running { return true }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { break }  // shutting down
        }
        return containers[id]?.status.state != .running
    }

    public func stopContainer(_ id: String, timeout: Int) async throws {
        guard let record = containers[id] else { return }
        switch record.status.state {
        case .running:
            if timeout > 0 {
                try? await binary.kill(id: id, signal: "TERM")
                if await waitForExit(id, timeout: .seconds(timeout)) { return }
            }
            try? await binary.kill(id: id, signal: "KILL")
            if !(await waitForExit(id, timeout: .seconds(10))) {
                throw RuntimeError("StopContainerError", "container \(id) did not exit after SIGKILL")
            }
        case .created:
            try? await binary.delete(id: id, force: true)
            await containerExited(id, status: nil)
        default:
            return
        }
    }

    public func removeContainer(_ id: String) async throws {
        guard let record = containers[id] else { return }
        if record.status.state == .running { try await stopContainer(id, timeout: 0) }
        if record.status.state == .created {
            try? await binary.delete(id: id, force: true)
        }
        logs.stop(containerID: id)
        if let master = terminals.removeValue(forKey: id) { close(master) }
        Self.unmount("\(record.directory)/rootfs")
        do { try cgroups.remove(record.cgroupsPath) } catch {
            logger.warning("container cgroup not removed", metadata: ["container": "\(id)", "error": "\(error)"])
        }
        try? FileManager.default.removeItem(atPath: record.directory)
        forgetState(container: id)
        containers[id] = nil
    }

    public func containerStatus(_ id: String) async throws -> ContainerStatus {
        guard let record = containers[id] else { throw RuntimeError("NotFound", "container \(id) not found") }
        return record.status
    }

    public func listContainers() async throws -> [ContainerStatus] { containers.values.map(\.status) }

    public func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult {
        guard let record = containers[id], record.status.state == .running else {
            throw RuntimeError("NotRunning", "container \(id) is not running")
        }
        // A zero timeout means none, as the CRI's (lifecycle hooks pass it).
        let result = try await binary.exec(id: id, command: command, timeout: timeout == .zero ? nil : timeout)
        return ExecResult(stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode)
    }

    public func exec(_ id: String, command: [String], io: ExecIO) async throws -> Int32 {
        guard let record = containers[id], record.status.state == .running else {
            throw RuntimeError("NotRunning", "container \(id) is not running")
        }
        return try await binary.exec(id: id, bundle: record.directory, command: command, io: io)
    }

    public func attach(_ id: String, io: ExecIO) async throws {
        guard let record = containers[id], record.status.state == .running else {
            throw RuntimeError("NotRunning", "container \(id) is not running")
        }
        let stdinFIFO = "\(record.directory)/stdin"
        let input: Int32
        if let master = terminals[id] {
            input = dup(master)
        } else if io.stdin != nil, FileManager.default.fileExists(atPath: stdinFIFO) {
            input = open(stdinFIFO, O_WRONLY | O_CLOEXEC)
        } else {
            input = -1
        }
        let terminal = terminals[id] != nil ? input : nil
        try await ContainerAttach.run(output: logs.subscribe(containerID: id), input: input, terminal: terminal, io: io)
    }

    public func portForward(_ sandboxID: String, port: UInt16) async throws -> Int32 {
        guard let record = sandboxes[sandboxID], record.status.state == .ready else {
            throw RuntimeError("NotFound", "pod sandbox \(sandboxID) is not ready")
        }
        let fd = record.netns.withOptionalCString { skiff_connect_in_netns($0, port) }
        guard fd >= 0 else {
            throw RuntimeError("PortForwardError", "dial tcp4 127.0.0.1:\(port): connect: \(String(cString: strerror(-fd)))")
        }
        return fd
    }

    // MARK: state on disk

    func persist(_ r: SandboxRecord) throws {
        try JSONEncoder().encode(r).write(to: URL(fileURLWithPath: "\(root)/state/sandbox-\(r.status.id).json"), options: .atomic)
    }

    func persist(_ r: ContainerRecord) throws {
        try JSONEncoder().encode(r).write(to: URL(fileURLWithPath: "\(root)/state/container-\(r.status.id).json"), options: .atomic)
    }

    /// Adopts what a previous agent left: sandboxes as they were, running containers watched
    /// again (their output keeps flowing into the same log), stopped ones recorded as exited.
    /// State files of objects whose directories are gone are dropped.
    public func recover() async {
        let dir = "\(root)/state"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let decoder = JSONDecoder()
        for file in files {
            guard let data = FileManager.default.contents(atPath: "\(dir)/\(file)") else { continue }
            if file.hasPrefix("sandbox-"), let r = try? decoder.decode(SandboxRecord.self, from: data) {
                if FileManager.default.fileExists(atPath: r.directory) { sandboxes[r.status.id] = r } else { try? FileManager.default.removeItem(atPath: "\(dir)/\(file)") }
            } else if file.hasPrefix("container-"), let r = try? decoder.decode(ContainerRecord.self, from: data) {
                if FileManager.default.fileExists(atPath: r.directory) { containers[r.status.id] = r } else { try? FileManager.default.removeItem(atPath: "\(dir)/\(file)") }
            }
        }
        for (id, record) in containers where record.status.state == .running || record.status.state == .created {
            let state = try? await binary.state(id: id)
            if let state, state.status == "running" || state.status == "created", state.pid > 0 {
                do {
                    try logs.start(containerID: id, stdoutFIFO: "\(record.directory)/stdout",
                                         stderrFIFO: "\(record.directory)/stderr", logPath: record.status.logPath)
                } catch {
                    logger.warning("cannot resume a container's log", metadata: ["container": "\(id)", "error": "\(error)"])
                }
                watchExit(id: id, pid: state.pid)
            } else {
                await containerExited(id, status: nil)
            }
        }
        logger.info("runtime state recovered", metadata: ["sandboxes": "\(sandboxes.count)", "containers": "\(containers.count)"])
    }

    /// Persisted records are removed with the object.
    func forgetState(sandbox id: String) { try? FileManager.default.removeItem(atPath: "\(root)/state/sandbox-\(id).json") }
    func forgetState(container id: String) { try? FileManager.default.removeItem(atPath: "\(root)/state/container-\(id).json") }

    static func unmount(_ path: String) {
        while umount2(path, Int32(MNT_DETACH)) == 0 {}
    }

    static func newID() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }
}

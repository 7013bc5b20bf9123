import Foundation
import Glibc

/// crun or runc, driven through their command line (one process per verb, as few verbs as
/// a container's life needs: create, start, kill, delete).
public struct OCIRuntimeBinary: Sendable {
    public var name: String
    public var path: String
    /// The runtime's own state directory (`--root`), under the data directory.
    public var stateRoot: String
    /// A mount to hide from `create` (crun on hybrid cgroups; see CgroupMode).
    public var hideMount: String?

    public init(name: String, path: String, stateRoot: String, hideMount: String?) {
        self.name = name
        self.path = path
        self.stateRoot = stateRoot
        self.hideMount = hideMount
    }

    /// Finds `name` on PATH (crun, runc) and decides whether it needs the cgroup2 mount
    /// hidden on this host.
    public static func locate(_ name: String, stateRoot: String, cgroups: CgroupMode) throws -> OCIRuntimeBinary {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":")
        guard let dir = dirs.first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }) else {
            throw RuntimeError("RuntimeNotFound", "\(name) is not installed (looked in \(dirs.joined(separator: ":")))")
        }
        return OCIRuntimeBinary(name: name, path: "\(dir)/\(name)", stateRoot: stateRoot,
                                hideMount: name == "crun" ? cgroups.hiddenMountForCrun : nil)
    }

    public struct CommandFailed: Error, CustomStringConvertible {
        public var verb: String
        public var status: Int32
        public var output: String
        public var description: String { "\(verb) failed (exit \(status)): \(output)" }
    }

    func global(_ logFile: String?) -> [String] {
        var args = ["--root", stateRoot]
        if let logFile { args += ["--log", logFile] }
        return args
    }

    @discardableResult
    func invoke(_ verb: String, _ args: [String], logFile: String? = nil, stdinFD: Int32? = nil, stdoutFD: Int32? = nil, stderrFD: Int32? = nil,
                hide: Bool = false, timeout: Duration? = .seconds(60)) async throws -> ChildProcess.Result {
        let result = try await ChildProcess.run(path, global(logFile) + [verb] + args, stdinFD: stdinFD, stdoutFD: stdoutFD, stderrFD: stderrFD,
                                                hideMount: hide ? hideMount : nil, timeout: timeout)
        guard result.status == 0 else {
            var output = (result.stderrString + result.stdoutString).trimmingCharacters(in: .whitespacesAndNewlines)
            if output.isEmpty, let logFile, let log = try? String(contentsOfFile: logFile, encoding: .utf8) {
                output = Self.lastError(inLog: log)
            }
            throw CommandFailed(verb: "\(name) \(verb)", status: result.exitCode, output: output)
        }
        return result
    }

    /// The last message of a runtime's --log file: runc writes logfmt
    /// (`time=… level=error msg="…"`), crun plain text.
    static func lastError(inLog log: String) -> String {
        guard let line = log.split(separator: "\n").last.map(String.init) else { return "" }
        guard let start = line.range(of: "msg=\"") else { return line }
        var msg = "", escaped = false
        for c in line[start.upperBound...] {
            if escaped { msg.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { msg.append(c) }
        }
        return msg
    }

    public func version() async throws -> String {
        let result = try await ChildProcess.run(path, ["--version"], timeout: .seconds(10))
        let first = result.stdoutString.split(separator: "\n").first.map(String.init) ?? ""
        // "crun version 1.8.1", "runc version 1.1.5+ds1"
        return first.split(separator: " ").last.map(String.init) ?? "unknown"
    }

    /// Creates the container: its init waits for `start`. Its stdout and stderr are the
    /// given descriptors (the log FIFOs), its stdin `stdinFD` (-1: none); with a
    /// `consoleSocket` it gets a terminal instead, whose master the runtime sends there.
    public func create(id: String, bundle: String, pidFile: String, logFile: String, stdinFD: Int32 = -1, stdoutFD: Int32, stderrFD: Int32,
                       consoleSocket: String? = nil) async throws {
        try await invoke("create", ["--bundle", bundle, "--pid-file", pidFile] + (consoleSocket.map { ["--console-socket", $0] } ?? []) + [id],
                         logFile: logFile, stdinFD: stdinFD, stdoutFD: stdoutFD, stderrFD: stderrFD, hide: true)
    }

    public func start(id: String) async throws { try await invoke("start", [id]) }

    public func kill(id: String, signal: String, all: Bool = false) async throws {
        try await invoke("kill", (all ? ["--all"] : []) + [id, signal])
    }

    public func delete(id: String, force: Bool) async throws {
        try await invoke("delete", (force ? ["--force"] : []) + [id])
    }

    public struct State: Decodable, Sendable {
        public var id: String
        public var pid: Int32
        public var status: String
    }

    /// The runtime's view of a container; nil when it does not know it.
    public func state(id: String) async throws -> State? {
        let result = try await ChildProcess.run(path, global(nil) + ["state", id], timeout: .seconds(30))
        guard result.status == 0 else { return nil }
        return try JSONDecoder().decode(State.self, from: Data(result.stdout))
    }

    /// Runs a process in the container and collects its output; a timeout kills it.
    public func exec(id: String, command: [String], timeout: Duration?) async throws -> ChildProcess.Result {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-exec-\(UUID().uuidString.prefix(8)).pid").path
        defer { unlink(pidFile) }
        return try await ChildProcess.run(path, global(nil) + ["exec", "--pid-file", pidFile, id] + command, timeout: timeout,
                                          terminate: { Self.stopExec(runtime: $0, pidFile: pidFile) })
    }

    /// Stops an exec: the process in the container, named by the runtime's pid file, so
    /// that the runtime — its parent — reaps it and exits; the runtime itself only while
    /// that process is not there yet. Killing the runtime first would leave the process
    /// running, adopted by the agent (a subreaper), and a zombie once it ended.
    static func stopExec(runtime: pid_t, pidFile: String) {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
            Glibc.kill(pid, SIGKILL)
        } else {
            Glibc.kill(runtime, SIGKILL)
        }
    }

    /// Ids the runtime has state for (to find containers after an agent restart).
    public func list() async throws -> [State] {
        let result = try await ChildProcess.run(path, global(nil) + ["list", "--format", "json"], timeout: .seconds(30))
        guard result.status == 0 else { return [] }
        let text = result.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty || text == "null" { return [] }
        return try JSONDecoder().decode([State].self, from: Data(text.utf8))
    }
}

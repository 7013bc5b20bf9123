import CSkiffSys
import Foundation
import Glibc
import Synchronization

/// Runs helper programs (crun, runc, CNI plugins) and collects their output.
///
/// Not swift-subprocess: the OCI runtime must sometimes start in a private mount namespace
/// (a pre-exec step), and containers' stdio descriptors must be handed over exactly as
/// given; both need a fork/exec of our own (CSkiffSys.skiff_spawn).
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrString: String { String(decoding: stderr, as: UTF8.self) }
        /// The exit code, or 128 + signal as shells report it.
        public var exitCode: Int32 { WaitStatus(status).exitCode }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var path: String
        public var errno: Int32
        public var description: String { "cannot start \(path): \(String(cString: strerror(errno)))" }
    }

    /// Starts `path` with stdio on the given descriptors; returns pid and pidfd.
    public static func spawn(_ path: String, _ args: [String], environment: [String]? = nil,
                             stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1,
                             hideMount: String? = nil) throws -> (pid: pid_t, pidfd: Int32) {
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }).map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            env.forEach { free($0) }
        }
        var pidfd: Int32 = -1
        let pid = hideMount.withOptionalCString { hide in
            skiff_spawn(path, argv, env, stdin, stdout, stderr, hide, &pidfd)
        }
        if pid < 0 { throw SpawnError(path: path, errno: -pid) }
        return (pid, pidfd)
    }

    /// Runs a program to completion, feeding `input` and collecting stdout and stderr.
    /// A `timeout` (or cancelling the caller) calls `terminate` with the child's pid, by
    /// default killing it (SIGKILL: status 137).
    /// `stdinFD`/`stdoutFD`/`stderrFD` hand the child a descriptor of the caller's instead
    /// of a pipe (a container's stdin and log FIFOs); the result then holds nothing for that stream.
    public static func run(_ path: String, _ args: [String], environment: [String]? = nil, input: [UInt8] = [],
                           stdinFD: Int32? = nil, stdoutFD: Int32? = nil, stderrFD: Int32? = nil,
                           hideMount: String? = nil, timeout: Duration? = nil,
                           terminate: @escaping @Sendable (pid_t) -> Void = { kill($0, SIGKILL) }) async throws -> Result {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard skiff_pipe_cloexec(&inPipe) == 0 else { throw SpawnError(path: path, errno: errno) }
        guard skiff_pipe_cloexec(&outPipe) == 0 else {
            closeAll(inPipe)
            throw SpawnError(path: path, errno: errno)
        }
        guard skiff_pipe_cloexec(&errPipe) == 0 else {
            closeAll(inPipe + outPipe)
            throw SpawnError(path: path, errno: errno)
        }
        let child: (pid: pid_t, pidfd: Int32)
        do {
            child = try spawn(path, args, environment: environment, stdin: stdinFD ?? inPipe[0], stdout: stdoutFD ?? outPipe[1],
                              stderr: stderrFD ?? errPipe[1], hideMount: hideMount)
        } catch {
            closeAll(inPipe + outPipe + errPipe)
            throw error
        }
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        let writeFD = inPipe[1], outFD = outPipe[0], errFD = errPipe[0]
        let reaping = ReapingFlag()
        @Sendable func stop() {
            terminate(child.pid)
            killUnlessReaped(child.pid, reaping)
        }
        let killer: Task<Void, Never>? = timeout.map { limit in
            Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled { stop() }
            }
        }
        defer { killer?.cancel() }
        // Cancelling the caller kills the child (a probe's or a hook's deadline); it is
        // still reaped, so nothing is left behind.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    let stdout = pump(input: input, writeFD: writeFD, outFD: outFD, errFD: errFD, pidFD: child.pidfd)
                    reaping.value.withLock { $0 = true }
                    let status = skiff_reap(child.pidfd, child.pid)
                    continuation.resume(returning: Result(status: status, stdout: stdout.0, stderr: stdout.1))
                }
            }
        } onCancel: {
            stop()
        }
    }

    /// Set once a child is being reaped: from then on its pid may be reused.
    final class ReapingFlag: Sendable {
        let value = Mutex(false)
    }

    /// Kills `pid` `drainAfterExit` from now unless it is being reaped by then: after
    /// `terminate`, a runtime may still wait for output that a process left behind holds
    /// (runc exec).
    static func killUnlessReaped(_ pid: pid_t, _ reaping: ReapingFlag) {
        Task {
            try? await Task.sleep(for: drainAfterExit)
            reaping.value.withLock { if !$0 { kill(pid, SIGKILL) } }
        }
    }

    /// How long output is still read once the child has exited: its own is in the pipes
    /// by then; a process it left behind (`sleep 1000 &` in an exec'd shell) may hold them
    /// open for good, and must not hold up the caller.
    static let drainAfterExit: Duration = .seconds(1)

    /// Writes `input` and reads both outputs to EOF with poll(2), so neither pipe can fill
    /// up and stall the child; stops reading `drainAfterExit` after the child (`pidFD`)
    /// exited. Closes all three pipe descriptors.
    static func pump(input: [UInt8], writeFD: Int32, outFD: Int32, errFD: Int32, pidFD: Int32) -> ([UInt8], [UInt8]) {
        var out: [UInt8] = [], err: [UInt8] = []
        var written = 0
        var wfd = writeFD
        if input.isEmpty { close(wfd); wfd = -1 }
        var open: Set<Int32> = [outFD, errFD]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var drainUntil: ContinuousClock.Instant?
        while !open.isEmpty || wfd >= 0 {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if wfd >= 0 { fds.append(pollfd(fd: wfd, events: Int16(POLLOUT), revents: 0)) }
            if drainUntil == nil, pidFD >= 0 { fds.append(pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)) }
            var wait: Int32 = -1
            if let drainUntil {
                let left = drainUntil - .now
                if left <= .zero { break }
                wait = Int32(left / .milliseconds(1)) + 1
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in fds where p.revents != 0 {
                if p.fd == pidFD {
                    drainUntil = .now + drainAfterExit
                    continue
                }
                if p.fd == wfd {
                    let n = input[written...].withUnsafeBytes { write(wfd, $0.baseAddress, $0.count) }
                    if n > 0 { written += n }
                    if n <= 0 || written == input.count { close(wfd); wfd = -1 }
                    continue
                }
                let n = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if p.fd == outFD { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || errno != EINTR {
                    close(p.fd)
                    open.remove(p.fd)
                }
            }
        }
        for fd in open { close(fd) }
        if wfd >= 0 { close(wfd) }
        return (out, err)
    }

    static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }
}

/// A waitpid status, decoded.
public struct WaitStatus: Sendable, Equatable {
    public var raw: Int32
    public init(_ raw: Int32) { self.raw = raw }
    public var signaled: Bool { raw & 0x7f != 0 && raw & 0x7f != 0x7f }
    public var signal: Int32 { raw & 0x7f }
    /// The exit code, or 128 + signal for a process killed by one (137 for SIGKILL).
    public var exitCode: Int32 { signaled ? 128 + signal : (raw >> 8) & 0xff }
}

extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let s): return s.withCString { body($0) }
        case .none: return body(nil)
        }
    }
}

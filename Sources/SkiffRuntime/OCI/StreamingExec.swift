import CSkiffSys
import Foundation
import Glibc
import NIOCore
import NIOPosix

/// A terminal's size (CRI's TerminalSize), as clients report it when they resize.
public struct TerminalSize: Sendable, Equatable {
    public var width: UInt16
    public var height: UInt16

    public init(width: UInt16, height: UInt16) {
        self.width = width
        self.height = height
    }
}

/// The standard streams of a process run in a container for a client (exec, attach):
/// what the client sends and where the output goes.
public struct ExecIO: Sendable {
    /// The client's input; finishing it closes the process's stdin. Nil: none.
    public var stdin: AsyncStream<[UInt8]>?
    public var stdout: (@Sendable ([UInt8]) async throws -> Void)?
    public var stderr: (@Sendable ([UInt8]) async throws -> Void)?
    /// With a terminal: stdout carries the terminal's output and stderr is unused.
    public var tty: Bool
    public var resizes: AsyncStream<TerminalSize>?

    public init(stdin: AsyncStream<[UInt8]>?, stdout: (@Sendable ([UInt8]) async throws -> Void)?,
                stderr: (@Sendable ([UInt8]) async throws -> Void)?, tty: Bool, resizes: AsyncStream<TerminalSize>?) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.tty = tty
        self.resizes = resizes
    }
}

extension OCIRuntimeBinary {
    /// Runs `command` in the container with its streams connected to `io` and returns its
    /// exit code. With a terminal the runtime makes one inside the container and hands us
    /// its master over a console socket. Cancelling kills the process, so a client that
    /// goes away leaves nothing running.
    func exec(id: String, command: [String], io: ExecIO) async throws -> Int32 {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-exec-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = "\(dir)/pid"
        var args = global(nil) + ["exec", "--pid-file", pidFile]
        if io.tty { args += ["--tty", "--console-socket", "\(dir)/console"] }
        args += [id] + command

        let process = try await io.tty ? startWithTerminal(args, socket: "\(dir)/console") : startWithPipes(args, stdin: io.stdin != nil)
        return await withTaskCancellationHandler {
            async let status = Self.reap(process.child)
            if let terminal = process.terminal {
                await Self.connect(terminal: process.output, descriptor: terminal, to: io)
            } else {
                await Self.connect(pipes: process, to: io)
            }
            return WaitStatus(await status).exitCode
        } onCancel: {
            // The process itself (pid file), not only the runtime waiting for it.
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                Glibc.kill(pid, SIGKILL)
            }
            Glibc.kill(process.child.pid, SIGKILL)
        }
    }

    /// Until the process's output ends (it has exited, or closed it): stdin in, stdout and
    /// stderr out.
    static func connect(pipes process: StartedExec, to io: ExecIO) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await copy(process.output, to: io.stdout) }
            if let errors = process.errors { group.addTask { await copy(errors, to: io.stderr) } }
            if let input = process.input, let stdin = io.stdin {
                let feeding = Task {
                    try? await input.executeThenClose { _, outbound in
                        for await chunk in stdin { try await outbound.write(ByteBuffer(bytes: chunk)) }
                    }
                }
                await group.waitForAll()
                feeding.cancel()
            }
        }
    }

    /// A terminal carries both directions; its master reports EIO (the end) once the
    /// process has gone. Resizes are applied to the master as they come.
    static func connect(terminal channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, descriptor: Int32, to io: ExecIO) async {
        try? await channel.executeThenClose { inbound, outbound in
            let feeding = Task {
                guard let stdin = io.stdin else { return }
                for await chunk in stdin { try await outbound.write(ByteBuffer(bytes: chunk)) }
            }
            let resizing = Task {
                guard let resizes = io.resizes else { return }
                for await size in resizes { _ = skiff_set_winsize(descriptor, size.width, size.height) }
            }
            defer { feeding.cancel(); resizing.cancel() }
            for try await buffer in inbound { try? await io.stdout?(Array(buffer.readableBytesView)) }
        }
    }

    struct StartedExec: Sendable {
        var child: (pid: pid_t, pidfd: Int32)
        var output: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        var errors: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
        var input: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
        /// The terminal's master, for resizes (owned by `output`, which is both directions).
        var terminal: Int32?
    }

    private func startWithPipes(_ args: [String], stdin: Bool) async throws -> StartedExec {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        defer { ChildProcess.closeAll([inPipe[0], outPipe[1], errPipe[1]]) }
        guard !stdin || skiff_pipe_cloexec(&inPipe) == 0, skiff_pipe_cloexec(&outPipe) == 0, skiff_pipe_cloexec(&errPipe) == 0 else {
            ChildProcess.closeAll([inPipe[1], outPipe[0], errPipe[0]])
            throw ChildProcess.SpawnError(path: path, errno: errno)
        }
        let child: (pid: pid_t, pidfd: Int32)
        do {
            child = try ChildProcess.spawn(path, args, stdin: inPipe[0], stdout: outPipe[1], stderr: errPipe[1])
        } catch {
            ChildProcess.closeAll([inPipe[1], outPipe[0], errPipe[0]])
            throw error
        }
        return StartedExec(child: child, output: try await Self.channel(input: outPipe[0]), errors: try await Self.channel(input: errPipe[0]),
                           input: stdin ? try await Self.channel(output: inPipe[1]) : nil, terminal: nil)
    }

    private func startWithTerminal(_ args: [String], socket: String) async throws -> StartedExec {
        let listener = skiff_console_listen(socket)
        guard listener >= 0 else { throw RuntimeError("ExecError", "console socket: \(String(cString: strerror(-listener)))") }
        defer { close(listener) }
        let child = try ChildProcess.spawn(path, args)
        // Blocks until the runtime connects (milliseconds) or exits: on a thread of its own.
        let master = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: skiff_console_receive(listener, child.pidfd, 30_000)) }
        }
        guard master >= 0 else {
            Glibc.kill(child.pid, SIGKILL)
            _ = skiff_reap(child.pidfd, child.pid)
            throw RuntimeError("ExecError", "\(name) exec did not hand over a terminal: \(String(cString: strerror(-master)))")
        }
        let channel = try await NIOAsyncChannel<ByteBuffer, ByteBuffer>.wrapping(
            NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(inputOutput: master))
        return StartedExec(child: child, output: channel, errors: nil, input: nil, terminal: master)
    }

    static func channel(input fd: Int32) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await .wrapping(NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(input: fd))
    }

    static func channel(output fd: Int32) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await .wrapping(NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(output: fd))
    }

    /// Copies a process's output to the client until it ends.
    static func copy(_ source: NIOAsyncChannel<ByteBuffer, ByteBuffer>, to sink: (@Sendable ([UInt8]) async throws -> Void)?) async {
        try? await source.executeThenClose { inbound, _ in
            for try await buffer in inbound { try? await sink?(Array(buffer.readableBytesView)) }
        }
    }

    /// Waits for the process on a thread of its own (waitid blocks).
    static func reap(_ child: (pid: pid_t, pidfd: Int32)) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: skiff_reap(child.pidfd, child.pid)) }
        }
    }
}

extension NIOAsyncChannel where Inbound == ByteBuffer, Outbound == ByteBuffer {
    /// Wraps a pipe channel once it is registered.
    static func wrapping(_ future: EventLoopFuture<any Channel>) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let channel = try await future.get()
        return try await channel.eventLoop.submit { try NIOAsyncChannel(wrappingChannelSynchronously: channel) }.get()
    }
}

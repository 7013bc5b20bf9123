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
    /// The process is the container's own (user, environment, working directory, capabilities
    /// from the bundle's config.json) with `command` as its arguments, as CRI runtimes make
    /// exec processes.
    func exec(id: String, bundle: String, command: [String], io: ExecIO) async throws -> Int32 {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-exec-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The terminal's first size is part of the process (kubectl sends it at once), so
        // even a command that asks right away sees it; later ones resize the terminal.
        var resizes = io.resizes
        var size: TerminalSize?
        let sizes = io.tty ? io.resizes.map { SizeFeed($0) } : nil
        defer { sizes?.stop() }
        if let sizes {
            size = await sizes.first(within: .seconds(1))
            resizes = sizes.rest
        }
        let processFile = "\(dir)/process.json"
        try Self.processSpec(bundle: bundle, command: command, terminal: io.tty, size: size).write(to: URL(fileURLWithPath: processFile))
        let pidFile = "\(dir)/pid"
        var args = global(nil) + ["exec", "--pid-file", pidFile, "--process", processFile]
        if io.tty { args += ["--tty", "--console-socket", "\(dir)/console"] }
        args.append(id)
        var io = io
        io.resizes = resizes

        let process = try await io.tty ? startWithTerminal(args, socket: "\(dir)/console", size: size) : startWithPipes(args, stdin: io.stdin != nil)
        let reaped = ChildProcess.ReapingFlag()
        return await withTaskCancellationHandler {
            async let status = Self.reap(process.child, marking: reaped)
            if let terminal = process.terminal {
                await Self.connect(terminal: process.output, descriptor: terminal, to: io)
            } else {
                await Self.connect(pipes: process, to: io)
            }
            return WaitStatus(await status).exitCode
        } onCancel: {
            Self.stopExec(runtime: process.child.pid, pidFile: pidFile)
            ChildProcess.killUnlessReaped(process.child.pid, reaped)
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
                    // Each write waits until the pipe took it: nothing is lost when the
                    // input ends and the pipe is closed, and a slow reader slows the client.
                    do {
                        for await chunk in stdin { try await input.writeAndFlush(ByteBuffer(bytes: chunk)).get() }
                    } catch {}
                    try? await input.close()
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

    /// The container's process from its config.json, running `command` instead.
    static func processSpec(bundle: String, command: [String], terminal: Bool, size: TerminalSize?) throws -> Data {
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(bundle)/config.json")))
        guard var process = (config as? [String: Any])?["process"] as? [String: Any] else {
            throw RuntimeError("ExecError", "the container's bundle has no process")
        }
        process["args"] = command
        process["terminal"] = terminal
        if let size { process["consoleSize"] = ["width": size.width, "height": size.height] } else { process["consoleSize"] = nil }
        return try JSONSerialization.data(withJSONObject: process)
    }

    /// Separates a client's first terminal size from the later ones.
    final class SizeFeed: Sendable {
        let firstSize: AsyncStream<TerminalSize>
        let rest: AsyncStream<TerminalSize>
        let pump: Task<Void, Never>

        init(_ sizes: AsyncStream<TerminalSize>) {
            let (first, firstContinuation) = AsyncStream.makeStream(of: TerminalSize.self)
            let (rest, restContinuation) = AsyncStream.makeStream(of: TerminalSize.self)
            self.firstSize = first
            self.rest = rest
            pump = Task {
                var sentFirst = false
                for await size in sizes {
                    if sentFirst { restContinuation.yield(size) } else { firstContinuation.yield(size) }
                    firstContinuation.finish()
                    sentFirst = true
                }
                firstContinuation.finish()
                restContinuation.finish()
            }
        }

        /// The first size, unless none comes within `timeout`.
        func first(within timeout: Duration) async -> TerminalSize? {
            await withTaskGroup(of: TerminalSize?.self) { group in
                group.addTask { await self.firstSize.first { _ in true } }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                let size = await group.next() ?? nil
                group.cancelAll()
                return size
            }
        }

        func stop() { pump.cancel() }
    }

    struct StartedExec: Sendable {
        var child: (pid: pid_t, pidfd: Int32)
        var output: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        var errors: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
        var input: (any Channel)?
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
                           input: stdin ? try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(output: inPipe[1]).get() : nil,
                           terminal: nil)
    }

    private func startWithTerminal(_ args: [String], socket: String, size: TerminalSize?) async throws -> StartedExec {
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
        // crun sets the process's consoleSize from outside, racing the process's start; so
        // do we, at once: only a command that asks within its first instant can miss it.
        if let size { _ = skiff_set_winsize(master, size.width, size.height) }
        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .takingOwnershipOfDescriptor(inputOutput: master, channelInitializer: asyncChannel)
        return StartedExec(child: child, output: channel, errors: nil, input: nil, terminal: master)
    }

    static func channel(input fd: Int32) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(input: fd, channelInitializer: asyncChannel)
    }

    /// Copies a process's output to the client until it ends.
    static func copy(_ source: NIOAsyncChannel<ByteBuffer, ByteBuffer>, to sink: (@Sendable ([UInt8]) async throws -> Void)?) async {
        try? await source.executeThenClose { inbound, _ in
            for try await buffer in inbound { try? await sink?(Array(buffer.readableBytesView)) }
        }
    }

    /// Waits for the process on a thread of its own (waitid blocks), then sets `reaped`.
    static func reap(_ child: (pid: pid_t, pidfd: Int32), marking reaped: ChildProcess.ReapingFlag) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let status = skiff_reap(child.pidfd, child.pid)
                reaped.value.withLock { $0 = true }
                continuation.resume(returning: status)
            }
        }
    }
}

/// Wraps a pipe or terminal before it is registered, so no byte read from it is lost
/// (a quick command's whole output may be there at once).
@Sendable func asyncChannel(_ channel: any Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> {
    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel(wrappingChannelSynchronously: channel) }
}

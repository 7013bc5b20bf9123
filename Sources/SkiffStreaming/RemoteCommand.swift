import NIOCore
import NIOHTTP1
import SkiffCore
import SkiffRuntime

/// What an exec or attach asks for (upstream's remotecommand options): which standard
/// streams to carry and whether the process gets a terminal.
public struct RemoteCommandOptions: Sendable, Equatable {
    public var stdin: Bool
    public var stdout: Bool
    public var stderr: Bool
    public var tty: Bool

    public init(stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) {
        self.stdin = stdin
        self.stdout = stdout
        // A terminal has one output; upstream ignores stderr with a TTY.
        self.stderr = stderr && !tty
        self.tty = tty
    }

    /// From the query of an exec or attach request, validated as upstream's kubelet does.
    public init(query: (String) -> String?) throws(APIError) {
        func flag(_ name: String) -> Bool { ["1", "true", "True", "TRUE", "t", "T"].contains(query(name) ?? "") }
        self.init(stdin: flag("stdin"), stdout: flag("stdout"), stderr: flag("stderr"), tty: flag("tty"))
        guard stdin || stdout || stderr || flag("stderr") else {
            throw .badRequest("you must specify at least 1 of stdin, stdout, stderr")
        }
    }
}

extension TerminalSize {
    /// `{"Width":W,"Height":H}`, as kubectl sends it on the resize stream.
    init?(json bytes: some Collection<UInt8>) {
        guard let value = try? JSON.parse(Array(bytes)),
              let w = value["Width"]?.int64Value, let h = value["Height"]?.int64Value,
              let width = UInt16(exactly: w), let height = UInt16(exactly: h) else { return nil }
        self.init(width: width, height: height)
    }
}

/// How a session ends, reported on the error stream.
public enum RemoteCommandResult: Sendable, Equatable {
    case exited(Int32)
    /// The command could not run (the message says why).
    case failed(String)

    /// The metav1.Status of the v4/v5 error stream; kubectl turns NonZeroExitCode into its
    /// own exit code.
    var status: JSON {
        switch self {
        case .exited(0):
            return ["metadata": [:], "status": "Success"]
        case .exited(let code):
            return ["metadata": [:], "status": "Failure",
                    "message": .string("command terminated with non-zero exit code: exit status \(code)"),
                    "reason": "NonZeroExitCode",
                    "details": ["causes": [["reason": "ExitCode", "message": .string("\(code)")]]]]
        case .failed(let message):
            return ["metadata": [:], "status": "Failure", "message": .string(message), "reason": "InternalError", "code": 500]
        }
    }

    /// What the error stream carries in `version` of the channel protocol (plain text
    /// before v4).
    func errorStreamBytes(structured: Bool) -> [UInt8]? {
        if structured { return status.serialized() }
        switch self {
        case .exited(0): return nil
        case .exited(let code): return Array("command terminated with non-zero exit code: exit status \(code)".utf8)
        case .failed(let message): return Array(message.utf8)
        }
    }
}

/// The streaming protocols of exec and attach (`channel.k8s.io`, v1 to v5), over
/// WebSocket and SPDY/3.1.
public enum RemoteCommandServer {
    /// channel.k8s.io versions, newest first; v4 added the Status on the error stream, v5
    /// the close signal.
    static let channelProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]

    /// Stream ids of channel.k8s.io.
    enum Stream: UInt8 {
        case stdin = 0, stdout, stderr, error, resize
    }

    /// Accepts an upgrade for `run`, negotiating the protocol from the request; refuses
    /// with 400 when no version is common.
    public static func accept(_ head: HTTPRequestHead, options: RemoteCommandOptions,
                              run: @escaping @Sendable (ExecIO) async -> RemoteCommandResult) -> UpgradeDecision {
        let upgrade = head.headers["upgrade"].joined(separator: ",").lowercased()
        if upgrade.contains("websocket") {
            let offered = head.headers["sec-websocket-protocol"].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let chosen = offered.isEmpty ? "channel.k8s.io" : offered.first { channelProtocols.contains($0) }
            guard let chosen, let key = head.headers["sec-websocket-key"].first else {
                return .refuse(.badRequest("unable to upgrade: no common protocol (client offered \(offered), server supports \(channelProtocols))"))
            }
            var headers = HTTPHeaders([("Sec-WebSocket-Accept", WebSocketConnection.accept(key: key))])
            if !offered.isEmpty { headers.add(name: "Sec-WebSocket-Protocol", value: chosen) }
            return .accept(headers: headers) { raw in
                await webSocketSession(raw, version: chosen, options: options, run: run)
            }
        }
        let offered = head.headers["x-stream-protocol-version"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let chosen = offered.first(where: { channelProtocols.contains($0) }) else {
            return .refuse(.badRequest("unable to upgrade: unable to negotiate protocol: client supports \(offered), server supports \(channelProtocols)"))
        }
        return .accept(headers: HTTPHeaders([("X-Stream-Protocol-Version", chosen)])) { raw in
            await spdySession(raw, version: chosen, options: options, run: run)
        }
    }

    /// How long a finished session waits for the client to close the connection. Ours
    /// is only half-closed first: closing it at once could drop output not yet sent.
    static let lingering = Duration.seconds(5)

    static func structured(_ version: String) -> Bool { version.hasPrefix("v4.") || version.hasPrefix("v5.") }

    /// channel.k8s.io over WebSocket: each binary message is one stream's data, its first
    /// byte the stream id.
    static func webSocketSession(_ raw: NIOAsyncChannel<ByteBuffer, ByteBuffer>, version: String, options: RemoteCommandOptions,
                                 run: @escaping @Sendable (ExecIO) async -> RemoteCommandResult) async {
        try? await raw.executeThenClose { inbound, outbound in
            await webSocketSession(inbound: inbound, socket: WebSocketConnection(outbound: outbound), version: version, options: options, run: run)
        }
    }

    static func webSocketSession(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, socket: WebSocketConnection, version: String,
                                 options: RemoteCommandOptions, run: @escaping @Sendable (ExecIO) async -> RemoteCommandResult) async {
        let stdin = AsyncStream.makeStream(of: [UInt8].self)
        let resizes = AsyncStream.makeStream(of: TerminalSize.self)
        defer {
            stdin.continuation.finish()
            resizes.continuation.finish()
        }
        func sender(_ stream: Stream) -> @Sendable ([UInt8]) async throws -> Void {
            { bytes in try await socket.send(binary: [stream.rawValue] + bytes) }
        }
        let io = ExecIO(stdin: options.stdin ? stdin.stream : nil,
                        stdout: options.stdout ? sender(.stdout) : nil,
                        stderr: options.stderr ? sender(.stderr) : nil,
                        tty: options.tty, resizes: options.tty ? resizes.stream : nil)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Ends when the client goes away, which ends the command too.
                let messages = socket.messages(inbound)
                do {
                    for try await bytes in messages {
                        guard let stream = bytes.first else { continue }
                        switch stream {
                        case Stream.stdin.rawValue:
                            stdin.continuation.yield(Array(bytes.dropFirst()))
                        case Stream.resize.rawValue:
                            if let size = TerminalSize(json: bytes.dropFirst()) { resizes.continuation.yield(size) }
                        case 0xFF where bytes.count > 1 && bytes[1] == Stream.stdin.rawValue:
                            stdin.continuation.finish()  // v5's close signal
                        default:
                            break
                        }
                    }
                } catch {}
            }
            group.addTask {
                let result = await run(io)
                if let bytes = result.errorStreamBytes(structured: structured(version)) {
                    try? await socket.send(binary: [Stream.error.rawValue] + bytes)
                }
                await socket.close()
                try? await Task.sleep(for: lingering)
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// channel.k8s.io over SPDY/3.1: the client opens one stream per standard stream,
    /// named by its `streamtype` header; the command starts once all it asked for exist.
    static func spdySession(_ raw: NIOAsyncChannel<ByteBuffer, ByteBuffer>, version: String, options: RemoteCommandOptions,
                            run: @escaping @Sendable (ExecIO) async -> RemoteCommandResult) async {
        try? await raw.executeThenClose { inbound, outbound in
            let session = SPDYSession { bytes in try await outbound.write(ByteBuffer(bytes: bytes)) }
            let incoming = AsyncStream.makeStream(of: SPDYSession.Stream.self)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await session.serve(inbound.map { Array($0.readableBytesView) }, streams: incoming.continuation)
                }
                group.addTask {
                    await spdyCommand(session, incoming.stream, version: version, options: options, run: run)
                    outbound.finish()
                    try? await Task.sleep(for: lingering)
                }
                // Either the client left (which ends the command) or the command is done.
                await group.next()
                group.cancelAll()
            }
        }
    }

    static func spdyCommand(_ session: SPDYSession, _ incoming: AsyncStream<SPDYSession.Stream>, version: String,
                            options: RemoteCommandOptions, run: @escaping @Sendable (ExecIO) async -> RemoteCommandResult) async {
        var expected: Set<String> = ["error"]
        if options.stdin { expected.insert("stdin") }
        if options.stdout { expected.insert("stdout") }
        if options.stderr { expected.insert("stderr") }
        if options.tty && version != "channel.k8s.io" && version != "v2.channel.k8s.io" { expected.insert("resize") }
        var streams: [String: SPDYSession.Stream] = [:]
        var iterator = incoming.makeAsyncIterator()
        while !expected.isSubset(of: Set(streams.keys)), let stream = await iterator.next() {
            if let type = stream.headers["streamtype"] { streams[type] = stream }
        }
        guard let error = streams["error"], expected.isSubset(of: Set(streams.keys)) else { return }
        func sender(_ type: String) -> (@Sendable ([UInt8]) async throws -> Void)? {
            guard let id = streams[type]?.id else { return nil }
            return { bytes in try await session.send(bytes, on: id) }
        }
        let resizes = streams["resize"].map { stream in
            AsyncStream<TerminalSize> { continuation in
                let task = Task {
                    // One JSON object per size, possibly split across frames.
                    var buffer: [UInt8] = []
                    for await chunk in stream.data {
                        buffer += chunk
                        while let end = buffer.firstIndex(of: UInt8(ascii: "}")) {
                            if let size = TerminalSize(json: buffer[...end]) { continuation.yield(size) }
                            buffer.removeFirst(end + 1)
                        }
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
        }
        let io = ExecIO(stdin: streams["stdin"]?.data, stdout: sender("stdout"), stderr: sender("stderr"),
                        tty: options.tty, resizes: resizes)
        let result = await run(io)
        if let bytes = result.errorStreamBytes(structured: structured(version)) {
            try? await session.send(bytes, on: error.id)
        }
        for stream in streams.values { await session.finish(stream.id) }
    }
}

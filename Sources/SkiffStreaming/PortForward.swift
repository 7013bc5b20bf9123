import NIOCore
import NIOHTTP1
import NIOPosix
import SkiffCore

/// The streaming protocols of port-forward: SPDY/3.1 with a pair of streams (data and
/// error) per forwarded connection (`portforward.k8s.io`; kubectl, also tunnelled inside
/// WebSocket messages as `SPDY/3.1+portforward.k8s.io` by kubectl 1.31+), and WebSocket
/// channels with one connection per port listed in the query (`v4.channel.k8s.io`,
/// client libraries).
public enum PortForwardServer {
    static let spdyProtocol = "portforward.k8s.io"
    static let tunnelProtocol = "SPDY/3.1+portforward.k8s.io"
    static let channelProtocol = "v4.channel.k8s.io"

    /// Opens a TCP connection to a port in the pod: a connected socket's descriptor.
    public typealias Dial = @Sendable (UInt16) async throws -> Int32

    /// Accepts an upgrade for port-forward, negotiating the protocol from the request.
    public static func accept(_ head: HTTPRequestHead, query: (String) -> [String], dial: @escaping Dial) -> UpgradeDecision {
        let upgrade = head.headers["upgrade"].joined(separator: ",").lowercased()
        if upgrade.contains("websocket") {
            let offered = head.headers["sec-websocket-protocol"].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard let key = head.headers["sec-websocket-key"].first else { return .refuse(.badRequest("missing Sec-WebSocket-Key")) }
            let accept = ("Sec-WebSocket-Accept", WebSocketConnection.accept(key: key))
            if offered.contains(tunnelProtocol) {
                return .accept(headers: HTTPHeaders([accept, ("Sec-WebSocket-Protocol", tunnelProtocol)])) { raw in
                    try? await raw.executeThenClose { inbound, outbound in
                        let socket = WebSocketConnection(outbound: outbound)
                        await spdySession(socket.messages(inbound), write: { try await socket.send(binary: $0) }, dial: dial)
                        await socket.close()
                    }
                }
            }
            guard offered.isEmpty || offered.contains(channelProtocol) else {
                return .refuse(.badRequest("unable to upgrade: no common protocol (client offered \(offered), server supports [\(tunnelProtocol) \(channelProtocol)])"))
            }
            let ports: [UInt16]
            do { ports = try parsePorts(query("ports")) } catch { return .refuse(error) }
            var headers = HTTPHeaders([accept])
            if !offered.isEmpty { headers.add(name: "Sec-WebSocket-Protocol", value: channelProtocol) }
            return .accept(headers: headers) { raw in
                try? await raw.executeThenClose { inbound, outbound in
                    await channelSession(inbound, socket: WebSocketConnection(outbound: outbound), ports: ports, dial: dial)
                }
            }
        }
        let offered = head.headers["x-stream-protocol-version"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains(spdyProtocol) else {
            return .refuse(.badRequest("unable to upgrade: unable to negotiate protocol: client supports \(offered), server supports [\(spdyProtocol)]"))
        }
        return .accept(headers: HTTPHeaders([("X-Stream-Protocol-Version", spdyProtocol)])) { raw in
            try? await raw.executeThenClose { inbound, outbound in
                await spdySession(inbound.map { Array($0.readableBytesView) },
                                  write: { try await outbound.write(ByteBuffer(bytes: $0)) }, dial: dial)
            }
        }
    }

    /// `ports=80,8080` (repeatable), as upstream's kubelet reads it for WebSocket clients.
    static func parsePorts(_ values: [String]) throws(APIError) -> [UInt16] {
        let items = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty else { throw .badRequest("query parameter \"port\" is required") }
        return try items.map { item throws(APIError) in
            guard let port = UInt16(item), port > 0 else { throw .badRequest("unable to parse \"\(item)\" as a port: invalid port") }
            return port
        }
    }

    /// SPDY: each forwarded connection is a data stream and an error stream sharing a
    /// `requestid`; once both are open, the pod's port is dialled and bytes copied until
    /// either side ends.
    static func spdySession<S: AsyncSequence & Sendable>(_ inbound: S, write: @escaping @Sendable ([UInt8]) async throws -> Void,
                                              dial: @escaping Dial) async where S.Element == [UInt8] {
        let session = SPDYSession(write: write)
        let incoming = AsyncStream.makeStream(of: SPDYSession.Stream.self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.serve(inbound, streams: incoming.continuation) }
            var pending: [String: (data: SPDYSession.Stream?, error: SPDYSession.Stream?)] = [:]
            for await stream in incoming.stream {
                let request = stream.headers["requestid"] ?? stream.headers["port"] ?? ""
                var pair = pending[request] ?? (nil, nil)
                switch stream.headers["streamtype"] {
                case "data": pair.data = stream
                case "error": pair.error = stream
                default: await session.finish(stream.id); continue
                }
                guard let data = pair.data, let error = pair.error else { pending[request] = pair; continue }
                pending[request] = nil
                group.addTask { await forward(data: data, error: error, session: session, dial: dial) }
            }
            // The client has gone: every forwarded connection ends with it.
            group.cancelAll()
        }
    }

    static func forward(data: SPDYSession.Stream, error errors: SPDYSession.Stream, session: SPDYSession, dial: @escaping Dial) async {
        if let text = data.headers["port"], let port = UInt16(text), port > 0 {
            do {
                try await copy(connection: try await connect(dial, port), from: data.data) { try await session.send($0, on: data.id) }
            } catch {
                try? await session.send(Array("error forwarding port \(port) to pod: \(error)".utf8), on: errors.id)
            }
        } else {
            try? await session.send(Array("invalid port \"\(data.headers["port"] ?? "")\"".utf8), on: errors.id)
        }
        await session.finish(data.id)
        await session.finish(errors.id)
    }

    /// WebSocket channels: for the i-th port, channel 2i carries data and 2i+1 errors; each
    /// channel first carries the port number (2 bytes, little-endian), as upstream.
    static func channelSession(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, socket: WebSocketConnection,
                               ports: [UInt16], dial: @escaping Dial) async {
        let inputs = ports.map { _ in AsyncStream.makeStream(of: [UInt8].self) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Ends when the client goes away, which ends every connection.
                do {
                    for try await bytes in socket.messages(inbound) {
                        guard let channel = bytes.first, channel % 2 == 0, Int(channel / 2) < inputs.count else { continue }
                        inputs[Int(channel / 2)].continuation.yield(Array(bytes.dropFirst()))
                    }
                } catch {}
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { connections in
                    for (i, port) in ports.enumerated() {
                        let dataChannel = UInt8(2 * i), errorChannel = UInt8(2 * i + 1)
                        let portBytes = [UInt8(port & 0xFF), UInt8(port >> 8)]
                        try? await socket.send(binary: [dataChannel] + portBytes)
                        try? await socket.send(binary: [errorChannel] + portBytes)
                        connections.addTask {
                            do {
                                try await copy(connection: try await connect(dial, port), from: inputs[i].stream) {
                                    try await socket.send(binary: [dataChannel] + $0)
                                }
                            } catch {
                                try? await socket.send(binary: [errorChannel] + Array("error forwarding port \(port) to pod: \(error)".utf8))
                            }
                        }
                    }
                }
                await socket.close()
                try? await Task.sleep(for: RemoteCommandServer.lingering)
            }
            await group.next()
            group.cancelAll()
            for input in inputs { input.continuation.finish() }
        }
    }

    static func connect(_ dial: Dial, _ port: UInt16) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let fd = try await dial(port)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .withConnectedSocket(fd) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
    }

    /// Client bytes into the connection (its end half-closes it), the connection's bytes
    /// to `send`, until the pod's side ends.
    static func copy(connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, from input: AsyncStream<[UInt8]>,
                     send: @escaping @Sendable ([UInt8]) async throws -> Void) async throws {
        try await connection.executeThenClose { inbound, outbound in
            let feeding = Task {
                for await chunk in input { try await outbound.write(ByteBuffer(bytes: chunk)) }
                outbound.finish()
            }
            defer { feeding.cancel() }
            for try await buffer in inbound { try await send(Array(buffer.readableBytesView)) }
        }
    }
}

import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SkiffCore

/// The API server's half of exec, attach and port-forward (upstream's upgrade-aware
/// proxy): the client's upgrade request is sent on to the kubelet; the kubelet's answer
/// is the client's answer, and after a 101 the two connections are joined byte for byte,
/// so every protocol the kubelet speaks reaches the client unchanged.
public enum UpgradeProxy {
    /// The request headers that belong to the upgrade and travel to the kubelet.
    static let forwardedHeaders: Set<String> = [
        "connection", "upgrade", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
        "sec-websocket-extensions", "x-stream-protocol-version", "origin",
    ]

    /// Sends `head` (its URI replaced by `target`) to `host:port` over TLS and decides as
    /// the kubelet answers.
    public static func forward(_ head: HTTPRequestHead, target: String, host: String, port: Int,
                               tls: TLSConfiguration) async -> UpgradeDecision {
        let answer: KubeletAnswer
        do {
            answer = try await exchange(head, target: target, host: host, port: port, tls: tls)
        } catch {
            return .refuse(APIError(code: 500, reason: "InternalError", message: "error dialing backend: \(error)"))
        }
        guard answer.status == 101, let backend = answer.channel else {
            return .refuse(status: answer.status, contentType: answer.headers["content-type"].first ?? "application/json", body: answer.body)
        }
        var headers = HTTPHeaders()
        for (name, value) in answer.headers where !["connection", "upgrade", "content-length"].contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        let leftover = answer.body
        return .accept(headers: headers) { client in
            await splice(client, backend, leftover: leftover)
        }
    }

    struct KubeletAnswer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        /// The error body, or after a 101 the first bytes of the new protocol.
        var body: [UInt8]
        var channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
    }

    static func exchange(_ head: HTTPRequestHead, target: String, host: String, port: Int, tls: TLSConfiguration) async throws -> KubeletAnswer {
        let context = try NIOSSLContext(configuration: tls)
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: KubeletAnswer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(ResponseHeadReader(promise: promise))
                }
            }
            .connect(host: host, port: port).get()
        var request = "\(head.method.rawValue) \(target) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        for (name, value) in head.headers where forwardedHeaders.contains(name.lowercased()) {
            request += "\(name): \(value)\r\n"
        }
        request += "Content-Length: 0\r\n\r\n"
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        do {
            return try await promise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Joins the two connections. When one side ends, the other is half-closed once all
    /// it was sent has gone out, and given a moment to finish before both are closed.
    static func splice(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, _ backend: NIOAsyncChannel<ByteBuffer, ByteBuffer>, leftover: [UInt8]) async {
        try? await client.executeThenClose { clientIn, clientOut in
            try await backend.executeThenClose { backendIn, backendOut in
                if !leftover.isEmpty { try await clientOut.write(ByteBuffer(bytes: leftover)) }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do { for try await buffer in clientIn { try await backendOut.write(buffer) } } catch {}
                        backendOut.finish()
                    }
                    group.addTask {
                        do { for try await buffer in backendIn { try await clientOut.write(buffer) } } catch {}
                        clientOut.finish()
                    }
                    await group.next()
                    group.addTask { try? await Task.sleep(for: RemoteCommandServer.lingering) }
                    await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}

/// Reads the kubelet's response head (and, for an error, its body). After a 101 it hands
/// the connection over as an async channel in the same event-loop turn, so no byte of the
/// new protocol is lost.
final class ResponseHeadReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<UpgradeProxy.KubeletAnswer>
    var buffer = ByteBuffer()
    var head: (status: Int, headers: HTTPHeaders, bodyStart: Int)?
    var answered = false

    init(promise: EventLoopPromise<UpgradeProxy.KubeletAnswer>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        if head == nil {
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: [13, 10, 13, 10]) else {
                if buffer.readableBytes > 64 << 10 { fail(context, "response head too large") }
                return
            }
            let text = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
            var lines = text.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return fail(context, "malformed response") }
            var headers = HTTPHeaders()
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.add(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            head = (status, headers, end.upperBound - view.startIndex)
            if status == 101 {
                do {
                    let async = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: context.channel,
                                                                         configuration: .init(isOutboundHalfClosureEnabled: true))
                    let leftover = Array(buffer.readableBytesView.dropFirst(end.upperBound - view.startIndex))
                    context.pipeline.syncOperations.removeHandler(self, promise: nil)
                    answered = true
                    promise.succeed(.init(status: status, headers: headers, body: leftover, channel: async))
                } catch {
                    fail(context, "\(error)")
                }
                return
            }
        }
        if let head, let length = head.headers["content-length"].first.flatMap(Int.init),
           buffer.readableBytes - head.bodyStart >= length {
            finishError(context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if head != nil { finishError(context) } else { fail(context, "connection closed before a response") }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }

    private func finishError(_ context: ChannelHandlerContext) {
        guard let head, !answered else { return }
        answered = true
        promise.succeed(.init(status: head.status, headers: head.headers,
                              body: Array(buffer.readableBytesView.dropFirst(head.bodyStart)), channel: nil))
        context.close(promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        guard !answered else { return }
        answered = true
        promise.fail(UpgradeProxyError(message: message))
        context.close(promise: nil)
    }
}

struct UpgradeProxyError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

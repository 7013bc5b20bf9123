import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import SkiffCore

/// What the server makes of a request that asks to switch protocols (WebSocket, SPDY/3.1).
public enum UpgradeDecision: Sendable {
    /// Not upgraded: answered with this response (a metav1.Status saying why), and the
    /// connection closed.
    case refuse(status: Int, contentType: String, body: [UInt8])
    /// Answered 101 with these extra headers; `session` then owns the raw connection.
    case accept(headers: HTTPHeaders, session: UpgradedSession)

    /// Refused with the error's metav1.Status.
    public static func refuse(_ error: APIError) -> UpgradeDecision {
        .refuse(status: error.code, contentType: "application/json", body: error.status.serialized())
    }
}

/// Runs over the bytes of an upgraded connection, below HTTP and above TLS; the connection
/// is closed when it returns.
public typealias UpgradedSession = @Sendable (NIOAsyncChannel<ByteBuffer, ByteBuffer>) async -> Void

/// Decides upgrades: called once per connection, for its first request, when that request
/// asks for a protocol in `UpgradableHTTP1Channel.protocols` and the server wants it.
public typealias UpgradeDecider = @Sendable (HTTPRequestHead, any Channel) async -> UpgradeDecision

/// Whether a request that asks to upgrade is one the server upgrades (by its path); the
/// others are served as plain HTTP requests, their Upgrade header ignored.
public typealias UpgradeFilter = @Sendable (HTTPRequestHead) -> Bool

/// Hummingbird's HTTP/1 channel with one addition: the first request of a connection may
/// switch protocols, as `kubectl exec` and `port-forward` ask (upstream's API server and
/// kubelet hand such connections to their streaming handlers). Everything else is served
/// by the responder exactly as `HTTP1Channel` serves it.
public struct UpgradableHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    /// The protocols kubectl and client libraries upgrade to.
    public static let protocols = ["websocket", "spdy/3.1"]

    public enum Connection: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case upgraded(NIOAsyncChannel<ByteBuffer, ByteBuffer>, UpgradedSession)
    }

    public struct Value: ServerChildChannelValue {
        public let channel: any Channel
        let connection: EventLoopFuture<Connection>
    }

    public let responder: HTTPChannelHandler.Responder
    let wants: UpgradeFilter
    let decide: UpgradeDecider

    public init(responder: @escaping HTTPChannelHandler.Responder, wants: @escaping UpgradeFilter, decide: @escaping UpgradeDecider) {
        self.responder = responder
        self.wants = wants
        self.decide = decide
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let session = SessionSlot()
            let upgraders: [any NIOTypedHTTPServerProtocolUpgrader<Connection>] = Self.protocols.map {
                ProtocolUpgrader(supportedProtocol: $0, decide: decide, session: session)
            }
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(
                upgradeConfiguration: .init(upgraders: upgraders) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
                        return .http(try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                                         configuration: .init(isOutboundHalfClosureEnabled: true)))
                    }
                })
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            configuration.enablePipelining = false
            let connection = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            // Before the upgrade handler, which must only see upgrades it will perform: it
            // drops the head of a request none of its upgraders takes.
            let upgrader = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<Connection>.self)
            try channel.pipeline.syncOperations.addHandler(UnwantedUpgradeRemover(wants: wants), position: .before(upgrader))
            return Value(channel: channel, connection: connection)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.connection.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .upgraded(let raw, let session):
                await session(raw)
                try? await raw.channel.close()
            }
        } catch {
            logger.debug("connection ended before its first request was handled", metadata: ["error": "\(error)"])
            try? await value.channel.close()
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 whose connections may be upgraded as `decide` says.
    public static func upgradableHTTP1(wants: @escaping UpgradeFilter, _ decide: @escaping UpgradeDecider) -> HTTPServerBuilder {
        .init { responder in UpgradableHTTP1Channel(responder: responder, wants: wants, decide: decide) }
    }
}

/// Carries the accepted session from the decision to the moment the pipeline is switched.
final class SessionSlot: @unchecked Sendable {
    // Only touched on the connection's event loop.
    var session: UpgradedSession?
}

/// Takes the Upgrade header off requests the server does not upgrade (and any protocol it
/// does not speak), so they are served as the plain requests they also are. Only the
/// first request of a connection may upgrade; the handler leaves after it.
final class UnwantedUpgradeRemover: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    let wants: UpgradeFilter

    init(wants: @escaping UpgradeFilter) { self.wants = wants }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        let offered = head.headers[canonicalForm: "upgrade"].map { $0.lowercased() }
        if !offered.isEmpty && (!wants(head) || !offered.contains(where: UpgradableHTTP1Channel.protocols.contains)) {
            head.headers.remove(name: "upgrade")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}

struct ProtocolUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = UpgradableHTTP1Channel.Connection
    let supportedProtocol: String
    let requiredUpgradeHeaders: [String] = []
    let decide: UpgradeDecider
    let session: SessionSlot

    struct Declined: Error {}

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead,
                              initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let promise = channel.eventLoop.makePromise(of: HTTPHeaders.self)
        let (decide, slot) = (self.decide, self.session)
        promise.completeWithTask {
            switch await decide(upgradeRequest, channel) {
            case .refuse(let status, let contentType, let body):
                // Answered here: the upgrade handler would not pass this request on.
                let headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.count)"), ("Connection", "close")])
                let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
                channel.write(HTTPServerResponsePart.head(head), promise: nil)
                channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
                try await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
                try await channel.close()
                throw Declined()
            case .accept(let headers, let session):
                try await channel.eventLoop.submit { slot.session = session }.get()
                var response = initialResponseHeaders
                response.add(contentsOf: headers)
                return response
            }
        }
        return promise.futureResult
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            guard let session = session.session else { throw Declined() }
            return .upgraded(try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                                 configuration: .init(isOutboundHalfClosureEnabled: true)), session)
        }
    }
}

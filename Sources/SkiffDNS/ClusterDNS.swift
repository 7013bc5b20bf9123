import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// How the cluster DNS server behaves; the defaults are those of the kubeadm/k3s Corefile.
public struct ClusterDNSConfig: Sendable {
    /// The cluster domain. The zone actually served is the `ClusterDNSRecords`' domain;
    /// the two should agree (a mismatch is logged).
    public var domain = "cluster.local"
    /// TTL of cluster answers (`ttl 30`).
    public var ttl: UInt32 = 30
    /// Where the upstream resolvers come from (`forward . /etc/resolv.conf`).
    public var upstreamResolvConf = "/etc/resolv.conf"
    /// Upstreams to use instead of the resolv.conf's, e.g. a fake server in tests.
    public var upstreams: [DNSUpstream]?
    /// How long one upstream gets before the next is tried.
    public var forwardTimeout: Duration = .seconds(2)
    /// `cache 30`: the longest a forwarded answer is kept, and how many are.
    public var cacheMaxTTL: UInt32 = 30
    public var cacheCapacity = 10_000
    /// Forwarded queries in flight at once; more wait, and past twice this get SERVFAIL.
    public var maxConcurrentForwards = 1_000
    /// A TCP connection without a query for this long is closed.
    public var tcpIdleTimeout: Duration = .seconds(10)

    public init() {}
}

struct DNSServerError: Error, CustomStringConvertible {
    let description: String
}

/// CoreDNS' job in the cluster: Service and pod names answered from the informer-fed
/// `ClusterDNSRecords`, other names forwarded to the node's resolvers, over UDP and TCP.
public final class ClusterDNS: Sendable {
    public let config: ClusterDNSConfig
    public let records: ClusterDNSRecords
    let cache: DNSCache
    let logger: Logger

    public init(config: ClusterDNSConfig = ClusterDNSConfig(), records: ClusterDNSRecords, logger: Logger = Logger(label: "skiff.dns")) {
        self.config = config
        self.records = records
        self.logger = logger
        cache = DNSCache(capacity: config.cacheCapacity, maxTTL: config.cacheMaxTTL)
        if DNSName(config.domain)?.lowercasedText != records.domain {
            logger.error("cluster domain mismatch; serving the records' domain",
                         metadata: ["config": "\(config.domain)", "records": "\(records.domain)"])
        }
    }

    // MARK: Answering

    /// A query that needs an upstream: the client's own, or the target of ExternalName CNAMEs.
    struct ForwardRequest: Sendable {
        var query: DNSMessage
        var packet: [UInt8]
        var chain: [ResourceRecord]
        var question: DNSQuestion
        var sizeLimit: Int?
    }

    enum Reply {
        case drop
        case send([UInt8])
        case forward(ForwardRequest)
    }

    /// Answers what can be answered at once (cluster names, cached answers, errors); the
    /// rest is handed back to be forwarded.
    func handle(_ packet: [UInt8], overUDP: Bool) -> Reply {
        // Without a header there is no ID to answer to; responses are never answered.
        guard packet.count >= 12, packet[2] & 0x80 == 0 else { return .drop }
        let query: DNSMessage
        do {
            query = try DNSMessage(parsing: packet)
        } catch {
            logger.debug("malformed query", metadata: ["error": "\(error)"])
            var m = DNSMessage()
            m.id = UInt16(packet[0]) << 8 | UInt16(packet[1])
            m.isResponse = true
            m.opcode = packet[2] >> 3 & 0xF
            m.recursionDesired = packet[2] & 1 != 0
            m.rcode = .formErr
            return .send(m.encoded())
        }
        let limit = overUDP ? query.udpSizeLimit : nil
        func send(_ m: DNSMessage) -> Reply { .send(fit(m.encoded(), query, limit)) }

        guard query.opcode == 0 else { return send(.response(to: query, rcode: .notImp)) }
        guard query.questions.count == 1, let q = query.questions.first else { return send(.response(to: query, rcode: .formErr)) }
        if let edns = query.edns, edns.version != 0 { return send(.response(to: query, rcode: .badVers)) }
        guard q.qclass == dnsClassIN else { return send(.response(to: query, rcode: .refused)) }

        switch records.resolve(q.name, q.type, ttl: config.ttl) {
        case .answer(let rcode, let answers, let authority, let additional):
            var r = DNSMessage.response(to: query, rcode: rcode)
            r.authoritative = true
            r.answers = answers
            r.authority = authority
            r.additional = additional
            return send(r)
        case .alias(let chain, let target):
            let question = DNSQuestion(name: target, type: q.type)
            guard let cached = cache.lookup(target, q.type) else {
                return .forward(ForwardRequest(query: query, packet: packet, chain: chain, question: question, sizeLimit: limit))
            }
            return send(aliasResponse(query, chain, cached))
        case .forward:
            guard let cached = cache.lookup(q.name, q.type) else {
                return .forward(ForwardRequest(query: query, packet: packet, chain: [], question: q, sizeLimit: limit))
            }
            var r = DNSMessage.response(to: query, rcode: cached.rcode)
            // Echo the asker's spelling of the name, not that of whoever filled the cache.
            let asked = q.name.lowercased()
            r.answers = cached.answers.map { rr in
                var rr = rr
                if rr.name.lowercased() == asked { rr.name = q.name }
                return rr
            }
            r.authority = cached.authority
            r.additional = cached.additional
            return send(r)
        }
    }

    /// Resolves a forward request upstream. A plain forward relays the upstream's bytes
    /// under the client's ID; an ExternalName answer is its CNAMEs plus the target's records.
    func forward(_ request: ForwardRequest, via forwarder: Forwarder) async -> [UInt8] {
        let query = request.query
        var upstreamQuery = request.packet
        if !request.chain.isEmpty {
            var m = DNSMessage()
            m.recursionDesired = true
            m.questions = [request.question]
            upstreamQuery = m.encoded()
        }
        guard let reply = await forwarder.exchange(upstreamQuery, question: request.question) else {
            return fit(DNSMessage.response(to: query, rcode: .servFail).encoded(), query, request.sizeLimit)
        }
        cache.insert(reply.message, name: request.question.name, type: request.question.type)
        guard request.chain.isEmpty else {
            return fit(aliasResponse(query, request.chain, reply.message).encoded(), query, request.sizeLimit)
        }
        var bytes = reply.bytes
        bytes[0] = UInt8(query.id >> 8)
        bytes[1] = UInt8(query.id & 0xFF)
        return fit(bytes, query, request.sizeLimit)
    }

    private func aliasResponse(_ query: DNSMessage, _ chain: [ResourceRecord], _ target: DNSMessage) -> DNSMessage {
        var r = DNSMessage.response(to: query)
        r.authoritative = true
        r.answers = chain + target.answers
        return r
    }

    /// A UDP answer over the client's size limit becomes an empty one with TC set, so the
    /// client asks again over TCP.
    private func fit(_ bytes: [UInt8], _ query: DNSMessage, _ limit: Int?) -> [UInt8] {
        guard let limit, bytes.count > limit else { return bytes }
        var r = DNSMessage.response(to: query, rcode: DNSRcode(rawValue: UInt16(bytes[3] & 0xF)))
        r.authoritative = bytes[2] & 0x04 != 0
        r.truncated = true
        return r.encoded()
    }

    // MARK: Serving

    /// A forward request with the way back to its client.
    struct ForwardJob: Sendable {
        var request: ForwardRequest
        var reply: @Sendable ([UInt8]) -> Void
    }

    /// Binds UDP and TCP on `host:port` (port 0: one free port for both, passed to
    /// `onListening`), serves until the task is cancelled, then closes both sockets.
    /// Forwarded queries run as child tasks of this call.
    public func run(host: String, port: Int, onListening: @Sendable (Int) -> Void = { _ in }) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let (jobs, queue) = AsyncStream.makeStream(of: ForwardJob.self, bufferingPolicy: .bufferingOldest(config.maxConcurrentForwards))
        let connections = OpenConnections()
        let (udp, tcp) = try await bind(host: host, port: port, group: group, queue: queue, connections: connections)
        let boundPort = udp.localAddress?.port ?? port
        // Never forward to ourselves: that would loop until every query timed out.
        let upstreams = loadUpstreams().filter { ipBytes($0.host) != ipBytes(host) || $0.port != boundPort }
        let forwarder = Forwarder(upstreams: upstreams, timeout: config.forwardTimeout, group: group, logger: logger)
        if upstreams.isEmpty { logger.warning("no upstream resolvers; names outside the cluster will get SERVFAIL") }
        logger.info("cluster DNS serving", metadata: ["address": "\(host):\(boundPort)", "domain": "\(records.domain)",
                                                      "upstreams": "\(upstreams.map(\.description))"])
        udp.closeFuture.whenComplete { _ in queue.finish() }
        tcp.closeFuture.whenComplete { _ in queue.finish() }
        onListening(boundPort)

        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { tasks in
                var running = 0
                for await job in jobs {
                    if running >= config.maxConcurrentForwards {
                        await tasks.next()
                        running -= 1
                    }
                    running += 1
                    tasks.addTask { job.reply(await self.forward(job.request, via: forwarder)) }
                }
            }
        } onCancel: {
            queue.finish()
        }
        udp.close(promise: nil)
        tcp.close(promise: nil)
        connections.closeAll()
        try await udp.closeFuture.get()
        try await tcp.closeFuture.get()
        logger.info("cluster DNS stopped", metadata: ["address": "\(host):\(boundPort)"])
        if !Task.isCancelled { throw DNSServerError(description: "DNS listener on \(host):\(boundPort) closed unexpectedly") }
    }

    private func loadUpstreams() -> [DNSUpstream] {
        if let upstreams = config.upstreams { return upstreams }
        do {
            return DNSUpstream.parseResolvConf(try String(contentsOfFile: config.upstreamResolvConf, encoding: .utf8))
        } catch {
            logger.error("cannot read upstream resolvers", metadata: ["path": "\(config.upstreamResolvConf)", "error": "\(error)"])
            return []
        }
    }

    private func bind(host: String, port: Int, group: any EventLoopGroup,
                      queue: AsyncStream<ForwardJob>.Continuation, connections: OpenConnections) async throws -> (udp: any Channel, tcp: any Channel) {
        let idle = TimeAmount(config.tcpIdleTimeout)
        var attempt = 0
        while true {
            attempt += 1
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(DatagramHandler(dns: self, queue: queue)) }
                }
                .bind(host: host, port: port).get()
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { ch in
                        connections.insert(ch)
                        return ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandlers([
                                ByteToMessageHandler(FrameDecoder()), IdleStateHandler(readTimeout: idle), StreamHandler(dns: self, queue: queue),
                            ])
                        }
                    }
                    .bind(host: host, port: udp.localAddress?.port ?? port).get()
                return (udp, tcp)
            } catch {
                udp.close(promise: nil)
                // With port 0 the kernel's free UDP port may be taken for TCP: try another.
                guard port == 0, attempt < 5 else { throw error }
            }
        }
    }

    /// Queues a forward; when the queue is full the client gets SERVFAIL at once.
    fileprivate func enqueue(_ request: ForwardRequest, _ queue: AsyncStream<ForwardJob>.Continuation,
                             reply: @escaping @Sendable ([UInt8]) -> Void) {
        if case .dropped = queue.yield(ForwardJob(request: request, reply: reply)) {
            logger.warning("too many forwarded queries in flight; answering SERVFAIL")
            reply(fit(DNSMessage.response(to: request.query, rcode: .servFail).encoded(), request.query, request.sizeLimit))
        }
    }
}

/// Accepted TCP connections, which closing the listening socket leaves open: closed on
/// shutdown so that `run` returns with nothing of the server left behind.
private final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func insert(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { _ in self.channels.withLock { $0[id] = nil } }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// One UDP socket: every datagram a query, answered to its sender.
private final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let dns: ClusterDNS
    let queue: AsyncStream<ClusterDNS.ForwardJob>.Continuation

    init(dns: ClusterDNS, queue: AsyncStream<ClusterDNS.ForwardJob>.Continuation) {
        self.dns = dns
        self.queue = queue
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let client = envelope.remoteAddress
        switch dns.handle(Array(envelope.data.readableBytesView), overUDP: true) {
        case .drop:
            break
        case .send(let bytes):
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: context.channel.allocator.buffer(bytes: bytes))), promise: nil)
        case .forward(let request):
            let channel = context.channel
            dns.enqueue(request, queue) { bytes in
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: ByteBuffer(bytes: bytes)), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    /// A failed datagram (say, ICMP port unreachable from a client gone away) is not the
    /// socket's end: log it and keep serving.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        dns.logger.debug("UDP socket error", metadata: ["error": "\(error)"])
    }
}

/// Splits a TCP stream into DNS messages by their two-byte length prefix.
private struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              let frame = buffer.getSlice(at: buffer.readerIndex + 2, length: Int(length))
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2 + Int(length))
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// One TCP connection: any number of queries, answered in whatever order they resolve
/// (RFC 7766 lets clients match by ID), closed when idle.
private final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let dns: ClusterDNS
    let queue: AsyncStream<ClusterDNS.ForwardJob>.Continuation

    init(dns: ClusterDNS, queue: AsyncStream<ClusterDNS.ForwardJob>.Continuation) {
        self.dns = dns
        self.queue = queue
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch dns.handle(Array(unwrapInboundIn(data).readableBytesView), overUDP: false) {
        case .drop:
            break
        case .send(let bytes):
            context.write(wrapOutboundOut(framed(bytes)), promise: nil)
        case .forward(let request):
            let channel = context.channel
            dns.enqueue(request, queue) { bytes in channel.writeAndFlush(framed(bytes), promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        dns.logger.debug("TCP connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

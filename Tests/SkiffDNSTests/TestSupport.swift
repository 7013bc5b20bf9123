import NIOCore
import NIOPosix
import SkiffCore
import Synchronization
import Testing

@testable import SkiffDNS

func dnsName(_ s: String) -> DNSName {
    guard let n = DNSName(s) else { fatalError("bad test name \(s)") }
    return n
}

func serviceJSON(_ namespace: String, _ name: String, clusterIP: String? = nil, clusterIPs: [String]? = nil,
                 ports: [(String, Int)] = [("http", 80)], externalName: String? = nil, publishNotReady: Bool = false) -> JSON {
    var spec: JSON = ["ports": .array(ports.map { ["name": .string($0.0), "port": .number(JSONNumber($0.1)), "protocol": "TCP"] })]
    if let clusterIP { spec["clusterIP"] = .string(clusterIP) }
    if let clusterIPs { spec["clusterIPs"] = .array(clusterIPs.map { .string($0) }) }
    if let externalName {
        spec["type"] = "ExternalName"
        spec["externalName"] = .string(externalName)
    }
    if publishNotReady { spec["publishNotReadyAddresses"] = true }
    return ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name), "namespace": .string(namespace)], "spec": spec]
}

struct TestEndpoint {
    var ip: String
    var hostname: String?
    var ready: Bool?
    init(_ ip: String, hostname: String? = nil, ready: Bool? = true) {
        self.ip = ip
        self.hostname = hostname
        self.ready = ready
    }
}

func sliceJSON(_ namespace: String, _ name: String, service: String, _ endpoints: [TestEndpoint],
               ports: [(String, Int)] = [("http", 8080)], addressType: String = "IPv4") -> JSON {
    let eps: [JSON] = endpoints.map { e in
        var o: JSON = ["addresses": [.string(e.ip)]]
        if let h = e.hostname { o["hostname"] = .string(h) }
        if let r = e.ready { o["conditions"] = ["ready": .bool(r)] }
        return o
    }
    return [
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": .string(addressType),
        "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": ["kubernetes.io/service-name": .string(service)]],
        "endpoints": .array(eps),
        "ports": .array(ports.map { ["name": .string($0.0), "port": .number(JSONNumber($0.1)), "protocol": "TCP"] }),
    ]
}

func queryBytes(_ name: String, _ type: DNSType, id: UInt16 = 7, edns: EDNS? = nil, qclass: UInt16 = dnsClassIN) -> [UInt8] {
    var m = DNSMessage()
    m.id = id
    m.recursionDesired = true
    m.questions = [DNSQuestion(name: dnsName(name), type: type, qclass: qclass)]
    m.edns = edns
    return m.encoded()
}

extension ClusterDNS {
    /// Asks without sockets, as a TCP client would (no size limit); nil when it would forward.
    func ask(_ name: String, _ type: DNSType, edns: EDNS? = nil) throws -> DNSMessage? {
        try ask(bytes: queryBytes(name, type, edns: edns))
    }

    func ask(bytes: [UInt8], overUDP: Bool = false) throws -> DNSMessage? {
        guard case .send(let reply) = handle(bytes, overUDP: overUDP) else { return nil }
        return try DNSMessage(parsing: reply)
    }
}

extension DNSMessage {
    var addresses: [String] {
        answers.compactMap { rr in
            guard case .address(let b) = rr.data else { return nil }
            return b.count == 4 ? b.map(String.init).joined(separator: ".") : b.map { String($0, radix: 16) }.joined(separator: ":")
        }
    }
}

struct TestTimeout: Error {}

func withTimeout<T: Sendable>(_ timeout: Duration = .seconds(5), _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestTimeout()
        }
        defer { group.cancelAll() }
        guard let r = try await group.next() else { throw TestTimeout() }
        return r
    }
}

/// One query over a real UDP socket.
func udpExchange(port: Int, _ bytes: [UInt8]) async throws -> [UInt8] {
    let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
    let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_535))
        .bind(host: "127.0.0.1", port: 0) { ch in
            ch.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
            }
        }
    return try await withTimeout {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: bytes)))
            for try await reply in inbound { return Array(reply.data.readableBytesView) }
            throw TestTimeout()
        }
    }
}

/// Several queries over one real TCP connection; replies in arrival order.
func tcpExchange(port: Int, _ messages: [[UInt8]]) async throws -> [[UInt8]] {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { ch in
            ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
        }
    return try await withTimeout {
        try await channel.executeThenClose { inbound, outbound in
            for m in messages { try await outbound.write(framed(m)) }
            var buffer = ByteBuffer()
            var replies: [[UInt8]] = []
            for try await var chunk in inbound {
                buffer.writeBuffer(&chunk)
                while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
                      let bytes = buffer.getBytes(at: buffer.readerIndex + 2, length: Int(length)) {
                    buffer.moveReaderIndex(forwardBy: 2 + Int(length))
                    replies.append(bytes)
                }
                if replies.count == messages.count { return replies }
            }
            throw TestTimeout()
        }
    }
}

/// Runs the server on 127.0.0.1 port 0 around `body`, then cancels it.
func withServer(_ dns: ClusterDNS, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        group.addTask { try await dns.run(host: "127.0.0.1", port: 0, onListening: { listening.yield($0) }) }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else { throw TestTimeout() }
        do {
            try await body(port)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
        try await group.waitForAll()
    }
}

/// A DNS server on 127.0.0.1 answering from a closure over UDP and TCP on one port; a nil
/// answer means silence (an upstream that times out).
final class FakeUpstream: Sendable {
    typealias Answer = @Sendable (DNSMessage, _ overTCP: Bool) -> DNSMessage?
    let port: Int
    let log = Mutex<[(String, Bool)]>([])
    private let channels: [any Channel]

    private init(port: Int, channels: [any Channel]) {
        self.port = port
        self.channels = channels
    }

    var queries: [(name: String, overTCP: Bool)] { log.withLock { $0 } }

    static func start(_ answer: @escaping Answer) async throws -> FakeUpstream {
        let group = MultiThreadedEventLoopGroup.singleton
        let box = LogBox()
        let udp = try await DatagramBootstrap(group: group)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(FakeUDPHandler(answer: answer, box: box)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = udp.localAddress?.port ?? 0
        let tcp = try await ServerBootstrap(group: group)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(FakeTCPHandler(answer: answer, box: box)) }
            }
            .bind(host: "127.0.0.1", port: port).get()
        let upstream = FakeUpstream(port: port, channels: [udp, tcp])
        box.upstream.withLock { $0 = upstream }
        return upstream
    }

    func close() async throws {
        for c in channels { try await c.close() }
    }

    func record(_ m: DNSMessage, overTCP: Bool) {
        log.withLock { $0.append((m.questions.first?.name.description ?? "", overTCP)) }
    }
}

/// Lets handlers created before the upstream object exists record into it.
final class LogBox: Sendable {
    let upstream = Mutex<FakeUpstream?>(nil)
    func record(_ m: DNSMessage, overTCP: Bool) { upstream.withLock { $0 }?.record(m, overTCP: overTCP) }
}

private final class FakeUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let answer: FakeUpstream.Answer
    let box: LogBox
    init(answer: @escaping FakeUpstream.Answer, box: LogBox) {
        self.answer = answer
        self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let q = try? DNSMessage(parsing: Array(envelope.data.readableBytesView)) else { return }
        box.record(q, overTCP: false)
        guard let reply = answer(q, false) else { return }
        let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply.encoded()))
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}

private final class FakeTCPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let answer: FakeUpstream.Answer
    let box: LogBox
    var buffer = ByteBuffer()
    init(answer: @escaping FakeUpstream.Answer, box: LogBox) {
        self.answer = answer
        self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        while let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              let bytes = buffer.getBytes(at: buffer.readerIndex + 2, length: Int(length)) {
            buffer.moveReaderIndex(forwardBy: 2 + Int(length))
            guard let q = try? DNSMessage(parsing: bytes) else { continue }
            box.record(q, overTCP: true)
            if let reply = answer(q, true) { context.writeAndFlush(wrapOutboundOut(framed(reply.encoded())), promise: nil) }
        }
    }
}

/// A canned upstream reply to `q`.
func reply(to q: DNSMessage, rcode: DNSRcode = .noError, answers: [ResourceRecord] = [], authority: [ResourceRecord] = [],
           truncated: Bool = false) -> DNSMessage {
    var r = DNSMessage.response(to: q, rcode: rcode)
    r.answers = answers
    r.authority = authority
    r.truncated = truncated
    return r
}

import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A resolver that names outside the cluster are forwarded to.
public struct DNSUpstream: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 53) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The `nameserver` lines of a resolv.conf, in order (zone suffixes such as %eth0 dropped).
    public static func parseResolvConf(_ text: String) -> [DNSUpstream] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            let host = String(fields[1].prefix { $0 != "%" })
            return ipBytes(host) == nil ? nil : DNSUpstream(host: host)
        }
    }
}

struct ForwardError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// CoreDNS' `forward . /etc/resolv.conf`: each upstream in turn, UDP with a timeout, TCP
/// when the UDP answer came back truncated. Every exchange has its own socket, so replies
/// are matched by a fresh random ID and source port.
struct Forwarder: Sendable {
    let upstreams: [DNSUpstream]
    let timeout: Duration
    let group: any EventLoopGroup
    let logger: Logger

    /// The first valid reply to `query` (whose ID is replaced) from any upstream, or nil.
    func exchange(_ query: [UInt8], question: DNSQuestion) async -> (bytes: [UInt8], message: DNSMessage)? {
        let id = UInt16.random(in: .min ... .max)
        var withID = query
        withID[0] = UInt8(id >> 8)
        withID[1] = UInt8(id & 0xFF)
        let packet = withID
        let expect = Expectation(id: id, name: question.name.lowercased(), type: question.type)
        for upstream in upstreams where !Task.isCancelled {
            do {
                let address = try SocketAddress(ipAddress: upstream.host, port: upstream.port)
                var reply = try await withTimeout { try await udpExchange(packet, address, expect) }
                if reply.message.truncated {
                    reply = try await withTimeout { try await tcpExchange(packet, address, expect) }
                }
                return reply
            } catch {
                logger.debug("upstream did not answer", metadata: ["upstream": "\(upstream)", "name": "\(question.name)", "error": "\(error)"])
            }
        }
        return nil
    }

    /// What a reply must match to be taken for the answer to our query.
    struct Expectation: Sendable {
        let id: UInt16
        let name: DNSName
        let type: DNSType

        func accepts(_ bytes: [UInt8]) throws -> DNSMessage {
            let m = try DNSMessage(parsing: bytes)
            guard m.isResponse, m.id == id, m.questions.count == 1, m.questions[0].name.lowercased() == name,
                  m.questions[0].type == type
            else { throw ForwardError("reply does not match the query") }
            return m
        }
    }

    private func withTimeout<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ForwardError("timed out after \(timeout)")
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() else { throw CancellationError() }
            return result
        }
    }

    private func udpExchange(_ packet: [UInt8], _ server: SocketAddress, _ expect: Expectation) async throws -> (bytes: [UInt8], message: DNSMessage) {
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_535))
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: packet)))
            for try await envelope in inbound where envelope.remoteAddress == server {
                let bytes = Array(envelope.data.readableBytesView)
                do {
                    return (bytes, try expect.accepts(bytes))
                } catch {
                    // Late replies to other queries or spoofing attempts: keep waiting.
                    logger.debug("ignored datagram from upstream", metadata: ["upstream": "\(server)", "error": "\(error)"])
                }
            }
            throw ForwardError("socket closed")
        }
    }

    private func tcpExchange(_ packet: [UInt8], _ server: SocketAddress, _ expect: Expectation) async throws -> (bytes: [UInt8], message: DNSMessage) {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .connect(to: server) { ch in
                ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(framed(packet))
            var buffer = ByteBuffer()
            for try await var chunk in inbound {
                buffer.writeBuffer(&chunk)
                if let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
                   let bytes = buffer.getBytes(at: buffer.readerIndex + 2, length: Int(length)) {
                    return (bytes, try expect.accepts(bytes))
                }
            }
            throw ForwardError("connection closed before a reply")
        }
    }
}

/// A message with DNS-over-TCP's two-byte length prefix (RFC 1035 4.2.2).
func framed(_ bytes: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(bytes.count + 2)
    buffer.writeInteger(UInt16(truncatingIfNeeded: bytes.count))
    buffer.writeBytes(bytes)
    return buffer
}

/// CoreDNS' `cache 30` in front of the forwarder: answers and denials kept for their
/// smallest TTL, at most `maxTTL` seconds, served with the TTLs counting down.
final class DNSCache: Sendable {
    private struct Key: Hashable {
        var name: DNSName
        var type: DNSType
    }

    private struct Entry {
        var message: DNSMessage
        var stored: ContinuousClock.Instant
        var ttl: UInt32
    }

    private let entries = Mutex<[Key: Entry]>([:])
    let capacity: Int
    let maxTTL: UInt32

    init(capacity: Int, maxTTL: UInt32) {
        self.capacity = capacity
        self.maxTTL = maxTTL
    }

    func insert(_ message: DNSMessage, name: DNSName, type: DNSType, now: ContinuousClock.Instant = .now) {
        guard let ttl = cacheTTL(message), ttl > 0 else { return }
        let key = Key(name: name.lowercased(), type: type)
        entries.withLock { e in
            if e.count >= capacity, e[key] == nil {
                e = e.filter { now - $0.value.stored < .seconds($0.value.ttl) }
                if e.count >= capacity, let victim = e.keys.first { e[victim] = nil }
            }
            e[key] = Entry(message: message, stored: now, ttl: ttl)
        }
    }

    func lookup(_ name: DNSName, _ type: DNSType, now: ContinuousClock.Instant = .now) -> DNSMessage? {
        let key = Key(name: name.lowercased(), type: type)
        return entries.withLock { e -> DNSMessage? in
            guard let entry = e[key] else { return nil }
            let age = (now - entry.stored).components.seconds
            guard age < Int64(entry.ttl) else {
                e[key] = nil
                return nil
            }
            let remaining = entry.ttl - UInt32(age)
            var m = entry.message
            for i in m.answers.indices { m.answers[i].ttl = min(m.answers[i].ttl, remaining) }
            for i in m.authority.indices { m.authority[i].ttl = min(m.authority[i].ttl, remaining) }
            for i in m.additional.indices { m.additional[i].ttl = min(m.additional[i].ttl, remaining) }
            return m
        }
    }

    /// Positive answers live for their smallest TTL; NXDOMAIN and NODATA for the SOA's
    /// negative TTL (RFC 2308); failures and truncated answers are not kept.
    private func cacheTTL(_ m: DNSMessage) -> UInt32? {
        guard !m.truncated else { return nil }
        let ttl: UInt32?
        if m.rcode == .noError, !m.answers.isEmpty {
            ttl = (m.answers + m.authority).map(\.ttl).min()
        } else if m.rcode == .noError || m.rcode == .nxDomain {
            ttl = m.authority.lazy.compactMap { rr -> UInt32? in
                if case .soa(let soa) = rr.data { return min(rr.ttl, soa.minimum) }
                return nil
            }.first
        } else {
            ttl = nil
        }
        return ttl.map { min($0, maxTTL) }
    }
}

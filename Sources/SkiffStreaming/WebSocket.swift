import Crypto
import Foundation
import NIOCore

/// The server end of a WebSocket (RFC 6455) over an upgraded connection: messages in,
/// binary messages out. Pings are answered and fragmented messages joined here, so users
/// see whole messages only (kubectl pings every 5 s and gives up after 61 s of silence).
public final class WebSocketConnection: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    public init(outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.outbound = outbound
    }

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
    public static func accept(key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }

    /// The data messages read from `inbound` until the client closes, text and binary
    /// alike (the Python client sends text frames); control frames are handled on the way.
    public func messages<S: AsyncSequence & Sendable>(_ inbound: S) -> AsyncThrowingStream<[UInt8], any Error> where S.Element == ByteBuffer {
        AsyncThrowingStream { continuation in
            let task = Task {
                var parser = WebSocketFrameParser()
                var fragments: [UInt8] = []
                do {
                    reading: for try await buffer in inbound {
                        parser.append(buffer.readableBytesView)
                        while let frame = try parser.next() {
                            switch frame.opcode {
                            case 0x8:  // close: answer with the same code, then stop
                                try? await send(opcode: 0x8, Array(frame.payload.prefix(2)))
                                break reading
                            case 0x9: try await send(opcode: 0xA, frame.payload)
                            case 0xA: break
                            case 0x0, 0x1, 0x2:
                                if frame.opcode != 0 { fragments = [] }
                                fragments += frame.payload
                                guard frame.fin else { continue }
                                continuation.yield(fragments)
                                fragments = []
                            default:
                                throw WebSocketError("unknown opcode \(frame.opcode)")
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Sends one binary message.
    public func send(binary payload: [UInt8]) async throws { try await send(opcode: 0x2, payload) }

    /// Sends a close frame (1000, normal closure) and, once everything written has gone
    /// out, ends our side of the connection; the client then closes it.
    public func close() async {
        try? await send(opcode: 0x8, [0x03, 0xE8])
        outbound.finish()
    }

    func send(opcode: UInt8, _ payload: [UInt8]) async throws {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.count + 10)
        buffer.writeInteger(0x80 | opcode)
        switch payload.count {
        case ..<126: buffer.writeInteger(UInt8(payload.count))
        case ..<65536: buffer.writeInteger(UInt8(126)); buffer.writeInteger(UInt16(payload.count))
        default: buffer.writeInteger(UInt8(127)); buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeBytes(payload)
        try await outbound.write(buffer)
    }
}

public struct WebSocketError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Splits a client's byte stream into frames, unmasking them.
struct WebSocketFrameParser {
    struct Frame {
        var fin: Bool
        var opcode: UInt8
        var payload: [UInt8]
    }

    /// Larger messages than any exec or port-forward chunk; guards memory.
    static let maxFrame = 16 << 20
    var buffer: [UInt8] = []
    var start = 0

    mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        buffer += bytes
    }

    mutating func next() throws -> Frame? {
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let b0 = buffer[start], b1 = buffer[start + 1]
        guard b1 & 0x80 != 0 else { throw WebSocketError("client frames must be masked") }
        var header = 2
        var length = Int(b1 & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = (0..<8).reduce(0) { $0 << 8 | Int(buffer[start + 2 + $1]) }
            header = 10
        }
        guard length >= 0, length <= Self.maxFrame else { throw WebSocketError("frame of \(length) bytes is too large") }
        guard available >= header + 4 + length else { return nil }
        let mask = buffer[(start + header)..<(start + header + 4)].map { $0 }
        let from = start + header + 4
        var payload = Array(buffer[from..<(from + length)])
        for i in payload.indices { payload[i] ^= mask[i & 3] }
        start = from + length
        if start > 1 << 16 { buffer.removeFirst(start); start = 0 }
        return Frame(fin: b0 & 0x80 != 0, opcode: b0 & 0x0F, payload: payload)
    }
}

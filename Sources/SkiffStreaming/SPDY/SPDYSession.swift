/// The server side of a SPDY/3.1 session as kubectl's spdystream uses it: the client
/// opens every stream, the server accepts each with a SYN_REPLY, then both sides send
/// data until FIN. Flow control is not enforced (spdystream neither sends nor waits for
/// window updates beyond the initial window it never exhausts in practice).
final class SPDYSession: Sendable {
    /// A stream the client opened.
    struct Stream: Sendable {
        let id: UInt32
        let headers: SPDYHeaderBlock
        /// The client's data, finished at its FIN or RST_STREAM or when the session ends.
        let data: AsyncStream<[UInt8]>
    }

    /// Serialises writers: the encoder's compression context spans the whole session.
    actor Writer {
        let encoder = SPDYFrameEncoder()
        let write: @Sendable ([UInt8]) async throws -> Void

        init(write: @escaping @Sendable ([UInt8]) async throws -> Void) { self.write = write }

        func send(_ frame: SPDYFrame) async throws { try await write(encoder.encode(frame)) }
    }

    /// Data frames carry at most this much; smaller than the 64 KiB initial window.
    static let maxDataFrame = 32 << 10
    let writer: Writer

    init(write: @escaping @Sendable ([UInt8]) async throws -> Void) {
        writer = Writer(write: write)
    }

    /// Reads the client's frames from `inbound` until it ends, yielding each new stream
    /// (already accepted) to `streams`; all stream data ends with the session.
    func serve<S: AsyncSequence & Sendable>(_ inbound: S, streams: AsyncStream<Stream>.Continuation) async where S.Element == [UInt8] {
        let decoder = SPDYFrameDecoder()
        var open: [UInt32: AsyncStream<[UInt8]>.Continuation] = [:]
        defer {
            for continuation in open.values { continuation.finish() }
            streams.finish()
        }
        do {
            for try await bytes in inbound {
                decoder.append(bytes)
                while let frame = try decoder.next() {
                    switch frame {
                    case .synStream(let id, _, _, let fin, _, let headers):
                        let data = AsyncStream.makeStream(of: [UInt8].self)
                        if fin { data.continuation.finish() } else { open[id] = data.continuation }
                        try await writer.send(.synReply(streamID: id, fin: false, headers: SPDYHeaderBlock([])))
                        streams.yield(Stream(id: id, headers: headers, data: data.stream))
                    case .data(let id, let fin, let payload):
                        if !payload.isEmpty { open[id]?.yield(payload) }
                        if fin { open.removeValue(forKey: id)?.finish() }
                    case .rstStream(let id, _):
                        open.removeValue(forKey: id)?.finish()
                    case .ping(let id):
                        try await writer.send(.ping(id: id))
                    case .goAway:
                        return
                    case .synReply, .settings, .headers, .windowUpdate:
                        break
                    }
                }
            }
        } catch {
            // A broken session ends like a closed one.
        }
    }

    /// Sends `bytes` on a stream, in frames the client's window allows.
    func send(_ bytes: [UInt8], on stream: UInt32) async throws {
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Self.maxDataFrame)
            try await writer.send(.data(streamID: stream, fin: false, payload: Array(bytes[start..<end])))
            start = end
        }
    }

    /// Ends our side of a stream.
    func finish(_ stream: UInt32) async {
        try? await writer.send(.data(streamID: stream, fin: true, payload: []))
    }
}

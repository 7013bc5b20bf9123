/// Decodes the frames a SPDY/3.1 peer (kubectl's spdystream) sends on one
/// connection. Bytes may arrive in arbitrary chunks (TCP reads, WebSocket
/// messages); frames come out once complete.
///
/// One decoder per connection and direction: it owns the inflate half of the
/// connection's header compression context.
public final class SPDYFrameDecoder {
    /// Bound on an inflated header block. kubectl's are a few dozen bytes.
    static let maxHeaderBlockLength = 1 << 20

    private static let version: UInt16 = 3
    private let maxFrameLength: Int
    private let inflater = SPDYHeaderInflater()
    private var buffer: [UInt8] = []
    private var consumed = 0
    private var failure: SPDYError?

    /// - Parameter maxFrameLength: largest frame payload accepted; the wire
    ///   format itself caps it at 0xFF_FFFF.
    public init(maxFrameLength: Int = 16 << 20) {
        self.maxFrameLength = maxFrameLength
    }

    /// Buffers received bytes; `next()` decodes them.
    public func append(_ bytes: some Collection<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil until more bytes arrive. Control
    /// frames of unknown type are skipped, as the spec requires. Any error is
    /// fatal for the connection and is rethrown by every later call.
    public func next() throws(SPDYError) -> SPDYFrame? {
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            throw error
        }
    }

    private func decodeNext() throws(SPDYError) -> SPDYFrame? {
        while buffer.count - consumed >= 8 {
            var header = SPDYByteReader(buffer[consumed..<consumed + 8])
            let word = try header.readUInt32()
            let flags = try header.readUInt8()
            let length = Int(try header.readUInt24())
            guard length <= maxFrameLength else {
                throw SPDYError("frame length \(length) exceeds limit \(maxFrameLength)")
            }
            guard buffer.count - consumed >= 8 + length else { return nil }
            let payload = buffer[consumed + 8..<consumed + 8 + length]
            let frame: SPDYFrame?
            if word & 0x8000_0000 == 0 {
                frame = .data(streamID: word, fin: flags & 0x01 != 0, payload: Array(payload))
            } else {
                let version = UInt16(truncatingIfNeeded: word >> 16) & 0x7FFF
                guard version == Self.version else { throw SPDYError("unsupported SPDY version \(version)") }
                frame = try decodeControl(type: UInt16(truncatingIfNeeded: word), flags: flags, payload: payload)
            }
            consume(8 + length)
            if let frame { return frame }
        }
        return nil
    }

    /// Returns nil for control frame types this codec does not know.
    private func decodeControl(type: UInt16, flags: UInt8, payload: ArraySlice<UInt8>) throws(SPDYError) -> SPDYFrame? {
        var reader = SPDYByteReader(payload)
        let fin = flags & 0x01 != 0
        func expectLength(_ valid: Bool, _ name: String) throws(SPDYError) {
            if !valid { throw SPDYError("\(name) frame has invalid length \(payload.count)") }
        }
        func streamID() throws(SPDYError) -> UInt32 {
            try reader.readUInt32() & 0x7FFF_FFFF
        }
        func headerBlock() throws(SPDYError) -> SPDYHeaderBlock {
            // Always inflate, even to reject: skipping would desync the zlib stream.
            let bytes = try inflater.decompress(reader.readBytes(reader.remaining), limit: Self.maxHeaderBlockLength)
            return try SPDYHeaderBlock(parsing: bytes)
        }

        switch type {
        case 1:
            try expectLength(payload.count >= 10, "SYN_STREAM")
            let id = try streamID()
            let associated = try streamID()
            let priority = try reader.readUInt8() >> 5
            _ = try reader.readUInt8()  // CREDENTIAL slot: SPDY/3 only, unused in 3.1
            return .synStream(streamID: id, associatedStreamID: associated, priority: priority, fin: fin,
                              unidirectional: flags & 0x02 != 0, headers: try headerBlock())
        case 2:
            try expectLength(payload.count >= 4, "SYN_REPLY")
            return .synReply(streamID: try streamID(), fin: fin, headers: try headerBlock())
        case 3:
            try expectLength(payload.count == 8, "RST_STREAM")
            return .rstStream(streamID: try streamID(), status: try reader.readUInt32())
        case 4:
            try expectLength(payload.count >= 4, "SETTINGS")
            let count = Int(try reader.readUInt32())
            try expectLength(reader.remaining / 8 == count && reader.remaining % 8 == 0, "SETTINGS")
            var entries: [SPDYSetting] = []
            for _ in 0..<count {
                entries.append(SPDYSetting(flags: try reader.readUInt8(), id: try reader.readUInt24(), value: try reader.readUInt32()))
            }
            return .settings(clearPrevious: flags & 0x01 != 0, entries: entries)
        case 6:
            try expectLength(payload.count == 4, "PING")
            return .ping(id: try reader.readUInt32())
        case 7:
            try expectLength(payload.count == 8, "GOAWAY")
            return .goAway(lastGoodStreamID: try streamID(), status: try reader.readUInt32())
        case 8:
            try expectLength(payload.count >= 4, "HEADERS")
            return .headers(streamID: try streamID(), fin: fin, headers: try headerBlock())
        case 9:
            try expectLength(payload.count == 8, "WINDOW_UPDATE")
            return .windowUpdate(streamID: try streamID(), delta: try reader.readUInt32() & 0x7FFF_FFFF)
        default:
            return nil
        }
    }

    /// Drops decoded bytes, compacting only once the dead prefix is large so
    /// byte-at-a-time input stays linear.
    private func consume(_ count: Int) {
        consumed += count
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        } else if consumed >= 64 << 10 {
            buffer.removeFirst(consumed)
            consumed = 0
        }
    }
}

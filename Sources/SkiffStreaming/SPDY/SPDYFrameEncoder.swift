/// Encodes the frames Skiff's kubelet sends on one SPDY/3.1 connection.
///
/// One encoder per connection and direction: it owns the deflate half of the
/// connection's header compression context, so frames must be sent in the
/// order they were encoded.
public final class SPDYFrameEncoder {
    private let deflater = SPDYHeaderDeflater()

    public init() {}

    /// The wire bytes of `frame`. Stream IDs and window deltas are masked to
    /// 31 bits, priority to 3. A data payload must fit the 24-bit length field.
    public func encode(_ frame: SPDYFrame) -> [UInt8] {
        switch frame {
        case let .synStream(streamID, associatedStreamID, priority, fin, unidirectional, headers):
            var body = streamIDs(streamID, associatedStreamID)
            body += [(priority & 0x07) << 5, 0]  // priority bits, then the unused CREDENTIAL slot
            body += deflater.compress(headers.serialized())
            return control(type: 1, flags: (fin ? 0x01 : 0) | (unidirectional ? 0x02 : 0), body)
        case let .synReply(streamID, fin, headers):
            return control(type: 2, flags: fin ? 0x01 : 0, streamIDs(streamID) + deflater.compress(headers.serialized()))
        case let .rstStream(streamID, status):
            return control(type: 3, flags: 0, streamIDs(streamID) + uint32(status))
        case let .settings(clearPrevious, entries):
            var body = uint32(UInt32(entries.count))
            for entry in entries {
                body.append(entry.flags)
                body.appendUInt24(entry.id)
                body.appendUInt32(entry.value)
            }
            return control(type: 4, flags: clearPrevious ? 0x01 : 0, body)
        case let .ping(id):
            return control(type: 6, flags: 0, uint32(id))
        case let .goAway(lastGoodStreamID, status):
            return control(type: 7, flags: 0, streamIDs(lastGoodStreamID) + uint32(status))
        case let .headers(streamID, fin, headers):
            return control(type: 8, flags: fin ? 0x01 : 0, streamIDs(streamID) + deflater.compress(headers.serialized()))
        case let .windowUpdate(streamID, delta):
            return control(type: 9, flags: 0, streamIDs(streamID, delta))
        case let .data(streamID, fin, payload):
            precondition(payload.count <= 0xFF_FFFF, "DATA payload of \(payload.count) bytes needs splitting")
            var bytes = streamIDs(streamID)  // control bit 0 comes from the mask
            bytes.append(fin ? 0x01 : 0)
            bytes.appendUInt24(UInt32(payload.count))
            return bytes + payload
        }
    }

    /// Control frame: control bit + version 3, type, flags, 24-bit length.
    private func control(type: UInt16, flags: UInt8, _ body: [UInt8]) -> [UInt8] {
        precondition(body.count <= 0xFF_FFFF, "control frame body of \(body.count) bytes is too long")
        var bytes = uint32(0x8003_0000 | UInt32(type))
        bytes.append(flags)
        bytes.appendUInt24(UInt32(body.count))
        return bytes + body
    }

    /// 31-bit fields (stream IDs, window delta) with the reserved bit cleared.
    private func streamIDs(_ ids: UInt32...) -> [UInt8] {
        ids.reduce(into: []) { $0.appendUInt32($1 & 0x7FFF_FFFF) }
    }

    private func uint32(_ value: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendUInt32(value)
        return bytes
    }
}

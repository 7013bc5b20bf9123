import SkiffCore

// The Protobuf wire format: byte ranges, wire values and the reader of (tag, value) pairs.

extension ProtobufDecoder {
    /// A byte range of a buffer; the unit every message is decoded from.
    struct Chunk {
        var buffer: [UInt8]
        var range: Range<Int>
        static let empty = Chunk(buffer: [], range: 0..<0)
    }

    enum WireValue {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Range<Int>)
    }

    /// Reads (tag, value) pairs of one message, skipping groups (still legal in unknown fields).
    struct FieldReader {
        let buffer: [UInt8]
        var pos: Int
        let end: Int

        init(_ chunk: Chunk) {
            buffer = chunk.buffer
            pos = chunk.range.lowerBound
            end = chunk.range.upperBound
        }

        static let truncated = APIError.badRequest("proto: unexpected end of protobuf data")

        mutating func varint() throws(APIError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard pos < end else { throw Self.truncated }
                guard shift < 64 else { throw APIError.badRequest("proto: integer overflow in varint") }
                let b = buffer[pos]
                pos += 1
                result |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return result }
                shift += 7
            }
        }

        mutating func fixed(_ size: Int) throws(APIError) -> UInt64 {
            guard end - pos >= size else { throw Self.truncated }
            var v: UInt64 = 0
            for i in 0..<size { v |= UInt64(buffer[pos + i]) << (8 * UInt64(i)) }
            pos += size
            return v
        }

        mutating func lengthDelimited() throws(APIError) -> Range<Int> {
            let n = try varint()
            guard n <= UInt64(end - pos) else { throw APIError.badRequest("proto: length \(n) exceeds the remaining \(end - pos) bytes") }
            let start = pos
            pos += Int(n)
            return start..<pos
        }

        mutating func key() throws(APIError) -> (tag: Int, wireType: UInt64) {
            let k = try varint()
            let tag = k >> 3
            guard tag > 0, tag <= 536_870_911 else { throw APIError.badRequest("proto: illegal field number \(tag)") }
            return (Int(tag), k & 7)
        }

        mutating func next() throws(APIError) -> (Int, WireValue)? {
            while pos < end {
                let (tag, wireType) = try key()
                switch wireType {
                case 0: return (tag, .varint(try varint()))
                case 1: return (tag, .fixed64(try fixed(8)))
                case 2: return (tag, .bytes(try lengthDelimited()))
                case 5: return (tag, .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
                case 3: try skipGroup(tag)
                default: throw APIError.badRequest("proto: illegal wire type \(wireType) for field \(tag)")
                }
            }
            return nil
        }

        /// Skips a (deprecated) group up to its end marker; nesting is bounded by the data.
        mutating func skipGroup(_ start: Int) throws(APIError) {
            var open = [start]
            while let top = open.last {
                guard open.count <= ProtobufDecoder.maxDepth else { throw APIError.badRequest("proto: groups nest too deep") }
                guard pos < end else { throw Self.truncated }
                let (tag, wireType) = try key()
                switch wireType {
                case 0: _ = try varint()
                case 1: _ = try fixed(8)
                case 2: _ = try lengthDelimited()
                case 5: _ = try fixed(4)
                case 3: open.append(tag)
                case 4:
                    guard tag == top else { throw APIError.badRequest("proto: mismatched end group for field \(tag)") }
                    open.removeLast()
                default: throw APIError.badRequest("proto: illegal wire type \(wireType) for field \(tag)")
                }
            }
        }
    }
}

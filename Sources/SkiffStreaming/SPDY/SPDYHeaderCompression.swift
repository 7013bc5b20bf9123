import CImageSys

// SPDY/3 header blocks (spec 2.6.10): serialization plus the per-connection
// zlib contexts. Each direction of a connection is ONE zlib stream, primed
// with `SPDYDictionary` and sync-flushed after every block, so a block can
// only be decoded after all earlier blocks in that direction.

extension SPDYHeaderBlock {
    /// Uncompressed wire form: 32-bit pair count, then per pair a 32-bit
    /// length + name and a 32-bit length + value, all big-endian. Fields
    /// sharing a (lowercased) name become one NUL-separated value.
    func serialized() -> [UInt8] {
        var names: [String] = []
        var values: [String: [String]] = [:]
        for field in fields {
            let name = field.name.lowercased()
            if values[name] == nil { names.append(name) }
            values[name, default: []].append(field.value)
        }
        var bytes: [UInt8] = []
        bytes.appendUInt32(UInt32(names.count))
        for name in names {
            let value = values[name, default: []].joined(separator: "\0")
            bytes.appendUInt32(UInt32(name.utf8.count))
            bytes += name.utf8
            bytes.appendUInt32(UInt32(value.utf8.count))
            bytes += value.utf8
        }
        return bytes
    }

    /// Parses an inflated header block, enforcing the spec's rules: names
    /// non-empty, lowercase, NUL-free and unique; a value is empty or
    /// NUL-separated non-empty parts (no leading, trailing or doubled NUL).
    init(parsing bytes: [UInt8]) throws(SPDYError) {
        var reader = SPDYByteReader(bytes[...])
        let count = Int(try reader.readUInt32())
        // Every pair carries two 4-byte lengths; refuse impossible counts up front.
        guard count <= reader.remaining / 8 else {
            throw SPDYError("header block claims \(count) pairs in \(reader.remaining) bytes")
        }
        var fields: [(name: String, value: String)] = []
        var seen: Set<String> = []
        for _ in 0..<count {
            let nameBytes = try reader.readBytes(Int(try reader.readUInt32()))
            guard !nameBytes.isEmpty, !nameBytes.contains(where: { $0 == 0 || (0x41...0x5A).contains($0) }) else {
                throw SPDYError("header name must be non-empty lowercase without NUL")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard seen.insert(name).inserted else { throw SPDYError("duplicate header name \(name)") }
            let valueBytes = try reader.readBytes(Int(try reader.readUInt32()))
            let parts = valueBytes.split(separator: 0, omittingEmptySubsequences: false)
            guard valueBytes.isEmpty || !parts.contains(where: \.isEmpty) else {
                throw SPDYError("header \(name) has an empty NUL-separated value")
            }
            for part in parts { fields.append((name, String(decoding: part, as: UTF8.self))) }
        }
        guard reader.remaining == 0 else { throw SPDYError("\(reader.remaining) stray bytes after header block") }
        self.fields = fields
    }
}

/// The receiving half of a connection's header compression.
final class SPDYHeaderInflater {
    // zlib keeps a back-pointer to its z_stream, so it needs a stable address.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        let status = skiff_zlib_inflate_init(stream)
        precondition(status == Z_OK, "zlib inflateInit failed (\(status))")  // only out of memory
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one compressed header block, continuing the connection's
    /// stream. Throws rather than produce more than `limit` bytes, so a tiny
    /// frame cannot balloon into a huge allocation.
    func decompress(_ block: ArraySlice<UInt8>, limit: Int) throws(SPDYError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let failure: String? = block.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            defer { (stream.pointee.next_in, stream.pointee.avail_in) = (nil, 0) }
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out in
                    (stream.pointee.next_out, stream.pointee.avail_out) = (out.baseAddress, UInt32(out.count))
                    let status = inflate(stream, Z_SYNC_FLUSH)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                output += chunk[..<produced]
                if output.count > limit { return "header block inflates beyond \(limit) bytes" }
                // All input consumed and room left over: everything flushed.
                let finished = stream.pointee.avail_in == 0 && produced < chunk.count
                switch status {
                case Z_OK where finished, Z_BUF_ERROR where finished:
                    return nil
                case Z_OK:
                    continue
                case Z_NEED_DICT:
                    // The first block's zlib header names the dictionary by its Adler-32.
                    guard stream.pointee.adler == UInt(SPDYDictionary.adler32) else {
                        return "header block wants unknown zlib dictionary \(stream.pointee.adler)"
                    }
                    let set = SPDYDictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                    }
                    if set != Z_OK { return "zlib inflateSetDictionary failed (\(set))" }
                case Z_STREAM_END:
                    // Peers never finish the stream; tolerate it only if nothing follows.
                    return finished ? nil : "header data after the end of the zlib stream"
                default:
                    return "corrupt compressed header block (zlib \(status))"
                }
            }
        }
        if let failure { throw SPDYError(failure) }
        return output
    }
}

/// The sending half of a connection's header compression.
final class SPDYHeaderDeflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        var status = skiff_zlib_deflate_init(stream, Z_DEFAULT_COMPRESSION)
        if status == Z_OK {
            status = SPDYDictionary.bytes.withUnsafeBufferPointer {
                deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
            }
        }
        precondition(status == Z_OK, "zlib deflate setup failed (\(status))")  // only out of memory
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Deflates one header block and sync-flushes, so the peer can decode it
    /// as soon as this frame arrives while the stream carries on.
    func compress(_ block: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        block.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            defer { (stream.pointee.next_in, stream.pointee.avail_in) = (nil, 0) }
            // A full output chunk may mean more is pending (zlib's flush contract).
            repeat {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out in
                    (stream.pointee.next_out, stream.pointee.avail_out) = (out.baseAddress, UInt32(out.count))
                    let status = deflate(stream, Z_SYNC_FLUSH)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                // Z_BUF_ERROR only means a repeat call found nothing left to flush.
                precondition(status == Z_OK || status == Z_BUF_ERROR, "zlib deflate failed (\(status))")
                output += chunk[..<produced]
            } while stream.pointee.avail_out == 0
        }
        return output
    }
}

/// Bounds-checked big-endian reads; running past the end is a SPDYError.
struct SPDYByteReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count }

    mutating func readBytes(_ count: Int) throws(SPDYError) -> ArraySlice<UInt8> {
        guard count <= bytes.count else { throw SPDYError("need \(count) bytes, only \(bytes.count) left") }
        defer { bytes = bytes.dropFirst(count) }
        return bytes.prefix(count)
    }

    mutating func readUInt8() throws(SPDYError) -> UInt8 {
        try readBytes(1).first!
    }

    mutating func readUInt24() throws(SPDYError) -> UInt32 {
        try readBytes(3).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func readUInt32() throws(SPDYError) -> UInt32 {
        try readBytes(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}

extension [UInt8] {
    mutating func appendUInt24(_ value: UInt32) {
        append(contentsOf: [UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    mutating func appendUInt32(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        appendUInt24(value)
    }
}

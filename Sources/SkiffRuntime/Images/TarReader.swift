import Foundation

// A tar reader of our own: none of the packages the project may use reads tar, and image
// layers need every detail (PAX and GNU long names, xattrs, devices, hard links).

/// One entry of a tar stream, with PAX and GNU long-name extensions already applied.
struct TarEntry {
    /// The entry type flag: `0` file, `1` hard link, `2` symlink, `3` char device,
    /// `4` block device, `5` directory, `6` fifo.
    enum Kind: UInt8 {
        case file = 0x30, hardLink = 0x31, symlink = 0x32, characterDevice = 0x33
        case blockDevice = 0x34, directory = 0x35, fifo = 0x36
    }

    var path: String
    var kind: Kind
    var size: Int64
    var mode: UInt32
    var uid: Int
    var gid: Int
    var mtime: Int64
    var linkName: String
    var devMajor: UInt32
    var devMinor: UInt32
    var xattrs: [String: [UInt8]]
}

/// Reads entries from a tar stream; the data of the current entry is read with `readData`
/// and whatever is left of it is skipped by the next call to `next`.
final class TarReader {
    private let source: ByteSource
    private var pending: [UInt8] = []
    private var dataRemaining: Int64 = 0
    private var padding: Int64 = 0
    /// Bytes of the stream consumed so far (headers, data, padding).
    private var position: Int64 = 0
    /// Where the current entry's data starts in the (uncompressed) stream.
    private(set) var dataOffset: Int64 = 0

    init(_ source: ByteSource) { self.source = source }

    /// The next entry, or nil at the end of the archive.
    func next() throws -> TarEntry? {
        try skip(dataRemaining + padding)
        dataRemaining = 0
        padding = 0
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        var paxXattrs: [String: [UInt8]] = [:]
        while true {
            let header = try readExactly(512, allowEOF: true)
            guard let header, header.contains(where: { $0 != 0 }) else { return nil }
            try verifyChecksum(header)
            let type = header[156]
            let size = try number(header[124..<136])
            guard size >= 0 else { throw ImageContentError("tar header has a negative size") }
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= 1 << 20 else { throw ImageContentError("tar extended header is too large") }
                let data = try readExactly(Int(size), allowEOF: false) ?? []
                try skip(Self.padding(size))
                if type == UInt8(ascii: "L") { longName = Self.cString(data[...]) }
                if type == UInt8(ascii: "K") { longLink = Self.cString(data[...]) }
                if type == UInt8(ascii: "x") { try Self.parsePAX(data, into: &pax, xattrs: &paxXattrs) }
                continue
            default:
                break
            }
            let isUstar = header[257..<263].elementsEqual("ustar\0".utf8)
            var path = Self.cString(header[0..<100])
            if isUstar {
                let prefix = Self.cString(header[345..<500])
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            let kind: TarEntry.Kind
            switch type {
            case 0, UInt8(ascii: "7"): kind = .file
            default:
                guard let k = TarEntry.Kind(rawValue: type) else {
                    throw ImageContentError("tar entry \"\(path)\" has unsupported type '\(Character(UnicodeScalar(type)))'")
                }
                kind = k
            }
            var entry = TarEntry(
                path: pax["path"] ?? longName ?? path, kind: kind, size: size,
                mode: UInt32(truncatingIfNeeded: try number(header[100..<108])),
                uid: Int(try number(header[108..<116])), gid: Int(try number(header[116..<124])),
                mtime: try number(header[136..<148]),
                linkName: pax["linkpath"] ?? longLink ?? Self.cString(header[157..<257]),
                devMajor: UInt32(truncatingIfNeeded: try number(header[329..<337])),
                devMinor: UInt32(truncatingIfNeeded: try number(header[337..<345])),
                xattrs: paxXattrs)
            if let s = pax["size"] {
                guard let v = Int64(s), v >= 0 else { throw ImageContentError("tar PAX size \"\(s)\" is invalid") }
                entry.size = v
            }
            if let v = pax["uid"].flatMap(Int.init) { entry.uid = v }
            if let v = pax["gid"].flatMap(Int.init) { entry.gid = v }
            if let m = pax["mtime"], let v = Double(m) { entry.mtime = Int64(v.rounded(.down)) }
            // Only regular files carry data; other types are header-only whatever their size says.
            let dataSize = entry.kind == .file ? entry.size : 0
            dataRemaining = dataSize
            padding = Self.padding(dataSize)
            dataOffset = position
            return entry
        }
    }

    /// Up to `max` bytes of the current entry's data; empty at its end.
    func readData(_ max: Int) throws -> [UInt8] {
        guard dataRemaining > 0 else { return [] }
        let chunk = try readExactly(Int(min(Int64(max), dataRemaining)), allowEOF: false) ?? []
        dataRemaining -= Int64(chunk.count)
        return chunk
    }

    private static func padding(_ size: Int64) -> Int64 { (512 - size % 512) % 512 }

    private func readExactly(_ count: Int, allowEOF: Bool) throws -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        if !pending.isEmpty {
            let take = min(count, pending.count)
            out += pending[..<take]
            pending.removeFirst(take)
        }
        while out.count < count {
            let chunk = try source.read(max(count - out.count, 1 << 16))
            if chunk.isEmpty {
                if out.isEmpty && allowEOF { return nil }
                throw ImageContentError("tar archive is truncated")
            }
            let take = min(count - out.count, chunk.count)
            out += chunk[..<take]
            if take < chunk.count { pending = Array(chunk[take...]) }
        }
        position += Int64(out.count)
        return out
    }

    private func skip(_ count: Int64) throws {
        var left = count
        while left > 0 {
            let chunk = try readExactly(Int(min(left, 1 << 16)), allowEOF: false) ?? []
            left -= Int64(chunk.count)
        }
    }

    private func verifyChecksum(_ header: [UInt8]) throws {
        let stored = try number(header[148..<156])
        var sum: Int64 = 0
        for (i, b) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : Int64(b) }
        guard sum == stored else { throw ImageContentError("tar header checksum mismatch: not a tar archive, or corrupt") }
    }

    /// Octal (NUL or space terminated), or base-256 when the high bit of the first byte is set.
    private func number(_ field: ArraySlice<UInt8>) throws -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            var v: Int64 = Int64(first & 0x7f)
            for b in field.dropFirst() {
                guard v < Int64.max >> 8 else { throw ImageContentError("tar numeric field overflows") }
                v = v << 8 | Int64(b)
            }
            return v
        }
        var v: Int64 = 0
        for b in field where b != 0 && b != 32 {
            guard b >= 0x30 && b <= 0x37 else { throw ImageContentError("tar header has a malformed number") }
            v = v * 8 + Int64(b - 0x30)
        }
        return v
    }

    private static func cString(_ bytes: ArraySlice<UInt8>) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// Records are `<length> <key>=<value>\n`; SCHILY.xattr.* keys carry extended attributes.
    private static func parsePAX(_ data: [UInt8], into pax: inout [String: String], xattrs: inout [String: [UInt8]]) throws {
        var i = 0
        while i < data.count {
            guard let space = data[i...].firstIndex(of: 32),
                  let length = Int(String(decoding: data[i..<space], as: UTF8.self)),
                  length > 0, i + length <= data.count,
                  let eq = data[(space + 1)..<(i + length)].firstIndex(of: UInt8(ascii: "="))
            else { throw ImageContentError("tar PAX header is malformed") }
            let key = String(decoding: data[(space + 1)..<eq], as: UTF8.self)
            let value = Array(data[(eq + 1)..<(i + length - 1)])
            if key.hasPrefix("SCHILY.xattr.") {
                xattrs[String(key.dropFirst(13))] = value
            } else {
                pax[key] = String(decoding: value, as: UTF8.self)
            }
            i += length
        }
    }
}

import CImageSys
import Crypto
import Foundation

/// Bytes read front to back: a file (or a slice of one), gunzipped, or hashed on the way,
/// so layers stream from disk through zlib and the tar reader without being held in memory.
protocol ByteSource: AnyObject {
    /// Up to `max` bytes; empty only at the end.
    func read(_ max: Int) throws -> [UInt8]
}

extension ByteSource {
    /// Reads until the end, returning how many bytes there were (to finish a hash).
    func drain() throws -> Int64 {
        var total: Int64 = 0
        while true {
            let chunk = try read(1 << 16)
            if chunk.isEmpty { return total }
            total += Int64(chunk.count)
        }
    }
}

/// An error reading or unpacking image content, with a message for the user.
struct ImageContentError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// A file, or `length` bytes of it from `offset` (a member of an uncompressed tar archive).
final class FileSource: ByteSource {
    private let fd: Int32
    private var offset: Int64
    private var remaining: Int64

    init(path: String, offset: Int64 = 0, length: Int64? = nil) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageContentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        self.offset = offset
        if let length {
            remaining = length
        } else {
            var st = stat()
            fstat(fd, &st)
            remaining = Int64(st.st_size) - offset
        }
    }

    deinit { close(fd) }

    func read(_ max: Int) throws -> [UInt8] {
        let want = Int(min(Int64(max), remaining))
        guard want > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: want)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
        guard n >= 0 else { throw ImageContentError("read failed: \(String(cString: strerror(errno)))") }
        if n == 0 { throw ImageContentError("file ends before its expected length") }
        offset += Int64(n)
        remaining -= Int64(n)
        if n < want { buffer.removeLast(want - n) }
        return buffer
    }

    /// The first bytes of a file, to tell gzip from plain tar by the magic number.
    static func peek(path: String, offset: Int64 = 0, count: Int = 4) throws -> [UInt8] {
        let source = try FileSource(path: path, offset: offset)
        var out: [UInt8] = []
        while out.count < count {
            let chunk = try source.read(count - out.count)
            if chunk.isEmpty { break }
            out += chunk
        }
        return out
    }
}

/// Gunzips another source with zlib; concatenated gzip members (pigz) are read as one.
final class GzipSource: ByteSource {
    private let input: ByteSource
    private var stream = z_stream()
    private var inputBuffer: [UInt8] = []
    private var inputUsed = 0
    private var finished = false

    init(_ input: ByteSource) throws {
        self.input = input
        guard skiff_inflate_init(&stream) == Z_OK else { throw ImageContentError("zlib initialisation failed") }
    }

    deinit { inflateEnd(&stream) }

    func read(_ max: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max)
        var produced = 0
        while produced == 0 && !finished {
            if inputUsed == inputBuffer.count {
                inputBuffer = try input.read(1 << 16)
                inputUsed = 0
                if inputBuffer.isEmpty { throw ImageContentError("gzip stream is truncated") }
            }
            let status: Int32 = inputBuffer.withUnsafeMutableBufferPointer { inBuf in
                output.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_in = inBuf.baseAddress! + inputUsed
                    stream.avail_in = UInt32(inBuf.count - inputUsed)
                    stream.next_out = outBuf.baseAddress! + produced
                    stream.avail_out = UInt32(max - produced)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    inputUsed = inBuf.count - Int(stream.avail_in)
                    produced = max - Int(stream.avail_out)
                    return status
                }
            }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                // Another member may follow (pigz, concatenated gzip).
                if inputUsed == inputBuffer.count {
                    inputBuffer = try input.read(1 << 16)
                    inputUsed = 0
                }
                if inputBuffer.isEmpty { finished = true } else { inflateReset(&stream) }
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw ImageContentError("gzip data is corrupt: \(detail)")
            }
        }
        output.removeLast(max - produced)
        return output
    }
}

/// Hashes what passes through with SHA-256 (digests of blobs, diffIDs of layers).
final class HashingSource: ByteSource {
    private let input: ByteSource
    private var hasher = SHA256()
    private(set) var count: Int64 = 0

    init(_ input: ByteSource) { self.input = input }

    func read(_ max: Int) throws -> [UInt8] {
        let chunk = try input.read(max)
        hasher.update(data: chunk)
        count += Int64(chunk.count)
        return chunk
    }

    /// `sha256:<hex>` of everything read so far.
    var digest: String { Digest.string(hasher.finalize()) }
}

/// Helpers for `sha256:<hex>` digests.
enum Digest {
    static func string(_ digest: SHA256.Digest) -> String {
        "sha256:" + digest.map { String(format: "%02x", $0) }.joined()
    }

    static func sha256<D: DataProtocol>(_ data: D) -> String { string(SHA256.hash(data: data)) }

    /// The hex part of a validated `sha256:` digest; other algorithms are refused.
    static func hex(_ digest: String) throws -> String {
        guard ImageReference.isDigest(digest) else { throw ImageContentError("unsupported or malformed digest \"\(digest)\"") }
        return String(digest.dropFirst(7))
    }
}

/// Opens a layer or archive, gunzipping it when it starts with gzip's magic number.
func openMaybeCompressed(path: String, offset: Int64 = 0, length: Int64? = nil) throws -> ByteSource {
    let head = try FileSource.peek(path: path, offset: offset)
    let file = try FileSource(path: path, offset: offset, length: length)
    if head.starts(with: [0x1f, 0x8b]) { return try GzipSource(file) }
    if head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { throw ImageContentError("zstd-compressed layers are not supported") }
    return file
}

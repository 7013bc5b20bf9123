import CImageSys
import Testing
@testable import SkiffStreaming

// MARK: - Helpers independent of the codec under test

/// Compresses `raw` as the first block of a brand-new SPDY/3 zlib stream, the
/// way a peer's first SYN_STREAM is compressed, without going through
/// `SPDYFrameEncoder`.
private func freshDeflate(_ raw: [UInt8], level: Int32 = Z_BEST_COMPRESSION) -> [UInt8] {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { deflateEnd(stream); stream.deallocate() }
    #expect(skiff_zlib_deflate_init(stream, level) == Z_OK)
    #expect(SPDYDictionary.bytes.withUnsafeBufferPointer { deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count)) } == Z_OK)
    var input = raw
    var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(raw.count))) + 64)
    let produced = input.withUnsafeMutableBufferPointer { inp in
        output.withUnsafeMutableBufferPointer { out in
            (stream.pointee.next_in, stream.pointee.avail_in) = (inp.baseAddress, UInt32(inp.count))
            (stream.pointee.next_out, stream.pointee.avail_out) = (out.baseAddress, UInt32(out.count))
            #expect(deflate(stream, Z_SYNC_FLUSH) == Z_OK)
            #expect(stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0)
            return out.count - Int(stream.pointee.avail_out)
        }
    }
    return Array(output[..<produced])
}

/// Inflates the first block of a brand-new SPDY/3 zlib stream with plain zlib.
/// Returns the status of the first inflate call and the zlib-reported `adler`
/// at that point, plus the inflated bytes.
private func freshInflate(_ compressed: [UInt8]) -> (firstStatus: Int32, firstAdler: UInt, output: [UInt8]) {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { inflateEnd(stream); stream.deallocate() }
    #expect(skiff_zlib_inflate_init(stream) == Z_OK)
    var input = compressed
    var output = [UInt8](repeating: 0, count: 1 << 16)
    return input.withUnsafeMutableBufferPointer { inp in
        output.withUnsafeMutableBufferPointer { out in
            (stream.pointee.next_in, stream.pointee.avail_in) = (inp.baseAddress, UInt32(inp.count))
            (stream.pointee.next_out, stream.pointee.avail_out) = (out.baseAddress, UInt32(out.count))
            let first = inflate(stream, Z_SYNC_FLUSH)
            let adler = stream.pointee.adler
            if first == Z_NEED_DICT {
                _ = SPDYDictionary.bytes.withUnsafeBufferPointer { inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count)) }
                #expect(inflate(stream, Z_SYNC_FLUSH) == Z_OK)
            }
            return (first, adler, Array(out[..<(out.count - Int(stream.pointee.avail_out))]))
        }
    }
}

private func be32(_ value: Int) -> [UInt8] {
    [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
}

/// An uncompressed header block from raw (possibly invalid) names and values.
private func rawHeaderBlock(_ pairs: [([UInt8], [UInt8])], count: Int? = nil) -> [UInt8] {
    be32(count ?? pairs.count) + pairs.flatMap { be32($0.0.count) + $0.0 + be32($0.1.count) + $0.1 }
}

private func rawHeaderBlock(_ pairs: [(String, String)]) -> [UInt8] {
    rawHeaderBlock(pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) })
}

/// A control frame header: control bit, version, type, flags, 24-bit length.
private func controlFrame(version: UInt8 = 3, type: UInt8, flags: UInt8 = 0, _ body: [UInt8]) -> [UInt8] {
    [0x80, version, 0, type, flags] + be32(body.count).dropFirst() + body
}

/// SYN_STREAM as spdystream writes it: associated stream 0, priority 0, slot 0.
private func synStreamFrame(streamID: Int, compressedHeaders: [UInt8]) -> [UInt8] {
    controlFrame(type: 1, be32(streamID) + be32(0) + [0, 0] + compressedHeaders)
}

/// Feeds `bytes` in chunks of `chunkSize`, draining frames after each chunk.
private func decodeAll(_ bytes: [UInt8], chunkSize: Int = .max, decoder: SPDYFrameDecoder = SPDYFrameDecoder()) throws -> [SPDYFrame] {
    var frames: [SPDYFrame] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + min(chunkSize, bytes.count))
        decoder.append(bytes[start..<end])
        start = end
        while let frame = try decoder.next() { frames.append(frame) }
    }
    return frames
}

/// Reproducible pseudo-random bytes (SplitMix64) for the fuzz tests.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let execHeaders = SPDYHeaderBlock([("streamtype", "stdout"), ("Content-Type", "text/plain")])

/// One of every frame type, with header frames repeated so later blocks
/// depend on the compression context built by earlier ones.
private let everyFrameType: [SPDYFrame] = [
    .synStream(streamID: 1, associatedStreamID: 0, priority: 0, fin: false, unidirectional: false,
               headers: SPDYHeaderBlock([("streamtype", "error"), ("port", "80"), ("requestid", "0")])),
    .synStream(streamID: 3, associatedStreamID: 1, priority: 7, fin: true, unidirectional: true,
               headers: SPDYHeaderBlock([("streamtype", "data"), ("port", "80"), ("requestid", "0")])),
    .synReply(streamID: 2, fin: false, headers: execHeaders),
    .synReply(streamID: 4, fin: true, headers: SPDYHeaderBlock([])),
    .headers(streamID: 5, fin: false, headers: SPDYHeaderBlock([("a", "1"), ("a", "2"), ("empty", "")])),
    .headers(streamID: 0x7FFF_FFFF, fin: true, headers: execHeaders),
    .rstStream(streamID: 7, status: 5),
    .settings(clearPrevious: true, entries: [SPDYSetting(flags: 1, id: 7, value: 65536), SPDYSetting(id: 0xFF_FFFF, value: .max)]),
    .settings(clearPrevious: false, entries: []),
    .ping(id: 0xDEAD_BEEF),
    .goAway(lastGoodStreamID: 9, status: 2),
    .windowUpdate(streamID: 0, delta: 0x7FFF_FFFF),
    .data(streamID: 1, fin: false, payload: Array("hello from the container\n".utf8)),
    .data(streamID: 3, fin: true, payload: []),
    .synReply(streamID: 6, fin: false, headers: execHeaders),
]

// MARK: - Dictionary

@Test func dictionaryHasSpecLengthAndChecksum() {
    let dictionary = SPDYDictionary.bytes
    #expect(dictionary.count == 1423)
    #expect(Array(dictionary.prefix(15)) == [0, 0, 0, 7] + Array("options".utf8) + [0, 0, 0, 4])
    let checksum = dictionary.withUnsafeBufferPointer { adler32(adler32(0, nil, 0), $0.baseAddress, UInt32($0.count)) }
    #expect(checksum == UInt(SPDYDictionary.adler32))
    #expect(SPDYDictionary.adler32 == 0xE3C6_A7C2)
}

/// SYN_STREAM bytes (headers bar: foo, foo: bar; priority 4) as compressed by
/// Chromium's SPDY/3 framer: a foreign compressor, independent of this code.
private let chromiumSynStream: [UInt8] = [
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x37, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x00, 0x38, 0xEA, 0xE3, 0xC6, 0xA7, 0xC2, 0x02, 0xE5, 0x0E, 0x50, 0xC2, 0x4B, 0x4A, 0x04,
    0xE5, 0x0B, 0x66, 0x80, 0x00, 0x4A, 0xCB, 0xCF, 0x07, 0x08, 0x20, 0x10, 0x95, 0x96, 0x9F, 0x0F,
    0xA2, 0x00, 0x02, 0x28, 0x29, 0xB1, 0x08, 0x20, 0x80, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF,
]

@Test func zlibAsksForTheDictionaryWeHave() {
    // zlib reports the DICTID from a peer's stream header; it must be ours.
    let result = freshInflate(Array(chromiumSynStream.dropFirst(18)))
    #expect(result.firstStatus == Z_NEED_DICT)
    let ours = SPDYDictionary.bytes.withUnsafeBufferPointer { adler32(adler32(0, nil, 0), $0.baseAddress, UInt32($0.count)) }
    #expect(result.firstAdler == ours)
    #expect(result.output == rawHeaderBlock([("bar", "foo"), ("foo", "bar")]))
}

// MARK: - Goldens

@Test func decodesChromiumCompressedSynStream() throws {
    let frames = try decodeAll(chromiumSynStream)
    #expect(frames == [.synStream(streamID: 1, associatedStreamID: 0, priority: 4, fin: false, unidirectional: false,
                                  headers: SPDYHeaderBlock([("bar", "foo"), ("foo", "bar")]))])
}

@Test func decodesKubectlPortForwardSynStream() throws {
    // kubectl port-forward's first frame on the wire starts 80 03 00 01 00 00 00 3d 00 00 00 01:
    // SYN_STREAM, flags 0, length 61, stream 1. Only the header prefix is known,
    // so the decoder must wait for the rest rather than fail.
    let observed: [UInt8] = [0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x01]
    let waiting = SPDYFrameDecoder()
    waiting.append(observed)
    #expect(try waiting.next() == nil)

    // The same frame rebuilt: spdystream lowercases http.Header names and
    // compresses with a fresh dictionary-primed zlib stream at best compression.
    let block = rawHeaderBlock([("streamtype", "error"), ("port", "80"), ("requestid", "0")])
    let compressed = freshDeflate(block)
    #expect(Array(compressed.prefix(6)) == [0x78, 0xF9, 0xE3, 0xC6, 0xA7, 0xC2])  // zlib header, FDICT + DICTID
    let frame = synStreamFrame(streamID: 1, compressedHeaders: compressed)
    #expect(Array(frame.prefix(5)) == Array(observed.prefix(5)))
    #expect(Array(frame[8..<12]) == Array(observed[8..<12]))

    let frames = try decodeAll(frame)
    guard case let .synStream(streamID, associated, priority, fin, unidirectional, headers)? = frames.first else {
        Issue.record("expected a SYN_STREAM, got \(frames)")
        return
    }
    #expect(frames.count == 1)
    #expect((streamID, associated, priority, fin, unidirectional) == (1, 0, 0, false, false))
    #expect(headers == SPDYHeaderBlock([("streamtype", "error"), ("port", "80"), ("requestid", "0")]))
    #expect(headers["streamtype"] == "error")
    #expect(headers["StreamType"] == "error")
    #expect(headers["port"] == "80")
    #expect(headers["requestid"] == "0")
    #expect(headers["missing"] == nil)
}

@Test func fixedLayoutFramesMatchSpecBytes() {
    let encoder = SPDYFrameEncoder()
    #expect(encoder.encode(.rstStream(streamID: 1, status: 1)) == [0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1])
    #expect(encoder.encode(.settings(clearPrevious: false, entries: [SPDYSetting(flags: 1, id: 7, value: 0x0A0B_0C0D)]))
        == [0x80, 3, 0, 4, 0, 0, 0, 0x0C, 0, 0, 0, 1, 1, 0, 0, 7, 0x0A, 0x0B, 0x0C, 0x0D])
    #expect(encoder.encode(.settings(clearPrevious: true, entries: [])) == [0x80, 3, 0, 4, 1, 0, 0, 4, 0, 0, 0, 0])
    #expect(encoder.encode(.ping(id: 0x1234_5678)) == [0x80, 3, 0, 6, 0, 0, 0, 4, 0x12, 0x34, 0x56, 0x78])
    #expect(encoder.encode(.goAway(lastGoodStreamID: 0x8000_0003, status: 1)) == [0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 1])
    #expect(encoder.encode(.windowUpdate(streamID: 5, delta: 0x10000)) == [0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 5, 0, 1, 0, 0])
    #expect(encoder.encode(.data(streamID: 0x8000_0001, fin: true, payload: [0x68, 0x69])) == [0, 0, 0, 1, 1, 0, 0, 2, 0x68, 0x69])
}

@Test func headerFramesUseSpecLayoutAndPlainZlibCanReadThem() {
    let headers = SPDYHeaderBlock([("Port", "80"), ("x", "a"), ("x", "b")])
    // Repeated names share one NUL-joined value; names go out lowercase.
    let raw = rawHeaderBlock([("port", "80"), ("x", "a\0b")])
    #expect(headers.serialized() == raw)

    let syn = SPDYFrameEncoder().encode(.synStream(streamID: 3, associatedStreamID: 1, priority: 2, fin: true, unidirectional: true, headers: headers))
    #expect(Array(syn.prefix(5)) == [0x80, 3, 0, 1, 0x03])
    #expect(Array(syn[5..<8]) == Array(be32(syn.count - 8).dropFirst()))
    #expect(Array(syn[8..<18]) == [0, 0, 0, 3, 0, 0, 0, 1, 0x40, 0])
    #expect(freshInflate(Array(syn.dropFirst(18))).output == raw)

    let reply = SPDYFrameEncoder().encode(.synReply(streamID: 3, fin: false, headers: headers))
    #expect(Array(reply.prefix(12)) == [0x80, 3, 0, 2, 0] + Array(be32(reply.count - 8).dropFirst()) + [0, 0, 0, 3])
    #expect(freshInflate(Array(reply.dropFirst(12))).output == raw)

    let more = SPDYFrameEncoder().encode(.headers(streamID: 3, fin: true, headers: headers))
    #expect(Array(more.prefix(12)) == [0x80, 3, 0, 8, 1] + Array(be32(more.count - 8).dropFirst()) + [0, 0, 0, 3])
    #expect(freshInflate(Array(more.dropFirst(12))).output == raw)
}

// MARK: - Round trips

@Test(arguments: [Int.max, 1, 7])
func roundTripsEveryFrameType(chunkSize: Int) throws {
    let encoder = SPDYFrameEncoder()
    let bytes = everyFrameType.flatMap { encoder.encode($0) }
    #expect(try decodeAll(bytes, chunkSize: chunkSize) == everyFrameType)
}

@Test func compressionContextCarriesAcrossFrames() throws {
    let encoder = SPDYFrameEncoder()
    let frames = (1...4).map { id in
        SPDYFrame.synStream(streamID: UInt32(id * 2 - 1), associatedStreamID: 0, priority: 0, fin: false, unidirectional: false,
                            headers: SPDYHeaderBlock([("streamtype", ["stdin", "stdout", "stderr", "error"][id - 1]), ("port", "8080")]))
    }
    let encoded = frames.map { encoder.encode($0) }
    // Later blocks back-reference earlier ones, so they shrink…
    #expect(encoded[1].count < encoded[0].count)
    // …and cannot be decoded without the earlier frames' context.
    #expect(throws: SPDYError.self) { try decodeAll(encoded[1]) }
    // One decoder carrying the context reads them all, in any chunking.
    #expect(try decodeAll(encoded.flatMap { $0 }, chunkSize: 1) == frames)
    #expect(try decodeAll(encoded.flatMap { $0 }, chunkSize: 5) == frames)
}

@Test func unknownControlFramesAreSkipped() throws {
    let encoder = SPDYFrameEncoder()
    let bytes = controlFrame(type: 0xFF, [1, 2, 3])
        + controlFrame(type: 10, [0, 0])  // CREDENTIAL: SPDY/3 only, gone in 3.1
        + controlFrame(type: 5, [])       // NOOP: SPDY/2 only
        + encoder.encode(.ping(id: 1))
    #expect(try decodeAll(bytes, chunkSize: 3) == [.ping(id: 1)])
}

// MARK: - Malformed input

private let malformedFrames: [(String, [UInt8])] = [
    ("SPDY/2 control frame", controlFrame(version: 2, type: 6, be32(1))),
    ("PING too long", controlFrame(type: 6, be32(1) + [0])),
    ("RST_STREAM too short", controlFrame(type: 3, be32(1))),
    ("GOAWAY SPDY/2 length", controlFrame(type: 7, be32(1))),
    ("WINDOW_UPDATE too short", controlFrame(type: 9, be32(1))),
    ("SETTINGS count mismatch", controlFrame(type: 4, be32(2) + [0, 0, 0, 7] + be32(1))),
    ("SETTINGS without count", controlFrame(type: 4, [0, 0])),
    ("SYN_STREAM too short", controlFrame(type: 1, be32(1) + be32(0))),
    ("SYN_REPLY too short", controlFrame(type: 2, [0, 0])),
    ("HEADERS with empty block", controlFrame(type: 8, be32(1))),
    ("SYN_STREAM garbage block", synStreamFrame(streamID: 1, compressedHeaders: [0xDE, 0xAD, 0xBE, 0xEF])),
    ("SYN_STREAM gzip block", synStreamFrame(streamID: 1, compressedHeaders: [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3])),
    ("zero-length name", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([("", "x")])))),
    ("uppercase name", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([("Port", "80")])))),
    ("duplicate name", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([("port", "80"), ("port", "81")])))),
    ("trailing NUL in value", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([("port", "80\0")])))),
    ("doubled NUL in value", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([("port", "80\0\081")])))),
    ("pair count too large", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([([0x61], [0x62])], count: 0x7FFF_FFFF)))),
    ("truncated pair", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(Array(rawHeaderBlock([("port", "80")]).dropLast())))),
    ("stray bytes after pairs", synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(rawHeaderBlock([("port", "80")]) + [0]))),
]

@Test(arguments: malformedFrames)
func malformedFramesThrow(name: String, bytes: [UInt8]) {
    #expect(throws: SPDYError.self, "\(name)") { try decodeAll(bytes) }
    #expect(throws: SPDYError.self, "\(name), byte by byte") { try decodeAll(bytes, chunkSize: 1) }
}

@Test func inflatedHeaderBlockIsBounded() {
    // 2 MiB of header value deflates to a few KiB: a frame well under any frame limit.
    let bomb = synStreamFrame(streamID: 1, compressedHeaders: freshDeflate(
        rawHeaderBlock([([0x61], [UInt8](repeating: 0x78, count: 2 << 20))])))
    #expect(bomb.count < 8 << 10)
    #expect(throws: SPDYError("header block inflates beyond \(1 << 20) bytes")) { _ = try decodeAll(bomb) }
}

@Test func frameLengthIsBounded() throws {
    let decoder = SPDYFrameDecoder(maxFrameLength: 16)
    // Rejected from the 8-byte header alone, before any payload is buffered.
    decoder.append([0, 0, 0, 1, 0, 0, 0, 17])
    #expect(throws: SPDYError.self) { try decoder.next() }
    #expect(try decodeAll([0, 0, 0, 1, 0, 0, 0, 16] + [UInt8](repeating: 0, count: 16), decoder: SPDYFrameDecoder(maxFrameLength: 16)).count == 1)
}

@Test func errorsAreSticky() throws {
    let decoder = SPDYFrameDecoder()
    decoder.append(controlFrame(version: 2, type: 6, be32(1)))
    #expect(throws: SPDYError.self) { try decoder.next() }
    decoder.append(SPDYFrameEncoder().encode(.ping(id: 1)))
    #expect(throws: SPDYError("unsupported SPDY version 2")) { try decoder.next() }
}

@Test func truncatedStreamsWaitForMoreBytes() throws {
    let encoder = SPDYFrameEncoder()
    let encoded = everyFrameType.map { encoder.encode($0) }
    let bytes = encoded.flatMap { $0 }
    var frameEnds: [Int] = []
    for frame in encoded { frameEnds.append((frameEnds.last ?? 0) + frame.count) }
    for cut in 0...bytes.count {
        let frames = try decodeAll(Array(bytes.prefix(cut)))
        #expect(frames == Array(everyFrameType.prefix(frameEnds.count { $0 <= cut })))
    }
}

@Test func randomAndCorruptedInputNeverTraps() {
    var rng = SplitMix64(state: 0x5EED)
    let valid = { let encoder = SPDYFrameEncoder(); return everyFrameType.flatMap { encoder.encode($0) } }()
    func drain(_ bytes: [UInt8], chunkSize: Int) {
        _ = try? decodeAll(bytes, chunkSize: chunkSize)
    }
    for round in 0..<2000 {
        let chunkSize = Int.random(in: 1...64, using: &rng)
        // Pure noise, biased towards control frames of version 3 so parsing gets past the header.
        var noise = (0..<Int.random(in: 0...256, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if round.isMultiple(of: 2), noise.count >= 8 {
            noise[0] = 0x80; noise[1] = 3; noise[2] = 0; noise[3] = UInt8.random(in: 1...9, using: &rng)
            noise[5] = 0; noise[6] = 0
        }
        drain(noise, chunkSize: chunkSize)
        // A valid stream with a few bytes flipped, deep inside real frames.
        var corrupted = valid
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            corrupted[Int.random(in: 0..<corrupted.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
        }
        drain(corrupted, chunkSize: chunkSize)
    }
}

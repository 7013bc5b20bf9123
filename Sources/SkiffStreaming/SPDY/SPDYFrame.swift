/// SPDY/3.1 frames as exchanged by kubectl's `spdystream` for `exec`, `attach`
/// and `port-forward` (SPDY/3 framing; 3.1 only adds session flow control,
/// i.e. WINDOW_UPDATE on stream 0, and drops CREDENTIAL).
///
/// Stream IDs are 31-bit; the encoder masks off the reserved high bit.
public enum SPDYFrame: Equatable, Sendable {
    /// Opens a stream. kubectl opens one per channel (stdin, stdout, stderr,
    /// error, resize; or data+error per forwarded port), named by the
    /// `streamtype` header. `priority` is 0 (highest) … 7.
    case synStream(streamID: UInt32, associatedStreamID: UInt32, priority: UInt8, fin: Bool, unidirectional: Bool, headers: SPDYHeaderBlock)
    /// Accepts a stream opened by the peer.
    case synReply(streamID: UInt32, fin: Bool, headers: SPDYHeaderBlock)
    /// Aborts a stream with a status code (1 PROTOCOL_ERROR … 11 FRAME_TOO_LARGE).
    case rstStream(streamID: UInt32, status: UInt32)
    /// Session parameters, e.g. INITIAL_WINDOW_SIZE (id 7).
    case settings(clearPrevious: Bool, entries: [SPDYSetting])
    /// Liveness probe; the receiver echoes the same id back.
    case ping(id: UInt32)
    /// Session shutdown; status 0 OK, 1 PROTOCOL_ERROR, 2 INTERNAL_ERROR.
    case goAway(lastGoodStreamID: UInt32, status: UInt32)
    /// Additional headers for an open stream.
    case headers(streamID: UInt32, fin: Bool, headers: SPDYHeaderBlock)
    /// Flow-control credit; stream 0 means the whole session (SPDY/3.1).
    case windowUpdate(streamID: UInt32, delta: UInt32)
    /// Stream payload. At most 0xFF_FFFF bytes fit in one frame.
    case data(streamID: UInt32, fin: Bool, payload: [UInt8])
}

/// One SETTINGS entry: 8-bit flags (1 PERSIST_VALUE, 2 PERSISTED),
/// 24-bit id, 32-bit value.
public struct SPDYSetting: Equatable, Sendable {
    /// PERSIST_VALUE (0x1) / PERSISTED (0x2); kubectl sends neither.
    public var flags: UInt8
    /// 24-bit setting id; the encoder drops higher bits.
    public var id: UInt32
    /// The setting's value, e.g. a window size in bytes.
    public var value: UInt32

    public init(flags: UInt8 = 0, id: UInt32, value: UInt32) {
        self.flags = flags
        self.id = id
        self.value = value
    }
}

/// The name/value pairs of SYN_STREAM, SYN_REPLY and HEADERS.
///
/// SPDY forbids repeating a name on the wire; a header with several values is
/// one NUL-separated value. Here each value is its own field: the decoder
/// splits NUL-joined values, and the encoder joins fields sharing a name at
/// the position of the first one.
public struct SPDYHeaderBlock: Equatable, Sendable {
    /// Fields in wire order; names are expected lowercase.
    public var fields: [(name: String, value: String)]

    /// Names are lowercased, as SPDY requires on the wire.
    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { (name: $0.0.lowercased(), value: $0.1) }
    }

    /// The first value for `name` (matched case-insensitively), or nil.
    public subscript(name: String) -> String? {
        let name = name.lowercased()
        return fields.first { $0.name == name }?.value
    }

    public static func == (lhs: SPDYHeaderBlock, rhs: SPDYHeaderBlock) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A malformed or unsupported byte stream. Decoding errors are fatal to the
/// connection: after one, the shared header compression context can no longer
/// be trusted, so the decoder keeps rethrowing it.
public struct SPDYError: Error, Equatable, Sendable {
    /// What was wrong, for logs.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

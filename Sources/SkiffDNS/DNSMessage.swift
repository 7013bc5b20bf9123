// The DNS message format (RFC 1035) with EDNS0 (RFC 6891). Written here because none of
// the chosen dependencies has a DNS codec; it covers what a cluster resolver answers and
// passes other record types through as opaque bytes.

/// A record type; open, because upstream answers carry types this codec does not know.
public struct DNSType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let ptr = DNSType(rawValue: 12)
    public static let mx = DNSType(rawValue: 15)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)
    public static let srv = DNSType(rawValue: 33)
    public static let dname = DNSType(rawValue: 39)
    public static let opt = DNSType(rawValue: 41)
}

/// A response code, 12 bits wide once EDNS extends it.
public struct DNSRcode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSRcode(rawValue: 0)
    public static let formErr = DNSRcode(rawValue: 1)
    public static let servFail = DNSRcode(rawValue: 2)
    public static let nxDomain = DNSRcode(rawValue: 3)
    public static let notImp = DNSRcode(rawValue: 4)
    public static let refused = DNSRcode(rawValue: 5)
    public static let badVers = DNSRcode(rawValue: 16)
}

/// The class every query we answer must carry (IN).
public let dnsClassIN: UInt16 = 1

/// Why a message could not be read; the server answers FORMERR.
public struct DNSWireError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A domain name kept in its uncompressed wire form, so labels with any bytes survive and
/// the case a client used is echoed back. Equality is exact; compare `lowercased()` forms
/// for DNS' case-insensitive matching.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// Length-prefixed labels ending with the root's zero byte.
    public let wire: [UInt8]

    public static let root = DNSName(wire: [0])

    init(wire: [UInt8]) { self.wire = wire }

    /// Dotted text, with or without the final dot; nil for empty or over-long labels.
    public init?(_ text: String) {
        var wire: [UInt8] = []
        let body = text.hasSuffix(".") ? text.dropLast() : Substring(text)
        if !body.isEmpty {
            for label in body.split(separator: ".", omittingEmptySubsequences: false) {
                let bytes = Array(label.utf8)
                guard (1...63).contains(bytes.count) else { return nil }
                wire.append(UInt8(bytes.count))
                wire += bytes
            }
        }
        wire.append(0)
        guard wire.count <= 255 else { return nil }
        self.wire = wire
    }

    /// The name with ASCII letters folded to lower case.
    public func lowercased() -> DNSName {
        DNSName(wire: wire.map { (65...90).contains($0) ? $0 | 0x20 : $0 })
    }

    /// Dotted, lower-cased text without the final dot ("" for the root): the form zone
    /// lookups use. Bytes that would be ambiguous in text are escaped as `\DDD`.
    public var lowercasedText: String { text(lowercase: true) }

    public var description: String { text(lowercase: false) + "." }

    private func text(lowercase: Bool) -> String {
        var out: [UInt8] = []
        var i = 0
        while wire[i] != 0 {
            let end = i + Int(wire[i])
            if !out.isEmpty { out.append(UInt8(ascii: ".")) }
            for b in wire[(i + 1)...end] {
                let c = lowercase && (65...90).contains(b) ? b | 0x20 : b
                if c <= 32 || c >= 127 || c == UInt8(ascii: ".") || c == UInt8(ascii: "\\") {
                    out += Array("\\\(c < 10 ? "00" : c < 100 ? "0" : "")\(c)".utf8)
                } else {
                    out.append(c)
                }
            }
            i = end + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var qclass: UInt16
    public init(name: DNSName, type: DNSType, qclass: UInt16 = dnsClassIN) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }
}

public struct SOAData: Hashable, Sendable {
    public var mname: DNSName
    public var rname: DNSName
    public var serial, refresh, retry, expire, minimum: UInt32
}

/// Record data: decoded where the codec must build it or where it holds compressible
/// names (which cannot be copied as bytes out of another message), raw otherwise.
public enum RData: Hashable, Sendable {
    /// A (4 bytes) or AAAA (16 bytes).
    case address([UInt8])
    /// CNAME, NS, PTR, DNAME.
    case name(DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(SOAData)
    case txt([[UInt8]])
    case raw([UInt8])
}

public struct ResourceRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var rclass: UInt16
    public var ttl: UInt32
    public var data: RData

    public init(name: DNSName, type: DNSType, rclass: UInt16 = dnsClassIN, ttl: UInt32, data: RData) {
        self.name = name
        self.type = type
        self.rclass = rclass
        self.ttl = ttl
        self.data = data
    }
}

/// The OPT pseudo-record's fields (RFC 6891); options are not kept.
public struct EDNS: Hashable, Sendable {
    public var udpPayloadSize: UInt16
    public var version: UInt8 = 0
    public var dnssecOK = false
    public init(udpPayloadSize: UInt16, version: UInt8 = 0, dnssecOK: Bool = false) {
        self.udpPayloadSize = udpPayloadSize
        self.version = version
        self.dnssecOK = dnssecOK
    }
}

public struct DNSMessage: Hashable, Sendable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    public var authenticData = false
    public var checkingDisabled = false
    /// The full code; the high bits travel in the OPT record, so set `edns` to send them.
    public var rcode = DNSRcode.noError
    public var questions: [DNSQuestion] = []
    public var answers: [ResourceRecord] = []
    public var authority: [ResourceRecord] = []
    /// Additional records other than OPT, which lives in `edns`.
    public var additional: [ResourceRecord] = []
    public var edns: EDNS?

    public init() {}

    /// Reads a whole message; throws on anything malformed, never traps.
    public init(parsing bytes: [UInt8]) throws {
        var r = DNSReader(bytes: bytes)
        id = try r.u16()
        let flags = try r.u16()
        isResponse = flags & 0x8000 != 0
        opcode = UInt8(flags >> 11 & 0xF)
        authoritative = flags & 0x0400 != 0
        truncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        authenticData = flags & 0x0020 != 0
        checkingDisabled = flags & 0x0010 != 0
        let counts = try (r.u16(), r.u16(), r.u16(), r.u16())
        for _ in 0..<counts.0 {
            questions.append(DNSQuestion(name: try r.name(), type: DNSType(rawValue: try r.u16()), qclass: try r.u16()))
        }
        for _ in 0..<counts.1 { answers.append(try r.record()) }
        for _ in 0..<counts.2 { authority.append(try r.record()) }
        var extendedRcode: UInt16 = 0
        for _ in 0..<counts.3 {
            let rr = try r.record()
            guard rr.type == .opt else {
                additional.append(rr)
                continue
            }
            guard edns == nil, rr.name == .root else { throw DNSWireError("misplaced or repeated OPT record") }
            edns = EDNS(udpPayloadSize: rr.rclass, version: UInt8(rr.ttl >> 16 & 0xFF), dnssecOK: rr.ttl & 0x8000 != 0)
            extendedRcode = UInt16(rr.ttl >> 24)
        }
        rcode = DNSRcode(rawValue: extendedRcode << 4 | flags & 0xF)
        guard r.offset == bytes.count else { throw DNSWireError("trailing bytes after the message") }
    }

    public func encoded() -> [UInt8] {
        var w = DNSWriter()
        w.u16(id)
        var flags = UInt16(opcode & 0xF) << 11 | rcode.rawValue & 0xF
        for (set, bit) in [(isResponse, 0x8000), (authoritative, 0x0400), (truncated, 0x0200), (recursionDesired, 0x0100),
                           (recursionAvailable, 0x0080), (authenticData, 0x0020), (checkingDisabled, 0x0010)] as [(Bool, UInt16)]
        where set { flags |= bit }
        w.u16(flags)
        for n in [questions.count, answers.count, authority.count, additional.count + (edns == nil ? 0 : 1)] {
            w.u16(UInt16(truncatingIfNeeded: n))
        }
        for q in questions {
            w.name(q.name)
            w.u16(q.type.rawValue)
            w.u16(q.qclass)
        }
        for rr in answers { w.record(rr) }
        for rr in authority { w.record(rr) }
        for rr in additional { w.record(rr) }
        if let edns {
            w.bytes.append(0)
            w.u16(DNSType.opt.rawValue)
            w.u16(edns.udpPayloadSize)
            w.u32(UInt32(rcode.rawValue >> 4 & 0xFF) << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0))
            w.u16(0)
        }
        return w.bytes
    }

    /// The reply skeleton for `query`: same ID, opcode, RD, CD and question, RA set (we
    /// recurse through the forwarder), and an OPT record when the query had one.
    public static func response(to query: DNSMessage, rcode: DNSRcode = .noError) -> DNSMessage {
        var m = DNSMessage()
        m.id = query.id
        m.isResponse = true
        m.opcode = query.opcode
        m.recursionDesired = query.recursionDesired
        m.recursionAvailable = true
        m.checkingDisabled = query.checkingDisabled
        m.rcode = rcode
        m.questions = query.questions
        if let e = query.edns { m.edns = EDNS(udpPayloadSize: UInt16(query.udpSizeLimit), dnssecOK: e.dnssecOK) }
        return m
    }

    /// The largest UDP response the client accepts: 512 without EDNS, else its advertised
    /// size, capped at 4096 to stay clear of fragmentation trouble.
    public var udpSizeLimit: Int { edns.map { min(max(Int($0.udpPayloadSize), 512), 4096) } ?? 512 }
}

/// A cursor over a message; names may point anywhere earlier in the same bytes.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw DNSWireError("message truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 { UInt16(try u8()) << 8 | UInt16(try u8()) }
    mutating func u32() throws -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard n <= bytes.count - offset else { throw DNSWireError("message truncated") }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// Reads a possibly compressed name. Every pointer must jump strictly before the
    /// segment it came from, so pointer chains cannot loop.
    mutating func name() throws -> DNSName {
        var wire: [UInt8] = []
        var pos = offset
        var segmentStart = offset
        var jumped = false
        while true {
            guard pos < bytes.count else { throw DNSWireError("name truncated") }
            let len = Int(bytes[pos])
            switch len & 0xC0 {
            case 0x00 where len == 0:
                wire.append(0)
                if !jumped { offset = pos + 1 }
                return DNSName(wire: wire)
            case 0x00:
                guard pos + len < bytes.count else { throw DNSWireError("label truncated") }
                guard wire.count + len + 2 <= 255 else { throw DNSWireError("name longer than 255 bytes") }
                wire += bytes[pos...(pos + len)]
                pos += len + 1
            case 0xC0:
                guard pos + 1 < bytes.count else { throw DNSWireError("pointer truncated") }
                let target = (len & 0x3F) << 8 | Int(bytes[pos + 1])
                guard target < segmentStart else { throw DNSWireError("compression pointer does not point backwards") }
                if !jumped { offset = pos + 2 }
                jumped = true
                segmentStart = target
                pos = target
            default:
                throw DNSWireError("unsupported label type")
            }
        }
    }

    mutating func record() throws -> ResourceRecord {
        let name = try self.name()
        let type = DNSType(rawValue: try u16())
        let rclass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let end = offset + length
        guard end <= bytes.count else { throw DNSWireError("record data truncated") }
        let data: RData
        switch type {
        case .a, .aaaa:
            guard length == (type == .a ? 4 : 16) else { throw DNSWireError("bad address length") }
            data = .address(try take(length))
        case .cname, .ns, .ptr, .dname:
            data = .name(try self.name())
        case .mx:
            data = .mx(preference: try u16(), exchange: try self.name())
        case .srv:
            data = .srv(priority: try u16(), weight: try u16(), port: try u16(), target: try self.name())
        case .soa:
            data = .soa(SOAData(mname: try self.name(), rname: try self.name(), serial: try u32(), refresh: try u32(),
                                retry: try u32(), expire: try u32(), minimum: try u32()))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end { strings.append(try take(Int(try u8()))) }
            data = .txt(strings)
        default:
            data = .raw(try take(length))
        }
        guard offset == end else { throw DNSWireError("record data length mismatch") }
        return ResourceRecord(name: name, type: type, rclass: rclass, ttl: ttl, data: data)
    }
}

/// Builds a message, compressing names against every name suffix written so far.
struct DNSWriter {
    var bytes: [UInt8] = []
    private var suffixes: [Suffix: Int] = [:]

    /// A name suffix hashed as one block of bytes (the default hashes byte by byte).
    private struct Suffix: Hashable {
        let bytes: ArraySlice<UInt8>
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    init() { bytes.reserveCapacity(512) }

    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }

    /// Writes `name`, ending in a pointer to an earlier copy of its longest known suffix.
    /// SRV targets must not be compressed (RFC 2782), hence `compress`.
    mutating func name(_ name: DNSName, compress: Bool = true) {
        var i = 0
        while name.wire[i] != 0 {
            let suffix = Suffix(bytes: name.wire[i...])
            if compress, let at = suffixes[suffix] {
                u16(0xC000 | UInt16(at))
                return
            }
            if bytes.count < 0x4000, suffixes[suffix] == nil { suffixes[suffix] = bytes.count }
            let end = i + Int(name.wire[i])
            bytes += name.wire[i...end]
            i = end + 1
        }
        bytes.append(0)
    }

    mutating func record(_ rr: ResourceRecord) {
        name(rr.name)
        u16(rr.type.rawValue)
        u16(rr.rclass)
        u32(rr.ttl)
        let lengthAt = bytes.count
        u16(0)
        switch rr.data {
        case .address(let b), .raw(let b): bytes += b
        case .name(let n): name(n)
        case .mx(let preference, let exchange):
            u16(preference)
            name(exchange)
        case .srv(let priority, let weight, let port, let target):
            u16(priority)
            u16(weight)
            u16(port)
            name(target, compress: false)
        case .soa(let soa):
            name(soa.mname)
            name(soa.rname)
            for v in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(v) }
        case .txt(let strings):
            for s in strings {
                bytes.append(UInt8(min(s.count, 255)))
                bytes += s.prefix(255)
            }
        }
        let length = bytes.count - lengthAt - 2
        bytes[lengthAt] = UInt8(length >> 8 & 0xFF)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}

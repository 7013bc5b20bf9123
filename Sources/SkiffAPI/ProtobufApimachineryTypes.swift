import SkiffCore

// apimachinery's own message types (metav1.Time, resource.Quantity, intstr.IntOrString,
// runtime.RawExtension, time.Duration) and the apiextensions JSONSchemaProps unions.

extension ProtobufDecoder.Decoder {
    /// metav1.Time keeps whole seconds, MicroTime microseconds; the zero time is null.
    func time(_ chunk: Chunk, micro: Bool, owner: Site) throws(APIError) -> JSON {
        if chunk.range.isEmpty { return .null }
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        var reader = FieldReader(chunk)
        while let (tag, value) = try reader.next() {
            switch (tag, value) {
            case (1, .varint(let v)): seconds = Int64(bitPattern: v)
            case (2, .varint(let v)): nanos = Int64(Int32(truncatingIfNeeded: v))
            case (1, _), (2, _): throw ProtobufDecoder.wrongWireType("Timestamp", tag)
            default: continue
            }
        }
        if !micro { nanos = 0 }
        nanos -= nanos % 1000
        // time.Unix normalizes nanoseconds outside [0, 1e9) into the seconds.
        let carry = nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000
        nanos -= carry * 1_000_000_000
        let (total, overflow) = seconds.addingReportingOverflow(carry)
        let goZero: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
        guard !overflow, total >= goZero, total <= 253_402_300_799 else {
            throw APIError.badRequest("proto: timestamp of \(owner) is outside the years 1 to 9999")
        }
        if total == goZero, nanos == 0 { return .null }
        let t = Timestamp(seconds: total, nanoseconds: Int32(nanos))
        return .string(micro ? t.rfc3339Micro : t.rfc3339)
    }

    /// resource.Quantity {1 string}: parsed like ParseQuantity and written canonically.
    func quantity(_ chunk: Chunk, owner: Site) throws(APIError) -> JSON {
        var text: String?
        var reader = FieldReader(chunk)
        while let (tag, value) = try reader.next() {
            guard tag == 1 else { continue }
            guard case .bytes(let r) = value else { throw ProtobufDecoder.wrongWireType("Quantity", tag) }
            text = ProtobufDecoder.string(chunk.buffer, r)
        }
        guard let text else { return "0" }
        do {
            return .string(try Quantity(parsing: text).description)
        } catch {
            throw APIError.badRequest("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (\(owner): \"\(text)\")")
        }
    }

    /// intstr.IntOrString {1 type (0 int, 1 string), 2 intVal, 3 strVal}.
    func intOrString(_ chunk: Chunk, owner: Site) throws(APIError) -> JSON {
        var kind: Int64 = 0
        var intVal: Int32 = 0
        var strVal = ""
        var reader = FieldReader(chunk)
        while let (tag, value) = try reader.next() {
            switch (tag, value) {
            case (1, .varint(let v)): kind = Int64(bitPattern: v)
            case (2, .varint(let v)): intVal = Int32(truncatingIfNeeded: v)
            case (3, .bytes(let r)): strVal = ProtobufDecoder.string(chunk.buffer, r)
            case (1, _), (2, _), (3, _): throw ProtobufDecoder.wrongWireType("IntOrString", tag)
            default: continue
            }
        }
        switch kind {
        case 0: return .number(JSONNumber(Int64(intVal)))
        case 1: return .string(strVal)
        default: throw APIError.badRequest("impossible IntOrString.Type \(kind) in \(owner)")
        }
    }

    /// runtime.RawExtension, apiextensions JSON and FieldsV1: {1 raw JSON}; nil is null.
    /// An embedded object may itself be Protobuf (magic prefix), as a Go client may send it.
    func rawJSON(_ chunk: Chunk, owner: Site, depth: Int) throws(APIError) -> JSON {
        var raw: Range<Int>?
        var reader = FieldReader(chunk)
        while let (tag, value) = try reader.next() {
            guard tag == 1 else { continue }
            guard case .bytes(let r) = value else { throw ProtobufDecoder.wrongWireType("RawExtension", tag) }
            raw = r
        }
        guard let raw, !raw.isEmpty else { return .null }
        let bytes = chunk.buffer[raw]
        if bytes.starts(with: ProtobufDecoder.magic) {
            return try ProtobufDecoder.decode(Array(bytes), schema: schema, depth: depth)
        }
        let parsed: JSON
        do {
            parsed = try JSON.parse(bytes)
        } catch {
            throw APIError.badRequest("\(owner): raw value is not JSON: \(error)")
        }
        guard depth + parsed.nestingDepth(limit: 512) <= 512 else { throw Self.tooDeep }
        return parsed
    }

    /// JSONSchemaPropsOrArray {1 schema, 2 repeated schemas}, ...OrBool {1 allows,
    /// 2 schema}, ...OrStringArray {1 schema, 2 repeated property}: the JSON is one branch.
    func union(_ special: Special?, _ chunk: Chunk, owner: Site, depth: Int) throws(APIError) -> JSON {
        guard let props = schema[type: "apiextensions/v1.JSONSchemaProps"] else {
            throw APIError.internalError("schema type apiextensions/v1.JSONSchemaProps is missing")
        }
        var schemaParts: [WireValue] = []
        var list: [JSON] = []
        var allows = false
        var reader = FieldReader(chunk)
        while let (tag, value) = try reader.next() {
            switch (special, tag, value) {
            case (.orArray, 1, .bytes), (.orStringArray, 1, .bytes), (.orBool, 2, .bytes):
                schemaParts.append(value)
            case (.orArray, 2, .bytes(let r)):
                list.append(.object(try message(Chunk(buffer: chunk.buffer, range: r), as: props, depth: depth + 1)))
            case (.orStringArray, 2, .bytes(let r)):
                list.append(.string(ProtobufDecoder.string(chunk.buffer, r)))
            case (.orBool, 1, .varint(let v)):
                allows = v != 0
            case (_, 1, _), (_, 2, _):
                throw ProtobufDecoder.wrongWireType(owner)
            default:
                continue
            }
        }
        let schemaJSON: JSON? = schemaParts.isEmpty ? nil
            : .object(try message(mergedMessage(schemaParts, chunk.buffer, owner), as: props, depth: depth + 1))
        switch special {
        case .orArray: return list.isEmpty ? schemaJSON ?? .null : .array(list)
        case .orStringArray: return list.isEmpty ? schemaJSON ?? .null : .array(list)
        default: return schemaJSON ?? .bool(allows)
        }
    }
}

extension ProtobufDecoder {
    /// time.Duration.String(): "1h2m3.5s", "1.5ms", "0s".
    static func goDuration(_ d: Int64) -> String {
        var u = d.magnitude
        var text: String
        /// The digits of u mod 10^prec as a fraction without trailing zeros; u is divided.
        func fraction(_ prec: Int) -> String {
            var digits: [UInt8] = []
            var significant = false
            for _ in 0..<prec {
                let digit = UInt8(u % 10)
                significant = significant || digit != 0
                if significant { digits.append(digit + 48) }
                u /= 10
            }
            return significant ? "." + String(decoding: digits.reversed(), as: UTF8.self) : ""
        }
        if u < 1_000_000_000 {
            if u == 0 { return "0s" }
            let unit: String
            let prec: Int
            if u < 1_000 {
                (unit, prec) = ("ns", 0)
            } else if u < 1_000_000 {
                (unit, prec) = ("µs", 3)
            } else {
                (unit, prec) = ("ms", 6)
            }
            let frac = fraction(prec)
            text = String(u) + frac + unit
        } else {
            let frac = fraction(9)
            text = String(u % 60) + frac + "s"
            u /= 60
            if u > 0 {
                text = String(u % 60) + "m" + text
                u /= 60
                if u > 0 { text = String(u) + "h" + text }
            }
        }
        return d < 0 ? "-" + text : text
    }
}

fileprivate extension JSON {
    /// Nesting depth of arrays and objects, counting no further than `limit`.
    func nestingDepth(limit: Int) -> Int {
        guard limit > 0 else { return 0 }
        switch self {
        case .array(let items): return 1 + (items.map { $0.nestingDepth(limit: limit - 1) }.max() ?? 0)
        case .object(let o): return 1 + (o.values.map { $0.nestingDepth(limit: limit - 1) }.max() ?? 0)
        default: return 0
        }
    }
}

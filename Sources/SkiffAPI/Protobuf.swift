import SkiffCore

/// Decodes Kubernetes Protobuf request bodies (`application/vnd.kubernetes.protobuf`) into
/// the JSON object the client would have sent as JSON. kubectl 1.32+ sends `create` bodies
/// only this way. The result is what Go would get by unmarshalling into the typed struct
/// (gogo-protobuf) and marshalling that as JSON, so the schema's `ptr`, `noomit` and
/// `inline` flags decide which empty values appear (`creationTimestamp: null`, `status: {}`).
///
/// The body is the magic `k8s\0` and a runtime.Unknown: 1 TypeMeta {1 apiVersion, 2 kind},
/// 2 the raw message of the kind, 3 contentEncoding and 4 contentType (both ignored, as
/// upstream does). Unknown fields are skipped; malformed input is a 400, never a crash.
public enum ProtobufDecoder {
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    /// Nesting limit in messages; a CRD schema of 40 nested properties needs about 90.
    static let maxDepth = 200

    public static func decode(_ body: [UInt8], schema: APISchema) throws(APIError) -> JSON {
        try decode(body, schema: schema, depth: 0)
    }

    static func decode(_ body: [UInt8], schema: APISchema, depth: Int) throws(APIError) -> JSON {
        guard body.count >= magic.count, Array(body.prefix(magic.count)) == magic else {
            throw .badRequest("provided data does not appear to be a protobuf message, expected prefix \(magic)")
        }
        guard body.count > magic.count else { throw .badRequest("empty body") }
        var apiVersion = "", kind = ""
        var raw = Chunk(buffer: body, range: body.count..<body.count)
        var reader = FieldReader(Chunk(buffer: body, range: magic.count..<body.count))
        while let (tag, value) = try reader.next() {
            switch (tag, value) {
            case (1, .bytes(let r)):
                var meta = FieldReader(Chunk(buffer: body, range: r))
                while let (t, v) = try meta.next() {
                    switch (t, v) {
                    case (1, .bytes(let s)): apiVersion = string(body, s)
                    case (2, .bytes(let s)): kind = string(body, s)
                    case (1, _), (2, _): throw wrongWireType("TypeMeta", t)
                    default: continue
                    }
                }
            case (2, .bytes(let r)): raw = Chunk(buffer: body, range: r)
            case (1, _), (2, _), (3, .varint), (3, .fixed32), (3, .fixed64), (4, .varint), (4, .fixed32), (4, .fixed64):
                throw wrongWireType("Unknown", tag)
            default: continue
            }
        }
        guard !kind.isEmpty else { throw .badRequest("Object 'Kind' is missing in protobuf envelope") }
        guard !apiVersion.isEmpty else { throw .badRequest("Object 'apiVersion' is missing in protobuf envelope") }
        guard let type = objectType(apiVersion: apiVersion, kind: kind, schema: schema) else {
            throw .badRequest("no kind \"\(kind)\" is registered for version \"\(apiVersion)\"")
        }
        let fields = try Decoder(schema: schema).message(raw, as: type, depth: depth + 1)
        var object = JSONObject()
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        for (key, value) in fields where key != "apiVersion" && key != "kind" { object[key] = value }
        return .object(object)
    }

    /// "apps/v1"+"Deployment" -> apps/v1.Deployment; "v1" is the core group; a group's
    /// package is its first label ("rbac.authorization.k8s.io/v1" -> rbac/v1). Only built-in
    /// groups (one label, or under k8s.io) map, so apps.example.com/v1 is not apps/v1. Option
    /// kinds (DeleteOptions, Status) are registered in every group version but live in meta/v1.
    static func objectType(apiVersion: String, kind: String, schema: APISchema) -> APISchema.TypeDef? {
        let parts = apiVersion.split(separator: "/", omittingEmptySubsequences: false)
        let package: String
        switch parts.count {
        case 1: package = "core/\(parts[0])"
        case 2 where !parts[0].contains(".") || parts[0].hasSuffix(".k8s.io"):
            package = "\(parts[0].split(separator: ".").first ?? "")/\(parts[1])"
        default: return nil
        }
        if let t = schema[type: "\(package).\(kind)"], t.isObject { return t }
        if ["DeleteOptions", "Status"].contains(kind), let t = schema[type: "meta/v1.\(kind)"] { return t }
        return nil
    }

    static func string(_ buffer: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: buffer[range], as: UTF8.self)
    }

    static func wrongWireType(_ message: String, _ tag: Int) -> APIError {
        .badRequest("proto: wrong wireType for field \(tag) of \(message)")
    }

    static func wrongWireType(_ site: Site) -> APIError {
        .badRequest("proto: wrong wireType for field \(site)")
    }

    /// Fields whose wire message is not what their schema type (`any`) suggests: the
    /// apiextensions "JSONSchemaPropsOr..." unions and pointers to empty structs.
    enum Special { case orArray, orBool, orStringArray, emptyObject }

    static let specials: [String: [String: Special]] = [
        "apiextensions/v1.JSONSchemaProps": [
            "items": .orArray, "additionalProperties": .orBool, "additionalItems": .orBool, "dependencies": .orStringArray,
        ],
        "apiextensions/v1.CustomResourceSubresources": ["status": .emptyObject],
        "scheduling/v1alpha3.WorkloadPodGroupSchedulingPolicy": ["basic": .emptyObject],
        "scheduling/v1alpha3.WorkloadPodGroupDisruptionMode": ["single": .emptyObject, "all": .emptyObject],
    ]

    /// Where a value sits: names the field in errors and finds the special fields.
    struct Site: CustomStringConvertible {
        var type: String
        var field: String
        var description: String { "\(type).\(field)" }
        var special: Special? { ProtobufDecoder.specials[type]?[field] }
    }
}

// MARK: - Wire format

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

// MARK: - Messages to JSON

extension ProtobufDecoder {
    struct Decoder {
        let schema: APISchema

        static let tooDeep = APIError.badRequest("proto: messages nest deeper than \(ProtobufDecoder.maxDepth)")

        /// A message of a schema type as the JSON object Go would write for it.
        func message(_ chunk: Chunk, as type: APISchema.TypeDef, depth: Int) throws(APIError) -> JSONObject {
            guard depth <= ProtobufDecoder.maxDepth else { throw Self.tooDeep }
            var found = [[WireValue]](repeating: [], count: type.declaredFields.count)
            var reader = FieldReader(chunk)
            while let (tag, value) = try reader.next() {
                guard let tagIndex = type.tagIndex[tag] else { continue }
                found[tagIndex].append(value)
            }
            var out = JSONObject()
            for i in type.declaredFields.indices where !found[i].isEmpty || type.showsWhenAbsent[i] {
                let field = type.declaredFields[i]
                let owner = Site(type: type.name, field: field.name)
                if field.isInline {
                    // Go embeds the struct by value: its fields appear even when it is absent.
                    guard case .ref(let name) = field.type, let inner = schema[type: name] else { continue }
                    let merged = try mergedMessage(found[i], chunk.buffer, owner)
                    for (key, value) in try message(merged, as: inner, depth: depth + 1) { out[key] = value }
                } else if let value = try self.field(field, found[i], chunk.buffer, owner: owner, depth: depth) {
                    out[field.name] = value
                }
            }
            return out
        }

        /// One field's JSON value, or nil when Go's encoder would leave it out.
        func field(_ field: APISchema.Field, _ values: [WireValue], _ buffer: [UInt8], owner: Site, depth: Int) throws(APIError) -> JSON? {
            switch field.type {
            case .array(let element):
                var items: [JSON] = []
                for value in values { try appendElements(value, of: element, buffer, to: &items, owner: owner, depth: depth) }
                if items.isEmpty { return field.omitsEmpty ? nil : .null }
                return .array(items)
            case .map(let valueType):
                var entries = JSONObject()
                for value in values {
                    guard case .bytes(let r) = value else { throw wrongWireType(owner) }
                    let (key, v) = try mapEntry(Chunk(buffer: buffer, range: r), valueType, owner: owner, depth: depth + 1)
                    entries[key] = v
                }
                if entries.isEmpty { return field.omitsEmpty ? nil : .null }
                return .object(entries)
            case .string, .int32, .int64, .bool, .double, .bytes:
                guard let last = values.last else { return absent(field, depth: depth) }
                let (value, isZero) = try scalar(field.type, last, buffer, owner: owner)
                if isZero, field.omitsEmpty, !field.isPointer || field.type == .bytes { return nil }
                return value
            case .quantity, .time, .microTime:
                // Their Unmarshal replaces the value, so the last occurrence wins.
                guard let last = values.last else { return absent(field, depth: depth) }
                guard case .bytes(let r) = last else { throw wrongWireType(owner) }
                return try messageValue(field.type, Chunk(buffer: buffer, range: r), owner: owner, depth: depth + 1)
            case .intOrString, .duration, .any, .ref:
                guard !values.isEmpty else { return absent(field, depth: depth) }
                let merged = try mergedMessage(values, buffer, owner)
                return try messageValue(field.type, merged, owner: owner, depth: depth + 1)
            }
        }

        /// What Go writes for a field the message does not carry.
        func absent(_ field: APISchema.Field, depth: Int) -> JSON? {
            if field.omitsEmpty { return nil }
            if field.isPointer { return .null }
            return zero(field.type, depth: depth)
        }

        /// The JSON of a Go zero value (nil slices and maps are null).
        func zero(_ type: APISchema.FieldType, depth: Int) -> JSON {
            switch type {
            case .string: return ""
            case .int32, .int64, .double: return 0
            case .bool: return false
            case .bytes, .array, .map, .time, .microTime, .any: return .null
            case .quantity: return "0"
            case .intOrString: return 0
            case .duration: return "0s"
            case .ref(let name):
                // An empty message never fails to decode; a schema cycle stops at maxDepth.
                guard let t = schema[type: name], let o = try? message(.empty, as: t, depth: depth + 1) else { return .object(JSONObject()) }
                return .object(o)
            }
        }

        /// Repeated message fields merge: decoding the concatenation is what proto does.
        func mergedMessage(_ values: [WireValue], _ buffer: [UInt8], _ owner: Site) throws(APIError) -> Chunk {
            var ranges: [Range<Int>] = []
            for value in values {
                guard case .bytes(let r) = value else { throw wrongWireType(owner) }
                ranges.append(r)
            }
            guard let first = ranges.first else { return .empty }
            if ranges.count == 1 { return Chunk(buffer: buffer, range: first) }
            var joined: [UInt8] = []
            for r in ranges { joined.append(contentsOf: buffer[r]) }
            return Chunk(buffer: joined, range: 0..<joined.count)
        }

        /// Appends one occurrence of a repeated field: one element, or several when packed.
        func appendElements(_ value: WireValue, of element: APISchema.FieldType, _ buffer: [UInt8], to items: inout [JSON], owner: Site, depth: Int) throws(APIError) {
            switch (element, value) {
            case (.int32, .bytes(let r)), (.int64, .bytes(let r)), (.bool, .bytes(let r)):
                var packed = FieldReader(Chunk(buffer: buffer, range: r))
                while packed.pos < packed.end { items.append(try scalar(element, .varint(packed.varint()), buffer, owner: owner).0) }
            case (.double, .bytes(let r)):
                guard r.count % 8 == 0 else { throw APIError.badRequest("proto: packed doubles of \(owner) are not a multiple of 8 bytes") }
                var packed = FieldReader(Chunk(buffer: buffer, range: r))
                while packed.pos < packed.end { items.append(try scalar(element, .fixed64(packed.fixed(8)), buffer, owner: owner).0) }
            case (.string, _), (.bytes, _), (.int32, _), (.int64, _), (.bool, _), (.double, _):
                items.append(try scalar(element, value, buffer, owner: owner).0)
            case (_, .bytes(let r)):
                items.append(try messageValue(element, Chunk(buffer: buffer, range: r), owner: owner, depth: depth + 1))
            default:
                throw wrongWireType(owner)
            }
        }

        /// A map entry message {1 key, 2 value}; a missing value is the Go zero value.
        func mapEntry(_ chunk: Chunk, _ valueType: APISchema.FieldType, owner: Site, depth: Int) throws(APIError) -> (String, JSON) {
            guard depth <= ProtobufDecoder.maxDepth else { throw Self.tooDeep }
            var key = ""
            var values: [WireValue] = []
            var reader = FieldReader(chunk)
            while let (tag, value) = try reader.next() {
                switch (tag, value) {
                case (1, .bytes(let r)): key = ProtobufDecoder.string(chunk.buffer, r)
                case (1, _): throw wrongWireType(owner)
                case (2, _): values.append(value)
                default: continue
                }
            }
            switch valueType {
            case .string, .int32, .int64, .bool, .double, .bytes:
                guard let last = values.last else { return (key, valueType == .bytes ? "" : zero(valueType, depth: depth)) }
                return (key, try scalar(valueType, last, chunk.buffer, owner: owner).0)
            case .array(let element):
                // map[string][]T: the value is a message wrapping the list as field 1 (like
                // AttestationValue); Go makes it a non-nil slice, so an empty one is [].
                let wrapper = try mergedMessage(values, chunk.buffer, owner)
                var items: [JSON] = []
                var reader = FieldReader(wrapper)
                while let (tag, value) = try reader.next() {
                    guard tag == 1 else { continue }
                    try appendElements(value, of: element, wrapper.buffer, to: &items, owner: owner, depth: depth)
                }
                return (key, .array(items))
            default:
                let merged = try mergedMessage(values, chunk.buffer, owner)
                return (key, try messageValue(valueType, merged, owner: owner, depth: depth + 1))
            }
        }

        /// A scalar and whether it is Go's zero value (for omitempty).
        func scalar(_ type: APISchema.FieldType, _ value: WireValue, _ buffer: [UInt8], owner: Site) throws(APIError) -> (JSON, Bool) {
            switch (type, value) {
            case (.string, .bytes(let r)):
                return (.string(ProtobufDecoder.string(buffer, r)), r.isEmpty)
            case (.bytes, .bytes(let r)):
                return (.string(Base64.encode(buffer[r])), r.isEmpty)
            case (.int32, .varint(let v)):
                let n = Int32(truncatingIfNeeded: v)
                return (.number(JSONNumber(Int64(n))), n == 0)
            case (.int64, .varint(let v)):
                let n = Int64(bitPattern: v)
                return (.number(JSONNumber(n)), n == 0)
            case (.bool, .varint(let v)):
                return (.bool(v != 0), v == 0)
            case (.double, .fixed64(let v)):
                let d = Double(bitPattern: v)
                guard d.isFinite else { throw APIError.badRequest("json: unsupported value: \(d) in \(owner)") }
                return (.number(JSONNumber(d)), d == 0)
            default:
                throw wrongWireType(owner)
            }
        }

        /// The JSON of a message-typed value: a schema type or one of apimachinery's own.
        func messageValue(_ type: APISchema.FieldType, _ chunk: Chunk, owner: Site, depth: Int) throws(APIError) -> JSON {
            guard depth <= ProtobufDecoder.maxDepth else { throw Self.tooDeep }
            switch type {
            case .ref(let name):
                guard let t = schema[type: name] else { throw APIError.internalError("schema type \(name) is missing") }
                return .object(try message(chunk, as: t, depth: depth))
            case .time, .microTime:
                return try time(chunk, micro: type == .microTime, owner: owner)
            case .quantity:
                return try quantity(chunk, owner: owner)
            case .intOrString:
                return try intOrString(chunk, owner: owner)
            case .duration:
                var nanos: Int64 = 0
                var reader = FieldReader(chunk)
                while let (tag, value) = try reader.next() {
                    guard tag == 1 else { continue }
                    guard case .varint(let v) = value else { throw wrongWireType("Duration", tag) }
                    nanos = Int64(bitPattern: v)
                }
                return .string(ProtobufDecoder.goDuration(nanos))
            case .any:
                let special = owner.special
                switch special {
                case .emptyObject: return .object(JSONObject())
                case .orArray, .orBool, .orStringArray: return try union(special, chunk, owner: owner, depth: depth)
                case nil: return try rawJSON(chunk, owner: owner, depth: depth)
                }
            case .array, .map, .string, .int32, .int64, .bool, .double, .bytes:
                throw APIError.internalError("\(owner): \(type) is not a message type")
            }
        }

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
                case (1, _), (2, _): throw wrongWireType("Timestamp", tag)
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
                guard case .bytes(let r) = value else { throw wrongWireType("Quantity", tag) }
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
                case (1, _), (2, _), (3, _): throw wrongWireType("IntOrString", tag)
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
                guard case .bytes(let r) = value else { throw wrongWireType("RawExtension", tag) }
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
                    throw wrongWireType(owner)
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

/// Standard base64 with padding, as encoding/json writes []byte.
fileprivate enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let n = min(3, bytes.endIndex - i)
            let b0 = UInt32(bytes[i])
            let b1 = n > 1 ? UInt32(bytes[i + 1]) : 0
            let b2 = n > 2 ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(n > 1 ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(n > 2 ? alphabet[Int(v & 63)] : UInt8(ascii: "="))
            i += n
        }
        return String(decoding: out, as: UTF8.self)
    }
}

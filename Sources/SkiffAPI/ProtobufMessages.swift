import SkiffCore

// Messages to JSON: schema types field by field, with Go's omitempty and zero values.

extension ProtobufDecoder {
    struct Decoder {
        // Extensions of a nested type do not see the outer type's names; these let the
        // Decoder extension in ProtobufApimachineryTypes.swift use them unqualified.
        typealias Chunk = ProtobufDecoder.Chunk
        typealias FieldReader = ProtobufDecoder.FieldReader
        typealias WireValue = ProtobufDecoder.WireValue
        typealias Site = ProtobufDecoder.Site
        typealias Special = ProtobufDecoder.Special

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

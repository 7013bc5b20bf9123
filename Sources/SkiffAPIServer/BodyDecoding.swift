import SkiffCore
import Yams

/// Request bodies: JSON (the default, also when no Content-Type is sent, as the Python
/// client does) and YAML; other media types get 415 as upstream answers them.
enum BodyDecoding {
    static let maxBodyBytes = 3 * 1024 * 1024

    /// The media type without parameters, lowercased; "" when absent.
    static func mediaType(_ contentType: String?) -> String {
        guard let contentType else { return "" }
        return contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    static func decodeObject(_ req: APIRequest) throws(APIError) -> JSON {
        if req.body.count > maxBodyBytes { throw .tooLarge() }
        switch mediaType(req.header("content-type")) {
        case "", "application/json", "*/*":
            return try parseJSON(req.body)
        case "application/yaml", "application/x-yaml", "text/yaml":
            return try parseYAML(req.body)
        case "application/vnd.kubernetes.protobuf":
            return try ProtobufDecoding.decode(req.body)
        default:
            throw .unsupportedMediaType(req.header("content-type") ?? "")
        }
    }

    static func parseJSON(_ bytes: [UInt8]) throws(APIError) -> JSON {
        do {
            return try JSON.parse(bytes)
        } catch {
            throw .badRequest("couldn't get version/kind; json parse error: \(error)")
        }
    }

    static func parseYAML(_ bytes: [UInt8]) throws(APIError) -> JSON {
        do {
            guard let node = try Yams.compose(yaml: String(decoding: bytes, as: UTF8.self)) else { return .null }
            return try json(from: node)
        } catch let e as APIError {
            throw e
        } catch {
            throw .badRequest("error converting YAML to JSON: \(error)")
        }
    }

    /// Converts a YAML tree to JSON, keeping mapping order and number text.
    static func json(from node: Node) throws -> JSON {
        switch node {
        case .scalar(let s):
            switch Tag.Name(rawValue: s.tag.rawValue) {
            case .null: return .null
            case .bool: return .bool(["true", "yes", "on", "y"].contains(s.string.lowercased()))
            case .int:
                if let v = Int64(s.string) { return .number(JSONNumber(v)) }
                return .string(s.string)
            case .float:
                if let d = Double(s.string), d.isFinite { return .number(JSONNumber(literal: s.string.hasPrefix("+") ? String(s.string.dropFirst()) : normalizedFloat(s.string))) }
                return .string(s.string)
            default: return .string(s.string)
            }
        case .mapping(let m):
            var o = JSONObject()
            for (k, v) in m {
                guard let key = k.string else { throw APIError.badRequest("error converting YAML to JSON: mapping keys must be strings") }
                o[key] = try json(from: v)
            }
            return .object(o)
        case .sequence(let seq):
            return .array(try seq.map { try json(from: $0) })
        case .alias:
            throw APIError.badRequest("error converting YAML to JSON: aliases are not supported")
        }
    }

    /// YAML floats such as "1." or ".5" are not JSON numbers; write them as JSON does.
    static func normalizedFloat(_ s: String) -> String {
        if let d = Double(s), (try? JSON.parse(s)) == nil { return "\(d)" }
        return s
    }
}

/// The Accept header: JSON, or a Table for `kubectl get`.
struct Accept {
    var wantsTable = false
    var includeObject = "Metadata"

    init(_ header: String?, query: APIRequest) {
        guard let header else { return }
        for part in header.split(separator: ",") {
            let params = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard params.first == "application/json" || params.first == "application/vnd.kubernetes.protobuf" else { continue }
            if params.contains("as=Table") {
                wantsTable = true
                break
            }
            if params.count == 1 { break }
        }
        if let include = query.queryValue("includeObject") { includeObject = include }
    }
}

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
            return scalar(s.string, plain: s.style == .plain)
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

    /// Resolves a YAML scalar as the YAML 1.2 core schema does: quoted scalars are
    /// strings; plain ones may be null, booleans or numbers.
    static func scalar(_ text: String, plain: Bool) -> JSON {
        guard plain else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let n = Int64(text) { return .number(JSONNumber(n)) }
        let isNumeric = text.allSatisfy { "0123456789.eE+-".contains($0) } && text.contains(where: \.isNumber)
        if isNumeric, let d = Double(text), d.isFinite {
            // Keep the literal when it is valid JSON ("1.5"), else Double's spelling ("1." -> "1.0").
            let literal = text.hasPrefix("+") ? String(text.dropFirst()) : text
            return .number(JSONNumber(literal: (try? JSON.parse(literal)) != nil ? literal : "\(d)"))
        }
        return .string(text)
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

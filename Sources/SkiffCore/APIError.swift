/// An API failure as Kubernetes reports it: an HTTP code, a `StatusReason`, a message and
/// optional details. Every error a client sees is one of these, serialized as metav1.Status.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Cause: Sendable, Equatable {
        public var type: String
        public var message: String
        public var field: String
        public init(type: String, message: String, field: String) {
            self.type = type
            self.message = message
            self.field = field
        }
    }

    public var code: Int
    public var reason: String
    public var message: String
    public var name: String?
    public var group: String?
    public var kind: String?
    public var causes: [Cause]
    public var retryAfterSeconds: Int?

    public init(
        code: Int, reason: String, message: String, name: String? = nil, group: String? = nil,
        kind: String? = nil, causes: [Cause] = [], retryAfterSeconds: Int? = nil
    ) {
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code) \(reason): \(message)" }

    /// `resource` is the plural resource name qualified by group ("deployments.apps"), as
    /// upstream prints it.
    public static func notFound(_ resource: String, _ name: String, group: String = "", kind: String? = nil) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(qualified(resource, group)) \"\(name)\" not found",
                 name: name, group: group, kind: kind ?? resource)
    }

    public static func alreadyExists(_ resource: String, _ name: String, group: String = "") -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(qualified(resource, group)) \"\(name)\" already exists",
                 name: name, group: group, kind: resource)
    }

    public static func conflict(_ resource: String, _ name: String, group: String = "", _ why: String) -> APIError {
        APIError(code: 409, reason: "Conflict",
                 message: "Operation cannot be fulfilled on \(qualified(resource, group)) \"\(name)\": \(why)",
                 name: name, group: group, kind: resource)
    }

    public static func invalid(kind: String, name: String, group: String = "", causes: [Cause]) -> APIError {
        let list = causes.map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" }
        let summary = list.count == 1 ? list[0] : "[" + list.joined(separator: ", ") + "]"
        let groupKind = group.isEmpty ? kind : "\(kind).\(group)"
        return APIError(code: 422, reason: "Invalid", message: "\(groupKind) \"\(name)\" is invalid: \(summary)",
                        name: name, group: group, kind: kind, causes: causes)
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    public static func unsupportedMediaType(_ contentType: String) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType", message: "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf")
    }

    public static func notAcceptable(_ message: String) -> APIError {
        APIError(code: 406, reason: "NotAcceptable", message: message)
    }

    public static func unauthorized() -> APIError {
        APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }

    public static func forbidden(_ message: String) -> APIError {
        APIError(code: 403, reason: "Forbidden", message: message)
    }

    /// An admission refusal about one object (upstream's NewForbidden).
    public static func forbidden(_ resource: String, _ name: String, group: String = "", _ why: String) -> APIError {
        let subject = name.isEmpty ? qualified(resource, group) : "\(qualified(resource, group)) \"\(name)\""
        return APIError(code: 403, reason: "Forbidden", message: "\(subject) is forbidden: \(why)", name: name, group: group, kind: resource)
    }

    public static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    public static func tooLarge() -> APIError {
        APIError(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is 3145728")
    }

    public static func tooManyRequests(_ message: String = "Too many requests, please try again later.", retryAfter: Int = 1) -> APIError {
        APIError(code: 429, reason: "TooManyRequests", message: message, retryAfterSeconds: retryAfter)
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    public static func serviceUnavailable(_ message: String) -> APIError {
        APIError(code: 503, reason: "ServiceUnavailable", message: message)
    }

    static func qualified(_ resource: String, _ group: String) -> String {
        group.isEmpty ? resource : "\(resource).\(group)"
    }

    /// The metav1.Status object for this error.
    public var status: JSON {
        var s: JSON = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": .string(message)]
        // Upstream omits an empty reason (errors it has no StatusReason for).
        if !reason.isEmpty { s["reason"] = .string(reason) }
        var details = JSONObject()
        if let name, !name.isEmpty { details["name"] = .string(name) }
        if let group, !group.isEmpty { details["group"] = .string(group) }
        if let kind, !kind.isEmpty { details["kind"] = .string(kind) }
        if !causes.isEmpty {
            details["causes"] = .array(causes.map { c in
                var o = JSONObject()
                o["reason"] = .string(c.type)
                o["message"] = .string(c.message)
                if !c.field.isEmpty { o["field"] = .string(c.field) }
                return .object(o)
            })
        }
        if let retryAfterSeconds { details["retryAfterSeconds"] = .number(JSONNumber(retryAfterSeconds)) }
        if !details.isEmpty { s["details"] = .object(details) }
        s["code"] = .number(JSONNumber(code))
        return s
    }
}

extension APIError.Cause {
    public static func required(_ field: String) -> Self {
        .init(type: "FieldValueRequired", message: "Required value", field: field)
    }
    public static func invalid(_ field: String, _ value: String, _ detail: String) -> Self {
        .init(type: "FieldValueInvalid", message: "Invalid value: \"\(value)\": \(detail)", field: field)
    }
    /// A number, printed bare as Go's field.Invalid prints an int.
    public static func invalid(_ field: String, _ value: Int64, _ detail: String) -> Self {
        .init(type: "FieldValueInvalid", message: "Invalid value: \(value): \(detail)", field: field)
    }
    public static func unsupported(_ field: String, _ value: String, _ allowed: [String]) -> Self {
        .init(type: "FieldValueNotSupported",
              message: "Unsupported value: \"\(value)\": supported values: \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))",
              field: field)
    }
    public static func forbidden(_ field: String, _ detail: String) -> Self {
        .init(type: "FieldValueForbidden", message: "Forbidden: \(detail)", field: field)
    }
    public static func duplicate(_ field: String, _ value: String) -> Self {
        .init(type: "FieldValueDuplicate", message: "Duplicate value: \"\(value)\"", field: field)
    }
    public static func unknownField(_ field: String) -> Self {
        .init(type: "FieldValueInvalid", message: "unknown field \"\(field)\"", field: field)
    }
}

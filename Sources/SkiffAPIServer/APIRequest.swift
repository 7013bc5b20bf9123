import SkiffCore

/// A request as the API handler sees it, independent of the HTTP server, so the whole
/// API can be exercised in tests without sockets.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: [String]]
    public var headers: [String: String]
    public var body: [UInt8]
    /// The authenticated user ("system:admin"...), set by authentication.
    public var user: String?
    /// The user's groups (a client certificate's O), set by authentication.
    public var groups: [String] = []

    public init(method: String, path: String, query: [String: [String]] = [:], headers: [String: String] = [:], body: [UInt8] = [], user: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.user = user
    }

    /// Parses "path?a=b&c=d" (tests and tools).
    public init(_ method: String, _ target: String, body: String = "", headers: [String: String] = [:]) {
        let parts = target.split(separator: "?", maxSplits: 1)
        self.init(method: method, path: String(parts[0]), query: parts.count > 1 ? APIRequest.parseQuery(String(parts[1])) : [:],
                  headers: headers, body: Array(body.utf8))
    }

    public func queryValue(_ name: String) -> String? { query[name]?.first }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    public static func parseQuery(_ s: String) -> [String: [String]] { URLQuery.parse(s) }
}

/// A response: a body at once, or a stream of chunks (watches, logs).
public struct APIResponse: Sendable {
    /// Writes one chunk to the client; throws once the client is gone.
    public typealias ChunkWriter = @Sendable ([UInt8]) async throws -> Void

    public enum Body: Sendable {
        case bytes([UInt8])
        /// A large body as consecutive parts (list items), sent without first joining them.
        case parts([[UInt8]])
        /// Produces the body chunk by chunk (watches, logs); runs in the response's own
        /// task, so it ends when it returns or the client leaves.
        case stream(@Sendable (_ write: @escaping ChunkWriter) async throws -> Void)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, contentType: String = "application/json", headers: [(String, String)] = [], body: Body) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers
        self.body = body
    }

    public static func json(_ status: Int, _ bytes: [UInt8], contentType: String = "application/json", headers: [(String, String)] = []) -> APIResponse {
        APIResponse(status: status, contentType: contentType, headers: headers, body: .bytes(bytes))
    }

    public static func json(_ status: Int, _ value: JSON, contentType: String = "application/json", headers: [(String, String)] = []) -> APIResponse {
        json(status, value.serialized(), contentType: contentType, headers: headers)
    }

    public static func error(_ e: APIError) -> APIResponse {
        var headers: [(String, String)] = []
        if let retry = e.retryAfterSeconds { headers.append(("Retry-After", String(retry))) }
        return json(e.code, e.status, headers: headers)
    }

    public static func text(_ status: Int, _ s: String) -> APIResponse {
        APIResponse(status: status, contentType: "text/plain; charset=utf-8", body: .bytes(Array(s.utf8)))
    }

    /// The body bytes of a non-streaming response (tests).
    public var bodyBytes: [UInt8] {
        switch body {
        case .bytes(let b): b
        case .parts(let parts): Array(parts.joined())
        case .stream: []
        }
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

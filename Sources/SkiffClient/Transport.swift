import SkiffCore

/// One API request as a client sends it. The path is the API path ("/api/v1/pods"); the
/// query is kept apart so transports encode it their own way.
public struct ClientRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [(String, String)]
    public var body: [UInt8]
    public var contentType: String

    public init(method: String, path: String, query: [(String, String)] = [], body: [UInt8] = [], contentType: String = "application/json") {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.contentType = contentType
    }
}

public struct ClientResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// How a client reaches the API server: over HTTPS, or in process when the client runs
/// inside the server (the scheduler and controllers), which saves TLS and sockets but
/// goes through the very same handler, authorization and admission.
public protocol Transport: Sendable {
    func send(_ request: ClientRequest) async throws -> ClientResponse
    /// Opens a streaming response (a watch) and yields its body as it arrives, in chunks
    /// that need not end at line boundaries. Fails with the error Status when the server
    /// answers other than 200.
    func stream(_ request: ClientRequest) async throws -> AsyncThrowingStream<[UInt8], any Error>
}

/// An API error: the server's metav1.Status, or a transport failure (code 0).
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String

    public init(code: Int, reason: String, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    public init(status code: Int, body: [UInt8]) {
        let s = try? JSON.parse(body)
        self.init(code: code, reason: s?["reason"]?.stringValue ?? "", message: s?["message"]?.stringValue ?? String(decoding: body.prefix(300), as: UTF8.self))
    }

    public var isNotFound: Bool { code == 404 }
    public var isConflict: Bool { code == 409 }
    public var isAlreadyExists: Bool { code == 409 && reason == "AlreadyExists" }
    public var isGone: Bool { code == 410 }
    public var description: String { "\(code) \(reason): \(message)" }
}

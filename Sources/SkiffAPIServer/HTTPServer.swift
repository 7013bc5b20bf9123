import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
import ServiceLifecycle
import Logging
import NIOCore
import NIOSSL
import SkiffClient
import SkiffCore
import SkiffStreaming
import X509

/// The request context: the connection, so authentication can read the client certificate.
public struct SkiffRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var maxUploadSize: Int { BodyDecoding.maxBodyBytes + 1 }
}

/// Who may call the API: a client certificate signed by the cluster CA, or a known bearer
/// token. Health and version endpoints are open, as upstream's are to anonymous users.
public struct Authenticator: Sendable {
    /// token -> user name
    public var tokens: [String: String]
    /// Plain HTTP for local experiments: everyone is the admin.
    public var insecure: Bool
    /// Verifies service account tokens, when the server issues them.
    public var serviceAccounts: ServiceAccountTokens?

    public init(tokens: [String: String], insecure: Bool = false, serviceAccounts: ServiceAccountTokens? = nil) {
        self.tokens = tokens
        self.insecure = insecure
        self.serviceAccounts = serviceAccounts
    }

    static let openPaths: Set<String> = ["/healthz", "/livez", "/readyz", "/version", "/version/", "/cacerts"]

    /// The user's name and groups, or nil when no method authenticates the request.
    func user(headers: [String: String], channel: any Channel) async -> (name: String, groups: [String])? {
        if insecure { return ("system:admin", ["system:masters"]) }
        // As upstream's union authenticator: the first method that succeeds wins.
        if let auth = headers["authorization"], auth.lowercased().hasPrefix("bearer ") {
            let token = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            if let user = tokens[token] ?? serviceAccounts?.verify(token) { return (user, []) }
        }
        // The TLS layer already verified any certificate presented against the cluster CA.
        guard let cert = try? await channel.nioSSL_peerCertificate().get(),
              let der = try? cert.toDERBytes(), let parsed = try? Certificate(derEncoded: der)
        else { return nil }
        return Self.user(of: parsed)
    }

    /// A client certificate's user, as upstream's x509 authenticator reads it: CN is the
    /// name, each O a group.
    static func user(of certificate: Certificate) -> (name: String, groups: [String])? {
        let attributes = certificate.subject.flatMap { $0 }
        guard let name = attributes.first(where: { $0.type == .RDNAttributeType.commonName })?.value.description else { return nil }
        return (name, attributes.filter { $0.type == .RDNAttributeType.organizationName }.map { $0.value.description })
    }
}

/// Adapts Hummingbird to the API handler: collects the body, authenticates, and writes
/// the response, streaming when the handler streams.
struct APIResponder: HTTPResponder {
    typealias Context = SkiffRequestContext
    let handler: APIHandler
    let authenticator: Authenticator
    /// Issues joining agents their certificates; nil where agents cannot join.
    let nodeCertificates: NodeCertificateIssuer?

    func respond(to request: Request, context: Context) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let path = request.uri.path
        if path == NodeCertificateIssuer.path, let nodeCertificates {
            var req = APIRequest(method: request.method.rawValue, path: path, headers: headers)
            guard let body = try? await request.body.collect(upTo: 1 << 20) else { return Self.response(.error(.tooLarge())) }
            req.body = Array(buffer: body)
            return Self.response(nodeCertificates.handle(req))
        }
        var apiRequest = APIRequest(method: request.method.rawValue, path: path,
                                    query: APIRequest.parseQuery(request.uri.query ?? ""), headers: headers)
        if !Authenticator.openPaths.contains(path) {
            guard let user = await authenticator.user(headers: headers, channel: context.channel) else {
                return Self.response(.error(.unauthorized()))
            }
            apiRequest.user = user.name
            apiRequest.groups = user.groups
        }
        do {
            var body = try await request.body.collect(upTo: BodyDecoding.maxBodyBytes + 1)
            apiRequest.body = body.readBytes(length: body.readableBytes) ?? []
        } catch {
            return Self.response(.error(.tooLarge()))
        }
        return Self.response(await handler.handle(apiRequest))
    }

    static func response(_ r: APIResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in r.headers {
            if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
        }
        let status = HTTPResponse.Status(code: r.status)
        switch r.body {
        case .bytes(let bytes):
            return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        case .parts(let parts):
            // Copied into buffers of about 64 KiB: no response-sized allocation, and TLS
            // encrypts each buffer while the next is filled.
            let length = parts.reduce(0) { $0 + $1.count }
            return Response(status: status, headers: fields, body: ResponseBody(contentLength: length) { writer in
                var buffer = ByteBuffer()
                for part in parts {
                    if buffer.readableBytes + part.count > 1 << 16, buffer.readableBytes > 0 {
                        try await writer.write(buffer)
                        buffer = ByteBuffer()
                    }
                    if buffer.capacity == 0 { buffer.reserveCapacity(max(1 << 16, part.count)) }
                    buffer.writeBytes(part)
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                try await writer.finish(nil)
            })
        case .stream(let produce):
            return Response(status: status, headers: fields, body: ResponseBody { writer in
                let box = WriterBox(writer)
                try await produce { chunk in try await box.write(chunk) }
                try await box.finish()
            })
        }
    }
}

/// Lets the handler's chunk writer (a Sendable closure) reach the response writer; only
/// the response's own task uses it, one write at a time.
final class WriterBox: @unchecked Sendable {
    var writer: any ResponseBodyWriter

    init(_ writer: any ResponseBodyWriter) { self.writer = writer }

    func write(_ chunk: [UInt8]) async throws { try await writer.write(ByteBuffer(bytes: chunk)) }
    func finish() async throws { try await writer.finish(nil) }
}

/// Builds the HTTPS (or, explicitly, plain HTTP) server around the handler.
public enum APIServerApp {
    public static func make(
        handler: APIHandler, host: String, port: Int, tls: ServingTLS?, authenticator: Authenticator,
        nodeCertificates: NodeCertificateIssuer? = nil, services: [any Service] = [], onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }, logger: Logger
    ) throws -> some ApplicationProtocol {
        // exec, attach and port-forward upgrade their connections; the rest is plain HTTP/1.
        let http: HTTPServerBuilder = .upgradableHTTP1(wants: APIHandler.isStreaming) { head, channel in
            await handler.streamingUpgrade(head) {
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                return await authenticator.user(headers: headers, channel: channel)?.name
            }
        }
        let server: HTTPServerBuilder = try tls.map { try .tls(http, tlsConfiguration: try $0.configuration()) } ?? http
        return Application(
            responder: APIResponder(handler: handler, authenticator: authenticator, nodeCertificates: nodeCertificates),
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}

import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SkiffCore

/// A join token, k3s' format: `K10<sha256 of the cluster CA PEM, hex>::server:<secret>`.
public struct AgentToken: Sendable, CustomStringConvertible {
    public var caHash: String
    public var secret: String

    public init(caHash: String, secret: String) {
        self.caHash = caHash
        self.secret = secret
    }

    public init?(parsing s: String) {
        guard s.hasPrefix("K10"), let sep = s.range(of: "::") else { return nil }
        caHash = String(s[s.index(s.startIndex, offsetBy: 3)..<sep.lowerBound])
        let rest = s[sep.upperBound...]
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        secret = String(rest[rest.index(after: colon)...])
        guard !caHash.isEmpty, !secret.isEmpty else { return nil }
    }

    public static func hash(_ pem: String) -> String {
        SHA256.hash(data: Array(pem.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "K10\(caHash)::server:\(secret)" }
}

/// The API over HTTPS, authenticated by a bearer token (tools, simulated agents) or by a
/// client certificate (a node's own identity), on AsyncHTTPClient.
public final class HTTPSTransport: Transport {
    let client: HTTPClient
    let base: String
    let bearer: String?

    public convenience init(server: String, caPEM: String, bearer: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        self.init(server: server, tls: tls, bearer: bearer)
    }

    /// Mutual TLS: the server is verified by the CA, the client by its certificate.
    public convenience init(server: String, caPEM: String, clientCertificatePEM: String, clientKeyPEM: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientKeyPEM.utf8), format: .pem))
        self.init(server: server, tls: tls, bearer: nil)
    }

    init(server: String, tls: TLSConfiguration, bearer: String?) {
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(10))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        base = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.bearer = bearer
    }

    /// Joins with a token: fetches the CA from /cacerts without trusting anything, checks
    /// its hash against the token's (an agent never trusts a server whose CA differs),
    /// then talks over TLS verified by that CA.
    public static func join(server: String, token: String) async throws -> HTTPSTransport {
        let (parsed, pem) = try await pinnedCA(server: server, token: token)
        return try HTTPSTransport(server: server, caPEM: pem, bearer: parsed.secret)
    }

    /// The server's CA, read from /cacerts and accepted only if its hash is the token's.
    public static func pinnedCA(server: String, token: String) async throws -> (token: AgentToken, caPEM: String) {
        guard let parsed = AgentToken(parsing: token) else {
            throw ClientError(code: 0, reason: "InvalidToken", message: "the token is not of the form K10<ca-hash>::server:<secret>")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none  // only to read the CA, which is then pinned by hash
        let probe = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let fetched: (HTTPResponseStatus, String)
        do {
            let response = try await probe.execute(HTTPClientRequest(url: server + "/cacerts"), timeout: .seconds(10))
            fetched = (response.status, String(buffer: try await response.body.collect(upTo: 1 << 20)))
            try await probe.shutdown()
        } catch {
            try? await probe.shutdown()
            throw error
        }
        let pem = fetched.1
        guard fetched.0 == .ok, AgentToken.hash(pem) == parsed.caHash else {
            throw ClientError(code: 0, reason: "CAMismatch", message: "the server's CA at \(server)/cacerts does not match the token's hash")
        }
        return (parsed, pem)
    }

    public func shutdown() async throws { try await client.shutdown() }

    func httpRequest(_ r: ClientRequest) -> HTTPClientRequest {
        var url = base + r.path
        if !r.query.isEmpty {
            url += "?" + r.query.map { "\(URLQuery.escape($0.0))=\(URLQuery.escape($0.1))" }.joined(separator: "&")
        }
        var req = HTTPClientRequest(url: url)
        req.method = HTTPMethod(rawValue: r.method)
        if let bearer { req.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        req.headers.add(name: "Accept", value: "application/json")
        if !r.body.isEmpty || ["POST", "PUT", "PATCH"].contains(r.method) {
            req.headers.add(name: "Content-Type", value: r.contentType)
            req.body = .bytes(ByteBuffer(bytes: r.body))
        }
        return req
    }

    public func send(_ r: ClientRequest) async throws -> ClientResponse {
        let response = try await client.execute(httpRequest(r), timeout: .seconds(60))
        var body = try await response.body.collect(upTo: 256 << 20)
        return ClientResponse(status: Int(response.status.code), body: body.readBytes(length: body.readableBytes) ?? [])
    }

    public func stream(_ r: ClientRequest) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let response = try await client.execute(httpRequest(r), timeout: .hours(2))
        guard response.status == .ok else {
            var body = try await response.body.collect(upTo: 1 << 20)
            throw ClientError(status: Int(response.status.code), body: body.readBytes(length: body.readableBytes) ?? [])
        }
        return AsyncThrowingStream { continuation in
            // Owned by the stream: cancelled when its consumer stops.
            let task = Task {
                do {
                    for try await var chunk in response.body {
                        continuation.yield(chunk.readBytes(length: chunk.readableBytes) ?? [])
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

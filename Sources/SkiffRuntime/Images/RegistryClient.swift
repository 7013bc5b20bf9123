import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOSSL

/// An error a registry answered with: its HTTP status and the message of its JSON error
/// body (`manifest unknown`), or what failed on the way to it.
struct RegistryError: Error, CustomStringConvertible {
    var status: Int?
    var message: String
    var description: String { message }
}

/// One endpoint (a mirror or the registry itself) for one repository, holding the token
/// the registry handed out for it (distribution API v2, Docker's token authentication).
final class RegistrySession: @unchecked Sendable {
    let endpoint: RegistryConfig.Endpoint
    private let credentials: AuthConfig?
    private let tls: TLSConfiguration?
    private let logger: Logger
    private var authorization: String?

    init(endpoint: RegistryConfig.Endpoint, credentials: AuthConfig?, hostConfig: RegistryConfig.HostConfig?, logger: Logger) throws {
        self.endpoint = endpoint
        self.credentials = credentials
        self.logger = logger
        if let tlsSettings = hostConfig?.tls {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let ca = tlsSettings.caFile { tls.additionalTrustRoots = [.file(ca)] }
            if let cert = tlsSettings.certFile, let key = tlsSettings.keyFile {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            if tlsSettings.insecureSkipVerify { tls.certificateVerification = .none }
            self.tls = tls
        } else {
            self.tls = nil
        }
        if let token = credentials?.registryToken, !token.isEmpty { authorization = "Bearer \(token)" }
    }

    /// The manifest `reference` (tag or digest) names: bytes, media type and digest,
    /// verified against the digest asked for or the one the registry announces.
    func manifest(_ reference: String) async throws -> (bytes: [UInt8], mediaType: String?, digest: String) {
        let url = "\(endpoint.baseURL)/v2/\(endpoint.repository)/manifests/\(reference)"
        let response = try await send(url, accept: MediaType.acceptManifests, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 8 << 20)
        let bytes = Array(body.readableBytesView)
        let digest = Digest.sha256(bytes)
        if reference.hasPrefix("sha256:"), digest != reference {
            throw RegistryError(message: "manifest \(reference) from \(endpoint.host) has digest \(digest): content does not match")
        }
        if let announced = response.headers.first(name: "Docker-Content-Digest"), announced.hasPrefix("sha256:"), announced != digest {
            throw RegistryError(message: "manifest \(reference) from \(endpoint.host) has digest \(digest), the registry says \(announced)")
        }
        return (bytes, response.headers.first(name: "Content-Type"), digest)
    }

    /// Downloads a blob to `path`, checking its size and digest; logs progress of big ones.
    func fetchBlob(_ descriptor: Descriptor, to path: String) async throws {
        let url = "\(endpoint.baseURL)/v2/\(endpoint.repository)/blobs/\(descriptor.digest)"
        let response = try await send(url, accept: "*/*", timeout: .hours(2))
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw RegistryError(message: "cannot write \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var received: Int64 = 0
        var lastLog = ContinuousClock.now
        let started = lastLog
        for try await chunk in response.body {
            let bytes = Array(chunk.readableBytesView)
            hasher.update(data: bytes)
            try handle.write(contentsOf: bytes)
            received += Int64(bytes.count)
            if ContinuousClock.now - lastLog > .seconds(5) {
                lastLog = ContinuousClock.now
                let percent = descriptor.size > 0 ? received * 100 / descriptor.size : 0
                logger.info("pulling blob", metadata: [
                    "digest": "\(descriptor.digest)", "received": "\(received)", "size": "\(descriptor.size)", "percent": "\(percent)"])
            }
        }
        let digest = Digest.string(hasher.finalize())
        guard digest == descriptor.digest else {
            throw RegistryError(message: "blob \(descriptor.digest) from \(endpoint.host) has digest \(digest) (\(received) bytes): content does not match")
        }
        if descriptor.size >= 0, received != descriptor.size {
            throw RegistryError(message: "blob \(descriptor.digest) from \(endpoint.host) is \(received) bytes, the manifest says \(descriptor.size)")
        }
        if received > 16 << 20 {
            logger.info("pulled blob", metadata: ["digest": "\(descriptor.digest)", "bytes": "\(received)", "seconds": "\(ContinuousClock.now - started)"])
        }
    }

    /// GET with the current authorization; on 401 answers the challenge once and retries.
    private func send(_ url: String, accept: String, timeout: TimeAmount) async throws -> HTTPClientResponse {
        var answeredChallenge = false
        while true {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: accept)
            request.headers.add(name: "User-Agent", value: "skiff")
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            request.tlsConfiguration = tls
            let response: HTTPClientResponse
            do {
                response = try await HTTPClient.shared.execute(request, timeout: timeout)
            } catch {
                throw RegistryError(message: "cannot reach \(endpoint.baseURL): \(error)")
            }
            if response.status == .unauthorized, !answeredChallenge,
               let challenge = response.headers.first(name: "WWW-Authenticate") {
                _ = try? await response.body.collect(upTo: 1 << 20)
                answeredChallenge = true
                try await answer(challenge)
                continue
            }
            guard response.status == .ok else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
                throw RegistryError(status: Int(response.status.code), message: "\(endpoint.host) answered \(response.status.code) \(response.status.reasonPhrase)\(Self.errorDetail(body))")
            }
            return response
        }
    }

    /// `Bearer realm=…,service=…,scope=…` → a token from the realm; `Basic` → credentials.
    private func answer(_ challenge: String) async throws {
        let scheme = challenge.prefix { $0 != " " }.lowercased()
        let params = Self.challengeParameters(String(challenge.drop { $0 != " " }))
        let basic = credentials.flatMap { c -> String? in
            guard !c.username.isEmpty else { return nil }
            return "Basic " + Data("\(c.username):\(c.password)".utf8).base64EncodedString()
        }
        if scheme == "basic" {
            guard let basic else { throw RegistryError(status: 401, message: "\(endpoint.host) requires credentials (401 Unauthorized) and none are configured") }
            authorization = basic
            return
        }
        guard scheme == "bearer", let realm = params["realm"], var components = URLComponents(string: realm) else {
            throw RegistryError(status: 401, message: "\(endpoint.host) sent an authentication challenge Skiff does not understand: \(challenge)")
        }
        var query = components.queryItems ?? []
        if let service = params["service"] { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: params["scope"] ?? "repository:\(endpoint.repository):pull"))
        var request: HTTPClientRequest
        if let token = credentials?.identityToken, !token.isEmpty {
            // An identity token is an OAuth2 refresh token, exchanged by POST as Docker does.
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            query += [URLQueryItem(name: "grant_type", value: "refresh_token"), URLQueryItem(name: "client_id", value: "skiff"),
                      URLQueryItem(name: "refresh_token", value: token)]
            var form = URLComponents()
            form.queryItems = query
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery ?? ""))
        } else {
            components.queryItems = query
            guard let url = components.url?.absoluteString else { throw RegistryError(message: "bad token realm \(realm)") }
            request = HTTPClientRequest(url: url)
            if let basic { request.headers.add(name: "Authorization", value: basic) }
        }
        request.tlsConfiguration = tls
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        } catch {
            throw RegistryError(message: "cannot reach the token service \(realm): \(error)")
        }
        let body = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard response.status == .ok else {
            throw RegistryError(status: Int(response.status.code), message: "token service \(realm) answered \(response.status.code) \(response.status.reasonPhrase)\(Self.errorDetail(body))")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let token = (json["token"] as? String) ?? (json["access_token"] as? String) else {
            throw RegistryError(message: "token service \(realm) returned no token")
        }
        authorization = "Bearer \(token)"
        logger.debug("registry token obtained", metadata: ["registry": "\(endpoint.host)", "repository": "\(endpoint.repository)"])
    }

    /// `key="value",key2="v"` pairs of a WWW-Authenticate header.
    static func challengeParameters(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(text)
        while let eq = rest.firstIndex(of: "=") {
            let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = String(rest[..<end])
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            out[key] = value
        }
        return out
    }

    /// `: manifest unknown (MANIFEST_UNKNOWN)` from a distribution error body, if there is one.
    static func errorDetail(_ body: [UInt8]) -> String {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let errors = json["errors"] as? [[String: Any]], !errors.isEmpty else {
            let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty || text.hasPrefix("<") ? "" : ": \(text)"
        }
        let parts = errors.map { e -> String in
            let message = e["message"] as? String ?? ""
            let code = e["code"] as? String ?? ""
            return code.isEmpty ? message : "\(message) (\(code))"
        }
        return ": " + parts.joined(separator: "; ")
    }
}

import Crypto
import Foundation
import SkiffCore
import SwiftASN1
import X509

/// A node's own credentials: a client certificate (CN system:node:<name>, O system:nodes)
/// to talk to the API server, and a serving certificate for the kubelet's port, both
/// signed by the cluster CA for keys made on this node. Kept under `<data-dir>/agent/`
/// with k3s' file names and reused across restarts while they remain right.
public struct NodeIdentity: Sendable, Equatable {
    public var nodeName: String
    /// The addresses in the serving certificate.
    public var nodeIPs: [String]
    public var caPEM: String
    public var clientCertificatePEM: String
    public var clientKeyPEM: String
    public var servingCertificatePEM: String
    public var servingKeyPEM: String

    public init(nodeName: String, nodeIPs: [String], caPEM: String, clientCertificatePEM: String, clientKeyPEM: String,
                servingCertificatePEM: String, servingKeyPEM: String) {
        self.nodeName = nodeName
        self.nodeIPs = nodeIPs
        self.caPEM = caPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.servingCertificatePEM = servingCertificatePEM
        self.servingKeyPEM = servingKeyPEM
    }

    /// The server's endpoint that signs node certificates (NodeCertificateIssuer).
    public static let certificatesPath = "/v1-skiff/node-certificates"
    /// Certificates closer than this to expiry are requested anew.
    public static let renewBefore: TimeInterval = 30 * 86400

    /// The identity for `nodeName`: the stored one if its CA is the token's and its
    /// certificates are for this name and these addresses and valid for 30 more days;
    /// otherwise new keys and certificates, requested from a server whose CA matches the
    /// token, and stored.
    public static func join(server: String, token: String, nodeName: String, nodeIPs: [String], dataDir: String) async throws -> NodeIdentity {
        guard let parsed = AgentToken(parsing: token) else {
            throw ClientError(code: 0, reason: "InvalidToken", message: "the token is not of the form K10<ca-hash>::server:<secret>")
        }
        let dir = "\(dataDir)/agent"
        if let stored = load(from: dir), stored.isReusable(caHash: parsed.caHash, nodeName: nodeName, nodeIPs: nodeIPs, now: Date()) {
            return stored
        }
        let (_, caPEM) = try await HTTPSTransport.pinnedCA(server: server, token: token)
        let identity = try await request(server: server, caPEM: caPEM, secret: parsed.secret, nodeName: nodeName, nodeIPs: nodeIPs)
        try identity.save(to: dir)
        return identity
    }

    /// A transport to the API server as this node (mutual TLS).
    public func transport(server: String) throws -> HTTPSTransport {
        try HTTPSTransport(server: server, caPEM: caPEM, clientCertificatePEM: clientCertificatePEM, clientKeyPEM: clientKeyPEM)
    }

    /// Makes two keys and asks the server, over TLS verified by `caPEM`, to sign them.
    static func request(server: String, caPEM: String, secret: String, nodeName: String, nodeIPs: [String]) async throws -> NodeIdentity {
        let clientKey = P256.Signing.PrivateKey(), servingKey = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("system:nodes")
            CommonName("system:node:\(nodeName)")
        }
        func csr(_ key: P256.Signing.PrivateKey) throws -> String {
            try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key), attributes: .init(),
                                          signatureAlgorithm: .ecdsaWithSHA256).serializeAsPEM().pemString
        }
        let body: JSON = ["nodeName": .string(nodeName), "addresses": .array(nodeIPs.map { .string($0) }),
                          "clientCSR": .string(try csr(clientKey)), "servingCSR": .string(try csr(servingKey))]
        let transport = try HTTPSTransport(server: server, caPEM: caPEM, bearer: secret)
        let response: ClientResponse
        do {
            response = try await transport.send(ClientRequest(method: "POST", path: certificatesPath, body: body.serialized()))
            try await transport.shutdown()
        } catch {
            try? await transport.shutdown()
            throw error
        }
        guard response.status == 200 else { throw ClientError(status: response.status, body: response.body) }
        let answer = try JSON.parse(response.body)
        guard let ca = answer["caCertificate"]?.stringValue, let client = answer["clientCertificate"]?.stringValue,
              let serving = answer["servingCertificate"]?.stringValue
        else { throw ClientError(code: 0, reason: "InvalidResponse", message: "the server's answer lacks certificates") }
        guard ca == caPEM else {
            throw ClientError(code: 0, reason: "CAMismatch", message: "the server signed with a CA other than the one the token pins")
        }
        let identity = NodeIdentity(nodeName: nodeName, nodeIPs: nodeIPs, caPEM: ca, clientCertificatePEM: client,
                                    clientKeyPEM: clientKey.pemRepresentation, servingCertificatePEM: serving,
                                    servingKeyPEM: servingKey.pemRepresentation)
        guard identity.isReusable(caHash: AgentToken.hash(caPEM), nodeName: nodeName, nodeIPs: nodeIPs, now: Date()) else {
            throw ClientError(code: 0, reason: "InvalidResponse", message: "the server's certificates do not match the keys, name or addresses requested")
        }
        return identity
    }

    /// Whether these credentials serve for `nodeName` and `nodeIPs` under the CA the token
    /// pins: keys matching certificates signed by that CA, both certificates naming the
    /// node, the serving one exactly these addresses, and neither expiring within 30 days.
    public func isReusable(caHash: String, nodeName: String, nodeIPs: [String], now: Date) -> Bool {
        guard AgentToken.hash(caPEM) == caHash, self.nodeName == nodeName,
              let ca = try? Certificate(pemEncoded: caPEM),
              let client = Self.certificate(clientCertificatePEM, keyPEM: clientKeyPEM, ca: ca, now: now),
              let serving = Self.certificate(servingCertificatePEM, keyPEM: servingKeyPEM, ca: ca, now: now)
        else { return false }
        let expected = "system:node:\(nodeName)"
        guard Self.commonName(client) == expected, Self.commonName(serving) == expected,
              let sans = try? serving.extensions.subjectAlternativeNames
        else { return false }
        var dns: Set<String> = [], ips: Set<[UInt8]> = []
        for name in sans {
            switch name {
            case .dnsName(let d): dns.insert(d)
            case .ipAddress(let ip): ips.insert(Array(ip.bytes))
            default: break
            }
        }
        let wanted = nodeIPs.map(Self.ipBytes)
        return dns.contains(nodeName) && !wanted.contains(nil) && Set(wanted.compactMap { $0 }) == ips
    }

    /// The certificate if it parses, was signed by `ca`, holds the key's public half and
    /// lasts past the renewal margin.
    static func certificate(_ pem: String, keyPEM: String, ca: Certificate, now: Date) -> Certificate? {
        guard let cert = try? Certificate(pemEncoded: pem), let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
              cert.publicKey == Certificate.PublicKey(key.publicKey),
              cert.issuer == ca.subject, ca.publicKey.isValidSignature(cert.signature, for: cert),
              cert.notValidAfter > now.addingTimeInterval(renewBefore)
        else { return nil }
        return cert
    }

    static func commonName(_ cert: Certificate) -> String? {
        cert.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }?.value.description
    }

    /// An IPv4 or IPv6 address as the bytes a certificate's SAN holds.
    static func ipBytes(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    static let files = (ca: "ca.crt", clientCertificate: "client-kubelet.crt", clientKey: "client-kubelet.key",
                        servingCertificate: "serving-kubelet.crt", servingKey: "serving-kubelet.key")

    /// The identity stored in `dir`, if all of it is there; the addresses are those of the
    /// serving certificate.
    public static func load(from dir: String) -> NodeIdentity? {
        func read(_ name: String) -> String? { try? String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8) }
        guard let ca = read(files.ca), let clientCert = read(files.clientCertificate), let clientKey = read(files.clientKey),
              let servingCert = read(files.servingCertificate), let servingKey = read(files.servingKey),
              let client = try? Certificate(pemEncoded: clientCert), let name = commonName(client),
              name.hasPrefix("system:node:"), let serving = try? Certificate(pemEncoded: servingCert)
        else { return nil }
        var ips: [String] = []
        for san in (try? serving.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
            if case .ipAddress(let ip) = san, let text = formatIP(Array(ip.bytes)) { ips.append(text) }
        }
        return NodeIdentity(nodeName: String(name.dropFirst("system:node:".count)), nodeIPs: ips, caPEM: ca,
                            clientCertificatePEM: clientCert, clientKeyPEM: clientKey,
                            servingCertificatePEM: servingCert, servingKeyPEM: servingKey)
    }

    static func formatIP(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, 64) } != nil
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// Writes every file atomically (a temporary file renamed over the old one), keys
    /// readable by root only.
    public func save(to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let files = Self.files
        for (name, content, mode) in [(files.ca, caPEM, 0o644), (files.clientCertificate, clientCertificatePEM, 0o644),
                                      (files.clientKey, clientKeyPEM, 0o600), (files.servingCertificate, servingCertificatePEM, 0o644),
                                      (files.servingKey, servingKeyPEM, 0o600)] {
            let path = "\(dir)/\(name)", tmp = "\(dir)/.\(name).tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: Data(content.utf8), attributes: [.posixPermissions: mode]) else {
                throw ClientError(code: 0, reason: "WriteFailed", message: "could not write \(tmp)")
            }
            guard rename(tmp, path) == 0 else {
                throw ClientError(code: 0, reason: "WriteFailed", message: "could not rename \(tmp) to \(path): errno \(errno)")
            }
        }
    }
}

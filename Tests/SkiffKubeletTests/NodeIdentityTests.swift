import Crypto
import Foundation
import Logging
import NIOCore
@testable import SkiffAPIServer
import SkiffClient
import SkiffCore
import SkiffStore
import SwiftASN1
import Testing
import X509

@Suite struct NodeIdentityTests {
    /// A fresh directory under /tmp, removed by the caller.
    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "skiff-identity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func csr(_ key: P256.Signing.PrivateKey, commonName: String) throws -> String {
        let subject = try DistinguishedName {
            OrganizationName("system:nodes")
            CommonName(commonName)
        }
        return try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key), attributes: .init(),
                                             signatureAlgorithm: .ecdsaWithSHA256).serializeAsPEM().pemString
    }

    @Test func signsClientAndServingCertificatesForTheCSRKey() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = try ClusterPKI.loadOrCreate(in: dir, sans: ["localhost"])
        let key = P256.Signing.PrivateKey()
        let ca = try Certificate(pemEncoded: pki.caCertificatePEM)

        let client = try Certificate(pemEncoded: try pki.signNodeClientCertificate(csrPEM: try Self.csr(key, commonName: "system:node:worker-1"),
                                                                                nodeName: "worker-1"))
        #expect(client.publicKey == Certificate.PublicKey(key.publicKey))
        #expect(client.issuer == ca.subject)
        #expect(ca.publicKey.isValidSignature(client.signature, for: client))
        #expect(client.subject.description.contains("CN=system:node:worker-1"))
        #expect(client.subject.description.contains("O=system:nodes"))
        #expect(try client.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        let user = try #require(Authenticator.user(of: client))
        #expect(user.name == "system:node:worker-1")
        #expect(user.groups == ["system:nodes"])

        let serving = try Certificate(pemEncoded: try pki.signNodeServingCertificate(
            csrPEM: try Self.csr(key, commonName: "system:node:worker-1"), nodeName: "worker-1", addresses: ["10.0.0.7", "fd00::7"]))
        let sans = try #require(try serving.extensions.subjectAlternativeNames)
        #expect(sans.contains(.dnsName("worker-1")))
        #expect(sans.contains(.ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 7]))))
        #expect(sans.count == 3)
        #expect(try serving.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
    }

    @Test func issuerRefusesBadTokensNamesAndRequests() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = try ClusterPKI.loadOrCreate(in: dir, sans: ["localhost"])
        let issuer = NodeCertificateIssuer(pki: pki, tokenSecret: "s3cret")
        let key = P256.Signing.PrivateKey()
        func request(token: String, name: String, cn: String? = nil, csr: String? = nil) throws -> (Int, JSON) {
            let good = try Self.csr(key, commonName: cn ?? "system:node:\(name)")
            let body: JSON = ["nodeName": .string(name), "addresses": ["10.0.0.1"], "clientCSR": .string(csr ?? good), "servingCSR": .string(good)]
            let r = issuer.handle(APIRequest(method: "POST", path: NodeCertificateIssuer.path, headers: ["authorization": "Bearer \(token)"],
                                             body: body.serialized()))
            return (r.status, try JSON.parse(r.bodyBytes))
        }
        let (unauthorized, status) = try request(token: "wrong", name: "n1")
        #expect(unauthorized == 401)
        #expect(status["kind"]?.stringValue == "Status")
        #expect(status["reason"]?.stringValue == "Unauthorized")
        #expect(try request(token: "s3cret", name: "Not_A_Name").0 == 400)
        #expect(try request(token: "s3cret", name: "n1", cn: "system:node:other").0 == 400)
        let (garbage, message) = try request(token: "s3cret", name: "n1", csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
        #expect(garbage == 400)
        #expect(message["reason"]?.stringValue == "BadRequest")
        let (ok, answer) = try request(token: "s3cret", name: "n1")
        #expect(ok == 200)
        #expect(answer["caCertificate"]?.stringValue == pki.caCertificatePEM)
    }

    @Test func storedIdentityIsReusedOnlyWhileRight() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = try ClusterPKI.loadOrCreate(in: "\(dir)/tls", sans: ["localhost"])
        let clientKey = P256.Signing.PrivateKey(), servingKey = P256.Signing.PrivateKey()
        func identity(validity: TimeInterval) throws -> NodeIdentity {
            NodeIdentity(
                nodeName: "n1", nodeIPs: ["10.1.2.3"], caPEM: pki.caCertificatePEM,
                clientCertificatePEM: try pki.signNodeClientCertificate(csrPEM: try Self.csr(clientKey, commonName: "system:node:n1"), nodeName: "n1", validity: validity),
                clientKeyPEM: clientKey.pemRepresentation,
                servingCertificatePEM: try pki.signNodeServingCertificate(csrPEM: try Self.csr(servingKey, commonName: "system:node:n1"), nodeName: "n1",
                                                                          addresses: ["10.1.2.3"], validity: validity),
                servingKeyPEM: servingKey.pemRepresentation)
        }
        let hash = AgentToken.hash(pki.caCertificatePEM)
        let good = try identity(validity: 365 * 86400)
        #expect(good.isReusable(caHash: hash, nodeName: "n1", nodeIPs: ["10.1.2.3"], now: Date()))
        #expect(!good.isReusable(caHash: "00" + hash.dropFirst(2), nodeName: "n1", nodeIPs: ["10.1.2.3"], now: Date()))
        #expect(!good.isReusable(caHash: hash, nodeName: "n2", nodeIPs: ["10.1.2.3"], now: Date()))
        #expect(!good.isReusable(caHash: hash, nodeName: "n1", nodeIPs: ["10.1.2.4"], now: Date()))
        #expect(!good.isReusable(caHash: hash, nodeName: "n1", nodeIPs: ["10.1.2.3"], now: Date().addingTimeInterval(340 * 86400)))
        #expect(!(try identity(validity: 20 * 86400)).isReusable(caHash: hash, nodeName: "n1", nodeIPs: ["10.1.2.3"], now: Date()))
        var swapped = good
        swapped.clientKeyPEM = good.servingKeyPEM
        #expect(!swapped.isReusable(caHash: hash, nodeName: "n1", nodeIPs: ["10.1.2.3"], now: Date()))

        try good.save(to: "\(dir)/agent")
        #expect(NodeIdentity.load(from: "\(dir)/agent") == good)
        let keyMode = try FileManager.default.attributesOfItem(atPath: "\(dir)/agent/client-kubelet.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let servingKeyMode = try FileManager.default.attributesOfItem(atPath: "\(dir)/agent/serving-kubelet.key")[.posixPermissions] as? Int
        #expect(servingKeyMode == 0o600)
    }

    /// The whole join against a live HTTPS server: CA pinned by the token, certificates
    /// requested and stored, reused on the next join, and accepted by the server as the
    /// node's identity.
    @Test func joinsALiveServerAndAuthenticatesAsTheNode() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = try ClusterPKI.loadOrCreate(in: "\(dir)/tls", sans: ["127.0.0.1"])
        let handler = APIHandler(store: MVCCStore(), caCertificatePEM: pki.caCertificatePEM)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = try APIServerApp.make(
            handler: handler, host: "127.0.0.1", port: 0,
            tls: ServingTLS(certificatePEM: pki.serverCertificatePEM, keyPEM: pki.serverKeyPEM, clientCAPEM: pki.caCertificatePEM),
            authenticator: Authenticator(tokens: [:]), nodeCertificates: NodeCertificateIssuer(pki: pki, tokenSecret: "joinsecret"),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: Logger(label: "test"))
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        let cache = Task { try await handler.run() }
        defer {
            server.cancel()
            cache.cancel()
        }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let url = "https://127.0.0.1:\(port)"
        let token = AgentToken(caHash: AgentToken.hash(pki.caCertificatePEM), secret: "joinsecret").description

        let identity = try await NodeIdentity.join(server: url, token: token, nodeName: "worker-1", nodeIPs: ["10.9.8.7"], dataDir: dir)
        #expect(identity.nodeName == "worker-1")
        #expect(NodeIdentity.load(from: "\(dir)/agent") == identity)
        let again = try await NodeIdentity.join(server: url, token: token, nodeName: "worker-1", nodeIPs: ["10.9.8.7"], dataDir: dir)
        #expect(again == identity)
        let moved = try await NodeIdentity.join(server: url, token: token, nodeName: "worker-1", nodeIPs: ["10.9.8.8"], dataDir: dir)
        #expect(moved.servingCertificatePEM != identity.servingCertificatePEM)
        #expect(moved.nodeIPs == ["10.9.8.8"])

        await handler.waitUntilReady()
        let transport = try moved.transport(server: url)
        let version = try await transport.send(ClientRequest(method: "GET", path: "/api/v1/nodes"))
        try await transport.shutdown()
        #expect(version.status == 200)

        let wrongSecret = AgentToken(caHash: AgentToken.hash(pki.caCertificatePEM), secret: "nope").description
        await #expect(throws: ClientError.self) {
            _ = try await NodeIdentity.join(server: url, token: wrongSecret, nodeName: "worker-2", nodeIPs: [], dataDir: "\(dir)/other")
        }
        let wrongCA = AgentToken(caHash: String(repeating: "0", count: 64), secret: "joinsecret").description
        do {
            _ = try await NodeIdentity.join(server: url, token: wrongCA, nodeName: "worker-1", nodeIPs: ["10.9.8.8"], dataDir: "\(dir)/third")
            Issue.record("joined a server whose CA does not match the token")
        } catch let e as ClientError {
            #expect(e.reason == "CAMismatch")
        }
    }
}

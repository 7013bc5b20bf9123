import Crypto
import Foundation
import SkiffCore
import SwiftASN1
import X509

/// Issues a joining agent its kubelet certificates, as k3s' supervisor does: the agent
/// proves it holds the join token (the secret, as a bearer) and sends one certificate
/// signing request per key it made; its keys never leave the node.
///
/// `POST /v1-skiff/node-certificates` with
/// `{"nodeName", "addresses": [IP…], "clientCSR": PEM, "servingCSR": PEM}` answers
/// `{"caCertificate", "clientCertificate", "servingCertificate"}` (PEMs).
public struct NodeCertificateIssuer: Sendable {
    /// Where agents ask; outside the Kubernetes API, like /cacerts, and authenticated by
    /// the join token rather than by the API's authenticator.
    public static let path = "/v1-skiff/node-certificates"

    let pki: ClusterPKI
    let tokenSecret: String

    public init(pki: ClusterPKI, tokenSecret: String) {
        self.pki = pki
        self.tokenSecret = tokenSecret
    }

    /// Answers one request: 401 without the token, 405 for other methods, 400 for a bad
    /// body, node name or CSR.
    public func handle(_ req: APIRequest) -> APIResponse {
        do {
            return try issue(req)
        } catch let e as APIError {
            return .error(e)
        } catch {
            return .error(.internalError("\(error)"))
        }
    }

    func issue(_ req: APIRequest) throws -> APIResponse {
        guard let auth = req.header("authorization"), auth.lowercased().hasPrefix("bearer "),
              constantTimeEqual(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces), tokenSecret)
        else { throw APIError.unauthorized() }
        guard req.method == "POST" else {
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
        let body: JSON
        do { body = try JSON.parse(req.body) } catch { throw APIError.badRequest("the request body is not JSON: \(error)") }
        guard let nodeName = body["nodeName"]?.stringValue, let clientCSR = body["clientCSR"]?.stringValue,
              let servingCSR = body["servingCSR"]?.stringValue
        else { throw APIError.badRequest("nodeName, clientCSR and servingCSR are required") }
        let addresses = (body["addresses"]?.arrayValue ?? []).compactMap(\.stringValue)
        let client = try pki.signNodeClientCertificate(csrPEM: clientCSR, nodeName: nodeName)
        let serving = try pki.signNodeServingCertificate(csrPEM: servingCSR, nodeName: nodeName, addresses: addresses)
        return .json(200, ["caCertificate": .string(pki.caCertificatePEM), "clientCertificate": .string(client),
                           "servingCertificate": .string(serving)])
    }

    /// Compares without leaking, through timing, how much of the token matched.
    func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension ClusterPKI {
    /// A kubelet's client certificate: CN system:node:<name>, O system:nodes, the
    /// identity upstream's Node authorizer and kubeadm give kubelets.
    public func signNodeClientCertificate(csrPEM: String, nodeName: String, validity: TimeInterval = 365 * 86400) throws -> String {
        let key = try Self.verifiedKey(csrPEM: csrPEM, nodeName: nodeName)
        let subject = try DistinguishedName {
            OrganizationName("system:nodes")
            CommonName("system:node:\(nodeName)")
        }
        return try signNodeCertificate(key: key, subject: subject, names: [], usage: .clientAuth, validity: validity)
    }

    /// A kubelet's serving certificate, for its node name and addresses (SANs), as
    /// upstream's kubelet-serving signer issues.
    public func signNodeServingCertificate(csrPEM: String, nodeName: String, addresses: [String],
                                           validity: TimeInterval = 365 * 86400) throws -> String {
        let key = try Self.verifiedKey(csrPEM: csrPEM, nodeName: nodeName)
        var names: [GeneralName] = [.dnsName(nodeName)]
        for address in addresses {
            guard let ip = IPAddressBytes.parse(address) else {
                throw APIError.badRequest("addresses: \"\(address)\" is not an IP address")
            }
            names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ip))))
        }
        let subject = try DistinguishedName {
            OrganizationName("system:nodes")
            CommonName("system:node:\(nodeName)")
        }
        return try signNodeCertificate(key: key, subject: subject, names: names, usage: .serverAuth, validity: validity)
    }

    /// The CSR's public key, once its signature (proof that the agent holds the key), the
    /// node name and the requested subject have been checked.
    static func verifiedKey(csrPEM: String, nodeName: String) throws -> Certificate.PublicKey {
        let problems = Validation.isDNS1123Subdomain(nodeName)
        guard problems.isEmpty else {
            throw APIError.badRequest("nodeName: Invalid value: \"\(nodeName)\": \(problems.joined(separator: "; "))")
        }
        let csr: CertificateSigningRequest
        do { csr = try CertificateSigningRequest(pemEncoded: csrPEM) } catch {
            throw APIError.badRequest("the certificate signing request could not be parsed: \(error)")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw APIError.badRequest("the certificate signing request's signature does not match its key")
        }
        let commonNames = csr.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.map { $0.value.description }
        guard commonNames == ["system:node:\(nodeName)"] else {
            throw APIError.badRequest("the certificate signing request's subject must be CN=system:node:\(nodeName)")
        }
        return csr.publicKey
    }

    func signNodeCertificate(key: Certificate.PublicKey, subject: DistinguishedName, names: [GeneralName],
                             usage: ExtendedKeyUsage.Usage, validity: TimeInterval) throws -> String {
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
        let caCert = try Certificate(pemEncoded: caCertificatePEM)
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(validity),
            issuer: caCert.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([usage])
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(caKey))
        return try cert.serializeAsPEM().pemString
    }
}

import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's certificates, made at first start under `<data-dir>/tls` and reused
/// afterwards: a CA, the API server's serving certificate and the admin's client
/// certificate (CN system:admin, O system:masters, as upstream's admin.conf has), and the
/// client certificate the API server presents to kubelets (CN kube-apiserver-kubelet-client,
/// O system:masters, as kubeadm's apiserver-kubelet-client.crt).
public struct ClusterPKI: Sendable {
    public var caCertificatePEM: String
    public var caKeyPEM: String
    public var serverCertificatePEM: String
    public var serverKeyPEM: String
    public var adminCertificatePEM: String
    public var adminKeyPEM: String
    public var kubeletClientCertificatePEM: String
    public var kubeletClientKeyPEM: String

    /// Loads the PKI from `dir`, creating what is missing. The serving certificate is made
    /// anew when a requested SAN is not in it or it expires within 30 days.
    public static func loadOrCreate(in dir: String, sans: [String]) throws -> ClusterPKI {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        func path(_ name: String) -> String { "\(dir)/\(name)" }
        func read(_ name: String) -> String? { try? String(contentsOfFile: path(name), encoding: .utf8) }
        func write(_ name: String, _ content: String, secret: Bool) throws {
            let tmp = path(name) + ".tmp"
            try content.write(toFile: tmp, atomically: false, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: secret ? 0o600 : 0o644], ofItemAtPath: tmp)
            if fm.fileExists(atPath: path(name)) { try fm.removeItem(atPath: path(name)) }
            try fm.moveItem(atPath: tmp, toPath: path(name))
        }

        let caKey: P256.Signing.PrivateKey
        let caCert: Certificate
        if let keyPEM = read("ca.key"), let certPEM = read("ca.crt") {
            caKey = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
            caCert = try Certificate(pemEncoded: certPEM)
        } else {
            caKey = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName("skiff-ca@\(Int(Date().timeIntervalSince1970))") }
            caCert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
                notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(10 * 365 * 86400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(caKey))
            try write("ca.key", caKey.pemRepresentation, secret: true)
            try write("ca.crt", try caCert.serializeAsPEM().pemString, secret: false)
        }

        func issue(subject: DistinguishedName, names: [String], usage: ExtendedKeyUsage.Usage) throws -> (String, String) {
            let key = P256.Signing.PrivateKey()
            var general: [GeneralName] = []
            for n in names {
                if let ip = IPAddressBytes.parse(n) { general.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(ip)))) } else { general.append(.dnsName(n)) }
            }
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(365 * 86400),
                issuer: caCert.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([usage])
                    if !general.isEmpty { SubjectAlternativeNames(general) }
                },
                issuerPrivateKey: .init(caKey))
            return (try cert.serializeAsPEM().pemString, key.pemRepresentation)
        }

        var serverCert = read("server.crt"), serverKey = read("server.key")
        if let pem = serverCert, serverKey != nil, let cert = try? Certificate(pemEncoded: pem),
           cert.notValidAfter > Date().addingTimeInterval(30 * 86400),
           let existing = try? cert.extensions.subjectAlternativeNames,
           Set(sans).isSubset(of: Set(existing.map(Self.describe))) {
            // still good
        } else {
            let (c, k) = try issue(subject: try DistinguishedName { CommonName("skiff-apiserver") }, names: sans, usage: .serverAuth)
            try write("server.key", k, secret: true)
            try write("server.crt", c, secret: false)
            serverCert = c
            serverKey = k
        }

        var adminCert = read("admin.crt"), adminKey = read("admin.key")
        if adminCert == nil || adminKey == nil {
            let subject = try DistinguishedName {
                OrganizationName("system:masters")
                CommonName("system:admin")
            }
            let (c, k) = try issue(subject: subject, names: [], usage: .clientAuth)
            try write("admin.key", k, secret: true)
            try write("admin.crt", c, secret: false)
            adminCert = c
            adminKey = k
        }
        var kubeletClientCert = read("apiserver-kubelet-client.crt"), kubeletClientKey = read("apiserver-kubelet-client.key")
        if kubeletClientCert == nil || kubeletClientKey == nil {
            let subject = try DistinguishedName {
                OrganizationName("system:masters")
                CommonName("kube-apiserver-kubelet-client")
            }
            let (c, k) = try issue(subject: subject, names: [], usage: .clientAuth)
            try write("apiserver-kubelet-client.key", k, secret: true)
            try write("apiserver-kubelet-client.crt", c, secret: false)
            kubeletClientCert = c
            kubeletClientKey = k
        }
        return ClusterPKI(caCertificatePEM: try caCert.serializeAsPEM().pemString, caKeyPEM: caKey.pemRepresentation,
                          serverCertificatePEM: serverCert ?? "", serverKeyPEM: serverKey ?? "",
                          adminCertificatePEM: adminCert ?? "", adminKeyPEM: adminKey ?? "",
                          kubeletClientCertificatePEM: kubeletClientCert ?? "", kubeletClientKeyPEM: kubeletClientKey ?? "")
    }

    static func describe(_ name: GeneralName) -> String {
        switch name {
        case .dnsName(let d): return d
        case .ipAddress(let ip):
            let b = Array(ip.bytes)
            if b.count == 4 { return b.map(String.init).joined(separator: ".") }
            if b.count == 16 { return IPAddressBytes.formatIPv6(b) }
            return ""
        default: return ""
        }
    }

    /// A kubeconfig for the admin with everything embedded, as `skiff kubeconfig` prints.
    public func adminKubeconfig(server: String, cluster: String = "skiff") -> String {
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                certificate-authority-data: \(b64(caCertificatePEM))
                server: \(server)
              name: \(cluster)
            contexts:
            - context:
                cluster: \(cluster)
                user: \(cluster)-admin
              name: \(cluster)
            current-context: \(cluster)
            preferences: {}
            users:
            - name: \(cluster)-admin
              user:
                client-certificate-data: \(b64(adminCertificatePEM))
                client-key-data: \(b64(adminKeyPEM))

            """
    }
}

/// IP addresses in SANs, as their raw bytes.
enum IPAddressBytes {
    static func parse(_ s: String) -> [UInt8]? {
        let v4 = s.split(separator: ".", omittingEmptySubsequences: false)
        if v4.count == 4 {
            let b = v4.compactMap { UInt8($0) }
            return b.count == 4 ? b : nil
        }
        guard s.contains(":") else { return nil }
        var addr = in6_addr()
        guard inet_pton(AF_INET6, s, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: addr) { Array($0) }
    }

    static func formatIPv6(_ b: [UInt8]) -> String {
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: b) }
        var buf = [CChar](repeating: 0, count: 64)
        guard inet_ntop(AF_INET6, &addr, &buf, 64) != nil else { return "" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

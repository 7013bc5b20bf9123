import NIOSSL

/// TLS material of a server — the API server's or a kubelet's: its certificate and key, and
/// the cluster CA that client certificates must chain to.
public struct ServingTLS: Sendable {
    public var certificatePEM: String
    public var keyPEM: String
    public var clientCAPEM: String

    public init(certificatePEM: String, keyPEM: String, clientCAPEM: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.clientCAPEM = clientCAPEM
    }

    public func configuration() throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(clientCAPEM.utf8)))
        // Optional at the TLS layer so that a missing certificate gets a 401 Status (or a
        // bearer token is used) rather than a failed handshake; a presented one must chain
        // to the cluster CA.
        config.certificateVerification = .optionalVerification
        return config
    }
}

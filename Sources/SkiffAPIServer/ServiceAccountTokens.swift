import Crypto
import Foundation
import SkiffAPI
import SkiffCore

/// Service account tokens: JWTs signed with the cluster's service-account key (ES256),
/// issued by `serviceaccounts/<name>/token` (TokenRequest, `kubectl create token`) and
/// accepted as bearer tokens, as kube-apiserver's bound service account tokens are.
public struct ServiceAccountTokens: Sendable {
    public static let issuer = "https://kubernetes.default.svc.cluster.local"
    let key: P256.Signing.PrivateKey
    let keyID: String

    public init(keyPEM: String) throws {
        key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        keyID = Self.base64URL(Array(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    /// A new signing key in PEM, for the first start.
    public static func newKeyPEM() -> String { P256.Signing.PrivateKey().pemRepresentation }

    public struct Claims: Sendable {
        public var namespace: String
        public var serviceAccount: String
        public var serviceAccountUID: String
        public var audiences: [String]
        public var issuedAt: Int64
        public var expires: Int64
        public var boundObject: JSON?
    }

    public func issue(_ c: Claims) -> String {
        var kubernetes: JSON = ["namespace": .string(c.namespace),
                                "serviceaccount": ["name": .string(c.serviceAccount), "uid": .string(c.serviceAccountUID)]]
        if let bound = c.boundObject, let kind = bound["kind"]?.stringValue?.lowercased(), let name = bound["name"]?.stringValue {
            kubernetes[kind] = ["name": .string(name), "uid": bound["uid"] ?? ""]
        }
        let claims: JSON = [
            "aud": .array(c.audiences.map { .string($0) }), "exp": .number(JSONNumber(c.expires)),
            "iat": .number(JSONNumber(c.issuedAt)), "iss": .string(Self.issuer), "kubernetes.io": kubernetes,
            "nbf": .number(JSONNumber(c.issuedAt)), "sub": .string("system:serviceaccount:\(c.namespace):\(c.serviceAccount)"),
        ]
        let header: JSON = ["alg": "ES256", "kid": .string(keyID)]
        let signingInput = Self.base64URL(header.serialized()) + "." + Self.base64URL(claims.serialized())
        let signature = (try? key.signature(for: Data(signingInput.utf8)).rawRepresentation) ?? Data()
        return signingInput + "." + Self.base64URL(Array(signature))
    }

    /// The user a token authenticates ("system:serviceaccount:ns:name"), if it is one of
    /// ours, unexpired and meant for this API server.
    public func verify(_ token: String, now: Int64 = Timestamp.now().seconds) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let sig = Self.base64URLDecode(String(parts[2])),
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: sig),
              key.publicKey.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8)),
              let payload = Self.base64URLDecode(String(parts[1])), let claims = try? JSON.parse(Array(payload)),
              claims["iss"]?.stringValue == Self.issuer,
              let exp = claims["exp"]?.int64Value, exp > now,
              (claims["aud"]?.arrayValue ?? []).contains(.string(Self.issuer)),
              let sub = claims["sub"]?.stringValue, sub.hasPrefix("system:serviceaccount:")
        else { return nil }
        return sub
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String { base64URL(Array(bytes)) }

    static func base64URLDecode(_ s: String) -> Data? {
        var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return Data(base64Encoded: b)
    }
}

extension APIHandler {
    /// The token issuer, for tests that verify what it signed.
    public var tokensForTests: ServiceAccountTokens? { serviceAccountTokens }

    /// serviceaccounts/<name>/token: a TokenRequest answered with a signed token.
    func createToken(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        guard let tokens = serviceAccountTokens else { throw .serviceUnavailable("service account tokens are not configured") }
        var request = try BodyDecoding.decodeObject(req)
        if let kind = request.kind, !kind.isEmpty, kind != "TokenRequest" {
            throw .badRequest("the kind in the data (\(kind)) does not match the expected kind (TokenRequest)")
        }
        let sa = try await currentObject(r, info, name, req)
        let saObject = try parseStored(sa.bytes)
        let expiration = request[path: ["spec", "expirationSeconds"]]?.int64Value ?? 3600
        if expiration < 600 {
            throw .invalid(kind: "TokenRequest", name: name, group: "authentication.k8s.io",
                           causes: [.invalid("spec.expirationSeconds", String(expiration), "may not specify a duration less than 10 minutes")])
        }
        let audiences = request[path: ["spec", "audiences"]]?.arrayValue?.compactMap(\.stringValue) ?? []
        let now = Timestamp.now()
        let claims = ServiceAccountTokens.Claims(
            namespace: info.namespace ?? "", serviceAccount: name, serviceAccountUID: saObject.uid ?? "",
            audiences: audiences.isEmpty ? [ServiceAccountTokens.issuer] : audiences,
            issuedAt: now.seconds, expires: now.seconds + expiration, boundObject: request[path: ["spec", "boundObjectRef"]])
        request.apiVersion = "authentication.k8s.io/v1"
        request.kind = "TokenRequest"
        request.name = name
        request.namespace = info.namespace
        request.creationTimestamp = now.rfc3339
        request[path: ["spec", "audiences"]] = .array(claims.audiences.map { .string($0) })
        request[path: ["spec", "expirationSeconds"]] = .number(JSONNumber(expiration))
        request["status"] = ["token": .string(tokens.issue(claims)), "expirationTimestamp": .string(now.adding(seconds: expiration).rfc3339)]
        return .json(201, request)
    }
}

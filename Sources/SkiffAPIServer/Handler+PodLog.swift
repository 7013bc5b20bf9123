import AsyncHTTPClient
import NIOCore
import NIOSSL
import SkiffAPI
import SkiffCore

/// How the API server reaches kubelets: the cluster CA that their serving certificates
/// chain to, and the client certificate it presents (ClusterPKI's kubelet client).
public struct KubeletClientConfig: Sendable {
    public var caCertificatePEM: String
    public var certificatePEM: String
    public var keyPEM: String

    public init(caCertificatePEM: String, certificatePEM: String, keyPEM: String) {
        self.caCertificatePEM = caCertificatePEM
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    /// The server's kubelet client from its PKI.
    public init(pki: ClusterPKI) {
        self.init(caCertificatePEM: pki.caCertificatePEM, certificatePEM: pki.kubeletClientCertificatePEM, keyPEM: pki.kubeletClientKeyPEM)
    }

    func tlsConfiguration(skipVerify: Bool) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8)))
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
        if skipVerify { tls.certificateVerification = .none }
        return tls
    }
}

/// pods/log: validated as upstream's pod log REST storage, then proxied to the kubelet of
/// the pod's node (GET https://<InternalIP>:<kubelet port>/containerLogs/...), streaming.
extension APIHandler {
    func podLog(_ r: ResourceInfo, _ info: RequestInfo, _ name: String, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let query = try Self.kubeletLogQuery(name, req)
        let pod = try parseStored(try await currentObject(r, info, name, req).bytes)
        let container = try Self.logContainer(pod, name, requested: req.queryValue("container") ?? "")
        guard let nodeName = pod[path: ["spec", "nodeName"]]?.stringValue, !nodeName.isEmpty else {
            throw .badRequest("pod \(name) does not have a host assigned")
        }
        let (address, port) = try await kubeletAddress(node: nodeName)
        guard let kubeletClient else { throw .serviceUnavailable("the API server has no kubelet client credentials") }
        let host = address.contains(":") ? "[\(address)]" : address
        let url = "https://\(host):\(port)/containerLogs/\(info.namespace ?? "")/\(name)/\(container)" + (query.isEmpty ? "" : "?" + query)
        let skipVerify = ["true", "1"].contains(req.queryValue("insecureSkipTLSVerifyBackend") ?? "")
        return try await proxyLog(url: url, kubeletClient, skipVerify: skipVerify, name: name)
    }

    /// Opens the kubelet's response; a success streams through as it arrives, a failure
    /// becomes a metav1.Status with the kubelet's code and message.
    private func proxyLog(url: String, _ config: KubeletClientConfig, skipVerify: Bool, name: String) async throws(APIError) -> APIResponse {
        let client: HTTPClient
        do {
            var configuration = HTTPClient.Configuration(tlsConfiguration: try config.tlsConfiguration(skipVerify: skipVerify))
            configuration.timeout.connect = .seconds(10)
            client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        } catch {
            throw .internalError("kubelet client credentials: \(error)")
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        } catch {
            await shutDown(client)
            throw APIError(code: 500, reason: "", message: "Get \"\(url)\": \(error)")
        }
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            await shutDown(client)
            throw Self.kubeletError(code: Int(response.status.code), body: body, name: name)
        }
        let contentType = response.headers.first(name: "content-type") ?? "text/plain"
        return APIResponse(status: 200, contentType: contentType, body: .stream { write in
            do {
                for try await chunk in response.body { try await write(Array(chunk.readableBytesView)) }
            } catch {
                await self.shutDown(client)
                throw error
            }
            await self.shutDown(client)
        })
    }

    private func shutDown(_ client: HTTPClient) async {
        do { try await client.shutdown() } catch { logger.warning("closing the kubelet client failed", metadata: ["error": "\(error)"]) }
    }

    /// A kubelet's error: its Status passed through, or its text wrapped in one.
    static func kubeletError(code: Int, body: [UInt8], name: String) -> APIError {
        if let status = try? JSON.parse(body), status.kind == "Status" {
            let message = status["message"]?.stringValue ?? ""
            return APIError(code: Int(status["code"]?.int64Value ?? Int64(code)), reason: status["reason"]?.stringValue ?? "", message: message)
        }
        var message = String(decoding: body, as: UTF8.self)
        while message.last?.isNewline == true { message.removeLast() }
        if message.isEmpty { message = "the server responded with the status code \(code) but did not return more information" }
        switch code {
        case 400: return .badRequest(message)
        case 401: return APIError(code: 401, reason: "Unauthorized", message: message)
        case 403: return .forbidden(message)
        case 404: return APIError(code: 404, reason: "NotFound", message: message, name: name, kind: "pods/log")
        default: return APIError(code: code, reason: "", message: message)
        }
    }

    /// The container whose log is read: the one named, or the only one, or the one the
    /// kubectl.kubernetes.io/default-container annotation names.
    static func logContainer(_ pod: JSON, _ name: String, requested: String) throws(APIError) -> String {
        func names(_ field: String) -> [String] {
            (pod[path: ["spec", field]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        let containers = names("containers"), initContainers = names("initContainers"), ephemeral = names("ephemeralContainers")
        if !requested.isEmpty {
            guard containers.contains(requested) || initContainers.contains(requested) || ephemeral.contains(requested) else {
                throw .badRequest("container \(requested) is not valid for pod \(name)")
            }
            return requested
        }
        if let annotated = pod[path: ["metadata", "annotations", "kubectl.kubernetes.io/default-container"]]?.stringValue,
           containers.contains(annotated) {
            return annotated
        }
        switch containers.count {
        case 1:
            return containers[0]
        case 0:
            throw .badRequest("a container name must be specified for pod \(name)")
        default:
            var message = "a container name must be specified for pod \(name), choose one of: [\(containers.joined(separator: " "))]"
            if !initContainers.isEmpty { message += " or one of the init containers: [\(initContainers.joined(separator: " "))]" }
            throw .badRequest(message)
        }
    }

    /// The kubelet's query from the request's PodLogOptions, validated as upstream does.
    static func kubeletLogQuery(_ name: String, _ req: APIRequest) throws(APIError) -> String {
        var causes: [APIError.Cause] = []
        var params: [(String, String)] = []
        func bool(_ key: String) throws(APIError) -> Bool {
            guard let v = req.queryValue(key), !v.isEmpty else { return false }
            switch v {
            case "1", "t", "T", "true", "TRUE", "True": return true
            case "0", "f", "F", "false", "FALSE", "False": return false
            default: throw .badRequest("\(key): invalid boolean value \"\(v)\"")
            }
        }
        func int(_ key: String, min: Int64, _ detail: String) throws(APIError) -> Int64? {
            guard let v = req.queryValue(key), !v.isEmpty else { return nil }
            guard let n = Int64(v) else { throw .badRequest("\(key): invalid integer value \"\(v)\"") }
            if n < min { causes.append(.init(type: "FieldValueInvalid", message: "Invalid value: \(n): \(detail)", field: key)) }
            return n
        }
        for key in ["follow", "previous", "timestamps"] where try bool(key) { params.append((key, "true")) }
        let sinceSeconds = try int("sinceSeconds", min: 1, "must be greater than 0")
        var sinceTime: Timestamp?
        if let v = req.queryValue("sinceTime"), !v.isEmpty {
            guard let t = Timestamp(rfc3339: v) else { throw .badRequest("sinceTime: parsing time \"\(v)\" as RFC3339 failed") }
            sinceTime = t
        }
        if sinceSeconds != nil, sinceTime != nil {
            causes.append(.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
        }
        if let sinceSeconds { params.append(("sinceSeconds", String(sinceSeconds))) }
        if let sinceTime { params.append(("sinceTime", sinceTime.rfc3339)) }
        if let tail = try int("tailLines", min: 0, "must be greater than or equal to 0") { params.append(("tailLines", String(tail))) }
        if let limit = try int("limitBytes", min: 1, "must be greater than 0") { params.append(("limitBytes", String(limit))) }
        if !causes.isEmpty { throw .invalid(kind: "PodLogOptions", name: name, causes: causes) }
        return params.map { "\($0.0)=\($0.1.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: ":", with: "%3A"))" }
            .joined(separator: "&")
    }
}

import NIOHTTP1
import NIOSSL
import SkiffCore
import SkiffStreaming

/// pods/exec, pods/attach and pods/portforward: validated as upstream's pod REST storage
/// does, then the upgraded connection is proxied to the kubelet of the pod's node, which
/// runs the protocol (UpgradeProxy).
extension APIHandler {
    /// Whether a request is one of the upgraded subresources.
    public static func isStreaming(_ head: HTTPRequestHead) -> Bool { streamingTarget(StreamingRequest(head)) != nil }

    static func streamingTarget(_ request: StreamingRequest) -> (namespace: String, pod: String, subresource: String)? {
        let segments = request.segments
        guard segments.count == 7, segments[0] == "api", segments[1] == "v1", segments[2] == "namespaces", segments[4] == "pods",
              ["exec", "attach", "portforward"].contains(segments[6]) else { return nil }
        return (segments[3], segments[5], segments[6])
    }

    /// The decision for an upgrade request; `authenticate` names its caller.
    public func streamingUpgrade(_ head: HTTPRequestHead, authenticate: () async -> String?) async -> UpgradeDecision {
        let request = StreamingRequest(head)
        guard let (namespace, name, subresource) = Self.streamingTarget(request) else { return .refuse(.notFound("", "")) }
        let start = ContinuousClock.now
        let decision: UpgradeDecision
        do throws(APIError) {
            guard let user = await authenticate() else { throw .unauthorized() }
            guard authorizer.authorize(user: user, verb: "create", resource: "pods", namespace: namespace) else {
                throw .forbidden("User \"\(user)\" cannot create resource \"pods/\(subresource)\" in the namespace \"\(namespace)\"")
            }
            let (host, port, target) = try await kubeletLocation(namespace: namespace, pod: name, subresource: subresource, request)
            guard let kubeletClient else { throw .serviceUnavailable("the API server has no kubelet client credentials") }
            let skipVerify = ["true", "1"].contains(request.value("insecureSkipTLSVerifyBackend") ?? "")
            let tls: NIOSSL.TLSConfiguration
            do { tls = try kubeletClient.tlsConfiguration(skipVerify: skipVerify) } catch { throw .internalError("kubelet client credentials: \(error)") }
            decision = await UpgradeProxy.forward(head, target: target, host: host, port: port, tls: tls)
        } catch {
            decision = .refuse(error)
        }
        var code = 101
        if case .refuse(let status, _, _) = decision { code = status }
        metrics.observe(verb: head.method == .GET ? "get" : "create", resource: "pods/\(subresource)", code: code,
                        duration: ContinuousClock.now - start)
        return decision
    }

    /// The kubelet's address and the path it serves the request on.
    func kubeletLocation(namespace: String, pod name: String, subresource: String,
                         _ request: StreamingRequest) async throws(APIError) -> (host: String, port: Int, target: String) {
        guard let pods = registry.lookup(group: "", version: "v1", resource: "pods") else { throw .internalError("pods are not served") }
        guard let cached = await cache.get(pods, key: pods.key(namespace: namespace, name: name)) else {
            throw .notFound("pods", name)
        }
        let pod = try parseStored(cached.bytes)
        let phase = pod[path: ["status", "phase"]]?.stringValue ?? ""
        var path: String
        var query: [(String, String)] = []
        switch subresource {
        case "portforward":
            path = "/portForward/\(namespace)/\(name)"
            query = request.values("ports").map { ("ports", $0) }
        default:
            if phase == "Succeeded" || phase == "Failed" {
                throw .badRequest("cannot \(subresource) into a container in a completed pod; current phase is \(phase)")
            }
            let container = try Self.logContainer(pod, name, requested: request.value("container") ?? "")
            path = "/\(subresource)/\(namespace)/\(name)/\(container)"
            if subresource == "exec" {
                let command = request.values("command")
                guard !command.isEmpty else { throw .badRequest("you must specify at least one command for the container") }
                query = command.map { ("command", $0) }
            }
            for flag in ["stdin", "stdout", "stderr", "tty"] {
                if let value = request.value(flag) { query.append((flag, value)) }
            }
        }
        guard let nodeName = pod[path: ["spec", "nodeName"]]?.stringValue, !nodeName.isEmpty else {
            throw .badRequest("pod \(name) does not have a host assigned")
        }
        let (host, port) = try await kubeletAddress(node: nodeName)
        if !query.isEmpty {
            path += "?" + query.map { "\($0.0)=\(URLQuery.escape($0.1))" }.joined(separator: "&")
        }
        return (host, port, path)
    }

    /// The node's InternalIP and kubelet port, as its status reports them.
    func kubeletAddress(node nodeName: String) async throws(APIError) -> (host: String, port: Int) {
        guard let nodes = registry.lookup(group: "", version: "v1", resource: "nodes") else { throw .internalError("nodes are not served") }
        guard let cached = await cache.get(nodes, key: nodes.key(namespace: nil, name: nodeName)) else {
            throw .notFound("nodes", nodeName)
        }
        let node = try parseStored(cached.bytes)
        let address = node[path: ["status", "addresses"]]?.arrayValue?
            .first { $0["type"]?.stringValue == "InternalIP" }?["address"]?.stringValue
        guard let address, !address.isEmpty else { throw .internalError("node \(nodeName) has no InternalIP address") }
        let port = node[path: ["status", "daemonEndpoints", "kubeletEndpoint", "Port"]]?.int64Value ?? 10250
        return (address, Int(port))
    }
}

import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import SkiffClient
import SkiffCore
import SkiffRuntime
import SkiffStreaming
import X509

/// Where one container's log is, as the kubelet knows it.
public struct ContainerLogLocation: Sendable {
    /// The attempt's CRI log file (`<data-dir>/pods/<ns>_<pod>_<uid>/<container>/<attempt>.log`).
    public var path: String
    /// False once the container has stopped and its output is all on disk (the log copier
    /// has drained it); ends a follow.
    public var isRunning: @Sendable () async -> Bool

    public init(path: String, isRunning: @escaping @Sendable () async -> Bool) {
        self.path = path
        self.isRunning = isRunning
    }
}

/// The kubelet's answer to "where is this container's log", implemented by the kubelet.
public protocol ContainerLogSource: Sendable {
    /// The current attempt's log, or with `previous` the last terminated one. Throws a
    /// `ContainerLogError` (or any error, which becomes a 500).
    func logLocation(namespace: String, pod: String, container: String, previous: Bool) async throws -> ContainerLogLocation
}

/// Why a log cannot be read, with upstream kubelet's status codes and messages.
public struct ContainerLogError: Error, Sendable, Equatable {
    /// The HTTP status the kubelet answers with.
    public var code: Int
    /// The Status message, as upstream's kubelet words it.
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// 404: the kubelet does not run this pod.
    public static func podNotFound(_ pod: String) -> ContainerLogError {
        ContainerLogError(code: 404, message: "pod \"\(pod)\" does not exist")
    }

    /// 404: the pod has no such container.
    public static func containerNotFound(_ container: String, pod: String) -> ContainerLogError {
        ContainerLogError(code: 404, message: "container \"\(container)\" not found in pod \"\(pod)\"")
    }

    /// 400: `previous` asked for, but the container has not terminated before.
    public static func previousNotFound(_ container: String, pod: String) -> ContainerLogError {
        ContainerLogError(code: 400, message: "previous terminated container \"\(container)\" in pod \"\(pod)\" not found")
    }

    /// 400: the container has not started yet (`reason` as in its waiting state, e.g. ContainerCreating).
    public static func waiting(_ container: String, pod: String, reason: String) -> ContainerLogError {
        ContainerLogError(code: 400, message: "container \"\(container)\" in pod \"\(pod)\" is waiting to start: \(reason)")
    }

    var apiError: APIError {
        switch code {
        case 404: APIError(code: 404, reason: "NotFound", message: message)
        case 400: .badRequest(message)
        default: APIError(code: code, reason: "", message: message)
        }
    }
}

/// The request context of the kubelet's server: the connection, for the client certificate.
public struct KubeletRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The kubelet's HTTPS API (port 10250): container logs, and exec and port-forward over
/// upgraded connections (KubeletServer+Streaming).
///
/// Only the API server (CN kube-apiserver-kubelet-client) and cluster admins (O
/// system:masters) may call it, as upstream's kubelet authorizes them through RBAC.
public struct KubeletServer: Service {
    /// The CN of the API server's client certificate (ClusterPKI's kubelet client).
    public static let apiServerClientName = "kube-apiserver-kubelet-client"

    let host: String
    let port: Int
    let tls: ServingTLS
    let logSource: any ContainerLogSource
    /// exec and port-forward; nil where the node cannot run them (simulated nodes).
    let streaming: (any ContainerStreamingSource)?
    let routes: @Sendable (Router<KubeletRequestContext>) -> Void
    let onServerRunning: @Sendable (any Channel) async -> Void
    let logger: Logger

    /// `routes` adds routes beyond /healthz and /containerLogs; every route is behind the
    /// same client-certificate authorization.
    public init(host: String = "0.0.0.0", port: Int = 10250, tls: ServingTLS, logSource: any ContainerLogSource,
                streaming: (any ContainerStreamingSource)? = nil,
                routes: @escaping @Sendable (Router<KubeletRequestContext>) -> Void = { _ in },
                onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in },
                logger: Logger = Logger(label: "skiff.kubelet.server")) {
        self.host = host
        self.port = port
        self.tls = tls
        self.logSource = logSource
        self.streaming = streaming
        self.routes = routes
        self.onServerRunning = onServerRunning
        self.logger = logger
    }

    /// Serves until cancelled or the service group shuts down gracefully.
    public func run() async throws {
        try await makeApplication().runService()
    }

    /// The router: authorization, then the routes.
    public func makeRouter() -> Router<KubeletRequestContext> {
        let router = Router(context: KubeletRequestContext.self)
        router.add(middleware: ClientCertificateAuthorization())
        router.get("/healthz") { _, _ in "ok" }
        let logSource = self.logSource
        router.get("/containerLogs/:namespace/:pod/:container") { request, context in
            try await Self.containerLogs(request, context, logSource)
        }
        routes(router)
        return router
    }

    func makeApplication() throws -> some ApplicationProtocol {
        let tlsConfiguration = try tls.configuration()
        let streaming = self.streaming
        let http: HTTPServerBuilder = .upgradableHTTP1(wants: { streaming != nil && Self.isStreaming($0) }) { head, channel in
            await Self.decideUpgrade(head, channel: channel, source: streaming!)
        }
        return Application(
            router: makeRouter(),
            server: try .tls(http, tlsConfiguration: tlsConfiguration),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// GET /containerLogs/{namespace}/{pod}/{container}: the log as text/plain, streamed.
    static func containerLogs(_ request: Request, _ context: KubeletRequestContext, _ source: any ContainerLogSource) async throws -> Response {
        let namespace = try context.parameters.require("namespace")
        let pod = try context.parameters.require("pod")
        let container = try context.parameters.require("container")
        let query = request.uri.queryParameters
        func value(_ name: String) -> String? { query[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        let options: ContainerLogOptions
        let previous: Bool
        do {
            (options, previous) = try parseLogQuery(value)
        } catch {
            return statusResponse(error.apiError)
        }
        let location: ContainerLogLocation
        do {
            location = try await source.logLocation(namespace: namespace, pod: pod, container: container, previous: previous)
        } catch let error as ContainerLogError {
            return statusResponse(error.apiError)
        } catch {
            return statusResponse(.internalError("\(error)"))
        }
        let stream = ContainerLogReader(path: location.path, options: options, isRunning: location.isRunning).stream()
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody { writer in
            for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
            try await writer.finish(nil)
        })
    }

    /// The query of /containerLogs, validated as upstream's PodLogOptions.
    static func parseLogQuery(_ value: (String) -> String?) throws(ContainerLogError) -> (ContainerLogOptions, previous: Bool) {
        func bool(_ name: String) throws(ContainerLogError) -> Bool {
            guard let v = value(name) else { return false }
            switch v {
            case "1", "t", "T", "true", "TRUE", "True": return true
            case "0", "f", "F", "false", "FALSE", "False": return false
            default: throw ContainerLogError(code: 400, message: "\(name): invalid boolean value \"\(v)\"")
            }
        }
        func int(_ name: String, min: Int) throws(ContainerLogError) -> Int? {
            guard let v = value(name) else { return nil }
            guard let n = Int(v) else { throw ContainerLogError(code: 400, message: "\(name): invalid integer value \"\(v)\"") }
            guard n >= min else { throw ContainerLogError(code: 400, message: "\(name): Invalid value: \(n): must be greater than or equal to \(min)") }
            return n
        }
        var options = ContainerLogOptions(timestamps: try bool("timestamps"), follow: try bool("follow"))
        options.tailLines = try int("tailLines", min: 0)
        options.limitBytes = try int("limitBytes", min: 1)
        let sinceSeconds = try int("sinceSeconds", min: 1)
        let sinceTime = value("sinceTime")
        if sinceSeconds != nil, sinceTime != nil {
            throw ContainerLogError(code: 400, message: "at most one of sinceTime or sinceSeconds must be specified")
        }
        if let sinceSeconds { options.sinceTime = Timestamp.now().adding(seconds: -Int64(sinceSeconds)) }
        if let sinceTime {
            guard let t = Timestamp(rfc3339: sinceTime) else {
                throw ContainerLogError(code: 400, message: "sinceTime: invalid RFC3339 time \"\(sinceTime)\"")
            }
            options.sinceTime = t
        }
        return (options, try bool("previous"))
    }

    static func statusResponse(_ error: APIError) -> Response {
        Response(status: .init(code: error.code), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.status.serialized())))
    }
}

/// Lets through only clients whose certificate (verified against the cluster CA by TLS)
/// names the API server or a member of system:masters: 401 without one, 403 otherwise.
struct ClientCertificateAuthorization: RouterMiddleware {
    typealias Context = KubeletRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let denied = await Self.denial(channel: context.channel, path: request.uri.path) {
            return KubeletServer.statusResponse(denied)
        }
        return try await next(request, context)
    }

    /// Why the connection's client may not call `path`, or nil when it may.
    static func denial(channel: any Channel, path: String) async -> APIError? {
        guard let peer = try? await channel.nioSSL_peerCertificate().get(),
              let certificate = try? Certificate(derEncoded: try peer.toDERBytes()) else {
            return APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")
        }
        var commonName = "", organizations: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName { commonName = attribute.value.description }
                if attribute.type == .RDNAttributeType.organizationName { organizations.append(attribute.value.description) }
            }
        }
        guard commonName == KubeletServer.apiServerClientName || organizations.contains("system:masters") else {
            return APIError(code: 403, reason: "Forbidden",
                            message: "Forbidden (user=\(commonName), verb=get, resource=nodes, subresource=\(Self.subresource(path)))")
        }
        return nil
    }

    /// The nodes subresource upstream's kubelet authorizes a path as.
    static func subresource(_ path: String) -> String {
        if path.hasPrefix("/containerLogs") || path.hasPrefix("/logs") { return "log" }
        if path.hasPrefix("/healthz") { return "healthz" }
        return "proxy"
    }
}

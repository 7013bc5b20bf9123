import Foundation
import Logging
import SkiffAPI
import SkiffCore
import SkiffStore

/// The Kubernetes REST API over the store: routes a request to discovery, a resource
/// verb or a subresource, and turns every failure into a metav1.Status.
public final class APIHandler: Sendable {
    public let registry: ResourceRegistry
    let store: any Store
    let cache: WatchCache
    let schema: APISchema
    let logger = Logger(label: "skiff.apiserver")
    let serviceIPs: ServiceIPAllocator
    let serviceAccountTokens: ServiceAccountTokens?
    /// The cluster CA, served at /cacerts for agents that join.
    let caCertificatePEM: String?
    /// How pods/log reaches kubelets; nil: no kubelet client credentials (logs unavailable).
    let kubeletClient: KubeletClientConfig?
    let openAPICache = OpenAPICache()
    public let metrics = APIMetrics()
    /// What ResourceMetricsScraper collected from kubelets, served as metrics.k8s.io.
    public let resourceMetrics = ResourceMetricsStorage()
    let authorizer: any Authorizer = AlwaysAllow()
    /// kube-apiserver's defaults: 400 reads and 200 writes in flight; watches do not count.
    let readLimit = InflightLimiter(limit: 400)
    let writeLimit = InflightLimiter(limit: 200)
    /// kube-apiserver's default watch timeout is random in [30, 60) minutes.
    let defaultWatchTimeout: ClosedRange<Int> = 1800...3599

    public init(store: any Store, registry: ResourceRegistry = APIHandler.builtInRegistry(),
                schema: APISchema = .builtIn, serviceCIDR: String = "10.43.0.0/16", watchCacheCapacity: Int = 10_000,
                serviceAccountTokens: ServiceAccountTokens? = nil, caCertificatePEM: String? = nil,
                kubeletClient: KubeletClientConfig? = nil) {
        self.kubeletClient = kubeletClient
        self.serviceAccountTokens = serviceAccountTokens
        self.caCertificatePEM = caCertificatePEM
        self.store = store
        self.registry = registry
        self.schema = schema
        self.cache = WatchCache(store: store, registry: registry, capacity: watchCacheCapacity)
        self.serviceIPs = ServiceIPAllocator(cidr: serviceCIDR)
    }

    public static func builtInRegistry(defaultTolerationSeconds: Int64 = 300) -> ResourceRegistry {
        ResourceRegistry(BuiltinResources.all(defaultTolerationSeconds: defaultTolerationSeconds) + ResourceMetricsAPI.resources,
                         preferredVersions: BuiltinResources.preferredVersions)
    }

    /// Runs the watch cache until cancelled; the API serves once it has loaded.
    public func run() async throws {
        try await cache.run()
    }

    /// Ends every watch and refuses new ones: the first step of a graceful shutdown, so
    /// that the HTTP server, which waits for open responses, is not held up by them.
    public func closeWatches() async {
        await cache.closeAll()
    }

    /// Waits until the watch cache has loaded the store (readiness).
    public func waitUntilReady() async {
        await cache.wait(for: 0)
    }

    public func handle(_ req: APIRequest) async -> APIResponse {
        let start = ContinuousClock.now
        let info = RequestInfo.parse(req.path)
        let watch = req.queryValue("watch") == "true" || req.queryValue("watch") == "1"
        let verb = Self.verb(req, info, watch: watch)
        let limiter = ["GET", "HEAD"].contains(req.method) ? readLimit : writeLimit
        if !watch {
            guard limiter.acquire() else { return .error(.tooManyRequests()) }
        }
        defer { if !watch { limiter.release() } }
        let response: APIResponse
        do {
            if let info, info.target == .resource, !authorizer.authorize(user: req.user ?? "", verb: verb, resource: info.resource, namespace: info.namespace) {
                throw APIError.forbidden("User \"\(req.user ?? "")\" cannot \(verb) resource \"\(info.resource)\"")
            }
            response = try await route(req)
        } catch let e as APIError {
            response = .error(e)
        } catch {
            logger.error("request failed", metadata: ["path": "\(req.path)", "error": "\(error)"])
            response = .error(.internalError("\(error)"))
        }
        let resource = info.map { i in i.subresource.map { "\(i.resource)/\($0)" } ?? i.resource } ?? ""
        metrics.observe(verb: verb, resource: resource, code: response.status, duration: ContinuousClock.now - start)
        return response
    }

    /// The Kubernetes verb of a request, as audit logs and metrics name it.
    static func verb(_ req: APIRequest, _ info: RequestInfo?, watch: Bool) -> String {
        let named = info?.name != nil
        switch req.method {
        case "GET", "HEAD": return watch ? "watch" : (named || info?.target != .resource ? "get" : "list")
        case "POST": return "create"
        case "PUT": return "update"
        case "PATCH": return req.header("content-type")?.hasPrefix("application/apply-patch") == true ? "apply" : "patch"
        case "DELETE": return named ? "delete" : "deletecollection"
        default: return req.method.lowercased()
        }
    }

    func route(_ req: APIRequest) async throws -> APIResponse {
        switch req.path {
        case "/version", "/version/":
            return .json(200, Self.version)
        case "/healthz", "/livez", "/readyz":
            return .text(200, "ok")
        case "/cacerts":
            // Open, as k3s': a joining agent checks it against the hash in its token.
            guard let caCertificatePEM else { throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource") }
            return .text(200, caCertificatePEM)
        case "/metrics":
            let stats = await store.stats()
            metrics.storeRevision.set(Double(stats.revision))
            metrics.databaseBytes.set(Double(stats.databaseBytes))
            metrics.compactions.set(Double(stats.compactions))
            metrics.inflightRequests.set(Double(readLimit.current.load(ordering: .relaxed) + writeLimit.current.load(ordering: .relaxed)))
            return APIResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: .bytes(metrics.render()))
        case "/openapi/v2", "/swagger-2.0.0.pb-v1":
            return try openAPI(req)
        default:
            if req.path.hasPrefix("/openapi/v3") { return try openAPI(req) }
        }
        guard let info = RequestInfo.parse(req.path) else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        switch info.target {
        case .discoveryRoot, .discoveryGroup, .discoveryVersion:
            guard req.method == "GET" else { throw APIError.methodNotAllowed("the server does not allow this method on the requested resource") }
            return try discovery(info, req, root: req.path.hasPrefix("/apis") ? "apis" : "api")
        case .resource:
            if info.group == ResourceMetricsAPI.group { return try await resourceMetrics(info, req) }
            return try await resourceRequest(info, req)
        }
    }

    func resourceRequest(_ info: RequestInfo, _ req: APIRequest) async throws(APIError) -> APIResponse {
        guard let r = registry.lookup(group: info.group, version: info.version, resource: info.resource) else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if !r.namespaced, info.namespace != nil {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if let sub = info.subresource, !r.subresources.contains(where: { $0.name == sub }) {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if r.namespaced, info.namespace == nil, info.name != nil {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if let name = info.name, name.isEmpty || name == "." || name == ".." || name.contains("/") || name.contains("%") {
            throw APIError.badRequest("name may not be \"\(name)\"")
        }
        let namespaceMissing = r.namespaced && info.namespace == nil
        switch (req.method, info.name, info.subresource) {
        case ("GET", nil, _):
            let watch = req.queryValue("watch").map { $0 == "true" || $0 == "1" } ?? false
            return watch ? try await watchResources(r, info, req) : try await list(r, info, req)
        case ("GET", let name?, nil):
            return try await get(r, info, name, req)
        case ("GET", let name?, let sub?):
            return try await getSubresource(r, info, name, sub, req)
        case ("POST", nil, _) where r.kind == "Binding":
            let binding = try BodyDecoding.decodeObject(req)
            return try await bind(info.namespace ?? "", binding.name ?? "", binding, req)
        case ("POST", nil, _):
            if namespaceMissing { throw APIError.methodNotAllowed("POST on a namespaced resource needs a namespace in the path") }
            return try await create(r, info, req)
        case ("POST", let name?, let sub?):
            return try await createSubresource(r, info, name, sub, req)
        case ("PUT", let name?, let sub):
            return try await update(r, info, name, sub, req)
        case ("PATCH", let name?, let sub):
            return try await patch(r, info, name, sub, req)
        case ("DELETE", let name?, nil):
            return try await delete(r, info, name, req)
        case ("DELETE", nil, nil):
            return try await deleteCollection(r, info, req)
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    /// The /version document (all nine fields: the Python client requires them).
    static let version: JSON = [
        "major": .string(KubernetesVersion.major), "minor": .string(KubernetesVersion.minor), "gitVersion": .string(KubernetesVersion.gitVersion), "gitCommit": "skiff", "gitTreeState": "clean",
        "buildDate": "2026-11-27T00:00:00Z", "goVersion": "swift6.3", "compiler": "swiftc", "platform": "linux/amd64",
    ]

    // MARK: Shared helpers

    func parseStored(_ bytes: [UInt8]) throws(APIError) -> JSON {
        do { return try JSON.parse(bytes) } catch { throw .internalError("stored object is not valid JSON: \(error)") }
    }

    /// Waits for the cache to reflect every write acknowledged so far (a consistent read).
    func consistentRead() async {
        await cache.wait(for: await store.currentRevision())
    }

    func isDryRun(_ req: APIRequest) throws(APIError) -> Bool {
        guard let values = req.query["dryRun"] else { return false }
        for v in values where v != "All" {
            throw .badRequest("dryRun: Unsupported value: \"\(v)\": supported values: \"All\"")
        }
        return !values.isEmpty
    }
}

/// Maps store failures onto API errors for `resource`.
extension StoreError {
    func apiError(_ r: ResourceInfo, name: String) -> APIError {
        switch self {
        case .keyExists: r.alreadyExists(name)
        case .keyNotFound: r.notFound(name)
        case .conflict: r.conflict(name)
        case .compacted(let requested, let compacted): .gone("too old resource version: \(requested) (\(compacted))")
        case .futureRevision(let requested, let current):
            APIError(code: 504, reason: "Timeout", message: "Too large resource version: \(requested), current: \(current)",
                     causes: [.init(type: "ResourceVersionTooLarge", message: "Too large resource version", field: "")],
                     retryAfterSeconds: 1)
        case .unavailable(let why): .serviceUnavailable(why)
        }
    }
}

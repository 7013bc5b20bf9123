import AsyncHTTPClient
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import SkiffAPI
import SkiffCore

/// metrics-server's work, inside the API server: every `resolution` (15 s, metrics-server's
/// default) it reads each Ready node's kubelet /metrics/resource over HTTPS with the API
/// server's kubelet client certificate (as pods/log reaches kubelets), and hands the cycle's
/// points to the handler's ResourceMetricsStorage, which metrics.k8s.io is served from.
public struct ResourceMetricsScraper: Service {
    let handler: APIHandler
    let resolution: Duration
    /// At most this long for one kubelet's answer.
    let timeout: Duration
    /// Kubelets scraped at once.
    let concurrency = 16
    let logger: Logger

    public init(handler: APIHandler, resolution: Duration = .seconds(15), timeout: Duration = .seconds(10),
                logger: Logger = Logger(label: "skiff.apiserver.metrics-scraper")) {
        self.handler = handler
        self.resolution = resolution
        self.timeout = timeout
        self.logger = logger
    }

    /// Scrapes until cancelled or the service group shuts down gracefully.
    public func run() async throws {
        guard let kubeletClient = handler.kubeletClient else {
            logger.notice("no kubelet client credentials: resource metrics (kubectl top) are not collected")
            try? await gracefulShutdown()
            return
        }
        let tls: TLSConfiguration
        do {
            tls = try kubeletClient.tlsConfiguration(skipVerify: false)
        } catch {
            // Not worth stopping the API server for: kubectl top alone goes without.
            logger.error("kubelet client credentials unusable: resource metrics are not collected", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout.connect = .seconds(5)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        await cancelWhenGracefulShutdown {
            await handler.waitUntilReady()
            while !Task.isCancelled {
                let next = ContinuousClock.now + resolution
                await scrape(client)
                try? await Task.sleep(until: next)
            }
        }
        do { try await client.shutdown() } catch { logger.warning("closing the kubelet client failed", metadata: ["error": "\(error)"]) }
    }

    /// One cycle: every scrapable node at once (`concurrency` at a time), then the store.
    /// A node that fails is left out of the cycle, so it shows again two scrapes later.
    public func scrape(_ client: HTTPClient) async {
        let targets = await handler.scrapeTargets()
        var batches: [String: ResourceMetricsBatch] = [:]
        await withTaskGroup(of: (String, ResourceMetricsBatch?).self) { group in
            var started = 0
            for target in targets {
                if started >= concurrency, case let (name, batch)? = await group.next() { batches[name] = batch }
                started += 1
                group.addTask { (target.node, await self.scrape(target, client)) }
            }
            for await (name, batch) in group { batches[name] = batch }
        }
        handler.resourceMetrics.store(batches, resolution: resolution)
    }

    func scrape(_ target: APIHandler.ScrapeTarget, _ client: HTTPClient) async -> ResourceMetricsBatch? {
        let host = target.address.contains(":") ? "[\(target.address)]" : target.address
        let url = "https://\(host):\(target.port)/metrics/resource"
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .nanoseconds(timeout.nanosecondsValue))
            let body = try await response.body.collect(upTo: 64 << 20)
            guard response.status == .ok else {
                logger.warning("scraping a kubelet failed", metadata: ["node": "\(target.node)", "url": "\(url)", "status": "\(response.status.code)",
                                                                     "body": "\(String(buffer: body).prefix(200))"])
                return nil
            }
            let samples = try PrometheusText.parse(String(buffer: body))
            return ResourceMetricsBatch(decoding: samples, scrapedAt: Timestamp.now().nanosecondsSinceEpoch)
        } catch {
            logger.warning("scraping a kubelet failed", metadata: ["node": "\(target.node)", "url": "\(url)", "error": "\(error)"])
            return nil
        }
    }
}

extension APIHandler {
    /// A kubelet to scrape.
    struct ScrapeTarget: Sendable {
        var node: String
        var address: String
        var port: Int
    }

    /// The nodes whose kubelets are scraped: Ready, with an InternalIP and a kubelet
    /// endpoint. Simulated nodes publish no endpoint: they have no kubelet to ask.
    func scrapeTargets() async -> [ScrapeTarget] {
        guard let nodes = registry.lookup(group: "", version: "v1", resource: "nodes") else { return [] }
        var targets: [ScrapeTarget] = []
        let endpoint = Array(#""kubeletEndpoint""#.utf8)
        for cached in await cache.list(nodes, filter: ObjectFilter()).items {
            // Thousands of simulated nodes are not parsed every cycle just to be skipped.
            guard Self.contains(cached.bytes, endpoint), let node = try? JSON.parse(cached.bytes) else { continue }
            let ready = node[path: ["status", "conditions"]]?.arrayValue?.contains {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            } ?? false
            guard ready,
                  let port = node[path: ["status", "daemonEndpoints", "kubeletEndpoint", "Port"]]?.int64Value, port > 0, port < 65536,
                  let address = node[path: ["status", "addresses"]]?.arrayValue?.first(where: { $0["type"]?.stringValue == "InternalIP" })?["address"]?.stringValue,
                  !address.isEmpty
            else { continue }
            targets.append(ScrapeTarget(node: cached.name, address: address, port: Int(port)))
        }
        return targets
    }

    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return false }
        var i = 0
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == first, bytes[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}

extension Duration {
    fileprivate var nanosecondsValue: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}

extension Timestamp {
    fileprivate var nanosecondsSinceEpoch: Int64 { seconds * 1_000_000_000 + Int64(nanoseconds) }
}

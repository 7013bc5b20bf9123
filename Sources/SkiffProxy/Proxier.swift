import Foundation
import Logging
import SkiffClient
import SkiffCore
import SkiffRuntime
import Synchronization

/// kube-proxy's job on one node: watches Services, EndpointSlices and its own Node, and
/// keeps the `skiff_proxy` nftables table equal to what they say. The first sync (and one
/// after a failed apply) recreates the whole table, the hourly one rewrites all of it in
/// place (repairing what changed behind its back, keeping session affinity); every other
/// sync sends only the changed Services' differences in one `nft -f` transaction.
public final class Proxier: Sendable {
    public struct Options: Sendable {
        public var nodeName: String
        public var clusterCIDR: String
        public var serviceCIDR: String
        /// ClusterIP ports this node serves itself ("ip proto port": the cluster DNS).
        public var localServices: [String] = []
        public var fullSyncPeriod: Duration = .seconds(3600)
        public var nft = "/usr/sbin/nft"

        public init(nodeName: String, clusterCIDR: String, serviceCIDR: String) {
            self.nodeName = nodeName
            self.clusterCIDR = clusterCIDR
            self.serviceCIDR = serviceCIDR
        }
    }

    struct Pending {
        /// Services (namespace/name) whose rules may have changed, with when that was
        /// first seen: the start of the network programming latency.
        var dirty: [String: ContinuousClock.Instant] = [:]
        var full = true
        /// The next full sync recreates the table (the first one, and one after a failed
        /// apply: what the kernel holds is then unknown); others rewrite it in place.
        var recreate = true
        var podCIDR: String?
    }

    /// What the table holds, as last applied. Touched by the sync loop only.
    struct Applied {
        /// By Service (namespace/name).
        var fragments: [String: ProxyFragment] = [:]
        var portsByService: [String: [ProxyServicePort]] = [:]
        var selects = 0
        var node: ProxyNode?
    }

    static let serviceIndex = "service"
    let options: Options
    let services: Informer
    let slices: Informer
    let pending = Mutex(Pending())
    let applied = Mutex(Applied())
    let wake: AsyncStream<Void>
    let wakeContinuation: AsyncStream<Void>.Continuation
    public let metrics = ProxyMetrics()
    let logger: Logger

    /// The informers are shared with the node's other parts (the cluster DNS, the routes
    /// to other nodes) and run by their owner: the proxier only adds handlers and an index.
    public init(options: Options, services: Informer, slices: Informer, nodes: Informer, logger: Logger) {
        self.options = options
        self.services = services
        self.slices = slices
        self.logger = logger
        (wake, wakeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        slices.indexer.addIndex(Self.serviceIndex) { s in
            guard let ns = s.namespace, let svc = s.labels["kubernetes.io/service-name"] else { return [] }
            return ["\(ns)/\(svc)"]
        }
        services.addHandler { [weak self] e in
            switch e {
            case .added(let s), .deleted(let s): self?.markDirty(objectKey(s))
            case .updated(let old, let new):
                if old["spec"] != new["spec"] || old[path: ["status", "loadBalancer"]] != new[path: ["status", "loadBalancer"]] {
                    self?.markDirty(objectKey(new))
                }
            }
        }
        slices.addHandler { [weak self] e in
            switch e {
            case .added(let s), .deleted(let s): self?.markDirty(slice: s)
            case .updated(let old, let new):
                if old["endpoints"] != new["endpoints"] || old["ports"] != new["ports"] { self?.markDirty(slice: new) }
            }
        }
        // Its own Node's podCIDR: the pods to masquerade when they reach themselves.
        nodes.addHandler { [weak self, nodeName = options.nodeName] e in
            switch e {
            case .added(let n) where n.name == nodeName, .updated(_, let n) where n.name == nodeName:
                self?.setPodCIDR(n[path: ["spec", "podCIDR"]]?.stringValue)
            default: break
            }
        }
    }

    func markDirty(_ key: String) {
        let now = ContinuousClock.now
        pending.withLock { p in if p.dirty[key] == nil { p.dirty[key] = now } }
        wakeContinuation.yield()
    }

    func markDirty(slice: JSON) {
        guard let ns = slice.namespace, let svc = slice.labels["kubernetes.io/service-name"] else { return }
        markDirty("\(ns)/\(svc)")
    }

    func setPodCIDR(_ cidr: String?) {
        let changed = pending.withLock { p -> Bool in
            guard p.podCIDR != cidr else { return false }
            p.podCIDR = cidr
            p.full = true
            return true
        }
        if changed { wakeContinuation.yield() }
    }

    /// Runs the sync loop until cancelled, once the caches are filled (`prepareHost` has run).
    public func run() async {
        await services.waitForSync()
        await slices.waitForSync()
        await syncLoop()
    }

    func syncLoop() async {
        await withTaskGroup(of: Void.self) { group in
            // The periodic full sync repairs anything changed behind the proxy's back.
            group.addTask {
                while (try? await Task.sleep(for: self.options.fullSyncPeriod)) != nil {
                    self.pending.withLock { $0.full = true }
                    self.wakeContinuation.yield()
                }
            }
            wakeContinuation.yield()
            for await _ in wake { await syncProxyRules() }
            group.cancelAll()
        }
    }

    /// One sync: takes what is pending and applies it, as one transaction.
    func syncProxyRules() async {
        let start = ContinuousClock.now
        let (dirty, fullRequested, recreate, podCIDR) = pending.withLock { p in
            defer { p.dirty = [:]; p.full = false; p.recreate = false }
            return (p.dirty, p.full, p.recreate, p.podCIDR)
        }
        guard fullRequested || !dirty.isEmpty else { return }
        let node = ProxyNode(name: options.nodeName, clusterCIDR: options.clusterCIDR, serviceCIDR: options.serviceCIDR,
                             podCIDR: podCIDR, localServices: options.localServices)
        let state = applied.withLock { $0 }
        let full = fullRequested || state.node != node
        let keys = full ? Set(services.indexer.keys).union(state.portsByService.keys) : Set(dirty.keys)
        var next = state
        next.node = node
        var changed: [String] = []
        for key in keys {
            let ports = services.indexer.get(key).map { ServicePorts.make(service: $0, slices: slices.indexer.byIndex(Self.serviceIndex, key)) } ?? []
            next.fragments[key] = ports.isEmpty ? nil : ProxyRuleset.fragment(ports, node: node)
            next.portsByService[key] = ports.isEmpty ? nil : ports
            if state.portsByService[key] ?? [] != ports { changed.append(key) }
        }
        let text: String
        if full {
            next.selects = next.fragments.values.map(\.selects).max() ?? 0
            let fragments = next.fragments.keys.sorted().compactMap { next.fragments[$0] }
            text = recreate ? ProxyRuleset.full(fragments, node: node) : ProxyRuleset.repair(fragments, node: node)
        } else {
            var before: [String: ProxyFragment] = [:], after: [String: ProxyFragment] = [:]
            for key in changed {
                before[key] = state.fragments[key]
                after[key] = next.fragments[key]
            }
            text = ProxyRuleset.update(from: before, to: after, selects: state.selects)
            next.selects = max(state.selects, after.values.map(\.selects).max() ?? 0)
        }
        if !text.isEmpty {
            do {
                try await NFTables.apply(text, nft: options.nft)
            } catch {
                logger.error("applying the proxy rules failed; the next sync loads the whole table", metadata: ["error": "\(error)"])
                pending.withLock { p in
                    p.full = true
                    p.recreate = true
                    for (k, t) in dirty where p.dirty[k] == nil { p.dirty[k] = t }
                }
                metrics.syncFailed()
                // Retry after a pause, not in a tight loop.
                try? await Task.sleep(for: .seconds(1))
                wakeContinuation.yield()
                return
            }
        }
        applied.withLock { $0 = next }
        let end = ContinuousClock.now
        metrics.observeSync(end - start, full: full)
        for t in dirty.values { metrics.observeProgramming(end - t) }
        await clearUDPConntrack(changed.map { (state.portsByService[$0] ?? [], next.portsByService[$0] ?? []) })
        logger.debug("proxy rules synced", metadata: ["full": "\(full)", "services": "\(keys.count)", "bytes": "\(text.utf8.count)"])
    }

    /// UDP has no connection to end: conntrack keeps sending a flow to an endpoint that
    /// is gone, or keeps the REJECTed state of a Service that now has endpoints, until
    /// the entries are deleted, as kube-proxy does.
    func clearUDPConntrack(_ changes: [(old: [ProxyServicePort], new: [ProxyServicePort])]) async {
        let commands = Self.conntrackDeletions(changes)
        guard !commands.isEmpty else { return }
        guard let conntrack = ["/usr/sbin/conntrack", "/sbin/conntrack"].first(where: FileManager.default.isExecutableFile) else {
            logger.warning("conntrack is not installed: stale UDP flows to Services are not cleared")
            return
        }
        for args in commands {
            // Status 1 is "no entry matched", the common case.
            if let r = try? await ChildProcess.run(conntrack, args), r.status > 1 {
                logger.warning("conntrack failed", metadata: ["args": "\(args)", "error": "\(r.stderrString)"])
            }
        }
    }

    /// `conntrack` arguments for what changed: flows DNATed to an endpoint (address and
    /// port) no longer usable — deleted by address, as kube-proxy does — and flows to a
    /// UDP port that had no usable endpoint and now has one.
    static func conntrackDeletions(_ changes: [(old: [ProxyServicePort], new: [ProxyServicePort])]) -> [[String]] {
        var commands: [[String]] = []
        func add(_ command: [String]) { if !commands.contains(command) { commands.append(command) } }
        for (old, new) in changes {
            for o in old where o.proto == "udp" {
                let kept = Set(ProxyServicePort.usable(new.first { $0.id == o.id }?.endpoints ?? []).map { "\($0.ip):\($0.port)" })
                for e in ProxyServicePort.usable(o.endpoints) where !kept.contains("\(e.ip):\(e.port)") {
                    add(["-D", "-p", "udp", "--orig-dst", o.clusterIP, "--dst-nat", e.ip])
                    if let np = o.nodePort { add(["-D", "-p", "udp", "--orig-port-dst", String(np), "--dst-nat", e.ip]) }
                }
            }
            for n in new where n.proto == "udp" && !ProxyServicePort.usable(n.endpoints).isEmpty {
                let had = old.first { $0.id == n.id }.map { !ProxyServicePort.usable($0.endpoints).isEmpty } ?? false
                if !had { add(["-D", "-p", "udp", "--orig-dst", n.clusterIP, "--orig-port-dst", String(n.port)]) }
            }
        }
        return commands
    }

    /// Forwarding on, 127.0.0.1 NodePorts routable, and the Service range routed locally:
    /// a packet for a ClusterIP can never leave the node, a ClusterIP no Service claims is
    /// rejected by the table, and the cluster DNS can bind its ClusterIP.
    public static func prepareHost(options: Options) async throws {
        for (path, value) in [("/proc/sys/net/ipv4/ip_forward", "1"), ("/proc/sys/net/ipv4/conf/all/route_localnet", "1")] {
            try "\(value)\n".write(toFile: path, atomically: false, encoding: .utf8)
        }
        let route = try await ChildProcess.run("/usr/sbin/ip", ["route", "replace", "local", options.serviceCIDR, "dev", "lo", "table", "local"])
        guard route.status == 0 else { throw RuntimeError("NetworkSetupError", "ip route: \(route.stderrString)") }
    }

    /// Removes everything the proxy created (`skiff agent --cleanup-proxy`).
    public static func cleanup(serviceCIDR: String, nft: String = "/usr/sbin/nft") async throws {
        let table = try await ChildProcess.run(nft, ["delete", "table", "ip", ProxyRuleset.tableName])
        if table.status != 0, !table.stderrString.contains("No such file or directory") {
            throw RuntimeError("CleanupError", "nft: \(table.stderrString)")
        }
        _ = try await ChildProcess.run("/usr/sbin/ip", ["route", "del", "local", serviceCIDR, "dev", "lo", "table", "local"])
    }
}

/// `nft -f -`: the whole text is one atomic transaction.
public enum NFTables {
    public static func apply(_ text: String, nft: String = "/usr/sbin/nft") async throws {
        let r = try await ChildProcess.run(nft, ["-f", "-"], input: Array(text.utf8))
        guard r.status == 0 else {
            throw RuntimeError("NFTablesError", "nft -f: \(r.stderrString.split(separator: "\n").prefix(6).joined(separator: "\n"))")
        }
    }
}

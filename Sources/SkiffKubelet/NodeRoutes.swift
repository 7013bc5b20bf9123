import Foundation
import Logging
import SkiffClient
import SkiffCore
import SkiffRuntime

/// Pod traffic between nodes, as flannel's host-gw backend carries it: a route to every
/// other node's pod range via that node's InternalIP, so a pod (and a Service's DNAT) can
/// reach pods anywhere without an overlay. Like host-gw it needs the nodes on one L2
/// network; a node that is not is logged and skipped.
public final class NodeRoutes: Sendable {
    /// The routing protocol number marking Skiff's routes, so stale ones can be found
    /// (the kernel leaves values above 44 to users).
    public static let routeProtocol = "145"
    let nodeName: String
    let nodes: Informer
    let wake: AsyncStream<Void>
    let wakeContinuation: AsyncStream<Void>.Continuation
    let logger: Logger

    /// `nodes` is shared and run by its owner; this only adds a handler.
    public init(nodeName: String, nodes: Informer, logger: Logger) {
        self.nodeName = nodeName
        self.nodes = nodes
        self.logger = logger
        (wake, wakeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        nodes.addHandler { [wakeContinuation] e in
            switch e {
            case .added, .deleted: wakeContinuation.yield()
            case .updated(let old, let new):
                if Self.route(old) != Self.route(new) { wakeContinuation.yield() }
            }
        }
    }

    struct PodRoute: Equatable {
        var cidr: String
        var via: String
    }

    /// A node's pod range and where to send it.
    static func route(_ node: JSON) -> PodRoute? {
        guard let cidr = node[path: ["spec", "podCIDR"]]?.stringValue, IPv4CIDR(cidr) != nil,
              let ip = node[path: ["status", "addresses"]]?.arrayValue?.first(where: { $0["type"] == "InternalIP" })?["address"]?.stringValue,
              IPv4CIDR.parse(ip) != nil
        else { return nil }
        return PodRoute(cidr: cidr, via: ip)
    }

    /// Every other node's route, by pod range.
    func desired() -> [String: String] {
        var out: [String: String] = [:]
        for n in nodes.indexer.list() where n.name != nodeName {
            if let r = Self.route(n) { out[r.cidr] = r.via }
        }
        return out
    }

    /// Reconciles the routes on every change of the nodes, until cancelled.
    public func run() async {
        await nodes.waitForSync()
        wakeContinuation.yield()
        for await _ in wake { await sync() }
    }

    func sync() async {
        let want = desired()
        var have: [String: String] = [:]
        if let r = try? await ChildProcess.run("/usr/sbin/ip", ["-j", "route", "show", "proto", Self.routeProtocol]), r.status == 0,
           let routes = try? JSON.parse(r.stdout) {
            for route in routes.arrayValue ?? [] {
                if let dst = route["dst"]?.stringValue { have[dst] = route["gateway"]?.stringValue ?? "" }
            }
        }
        for (cidr, via) in want.sorted(by: { $0.key < $1.key }) where have[cidr] != via {
            await ip(["route", "replace", cidr, "via", via, "proto", Self.routeProtocol], what: "pod route to another node")
        }
        for cidr in have.keys.sorted() where want[cidr] == nil {
            await ip(["route", "del", cidr, "proto", Self.routeProtocol], what: "stale pod route")
        }
    }

    private func ip(_ args: [String], what: String) async {
        do {
            let r = try await ChildProcess.run("/usr/sbin/ip", args)
            if r.status == 0 {
                logger.info("\(what) set", metadata: ["route": "\(args.joined(separator: " "))"])
            } else {
                logger.warning("\(what) failed (nodes must share an L2 network)", metadata: ["route": "\(args.joined(separator: " "))", "error": "\(r.stderrString)"])
            }
        } catch {
            logger.warning("\(what) failed", metadata: ["route": "\(args.joined(separator: " "))", "error": "\(error)"])
        }
    }

    /// Removes every route this created (`skiff agent --cleanup-network`).
    public static func cleanup() async {
        _ = try? await ChildProcess.run("/usr/sbin/ip", ["route", "flush", "proto", routeProtocol])
    }
}

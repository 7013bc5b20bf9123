import Synchronization
import SkiffAPI
import SkiffCore

/// Hands out ClusterIPs from the service CIDR and NodePorts from 30000-32767. What is in
/// use is read from the services in the watch cache; addresses handed out but not yet
/// visible there are remembered briefly so two concurrent creates never get the same one.
final class ServiceIPAllocator: Sendable {
    let base: UInt32
    let size: UInt32
    private let pending = Mutex<(ips: [UInt32: ContinuousClock.Instant], ports: [Int64: ContinuousClock.Instant])>(([:], [:]))

    init(cidr: String) {
        let network = IPv4CIDR(cidr).map { IPv4CIDR(base: $0.base, prefixLength: min(max($0.prefixLength, 8), 30)) }
            ?? IPv4CIDR(base: 0x0A60_0000, prefixLength: 12)
        size = UInt32(network.size)
        base = network.base
    }

    func contains(_ ip: UInt32) -> Bool { ip > base && ip < base + size - 1 }

    /// The first address of the range, which upstream gives the `kubernetes` service.
    var firstAddress: String { IPv4CIDR.format(base + 1) }

    /// The tenth, which k3s and kubeadm give the cluster DNS (10.43.0.10).
    var clusterDNSAddress: String { IPv4CIDR.format(base + 10) }

    func allocateIP(used: Set<UInt32>) -> String? {
        let now = ContinuousClock.now
        return pending.withLock { p -> String? in
            p.ips = p.ips.filter { now - $0.value < .seconds(30) }
            // Dynamic addresses come from the upper part of the range, as upstream's
            // allocator does, leaving the lower part for addresses users pick.
            let low = size > 64 ? size / 16 : 2
            for _ in 0..<256 {
                let ip = base + UInt32.random(in: low..<(size - 1))
                if !used.contains(ip), p.ips[ip] == nil {
                    p.ips[ip] = now
                    return IPv4CIDR.format(ip)
                }
            }
            for offset in 2..<(size - 1) where !used.contains(base + offset) && p.ips[base + offset] == nil {
                p.ips[base + offset] = now
                return IPv4CIDR.format(base + offset)
            }
            return nil
        }
    }

    func allocatePort(used: Set<Int64>) -> Int64? {
        let now = ContinuousClock.now
        return pending.withLock { p -> Int64? in
            p.ports = p.ports.filter { now - $0.value < .seconds(30) }
            for _ in 0..<256 {
                let port = Int64.random(in: 30000...32767)
                if !used.contains(port), p.ports[port] == nil {
                    p.ports[port] = now
                    return port
                }
            }
            return (30000...32767).first { !used.contains($0) && p.ports[$0] == nil }
        }
    }
}

extension APIHandler {
    /// Gives a Service its ClusterIP (unless headless or ExternalName) and NodePorts. On
    /// update (`old`), what the client left out is kept — as kubectl replace and apply
    /// rely on — NodePorts are allocated when the type gains them and given back when it
    /// loses them; explicit ones are checked against the range and every other Service.
    func allocateServiceIP(_ service: inout JSON, old: JSON? = nil) async throws(APIError) {
        guard let services = registry.lookup(group: "", version: "v1", resource: "services") else { return }
        let type = service[path: ["spec", "type"]]?.stringValue ?? "ClusterIP"
        let name = service.name ?? ""
        await consistentRead()
        let existing = await cache.list(services, filter: ObjectFilter()).items.filter {
            !($0.namespace == (service.namespace ?? "") && $0.name == name)
        }
        let requested = service[path: ["spec", "clusterIP"]]?.stringValue ?? ""
        let previous = old?[path: ["spec", "clusterIP"]]?.stringValue ?? ""
        if type == "ExternalName" {
            if !previous.isEmpty, previous != "None", requested == previous {
                service[path: ["spec", "clusterIP"]] = nil
                service[path: ["spec", "clusterIPs"]] = nil
            }
        } else if requested.isEmpty, !previous.isEmpty {
            service[path: ["spec", "clusterIP"]] = .string(previous)
            service[path: ["spec", "clusterIPs"]] = old?[path: ["spec", "clusterIPs"]]
        } else if requested == "None" {
            service[path: ["spec", "clusterIPs"]] = ["None"]
        } else if requested != previous || previous.isEmpty {
            let usedIPs = Set(existing.compactMap { $0.field("spec.clusterIP").flatMap(IPv4CIDR.parse) })
            if requested.isEmpty {
                guard let ip = serviceIPs.allocateIP(used: usedIPs) else {
                    throw .internalError("failed to allocate a serviceIP: range is full")
                }
                service[path: ["spec", "clusterIP"]] = .string(ip)
            } else if previous.isEmpty {
                guard let ip = IPv4CIDR.parse(requested), serviceIPs.contains(ip) else {
                    throw .invalid(kind: "Service", name: name,
                                   causes: [.invalid("spec.clusterIPs", requested, "failed to allocate IP \(requested): the provided IP (\(requested)) is not in the valid range. The range of valid IPs is \(IPv4CIDR.format(serviceIPs.base))/\(32 - serviceIPs.size.trailingZeroBitCount)")])
                }
                if usedIPs.contains(ip) {
                    throw .invalid(kind: "Service", name: name,
                                   causes: [.invalid("spec.clusterIPs", requested, "failed to allocate IP \(requested): provided IP is already allocated")])
                }
            }
            service[path: ["spec", "clusterIPs"]] = [service[path: ["spec", "clusterIP"]] ?? .null]
        }

        var ports = service[path: ["spec", "ports"]]?.arrayValue ?? []
        let oldType = old?[path: ["spec", "type"]]?.stringValue ?? "ClusterIP"
        guard type == "NodePort" || type == "LoadBalancer" else {
            // A type that loses NodePorts gives them back, as upstream does.
            if oldType == "NodePort" || oldType == "LoadBalancer" {
                for i in ports.indices { ports[i]["nodePort"] = nil }
                service[path: ["spec", "ports"]] = .array(ports)
            }
            return
        }
        var usedPorts = Set<Int64>()
        for s in existing {
            guard let o = try? JSON.parse(s.bytes) else { continue }
            for p in o[path: ["spec", "ports"]]?.arrayValue ?? [] { if let np = p["nodePort"]?.int64Value { usedPorts.insert(np) } }
        }
        let oldPorts = old?[path: ["spec", "ports"]]?.arrayValue ?? []
        var causes: [APIError.Cause] = []
        for i in ports.indices {
            if let port = ports[i]["nodePort"]?.int64Value {
                if !(30000...32767).contains(port) {
                    causes.append(.invalid("spec.ports[\(i)].nodePort", port, "provided port is not in the valid range. The range of valid ports is 30000-32767"))
                } else if usedPorts.contains(port) {
                    causes.append(.invalid("spec.ports[\(i)].nodePort", port, "provided port is already allocated"))
                }
                usedPorts.insert(port)
                continue
            }
            // The same port keeps its NodePort across updates.
            if let kept = oldPorts.first(where: { $0["port"] == ports[i]["port"] && ($0["protocol"] ?? "TCP") == (ports[i]["protocol"] ?? "TCP") })?["nodePort"]?.int64Value,
               !usedPorts.contains(kept) {
                ports[i]["nodePort"] = .number(JSONNumber(kept))
                usedPorts.insert(kept)
                continue
            }
            guard let port = serviceIPs.allocatePort(used: usedPorts) else { throw .internalError("failed to allocate a nodePort: range is full") }
            usedPorts.insert(port)
            ports[i]["nodePort"] = .number(JSONNumber(port))
        }
        if !causes.isEmpty { throw .invalid(kind: "Service", name: name, causes: causes) }
        service[path: ["spec", "ports"]] = .array(ports)
    }
}

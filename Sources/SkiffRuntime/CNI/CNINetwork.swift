import Foundation
import SkiffCore

/// Pod networking through the standard CNI plugins, called by the CNI exec protocol:
/// `bridge` (+ `host-local` IPAM over the node's podCIDR) for eth0, `loopback` for lo, and
/// `portmap` for hostPorts. Pod egress is masqueraded by NodeNetwork's nftables rule, not
/// by the bridge plugin (which would spawn iptables for every pod).
public struct CNINetwork: Sendable {
    public var pluginDirectory: String
    public var bridgeName: String
    public var podCIDR: IPv4CIDR
    /// host-local's allocation files.
    public var ipamDirectory: String
    public static let networkName = "skiff"

    public init(pluginDirectory: String = "/usr/lib/cni", bridgeName: String = "cni0", podCIDR: IPv4CIDR, ipamDirectory: String) {
        self.pluginDirectory = pluginDirectory
        self.bridgeName = bridgeName
        self.podCIDR = podCIDR
        self.ipamDirectory = ipamDirectory
    }

    /// The address the pod got, and the raw results DEL needs later.
    public struct Attachment: Codable, Sendable, Equatable {
        public var ip: String
        public var gateway: String
        public var bridgeResult: String
    }

    var bridgeConfig: [String: Any] {
        [
            "cniVersion": "1.0.0", "name": Self.networkName, "type": "bridge", "bridge": bridgeName,
            "isGateway": true, "ipMasq": false, "hairpinMode": true,
            "ipam": [
                "type": "host-local",
                "ranges": [[["subnet": podCIDR.description]]],
                "routes": [["dst": "0.0.0.0/0"]],
                "dataDir": ipamDirectory,
            ] as [String: Any],
        ]
    }

    func portmapConfig(_ mappings: [PortMapping], prevResult: Any?) -> [String: Any] {
        var config: [String: Any] = [
            "cniVersion": "1.0.0", "name": Self.networkName, "type": "portmap", "snat": true,
            "capabilities": ["portMappings": true],
            "runtimeConfig": ["portMappings": mappings.map {
                ["hostPort": $0.hostPort, "containerPort": $0.containerPort, "protocol": $0.protocol.lowercased(), "hostIP": $0.hostIP]
            }],
        ]
        if let prevResult { config["prevResult"] = prevResult }
        return config
    }

    static var loopbackConfig: [String: Any] { ["cniVersion": "1.0.0", "name": "lo", "type": "loopback"] }

    func invoke(_ plugin: String, command: String, containerID: String, netns: String, ifname: String, config: [String: Any]) async throws -> [UInt8] {
        let env = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(containerID)", "CNI_NETNS=\(netns)", "CNI_IFNAME=\(ifname)",
            "CNI_PATH=\(pluginDirectory)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let input = try JSONSerialization.data(withJSONObject: config)
        let result = try await ChildProcess.run("\(pluginDirectory)/\(plugin)", [], environment: env, input: Array(input), timeout: .seconds(60))
        guard result.status == 0 else {
            // CNI errors are JSON on stdout: {"code":..,"msg":..,"details":..}
            var message = result.stdoutString + result.stderrString
            if let obj = try? JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any], let msg = obj["msg"] as? String {
                message = msg + ((obj["details"] as? String).map { ": \($0)" } ?? "")
            }
            throw RuntimeError("NetworkPluginError", "plugin type=\"\(plugin)\" name=\"\(Self.networkName)\" failed (\(command.lowercased())): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.stdout
    }

    /// Attaches the pod's network namespace: eth0 on the bridge with an IP from podCIDR, lo
    /// up, hostPorts mapped.
    public func add(containerID: String, netns: String, portMappings: [PortMapping]) async throws -> Attachment {
        let output = try await invoke("bridge", command: "ADD", containerID: containerID, netns: netns, ifname: "eth0", config: bridgeConfig)
        guard let result = try JSONSerialization.jsonObject(with: Data(output)) as? [String: Any],
              let ips = result["ips"] as? [[String: Any]], let first = ips.first, let address = first["address"] as? String
        else { throw RuntimeError("NetworkPluginError", "the bridge plugin returned no IP: \(String(decoding: output, as: UTF8.self))") }
        _ = try await invoke("loopback", command: "ADD", containerID: containerID, netns: netns, ifname: "lo", config: Self.loopbackConfig)
        if !portMappings.isEmpty {
            _ = try await invoke("portmap", command: "ADD", containerID: containerID, netns: netns, ifname: "eth0",
                                 config: portmapConfig(portMappings, prevResult: result))
        }
        let ip = address.split(separator: "/").first.map(String.init) ?? address
        return Attachment(ip: ip, gateway: first["gateway"] as? String ?? "", bridgeResult: String(decoding: output, as: UTF8.self))
    }

    /// Detaches the pod (idempotent, also when the namespace is gone): frees its IP and
    /// removes its veth and port mappings.
    public func del(containerID: String, netns: String, portMappings: [PortMapping], attachment: Attachment?) async throws {
        let prev = attachment.flatMap { try? JSONSerialization.jsonObject(with: Data($0.bridgeResult.utf8)) }
        if !portMappings.isEmpty {
            _ = try await invoke("portmap", command: "DEL", containerID: containerID, netns: netns, ifname: "eth0",
                                 config: portmapConfig(portMappings, prevResult: prev))
        }
        var config = bridgeConfig
        if let prev { config["prevResult"] = prev }
        _ = try await invoke("bridge", command: "DEL", containerID: containerID, netns: netns, ifname: "eth0", config: config)
    }
}

/// The node-wide part of pod networking: forwarding on, egress from pods masqueraded in
/// Skiff's own nftables table, and an `unreachable` route for the whole cluster CIDR so a
/// packet for a pod IP without a more specific route never follows the default route out.
public struct NodeNetwork: Sendable {
    public static let tableName = "skiff_node"

    public static func ruleset(podCIDR: IPv4CIDR, clusterCIDR: IPv4CIDR) -> String {
        // "table …; delete table …" first makes the load idempotent in one transaction.
        """
        table ip \(tableName)
        delete table ip \(tableName)
        table ip \(tableName) {
          chain postrouting {
            type nat hook postrouting priority 100; policy accept;
            ip saddr \(podCIDR) ip daddr != \(clusterCIDR) masquerade
          }
        }

        """
    }

    public static func ensure(podCIDR: IPv4CIDR, clusterCIDR: IPv4CIDR) async throws {
        try "1\n".write(toFile: "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        let nft = try await ChildProcess.run("/usr/sbin/nft", ["-f", "-"], input: Array(ruleset(podCIDR: podCIDR, clusterCIDR: clusterCIDR).utf8))
        guard nft.status == 0 else { throw RuntimeError("NetworkSetupError", "nft: \(nft.stderrString)") }
        let route = try await ChildProcess.run("/usr/sbin/ip", ["route", "replace", "unreachable", clusterCIDR.description])
        guard route.status == 0 else { throw RuntimeError("NetworkSetupError", "ip route: \(route.stderrString)") }
    }

    /// Removes the table, the route and the bridge (`skiff agent --cleanup-network`).
    public static func cleanup(clusterCIDR: IPv4CIDR, bridgeName: String = "cni0") async {
        _ = try? await ChildProcess.run("/usr/sbin/nft", ["delete", "table", "ip", tableName])
        _ = try? await ChildProcess.run("/usr/sbin/ip", ["route", "del", "unreachable", clusterCIDR.description])
        _ = try? await ChildProcess.run("/usr/sbin/ip", ["link", "del", bridgeName])
    }
}

import Foundation
import SkiffCore
@testable import SkiffKubelet
import Testing

@Suite struct MachineInfoTests {
    @Test func parsesMeminfoInBytes() {
        let sample = """
            MemTotal:       16314264 kB
            MemFree:         1234567 kB
            MemAvailable:    8000000 kB
            HugePages_Total:       0
            """
        let fields = MachineInfo.parseMeminfo(sample)
        #expect(fields["MemTotal"] == Int64(16_314_264) * 1024)
        #expect(fields["MemAvailable"] == Int64(8_000_000) * 1024)
        #expect(fields["HugePages_Total"] == 0)
    }

    @Test(arguments: [
        ("Name:\tx\nCpus_allowed_list:\t0-3\n", 4),
        ("Cpus_allowed_list:\t0-1,4,6-7\n", 5),
        ("Cpus_allowed_list:\t2\n", 1),
        ("Cpus_allowed:\tff\n", nil),
    ] as [(String, Int?)])
    func countsAllowedCPUs(status: String, expected: Int?) {
        #expect(MachineInfo.allowedCPUs(status: status) == expected)
    }

    @Test func readsPrettyName() {
        #expect(MachineInfo.prettyName(osRelease: "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\n")
            == "Debian GNU/Linux 13 (trixie)")
        #expect(MachineInfo.prettyName(osRelease: "PRETTY_NAME=Alpine\n") == "Alpine")
        #expect(MachineInfo.prettyName(osRelease: "ID=x\n") == nil)
    }

    @Test func mapsArchitecturesToGoNames() {
        #expect(MachineInfo.goArchitecture("x86_64") == "amd64")
        #expect(MachineInfo.goArchitecture("aarch64") == "arm64")
        #expect(MachineInfo.goArchitecture("armv7l") == "arm")
    }

    @Test func findsTheDefaultRouteInterfaceAndItsAddress() {
        let routes = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth1\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
            eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """
        #expect(MachineInfo.defaultRouteInterface(routes: routes) == "eth0")
        let addresses = [("lo", "127.0.0.1"), ("eth1", "192.168.1.5"), ("eth0", "192.0.2.10")]
        #expect(MachineInfo.defaultIPv4(routes: routes, addresses: addresses) == "192.0.2.10")
        // No default route: the first address off loopback.
        #expect(MachineInfo.defaultIPv4(routes: "Iface\tDestination\n", addresses: addresses) == "192.168.1.5")
        #expect(MachineInfo.defaultIPv4(routes: "", addresses: [("lo", "127.0.0.1")]) == nil)
    }

    @Test func countsTasksFromLoadavg() {
        #expect(NodeStats.tasks(loadavg: "2.61 1.75 1.65 3/98 13532\n") == 98)
        #expect(NodeStats.tasks(loadavg: "garbage") == nil)
    }

    /// This machine, read for real: the values must be plausible.
    @Test func readsThisMachine() throws {
        let info = try MachineInfo.read(dataDir: NSTemporaryDirectory(), nodeIP: "192.0.2.1")
        #expect(info.cpuCount >= 1)
        #expect(info.memoryCapacityBytes > 64 << 20)
        #expect(info.ephemeralStorageCapacityBytes > 0)
        #expect(!info.kernelVersion.isEmpty)
        #expect(["amd64", "arm64"].contains(info.architecture))
        #expect(info.nodeIP == "192.0.2.1")
        let stats = try NodeStats.read(dataDir: NSTemporaryDirectory(), imageDir: NSTemporaryDirectory())
        #expect(stats.memoryAvailableBytes > 0 && stats.memoryAvailableBytes <= info.memoryCapacityBytes)
        #expect(stats.maxPID > stats.runningProcesses && stats.runningProcesses > 0)
    }
}

/// host-gw: which Node objects give a route, and to where.
@Suite struct NodeRoutesTests {
    static func node(_ name: String, cidr: String?, ip: String?) -> JSON {
        var n: JSON = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)], "spec": [:], "status": [:]]
        if let cidr { n[path: ["spec", "podCIDR"]] = .string(cidr) }
        if let ip { n[path: ["status", "addresses"]] = [["type": "Hostname", "address": .string(name)], ["type": "InternalIP", "address": .string(ip)]] }
        return n
    }

    @Test func aRoutePerOtherNodeWithARangeAndAnAddress() {
        #expect(NodeRoutes.route(Self.node("b", cidr: "10.42.1.0/24", ip: "192.0.2.12")) == .init(cidr: "10.42.1.0/24", via: "192.0.2.12"))
        #expect(NodeRoutes.route(Self.node("c", cidr: nil, ip: "192.0.2.13")) == nil)
        #expect(NodeRoutes.route(Self.node("d", cidr: "10.42.3.0/24", ip: nil)) == nil)
        #expect(NodeRoutes.route(Self.node("e", cidr: "not-a-cidr", ip: "192.0.2.14")) == nil)
    }
}

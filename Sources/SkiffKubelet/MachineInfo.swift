import Foundation

/// The facts about this machine that a Node reports (cadvisor's MachineInfo and the
/// kubelet's nodeInfo): read once at start, from /proc, /sys, /etc and the system calls.
public struct MachineInfo: Sendable, Equatable {
    public var cpuCount: Int
    public var memoryCapacityBytes: Int64
    /// The size of the filesystem holding the data directory.
    public var ephemeralStorageCapacityBytes: Int64
    public var kernelVersion: String
    public var osImage: String
    /// Go's name for it (amd64, arm64), as Kubernetes uses.
    public var architecture: String
    public var machineID: String
    public var systemUUID: String
    public var bootID: String
    public var hostname: String
    public var nodeIP: String

    public init(cpuCount: Int, memoryCapacityBytes: Int64, ephemeralStorageCapacityBytes: Int64, kernelVersion: String,
                osImage: String, architecture: String, machineID: String, systemUUID: String, bootID: String,
                hostname: String, nodeIP: String) {
        self.cpuCount = cpuCount
        self.memoryCapacityBytes = memoryCapacityBytes
        self.ephemeralStorageCapacityBytes = ephemeralStorageCapacityBytes
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.architecture = architecture
        self.machineID = machineID
        self.systemUUID = systemUUID
        self.bootID = bootID
        self.hostname = hostname
        self.nodeIP = nodeIP
    }

    /// Reads the machine. `nodeIP` overrides the address found from the default route.
    public static func read(dataDir: String, nodeIP: String? = nil) throws -> MachineInfo {
        func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        func trimmed(_ path: String) -> String { file(path)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        guard let meminfo = file("/proc/meminfo").map(parseMeminfo), let memTotal = meminfo["MemTotal"] else {
            throw MachineInfoError("cannot read MemTotal from /proc/meminfo")
        }
        let cpus = file("/proc/self/status").flatMap(allowedCPUs) ?? ProcessInfo.processInfo.activeProcessorCount
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        guard let ip = nodeIP ?? defaultNodeIP() else { throw MachineInfoError("no IPv4 address found for the node: pass --node-ip") }
        return MachineInfo(
            cpuCount: cpus, memoryCapacityBytes: memTotal, ephemeralStorageCapacityBytes: try FilesystemStats.read(dataDir).capacityBytes,
            kernelVersion: field(names.release), osImage: file("/etc/os-release").flatMap(prettyName) ?? "Linux",
            architecture: goArchitecture(field(names.machine)), machineID: trimmed("/etc/machine-id"),
            systemUUID: trimmed("/sys/class/dmi/id/product_uuid").lowercased(), bootID: trimmed("/proc/sys/kernel/random/boot_id"),
            hostname: ProcessInfo.processInfo.hostName.lowercased(), nodeIP: ip)
    }

    /// /proc/meminfo's fields in bytes ("MemTotal: 16314264 kB").
    static func parseMeminfo(_ text: String) -> [String: Int64] {
        var fields: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count >= 2, let value = Int64(parts[1]) else { continue }
            fields[String(parts[0])] = parts.count > 2 && parts[2] == "kB" ? value * 1024 : value
        }
        return fields
    }

    /// The number of CPUs this process may run on: Cpus_allowed_list in
    /// /proc/self/status ("0-3,6"), what sched_getaffinity reports.
    static func allowedCPUs(status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
        var count = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let ends = range.split(separator: "-").compactMap { Int($0) }
            switch ends.count {
            case 1: count += 1
            case 2 where ends[1] >= ends[0]: count += ends[1] - ends[0] + 1
            default: return nil
            }
        }
        return count > 0 ? count : nil
    }

    /// PRETTY_NAME from os-release, unquoted, as the kubelet's osImage.
    static func prettyName(osRelease: String) -> String? {
        for line in osRelease.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            var value = line.dropFirst("PRETTY_NAME=".count)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = value.dropFirst().dropLast() }
            return String(value)
        }
        return nil
    }

    /// uname's machine in Go's GOARCH terms.
    static func goArchitecture(_ machine: String) -> String {
        switch machine {
        case "x86_64": "amd64"
        case "aarch64", "arm64": "arm64"
        case "i386", "i686": "386"
        case "ppc64le": "ppc64le"
        case "s390x": "s390x"
        case "riscv64": "riscv64"
        default: machine.hasPrefix("arm") ? "arm" : machine
        }
    }

    /// The interface of the default route in /proc/net/route (destination and mask 0,
    /// lowest metric).
    static func defaultRouteInterface(routes: String) -> String? {
        var best: (name: String, metric: Int)?
        for line in routes.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 8, f[1] == "00000000", f[7] == "00000000", let flags = Int(f[3], radix: 16), flags & 1 != 0,
                  let metric = Int(f[6]) else { continue }
            if best == nil || metric < best!.metric { best = (String(f[0]), metric) }
        }
        return best?.name
    }

    /// This machine's address as a node (and the API server's advertised address).
    public static func defaultNodeIP() -> String? {
        defaultIPv4(routes: (try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) ?? "", addresses: interfaceIPv4Addresses())
    }

    /// The node's address: the IPv4 address of the default route's interface, else the
    /// first address not on loopback.
    static func defaultIPv4(routes: String, addresses: [(interface: String, address: String)]) -> String? {
        if let interface = defaultRouteInterface(routes: routes), let match = addresses.first(where: { $0.interface == interface }) {
            return match.address
        }
        return addresses.first { !$0.address.hasPrefix("127.") }?.address
    }

    /// Every interface's IPv4 addresses, in getifaddrs' order.
    public static func interfaceIPv4Addresses() -> [(interface: String, address: String)] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var found: [(String, String)] = []
        var cursor = head
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, sa.pointee.sa_family == UInt16(AF_INET) else { continue }
            var address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            guard inet_ntop(AF_INET, &address, &buffer, socklen_t(INET_ADDRSTRLEN)) != nil else { continue }
            found.append((String(cString: entry.pointee.ifa_name),
                          String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return found
    }
}

/// Why the machine could not be read.
public struct MachineInfoError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A filesystem's size and free space (statvfs), for ephemeral-storage and the
/// nodefs/imagefs eviction signals.
public struct FilesystemStats: Sendable, Equatable {
    public var capacityBytes: Int64
    /// What an unprivileged user may still write (f_bavail), as the kubelet counts.
    public var availableBytes: Int64

    public init(capacityBytes: Int64, availableBytes: Int64) {
        self.capacityBytes = capacityBytes
        self.availableBytes = availableBytes
    }

    /// The filesystem holding `path`.
    public static func read(_ path: String) throws -> FilesystemStats {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { throw MachineInfoError("statvfs \(path): errno \(errno)") }
        let unit = Int64(st.f_frsize)
        return FilesystemStats(capacityBytes: Int64(st.f_blocks) * unit, availableBytes: Int64(st.f_bavail) * unit)
    }
}

/// The eviction signals the node's pressure conditions are computed from.
public struct NodeStats: Sendable, Equatable {
    /// memory.available: MemAvailable.
    public var memoryAvailableBytes: Int64
    public var nodeFS: FilesystemStats
    public var imageFS: FilesystemStats
    /// /proc/sys/kernel/pid_max.
    public var maxPID: Int64
    /// Tasks (processes and threads: each takes a PID) now running.
    public var runningProcesses: Int64

    public init(memoryAvailableBytes: Int64, nodeFS: FilesystemStats, imageFS: FilesystemStats, maxPID: Int64, runningProcesses: Int64) {
        self.memoryAvailableBytes = memoryAvailableBytes
        self.nodeFS = nodeFS
        self.imageFS = imageFS
        self.maxPID = maxPID
        self.runningProcesses = runningProcesses
    }

    /// pid.available.
    public var pidAvailable: Int64 { maxPID - runningProcesses }

    /// Reads the signals now; `imageDir` is where images are stored.
    public static func read(dataDir: String, imageDir: String) throws -> NodeStats {
        func file(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        guard let available = file("/proc/meminfo").map(MachineInfo.parseMeminfo)?["MemAvailable"] else {
            throw MachineInfoError("cannot read MemAvailable from /proc/meminfo")
        }
        guard let maxPID = file("/proc/sys/kernel/pid_max").flatMap({ Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
              let running = file("/proc/loadavg").flatMap(tasks)
        else { throw MachineInfoError("cannot read pid_max or the task count in /proc/loadavg") }
        return NodeStats(memoryAvailableBytes: available, nodeFS: try FilesystemStats.read(dataDir),
                         imageFS: try FilesystemStats.read(imageDir), maxPID: maxPID, runningProcesses: running)
    }

    /// The number of tasks in /proc/loadavg ("0.10 0.20 0.30 2/523 1234" → 523), what
    /// sysinfo's procs reports to upstream's kubelet.
    static func tasks(loadavg: String) -> Int64? {
        let fields = loadavg.split(separator: " ")
        guard fields.count >= 4, let slash = fields[3].firstIndex(of: "/") else { return nil }
        return Int64(fields[3][fields[3].index(after: slash)...])
    }
}

import Foundation
import Glibc

/// Resource usage read from cgroup files, as cAdvisor reads them for the kubelet. The
/// layout follows the detected mode: v1 (and hybrid, whose controllers are v1) keeps CPU
/// time in the cpuacct hierarchy and memory in the memory one; v2 keeps both in the one
/// unified directory.
extension Cgroups {
    /// CPU time and memory of the cgroup `path` (as the OCI spec's cgroupsPath) now.
    public func usage(_ path: String, now: Date = Date()) throws -> (cpu: CpuUsage, memory: MemoryUsage) {
        if mode == .v2 {
            let dir = "\(root)\(path)"
            return (try Self.v2CPU(dir, now: now), try Self.v2Memory(dir, now: now))
        }
        return (try Self.v1CPU(try cpuacctDirectory() + path, now: now), try Self.v1Memory("\(root)/memory\(path)", now: now))
    }

    /// The whole machine's usage, as the kubelet reports the node's (cAdvisor's root
    /// container): on v1 the root cgroups' counters; on v2, whose root cgroup has no
    /// memory files, the root's cpu.stat and /proc/meminfo (as runc does for the root).
    /// CPU falls back to /proc/stat where the root cgroup has no CPU counter.
    public func nodeUsage(proc: String = "/proc", now: Date = Date()) throws -> NodeUsage {
        func procStatCPU() throws -> CpuUsage {
            let ticksPerSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
            guard let ticks = Self.busyTicks(procStat: try Self.read("\(proc)/stat")) else {
                throw RuntimeError("StatsError", "no cpu line in \(proc)/stat")
            }
            return CpuUsage(timestamp: now, usageCoreNanoSeconds: ticks * (1_000_000_000 / ticksPerSecond))
        }
        if mode == .v2 {
            let cpu = try (try? Self.v2CPU(root, now: now)) ?? procStatCPU()
            guard let memory = Self.rootMemory(meminfo: try Self.read("\(proc)/meminfo"), now: now) else {
                throw RuntimeError("StatsError", "cannot read MemTotal, MemFree and Inactive(file) from \(proc)/meminfo")
            }
            return NodeUsage(cpu: cpu, memory: memory)
        }
        let cpu = try (try? Self.v1CPU(try cpuacctDirectory(), now: now)) ?? procStatCPU()
        return NodeUsage(cpu: cpu, memory: try Self.v1Memory("\(root)/memory", now: now))
    }

    /// The v1 hierarchy holding cpuacct: `cpuacct` (often a link to `cpu,cpuacct`), or the
    /// co-mounted directory itself.
    func cpuacctDirectory() throws -> String {
        for name in ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDirectory), isDirectory.boolValue { return "\(root)/\(name)" }
        }
        throw RuntimeError("StatsError", "no cpuacct hierarchy under \(root)")
    }

    // MARK: cgroup v1

    static func v1CPU(_ dir: String, now: Date) throws -> CpuUsage {
        guard let ns = number(try read("\(dir)/cpuacct.usage")) else { throw RuntimeError("StatsError", "\(dir)/cpuacct.usage is not a number") }
        return CpuUsage(timestamp: now, usageCoreNanoSeconds: ns)
    }

    static func v1Memory(_ dir: String, now: Date) throws -> MemoryUsage {
        guard let usage = number(try read("\(dir)/memory.usage_in_bytes")) else {
            throw RuntimeError("StatsError", "\(dir)/memory.usage_in_bytes is not a number")
        }
        let stat = keyed(try read("\(dir)/memory.stat"))
        let workingSet = workingSet(usage: usage, inactiveFile: stat["total_inactive_file"])
        // An unlimited v1 cgroup shows a limit near Int64.max.
        let limit = (try? read("\(dir)/memory.limit_in_bytes")).flatMap(number).flatMap { $0 < 1 << 62 ? $0 : nil }
        return MemoryUsage(timestamp: now, workingSetBytes: workingSet, usageBytes: usage, rssBytes: stat["total_rss"],
                           availableBytes: limit.map { $0 > workingSet ? $0 - workingSet : 0 },
                           pageFaults: stat["total_pgfault"], majorPageFaults: stat["total_pgmajfault"])
    }

    // MARK: cgroup v2

    static func v2CPU(_ dir: String, now: Date) throws -> CpuUsage {
        guard let usec = keyed(try read("\(dir)/cpu.stat"))["usage_usec"] else { throw RuntimeError("StatsError", "no usage_usec in \(dir)/cpu.stat") }
        return CpuUsage(timestamp: now, usageCoreNanoSeconds: usec * 1000)
    }

    static func v2Memory(_ dir: String, now: Date) throws -> MemoryUsage {
        guard let usage = number(try read("\(dir)/memory.current")) else { throw RuntimeError("StatsError", "\(dir)/memory.current is not a number") }
        let stat = keyed(try read("\(dir)/memory.stat"))
        let workingSet = workingSet(usage: usage, inactiveFile: stat["inactive_file"])
        let limit = (try? read("\(dir)/memory.max")).flatMap(number)  // "max": none
        return MemoryUsage(timestamp: now, workingSetBytes: workingSet, usageBytes: usage, rssBytes: stat["anon"],
                           availableBytes: limit.map { $0 > workingSet ? $0 - workingSet : 0 },
                           pageFaults: stat["pgfault"], majorPageFaults: stat["pgmajfault"])
    }

    /// The root's memory from /proc/meminfo: usage MemTotal − MemFree, working set that
    /// minus Inactive(file).
    static func rootMemory(meminfo: String, now: Date) -> MemoryUsage? {
        var kB: [String: UInt64] = [:]
        for line in meminfo.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count >= 2, let value = UInt64(parts[1]) else { continue }
            kB[String(parts[0])] = parts.count > 2 && parts[2] == "kB" ? value * 1024 : value
        }
        guard let total = kB["MemTotal"], let free = kB["MemFree"], let inactiveFile = kB["Inactive(file)"] else { return nil }
        let usage = total > free ? total - free : 0
        return MemoryUsage(timestamp: now, workingSetBytes: workingSet(usage: usage, inactiveFile: inactiveFile), usageBytes: usage,
                           availableBytes: kB["MemAvailable"])
    }

    // MARK: parsing

    /// Usage minus inactive file pages, never below zero (cAdvisor's working set).
    static func workingSet(usage: UInt64, inactiveFile: UInt64?) -> UInt64 {
        guard let inactiveFile else { return usage }
        return inactiveFile < usage ? usage - inactiveFile : 0
    }

    /// The CPU time /proc/stat's first line counts as busy, in clock ticks: user, nice,
    /// system, irq, softirq and steal (guest time is already inside user).
    static func busyTicks(procStat: String) -> UInt64? {
        guard let line = procStat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 4 else { return nil }
        let busy = [0, 1, 2, 5, 6, 7].filter { $0 < fields.count }.map { fields[$0] }
        return busy.reduce(0, +)
    }

    /// A flat-keyed cgroup file ("key value" lines: memory.stat, cpu.stat).
    static func keyed(_ text: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { out[String(parts[0])] = value }
        }
        return out
    }

    /// A single-value cgroup file; nil for "max" or anything else not a number.
    static func number(_ text: String) -> UInt64? {
        UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func read(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw RuntimeError("StatsError", "cannot read \(path)") }
        return text
    }
}

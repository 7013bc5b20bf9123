import Foundation
import Testing
@testable import SkiffRuntime

/// A directory tree of cgroup-like files, removed when the test ends.
struct CgroupFixture {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "skiff-cgroup-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func write(_ path: String, _ content: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

@Suite struct CgroupStatsTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func readsAContainerOnCgroupV1() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        let path = "/kubepods/burstable/podabc/c1"
        try fx.write("cpuacct\(path)/cpuacct.usage", "123456789\n")
        try fx.write("memory\(path)/memory.usage_in_bytes", "10485760\n")
        try fx.write("memory\(path)/memory.limit_in_bytes", "33554432\n")
        try fx.write("memory\(path)/memory.stat", """
            cache 4096
            rss 8192
            inactive_file 1
            total_cache 2097152
            total_rss 6291456
            total_inactive_file 2097152
            total_pgfault 100
            total_pgmajfault 2

            """)
        for mode in [CgroupMode.v1, .hybrid] {
            let (cpu, memory) = try Cgroups(mode: mode, root: fx.root).usage(path, now: now)
            #expect(cpu == CpuUsage(timestamp: now, usageCoreNanoSeconds: 123_456_789))
            // Working set: usage minus total_inactive_file (not the cgroup's own inactive_file).
            #expect(memory == MemoryUsage(timestamp: now, workingSetBytes: 8_388_608, usageBytes: 10_485_760, rssBytes: 6_291_456,
                                          availableBytes: 33_554_432 - 8_388_608, pageFaults: 100, majorPageFaults: 2))
        }
    }

    @Test func readsCoMountedCPUAccountingAndUnlimitedMemory() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        try fx.write("cpu,cpuacct/c/cpuacct.usage", "42")
        try fx.write("memory/c/memory.usage_in_bytes", "4096")
        try fx.write("memory/c/memory.limit_in_bytes", "9223372036854771712")
        try fx.write("memory/c/memory.stat", "total_inactive_file 8192\n")
        let (cpu, memory) = try Cgroups(mode: .v1, root: fx.root).usage("/c", now: now)
        #expect(cpu.usageCoreNanoSeconds == 42)
        // More inactive file pages than usage: the working set is zero, never negative.
        #expect(memory.workingSetBytes == 0)
        #expect(memory.availableBytes == nil)
    }

    @Test func readsAContainerOnCgroupV2() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        let path = "/kubepods/besteffort/podxyz/c2"
        try fx.write("\(path)/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
        try fx.write("\(path)/memory.current", "20971520\n")
        try fx.write("\(path)/memory.max", "max\n")
        try fx.write("\(path)/memory.stat", "anon 12582912\nfile 8388608\nactive_file 4194304\ninactive_file 4194304\npgfault 7\npgmajfault 1\n")
        let (cpu, memory) = try Cgroups(mode: .v2, root: fx.root).usage(path, now: now)
        #expect(cpu == CpuUsage(timestamp: now, usageCoreNanoSeconds: 2_500_000_000))
        #expect(memory == MemoryUsage(timestamp: now, workingSetBytes: 16_777_216, usageBytes: 20_971_520, rssBytes: 12_582_912,
                                      availableBytes: nil, pageFaults: 7, majorPageFaults: 1))
    }

    @Test func aMissingCgroupIsAnError() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        try fx.write("cpuacct/cpuacct.usage", "1")
        #expect(throws: RuntimeError.self) { try Cgroups(mode: .v1, root: fx.root).usage("/gone", now: now) }
        #expect(throws: RuntimeError.self) { try Cgroups(mode: .v2, root: fx.root).usage("/gone", now: now) }
    }

    @Test func readsTheNodeOnCgroupV1() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        try fx.write("cgroup/cpuacct/cpuacct.usage", "59298507992989\n")
        try fx.write("cgroup/memory/memory.usage_in_bytes", "3361972224\n")
        try fx.write("cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
        try fx.write("cgroup/memory/memory.stat", "total_inactive_file 1277280256\ntotal_rss 72925184\n")
        let usage = try Cgroups(mode: .v1, root: fx.root + "/cgroup").nodeUsage(proc: fx.root + "/proc", now: now)
        #expect(usage.cpu.usageCoreNanoSeconds == 59_298_507_992_989)
        #expect(usage.memory.workingSetBytes == 3_361_972_224 - 1_277_280_256)
    }

    @Test func readsTheNodeOnCgroupV2FromMeminfo() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        try fx.write("cgroup/cpu.stat", "usage_usec 1000000\n")
        try fx.write("proc/meminfo", """
            MemTotal:       24684096 kB
            MemFree:        20077032 kB
            MemAvailable:   23779656 kB
            Inactive(file):  1247300 kB

            """)
        let usage = try Cgroups(mode: .v2, root: fx.root + "/cgroup").nodeUsage(proc: fx.root + "/proc", now: now)
        #expect(usage.cpu.usageCoreNanoSeconds == 1_000_000_000)
        #expect(usage.memory.usageBytes == (24_684_096 - 20_077_032) * 1024)
        #expect(usage.memory.workingSetBytes == (24_684_096 - 20_077_032 - 1_247_300) * 1024)
    }

    @Test func fallsBackToProcStatForTheNodesCPU() throws {
        let fx = try CgroupFixture()
        defer { fx.remove() }
        try fx.write("proc/meminfo", "MemTotal: 1000 kB\nMemFree: 400 kB\nInactive(file): 100 kB\n")
        try fx.write("proc/stat", "cpu  5051288 7 823913 3742541 82888 3 25398 10196 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
        let usage = try Cgroups(mode: .v2, root: fx.root + "/cgroup").nodeUsage(proc: fx.root + "/proc", now: now)
        let ticks = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        // user + nice + system + irq + softirq + steal; idle and iowait are not busy.
        #expect(usage.cpu.usageCoreNanoSeconds == (5_051_288 + 7 + 823_913 + 3 + 25_398 + 10_196) * (1_000_000_000 / ticks))
        #expect(usage.memory.workingSetBytes == 500 * 1024)
    }

    @Test func parsesProcStat() {
        #expect(Cgroups.busyTicks(procStat: "cpu  1 2 3 4 5 6 7 8 9 10\n") == 1 + 2 + 3 + 6 + 7 + 8)
        #expect(Cgroups.busyTicks(procStat: "intr 1 2 3\n") == nil)
    }

    /// On a real host (these machines: v1 controllers), the root reads as a node would.
    @Test func readsThisMachine() throws {
        let cgroups = Cgroups(mode: CgroupMode.detect())
        let usage = try cgroups.nodeUsage()
        #expect(usage.cpu.usageCoreNanoSeconds > 0)
        #expect(usage.memory.workingSetBytes > 0)
    }
}

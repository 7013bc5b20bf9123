import Foundation
import Hummingbird
import Logging
import NIOCore
import SkiffAPI
import SkiffRuntime

/// The kubelet's resource metrics: `/metrics/resource` in Prometheus text format with
/// upstream's metric names, what the API server's resource metrics scraper (metrics-server's
/// role) reads; and `/metrics`, the kubelet's own figures (running pods and containers, the
/// process' CPU and memory). Every sample carries the time it was read, in milliseconds.
public struct ResourceMetrics: Sendable {
    /// One running container's usage, with the pod it belongs to.
    struct ContainerSample: Sendable, Equatable {
        var namespace: String
        var pod: String
        var container: String
        /// The runtime's creation time of the container (upstream's container start time).
        var startTime: Date
        var cpu: CpuUsage?
        var memory: MemoryUsage?
    }

    /// The figures of one scrape.
    struct Snapshot: Sendable, Equatable {
        var node: NodeUsage?
        var containers: [ContainerSample] = []
        /// Reading the runtime or the node failed; what could be read is still reported.
        var scrapeError = false
    }

    let runtime: any RuntimeService
    let nodeUsage: @Sendable () throws -> NodeUsage
    let logger: Logger

    /// `nodeUsage` reads the machine's usage (the runtime's `Cgroups.nodeUsage`).
    public init(runtime: any RuntimeService, nodeUsage: @escaping @Sendable () throws -> NodeUsage,
                logger: Logger = Logger(label: "skiff.kubelet.metrics")) {
        self.runtime = runtime
        self.nodeUsage = nodeUsage
        self.logger = logger
    }

    /// Adds GET /metrics/resource and GET /metrics to the kubelet's server (behind its
    /// client-certificate authorization, as every route there).
    public func addRoutes(to router: Router<KubeletRequestContext>) {
        router.get("/metrics/resource") { _, _ in
            Self.textResponse(Self.render(await self.collect()))
        }
        router.get("/metrics") { _, _ in
            Self.textResponse(await self.kubeletMetrics())
        }
    }

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func textResponse(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Reads the node and every running container of a pod now.
    func collect() async -> Snapshot {
        var snapshot = Snapshot()
        do {
            snapshot.node = try nodeUsage()
        } catch {
            snapshot.scrapeError = true
            logger.warning("cannot read the node's usage", metadata: ["error": "\(error)"])
        }
        let containers: [ContainerStatus]
        do {
            containers = try await runtime.listContainers()
        } catch {
            snapshot.scrapeError = true
            logger.warning("cannot list containers for their usage", metadata: ["error": "\(error)"])
            return snapshot
        }
        for c in containers where c.state == .running {
            guard let namespace = c.labels[Kubelet.podNamespaceLabel], let pod = c.labels[Kubelet.podNameLabel] else { continue }
            let stats: ContainerStats
            do {
                stats = try await runtime.containerStats(c.id)
            } catch {
                // It may have exited since the list; its usage is simply not reported.
                logger.debug("cannot read a container's usage", metadata: ["container": "\(c.id)", "error": "\(error)"])
                continue
            }
            snapshot.containers.append(ContainerSample(namespace: namespace, pod: pod, container: c.labels[Kubelet.containerNameLabel] ?? c.name,
                                                       startTime: c.createdAt, cpu: stats.cpu, memory: stats.memory))
        }
        return snapshot
    }

    // MARK: Prometheus text

    struct Family {
        var name: String
        var help: String
        var type: String
        /// Label pairs in name order, the value and the timestamp in milliseconds.
        var samples: [(labels: [(String, String)], value: Double, timestamp: Int64?)] = []
    }

    /// The snapshot as upstream's kubelet writes /metrics/resource: families in name order,
    /// samples in label order, each with its read time; families without samples left out.
    static func render(_ s: Snapshot) -> String {
        var containerCPU = Family(name: "container_cpu_usage_seconds_total",
                                  help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds", type: "counter")
        var containerMemory = Family(name: "container_memory_working_set_bytes",
                                     help: "[STABLE] Current working set of the container in bytes", type: "gauge")
        var containerStart = Family(name: "container_start_time_seconds",
                                    help: "[STABLE] Start time of the container since unix epoch in seconds", type: "gauge")
        var nodeCPU = Family(name: "node_cpu_usage_seconds_total",
                             help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds", type: "counter")
        var nodeMemory = Family(name: "node_memory_working_set_bytes", help: "[STABLE] Current working set of the node in bytes", type: "gauge")
        var podCPU = Family(name: "pod_cpu_usage_seconds_total",
                            help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", type: "counter")
        var podMemory = Family(name: "pod_memory_working_set_bytes", help: "[STABLE] Current working set of the pod in bytes", type: "gauge")
        var resourceScrapeError = Family(name: "resource_scrape_error",
                                         help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", type: "gauge")
        var scrapeError = Family(name: "scrape_error",
                                 help: "[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
                                 type: "gauge")

        if let node = s.node {
            nodeCPU.samples.append(([], seconds(node.cpu.usageCoreNanoSeconds), milliseconds(node.cpu.timestamp)))
            nodeMemory.samples.append(([], Double(node.memory.workingSetBytes), milliseconds(node.memory.timestamp)))
        }
        struct PodTotal {
            var cpu: UInt64? = 0
            var cpuTime = Date.distantPast
            var memory: UInt64? = 0
            var memoryTime = Date.distantPast
        }
        var pods: [[String]: PodTotal] = [:]
        let sorted = s.containers.sorted { ($0.container, $0.namespace, $0.pod) < ($1.container, $1.namespace, $1.pod) }
        for c in sorted {
            let labels = [("container", c.container), ("namespace", c.namespace), ("pod", c.pod)]
            var total = pods[[c.namespace, c.pod]] ?? PodTotal()
            if let cpu = c.cpu {
                containerCPU.samples.append((labels, seconds(cpu.usageCoreNanoSeconds), milliseconds(cpu.timestamp)))
                total.cpu = total.cpu.map { $0 + cpu.usageCoreNanoSeconds }
                total.cpuTime = max(total.cpuTime, cpu.timestamp)
            } else {
                total.cpu = nil
            }
            if let memory = c.memory {
                containerMemory.samples.append((labels, Double(memory.workingSetBytes), milliseconds(memory.timestamp)))
                total.memory = total.memory.map { $0 + memory.workingSetBytes }
                total.memoryTime = max(total.memoryTime, memory.timestamp)
            } else {
                total.memory = nil
            }
            // The start time's sample is stamped with the start time itself, as upstream's.
            let start = c.startTime.timeIntervalSince1970
            containerStart.samples.append((labels, start, milliseconds(c.startTime)))
            pods[[c.namespace, c.pod]] = total
        }
        for (key, total) in pods.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let labels = [("namespace", key[0]), ("pod", key[1])]
            if let cpu = total.cpu { podCPU.samples.append((labels, seconds(cpu), milliseconds(total.cpuTime))) }
            if let memory = total.memory { podMemory.samples.append((labels, Double(memory), milliseconds(total.memoryTime))) }
        }
        resourceScrapeError.samples.append(([], s.scrapeError ? 1 : 0, nil))
        scrapeError.samples.append(([], s.scrapeError ? 1 : 0, nil))
        return write([containerCPU, containerMemory, containerStart, nodeCPU, nodeMemory, podCPU, podMemory, resourceScrapeError, scrapeError])
    }

    static func write(_ families: [Family]) -> String {
        var out = ""
        for f in families where !f.samples.isEmpty {
            out += "# HELP \(f.name) \(escapeHelp(f.help))\n# TYPE \(f.name) \(f.type)\n"
            for sample in f.samples {
                out += f.name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " " + goFormatFloat(sample.value)
                if let t = sample.timestamp { out += " \(t)" }
                out += "\n"
            }
        }
        return out
    }

    static func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The text format's escapes: backslash, double quote and newline in label values.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    /// HELP text escapes backslash and newline only.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    // MARK: /metrics

    /// The kubelet's own figures: running pods and containers by state (upstream's names),
    /// and the process' CPU time, resident memory, start time and descriptors, as the
    /// Prometheus process collector reports them.
    func kubeletMetrics() async -> String {
        var families: [Family] = []
        if let sandboxes = try? await runtime.listPodSandboxes() {
            var f = Family(name: "kubelet_running_pods", help: "[ALPHA] Number of pods that have a running pod sandbox", type: "gauge")
            f.samples.append(([], Double(sandboxes.filter { $0.state == .ready }.count), nil))
            families.append(f)
        }
        if let containers = try? await runtime.listContainers() {
            var f = Family(name: "kubelet_running_containers", help: "[ALPHA] Number of containers currently running", type: "gauge")
            var counts: [String: Int] = [:]
            for c in containers {
                let state: String
                switch c.state {
                case .created: state = "created"
                case .running: state = "running"
                case .exited: state = "exited"
                default: state = "unknown"
                }
                counts[state, default: 0] += 1
            }
            for (state, count) in counts.sorted(by: { $0.key < $1.key }) { f.samples.append(([("container_state", state)], Double(count), nil)) }
            families.append(f)
        }
        families += ProcessUsage.read().families()
        return Self.write(families)
    }
}

/// This process' usage from /proc/self, as Prometheus' process collector reads it.
struct ProcessUsage {
    var cpuSeconds: Double?
    var residentBytes: Double?
    var virtualBytes: Double?
    var startTimeSeconds: Double?
    var openFDs: Double?
    var maxFDs: Double?

    static func read(proc: String = "/proc") -> ProcessUsage {
        var usage = ProcessUsage()
        let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        if let stat = try? String(contentsOfFile: "\(proc)/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // Fields after the command: state is field 3, so field n is at index n - 3.
            let f = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ n: Int) -> Double? { n - 3 < f.count ? Double(f[n - 3]) : nil }
            if let utime = field(14), let stime = field(15) { usage.cpuSeconds = (utime + stime) / ticks }
            usage.virtualBytes = field(23)
            if let rss = field(24) { usage.residentBytes = rss * Double(sysconf(Int32(_SC_PAGESIZE))) }
            if let start = field(22), let boot = bootTime(proc: proc) { usage.startTimeSeconds = boot + start / ticks }
        }
        usage.openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/self/fd")).map { Double($0.count) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { usage.maxFDs = Double(limit.rlim_cur) }
        return usage
    }

    static func bootTime(proc: String) -> Double? {
        guard let text = try? String(contentsOfFile: "\(proc)/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") { return Double(line.dropFirst(6)) }
        return nil
    }

    func families() -> [ResourceMetrics.Family] {
        var out: [ResourceMetrics.Family] = []
        func add(_ name: String, _ help: String, _ type: String, _ value: Double?) {
            guard let value else { return }
            out.append(ResourceMetrics.Family(name: name, help: help, type: type, samples: [([], value, nil)]))
        }
        add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", cpuSeconds)
        add("process_max_fds", "Maximum number of open file descriptors.", "gauge", maxFDs)
        add("process_open_fds", "Number of open file descriptors.", "gauge", openFDs)
        add("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", residentBytes)
        add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", startTimeSeconds)
        add("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", virtualBytes)
        return out
    }
}


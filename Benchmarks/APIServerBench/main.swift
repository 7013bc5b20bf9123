// Benchmarks the control-plane core and prints one JSON document:
//   - pod creates/s over HTTPS with 64 concurrent clients, beside etcd 3.4 puts/s of the
//     same size at the same concurrency, through the same HTTP client in the same run;
//   - create latency (p50/p99) at a steady 1,000 creates/s;
//   - listing 10,000 pods (JSON and Table);
//   - watch fan-out: 1,000 watchers each receiving 1,000 events;
//   - server RSS with 10,000 pods stored.
// Usage: APIServerBench [--skiff PATH] [--etcd PATH] [--pods N] [--concurrency N] [--watchers N] [--events N]

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SkiffAPIServer
import SkiffCore
import SkiffStore

struct Options {
    var skiff = ".build/release/skiff"
    var etcd = "/usr/bin/etcd"
    var pods = 10_000
    var concurrency = 64
    var steadyRate = 1_000
    var steadySeconds = 10
    var watchers = 1_000
    var events = 1_000

    init(_ args: [String]) {
        var i = 1
        while i + 1 < args.count {
            let v = args[i + 1]
            switch args[i] {
            case "--skiff": skiff = v
            case "--etcd": etcd = v
            case "--pods": pods = Int(v) ?? pods
            case "--concurrency": concurrency = Int(v) ?? concurrency
            case "--watchers": watchers = Int(v) ?? watchers
            case "--events": events = Int(v) ?? events
            case "--steady-seconds": steadySeconds = Int(v) ?? steadySeconds
            default: break
            }
            i += 2
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case failed(String)
    var description: String { if case .failed(let s) = self { s } else { "" } }
}

func log(_ s: String) { FileHandle.standardError.write(Data("bench: \(s)\n".utf8)) }

func freePort() -> Int { Int.random(in: 20000...40000) }

func percentile(_ xs: [Double], _ p: Double) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p))]
}

func median(_ xs: [Double]) -> Double { percentile(xs, 0.5) }

func rssMB(_ pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

/// A realistic pod of about 2 KB.
func podBody(_ name: String) -> [UInt8] {
    let pod: JSON = [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name),
                     "labels": ["app": "bench", "tier": "backend", "pod-template-hash": "7d4b9c8f6d", "version": "v1.2.3"],
                     "annotations": ["prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                                     "kubectl.kubernetes.io/restartedAt": "2026-11-27T00:00:00Z",
                                     "team.example.com/owner": "backend-platform@example.com",
                                     "team.example.com/runbook": "https://runbooks.example.com/backend/service-overview"]],
        "spec": [
            "containers": [[
                "name": "app", "image": "registry.example.com/team/backend:v1.2.3",
                "command": ["/app/server"], "args": ["--port=8080", "--metrics-port=9090", "--log-level=info"],
                "ports": [["name": "http", "containerPort": 8080], ["name": "metrics", "containerPort": 9090]],
                "env": [["name": "DATABASE_URL", "value": "postgres://db.backend.svc.cluster.local:5432/app"],
                        ["name": "CACHE_URL", "value": "redis://cache.backend.svc.cluster.local:6379"],
                        ["name": "FEATURE_FLAGS", "value": "search-v2,new-checkout,async-indexing,rate-limit-v3,audit-log"],
                        ["name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability.svc.cluster.local:4317"],
                        ["name": "POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
                        ["name": "POD_IP", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]]],
                "resources": ["requests": ["cpu": "250m", "memory": "256Mi"], "limits": ["cpu": "1", "memory": "512Mi"]],
                "readinessProbe": ["httpGet": ["path": "/healthz", "port": 8080], "periodSeconds": 5],
                "livenessProbe": ["httpGet": ["path": "/livez", "port": 8080], "initialDelaySeconds": 10],
                "volumeMounts": [["name": "config", "mountPath": "/etc/app"], ["name": "tmp", "mountPath": "/tmp"]],
            ]],
            "volumes": [["name": "config", "configMap": ["name": "backend-config"]], ["name": "tmp", "emptyDir": [:]]],
            "serviceAccountName": "backend",
            "nodeSelector": ["kubernetes.io/os": "linux"],
            "tolerations": [["key": "dedicated", "operator": "Equal", "value": "backend", "effect": "NoSchedule"]],
        ],
    ]
    return pod.serialized()
}

/// One HTTP endpoint to benchmark: the Skiff API (HTTPS, bearer token) or etcd's gateway.
struct Target {
    var client: HTTPClient
    var base: String
    var headers: [(String, String)]

    func request(_ method: HTTPMethod, _ path: String, _ body: [UInt8]? = nil) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: base + path)
        r.method = method
        for (k, v) in headers { r.headers.add(name: k, value: v) }
        if let body {
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(bytes: body))
        }
        return r
    }

    func send(_ method: HTTPMethod, _ path: String, _ body: [UInt8]? = nil, expect: Int) async throws -> [UInt8] {
        let response = try await client.execute(request(method, path, body), timeout: .seconds(60))
        var buf = try await response.body.collect(upTo: 512 << 20)
        let bytes = buf.readBytes(length: buf.readableBytes) ?? []
        if Int(response.status.code) != expect {
            throw BenchError.failed("\(method) \(path): \(response.status.code) \(String(decoding: bytes.prefix(300), as: UTF8.self))")
        }
        return bytes
    }

    /// GETs `path` and counts the body's bytes as they arrive, as `curl -o /dev/null`
    /// does: the time is the server's and the transfer's, not the client's buffering.
    func fetchLength(_ path: String, headers extra: [(String, String)] = []) async throws -> Int {
        var req = request(.GET, path)
        for (k, v) in extra { req.headers.add(name: k, value: v) }
        let response = try await client.execute(req, timeout: .seconds(60))
        guard response.status.code == 200 else { throw BenchError.failed("GET \(path): \(response.status.code)") }
        var n = 0
        for try await chunk in response.body { n += chunk.readableBytes }
        return n
    }
}

/// Runs `total` operations over `concurrency` workers; returns operations per second.
func closedLoop(total: Int, concurrency: Int, _ op: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<concurrency {
            group.addTask {
                var i = w
                while i < total {
                    try await op(i)
                    i += concurrency
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    return Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// A server process (skiff or etcd) on a free loopback port with a scratch directory.
final class ServerProcess {
    let process = Process()
    let dir: String
    let port: Int

    init(binary: String, name: String, arguments: (_ dir: String, _ port: Int) -> [String]) throws {
        dir = NSTemporaryDirectory() + "\(name)-bench-\(UUID().uuidString)"
        port = freePort()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments(dir, port)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    static func skiff(_ binary: String) throws -> ServerProcess {
        try ServerProcess(binary: binary, name: "skiff") { dir, port in
            ["server", "--data-dir", dir, "--port", String(port), "--bind-address", "127.0.0.1", "--log-level", "warning"]
        }
    }

    static func etcd(_ binary: String) throws -> ServerProcess {
        try ServerProcess(binary: binary, name: "etcd") { dir, port in
            ["--name", "bench", "--data-dir", dir,
             "--listen-client-urls", "http://127.0.0.1:\(port)", "--advertise-client-urls", "http://127.0.0.1:\(port)",
             "--listen-peer-urls", "http://127.0.0.1:\(port + 1)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(port + 1)",
             "--initial-cluster", "bench=http://127.0.0.1:\(port + 1)", "--log-level", "error"]
        }
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

func waitReady(_ t: Target, path: String) async throws {
    for _ in 0..<300 {
        if (try? await t.send(.GET, path, expect: 200)) != nil { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw BenchError.failed("\(t.base) never became ready")
}

func machine() -> JSON {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
        .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
    return ["cpu": .string(cpu), "cores": .number(JSONNumber(ProcessInfo.processInfo.activeProcessorCount)),
            "memoryGiB": .number(JSONNumber(Double(ProcessInfo.processInfo.physicalMemory >> 20) / 1024))]
}

@main
struct APIServerBench {
    static func main() async throws {
        let o = Options(CommandLine.arguments)
        var tls = TLSConfiguration.makeClientConfiguration()
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(o.watchers, o.concurrency) + 16)
        config.timeout = .init(connect: .seconds(10), read: .seconds(120))

        let server = try ServerProcess.skiff(o.skiff)
        defer { server.stop() }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: server.dir + "/token") { try await Task.sleep(for: .milliseconds(100)) }
        let token = try String(contentsOfFile: server.dir + "/token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(server.dir + "/tls/ca.crt"))
        config.tlsConfiguration = tls
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        let skiff = Target(client: client, base: "https://127.0.0.1:\(server.port)", headers: [("Authorization", "Bearer \(token)")])
        try await waitReady(skiff, path: "/api/v1/namespaces/default")
        for ns in ["bench", "steady", "fanout"] {
            _ = try await skiff.send(.POST, "/api/v1/namespaces", Array(#"{"metadata":{"name":"\#(ns)"}}"#.utf8), expect: 201)
        }
        var results: JSON = ["machine": machine(), "podBytes": .number(JSONNumber(podBody("bench-000000").count))]

        // 1. Creates/s with 64 concurrent clients.
        log("creating \(o.pods) pods with \(o.concurrency) clients")
        let createRate = try await closedLoop(total: o.pods, concurrency: o.concurrency) { i in
            _ = try await skiff.send(.POST, "/api/v1/namespaces/bench/pods", podBody(String(format: "bench-%06d", i)), expect: 201)
        }
        results["podCreatesPerSecond"] = .number(JSONNumber(createRate.rounded()))
        log("creates/s: \(createRate.rounded())")

        // 2. RSS at rest (after the server's 5 s heap trim) and list of 10,000 pods.
        try await Task.sleep(for: .seconds(6))
        results["serverRSSMBWith\(o.pods)Pods"] = .number(JSONNumber((rssMB(server.process.processIdentifier) * 10).rounded() / 10))
        var listJSON: [Double] = [], listTable: [Double] = []
        for _ in 0..<7 {
            let t0 = ContinuousClock.now
            let length = try await skiff.fetchLength("/api/v1/namespaces/bench/pods")
            listJSON.append(seconds(ContinuousClock.now - t0) * 1000)
            if length < o.pods * 1000 { throw BenchError.failed("list too small: \(length) bytes") }
            let t1 = ContinuousClock.now
            _ = try await skiff.fetchLength("/api/v1/namespaces/bench/pods",
                                            headers: [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")])
            listTable.append(seconds(ContinuousClock.now - t1) * 1000)
        }
        results["listBytes"] = .number(JSONNumber(try await skiff.fetchLength("/api/v1/namespaces/bench/pods")))
        results["list\(o.pods)PodsJSONMillisMedian"] = .number(JSONNumber((median(listJSON) * 10).rounded() / 10))
        results["list\(o.pods)PodsTableMillisMedian"] = .number(JSONNumber((median(listTable) * 10).rounded() / 10))

        // 3. Latency at a steady rate (open loop: requests start on schedule, whatever the replies).
        log("steady \(o.steadyRate)/s for \(o.steadySeconds)s")
        let total = o.steadyRate * o.steadySeconds
        let interval = Duration.nanoseconds(1_000_000_000 / o.steadyRate)
        let outcomes = try await withThrowingTaskGroup(of: Double.self) { group in
            let start = ContinuousClock.now
            for i in 0..<total {
                let due = start + interval * i
                try await Task.sleep(until: due, clock: .continuous)
                group.addTask {
                    let t0 = ContinuousClock.now
                    do {
                        _ = try await skiff.send(.POST, "/api/v1/namespaces/steady/pods", podBody(String(format: "steady-%06d", i)), expect: 201)
                    } catch {
                        if i % 50 == 0 { log("steady create \(i) failed: \(error)") }
                        return -1
                    }
                    return seconds(ContinuousClock.now - t0) * 1000
                }
            }
            var all: [Double] = []
            for try await l in group { all.append(l) }
            return all
        }
        let failures = outcomes.filter { $0 < 0 }.count
        let latencies = outcomes.filter { $0 >= 0 }
        log("steady p50 \(percentile(latencies, 0.5)) p99 \(percentile(latencies, 0.99)) failures \(failures)")
        results["steadyFailures"] = .number(JSONNumber(failures))
        results["steadyCreatesPerSecond"] = .number(JSONNumber(o.steadyRate))
        results["steadyCreateLatencyMillis"] = ["p50": .number(JSONNumber((percentile(latencies, 0.5) * 100).rounded() / 100)),
                                                "p99": .number(JSONNumber((percentile(latencies, 0.99) * 100).rounded() / 100))]

        // 4. Watch fan-out.
        log("watch fan-out: \(o.watchers) watchers x \(o.events) events")
        results["watchFanout"] = try await fanout(skiff, watchers: o.watchers, events: o.events)
        log("fan-out: \(results["watchFanout"]?.serializedString() ?? "")")

        // 5. The same creates and fan-out in process, without HTTP and TLS: what the API
        // machinery costs, and the figure comparable to the watch cache's anchor.
        results["inProcessPodCreatesPerSecond"] = .number(JSONNumber(try await inProcessCreates(o).rounded()))
        results["inProcessWatchFanout"] = try await inProcessFanout(watchers: o.watchers, events: o.events)
        log("in-process fan-out: \(results["inProcessWatchFanout"]?.serializedString() ?? "")")

        // 6. etcd 3.4 puts of the same size at the same concurrency, same client.
        if FileManager.default.isExecutableFile(atPath: o.etcd) {
            log("etcd \(o.pods) puts with \(o.concurrency) clients")
            let etcd = try ServerProcess.etcd(o.etcd)
            defer { etcd.stop() }
            let plain = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
            let target = Target(client: plain, base: "http://127.0.0.1:\(etcd.port)", headers: [])
            try await waitReady(target, path: "/health")
            let value = Data(podBody("bench-000000")).base64EncodedString()
            let putRate = try await closedLoop(total: o.pods, concurrency: o.concurrency) { i in
                let key = Data("/registry/pods/bench/\(String(format: "bench-%06d", i))".utf8).base64EncodedString()
                _ = try await target.send(.POST, "/v3/kv/put", Array(#"{"key":"\#(key)","value":"\#(value)"}"#.utf8), expect: 200)
            }
            try await plain.shutdown()
            results["etcdPutsPerSecond"] = .number(JSONNumber(putRate.rounded()))
            results["createsPerEtcdPut"] = .number(JSONNumber((createRate / putRate * 100).rounded() / 100))
        } else {
            results["etcdPutsPerSecond"] = "etcd not installed (SKIFF_BENCH=1 scripts/setup installs it)"
        }
        try await client.shutdown()
        print(String(decoding: results.serialized(), as: UTF8.self))
    }

    /// Opens `watchers` watches, writes `events` objects, and measures until every watcher
    /// has every event. Events are counted by newline, so the client does no JSON work;
    /// delivery latency is sampled every tenth event (receipt time minus the write's start).
    static func fanout(_ skiff: Target, watchers: Int, events: Int) async throws -> JSON {
        let list = try JSON.parse(try await skiff.send(.GET, "/api/v1/namespaces/fanout/configmaps", expect: 200))
        let rv = list[path: ["metadata", "resourceVersion"]]?.stringValue ?? "0"
        let received = Counter()
        let samples = Samples()
        let ready = Counter()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    let response = try await skiff.client.execute(
                        skiff.request(.GET, "/api/v1/namespaces/fanout/configmaps?watch=true&resourceVersion=\(rv)&timeoutSeconds=120"),
                        timeout: .seconds(180))
                    await ready.add(1)
                    var seen = 0
                    var local: [(Int, ContinuousClock.Instant)] = []
                    for try await chunk in response.body {
                        let n = chunk.readableBytesView.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                        let now = ContinuousClock.now
                        for k in seen..<(seen + n) where k % 10 == 0 { local.append((k, now)) }
                        seen += n
                        if seen >= events { break }
                    }
                    await samples.addReceipts(local)
                    await received.add(seen)
                }
            }
            while await ready.value < watchers { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(500))
            let start = ContinuousClock.now
            // Eight writers; event k is the k-th write by revision.
            var stamps: [(Int64, ContinuousClock.Instant)] = []
            try await withThrowingTaskGroup(of: [(Int64, ContinuousClock.Instant)].self) { writers in
                for w in 0..<8 {
                    writers.addTask {
                        var mine: [(Int64, ContinuousClock.Instant)] = []
                        var i = w
                        while i < events {
                            let t0 = ContinuousClock.now
                            let body = try await skiff.send(.POST, "/api/v1/namespaces/fanout/configmaps",
                                                            Array(#"{"metadata":{"name":"e\#(i)"},"data":{"payload":"\#(String(repeating: "x", count: 200))"}}"#.utf8), expect: 201)
                            let created = try JSON.parse(body)
                            mine.append((Int64(created[path: ["metadata", "resourceVersion"]]?.stringValue ?? "0") ?? 0, t0))
                            i += 8
                        }
                        return mine
                    }
                }
                for try await part in writers { stamps += part }
            }
            stamps.sort { $0.0 < $1.0 }
            try await group.waitForAll()
            let elapsed = seconds(ContinuousClock.now - start)
            let total = await received.value
            let receipts = await samples.receipts
            var lat: [Double] = []
            for (k, t) in receipts where k < stamps.count { lat.append(seconds(t - stamps[k].1) * 1000) }
            return ["watchers": .number(JSONNumber(watchers)), "eventsPerWatcher": .number(JSONNumber(events)),
                    "eventsDelivered": .number(JSONNumber(total)),
                    "eventsDeliveredPerSecond": .number(JSONNumber((Double(total) / elapsed).rounded())),
                    "seconds": .number(JSONNumber((elapsed * 100).rounded() / 100)),
                    "deliveryLatencyMillis": ["p50": .number(JSONNumber((percentile(lat, 0.5) * 10).rounded() / 10)),
                                              "p99": .number(JSONNumber((percentile(lat, 0.99) * 10).rounded() / 10))]]
        }
    }
}

/// Creates through the API handler directly, on a SQLite store as the server uses.
func inProcessCreates(_ o: Options) async throws -> Double {
    let dir = NSTemporaryDirectory() + "skiff-inproc-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let handler = APIHandler(store: try MVCCStore(persistence: try SQLitePersistence(path: dir + "/state.db")))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await handler.run() }
        try await handler.bootstrap(servicePort: 6443)
        let rate = try await closedLoop(total: o.pods, concurrency: o.concurrency) { i in
            let r = await handler.handle(APIRequest(method: "POST", path: "/api/v1/namespaces/default/pods",
                                                    headers: ["content-type": "application/json"], body: podBody(String(format: "p-%06d", i))))
            if r.status != 201 { throw BenchError.failed("in-process create: \(r.status)") }
        }
        group.cancelAll()
        return rate
    }
}

/// 1,000 watches served by the API handler in process (the watch cache, per-watcher
/// queues and the encoding of each event line), each drained by its own task.
func inProcessFanout(watchers: Int, events: Int) async throws -> JSON {
    let handler = APIHandler(store: MVCCStore())
    return try await withThrowingTaskGroup(of: Void.self) { service in
        service.addTask { try await handler.run() }
        try await handler.bootstrap(servicePort: 6443)
        _ = await handler.handle(APIRequest("POST", "/api/v1/namespaces", body: #"{"metadata":{"name":"fanout"}}"#,
                                            headers: ["content-type": "application/json"]))
        let received = Counter()
        let ready = Counter()
        let start = ClockBox()
        let result = try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    let r = await handler.handle(APIRequest("GET", "/api/v1/namespaces/fanout/configmaps?watch=true&timeoutSeconds=120"))
                    guard case .stream(let produce) = r.body else { throw BenchError.failed("watch did not stream") }
                    await ready.add(1)
                    struct Done: Error {}
                    let seen = Counter()
                    do {
                        try await produce { chunk in
                            await seen.add(chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
                            if await seen.value >= events { throw Done() }
                        }
                    } catch is Done {}
                    await received.add(await seen.value)
                }
            }
            while await ready.value < watchers { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(200))
            await start.set(.now)
            try await closedLoop(total: events, concurrency: 8) { i in
                let body = Array(#"{"metadata":{"name":"e\#(i)"},"data":{"payload":"\#(String(repeating: "x", count: 200))"}}"#.utf8)
                let r = await handler.handle(APIRequest(method: "POST", path: "/api/v1/namespaces/fanout/configmaps",
                                                        headers: ["content-type": "application/json"], body: body))
                if r.status != 201 { throw BenchError.failed("in-process create: \(r.status)") }
            }
            try await group.waitForAll()
            let elapsed = seconds(ContinuousClock.now - (await start.value))
            let total = await received.value
            return ["watchers": .number(JSONNumber(watchers)), "eventsPerWatcher": .number(JSONNumber(events)),
                    "eventsDelivered": .number(JSONNumber(total)),
                    "eventsDeliveredPerSecond": .number(JSONNumber((Double(total) / elapsed).rounded())),
                    "seconds": .number(JSONNumber((elapsed * 100).rounded() / 100))] as JSON
        }
        service.cancelAll()
        return result
    }
}

actor ClockBox {
    var value = ContinuousClock.now
    func set(_ v: ContinuousClock.Instant) { value = v }
}

actor Counter {
    var value = 0
    func add(_ n: Int) { value += n }
}

actor Samples {
    var receipts: [(Int, ContinuousClock.Instant)] = []
    func addReceipts(_ r: [(Int, ContinuousClock.Instant)]) { receipts += r }
}

// Benchmarks the scheduler as scheduler_perf's SchedulingBasic does, and prints JSON:
//   - 5,000 nodes, 10,000 pods created, then the scheduler binds them all: pods/s from
//     its start to the last binding seen through the API;
//   - the same with pods created while the scheduler runs (creation to bound);
//   - control-plane RSS with 5,000 nodes and 50,000 pods stored.
// Everything runs in this process against an API handler on a SQLite store, as inside
// `skiff server`; nodes are plain Node objects (no kubelet).
// `--shape affinity` gives every pod what scheduler_perf's SchedulingPodAntiAffinity and
// SchedulingPodTopologySpread give theirs: required anti-affinity by hostname against pods
// of its own color (1,000 colors, so 10,000 pods stay placeable on 5,000 nodes) and a
// zone spread constraint (maxSkew 5, DoNotSchedule) over all the benchmark's pods; the
// RSS figure is then skipped.
// Usage: SchedulerBench [--nodes N] [--pods N] [--rss-pods N] [--shape basic|affinity]

import Foundation
import SkiffAPI
import SkiffAPIServer
import SkiffClient
import SkiffCore
import SkiffScheduler
import SkiffStore

struct Options {
    var nodes = 5_000
    var pods = 10_000
    var rssPods = 50_000
    var shape = "basic"

    init(_ args: [String]) {
        var i = 1
        while i + 1 < args.count {
            let v = Int(args[i + 1])
            switch args[i] {
            case "--nodes": nodes = v ?? nodes
            case "--pods": pods = v ?? pods
            case "--rss-pods": rssPods = v ?? rssPods
            case "--shape": shape = args[i + 1]
            default: break
            }
            i += 2
        }
    }
}

func log(_ s: String) { FileHandle.standardError.write(Data("bench: \(s)\n".utf8)) }

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func rssMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
    }
    return 0
}

func node(_ i: Int) -> JSON {
    let r: JSON = ["cpu": "32", "memory": "256Gi", "pods": "110"]
    return ["apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string("node-\(i)"), "labels": ["kubernetes.io/hostname": .string("node-\(i)"), "topology.kubernetes.io/zone": .string("zone-\(i % 3)")]],
            "status": ["capacity": r, "allocatable": r]]
}

func pod(_ name: String, _ i: Int, shape: String) -> JSON {
    var p: JSON = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": ["app": "bench"]],
                   "spec": ["containers": [["name": "c", "image": "registry.k8s.io/pause:3.10", "resources": ["requests": ["cpu": "100m", "memory": "500Mi"]]]]]]
    if shape == "affinity" {
        let color = JSON.string("c-\(i % 1000)")
        p[path: ["metadata", "labels", "color"]] = color
        p[path: ["spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"]] =
            [["labelSelector": ["matchLabels": ["color": color]], "topologyKey": "kubernetes.io/hostname"]]
        p[path: ["spec", "topologySpreadConstraints"]] =
            [["maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": ["matchLabels": ["app": "bench"]]]]
    }
    return p
}

/// Runs `total` operations over `concurrency` workers.
func concurrently(_ total: Int, _ concurrency: Int = 32, _ op: @escaping @Sendable (Int) async throws -> Void) async throws {
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
}

actor Tally {
    var bound = 0
    var last = ContinuousClock.now
    func add() { bound += 1; last = .now }
}

/// Counts bindings as a watch on pods shows them.
func countBindings(_ client: Client, namespace: String, until total: Int) async throws -> ContinuousClock.Instant {
    let list = try await client.list(.pods, namespace: namespace)
    var bound = Set(list.items.filter { $0[path: ["spec", "nodeName"]] != nil }.compactMap(\.name))
    var rv = list.resourceVersion
    while bound.count < total {
        for try await e in try await client.watch(.pods, namespace: namespace, resourceVersion: rv) {
            if let v = e.object.resourceVersion { rv = v }
            if e.object[path: ["spec", "nodeName"]] != nil, let name = e.object.name { bound.insert(name) }
            if bound.count >= total { break }
        }
    }
    return .now
}

@main
struct SchedulerBench {
    static func main() async throws {
        let o = Options(CommandLine.arguments)
        let dir = NSTemporaryDirectory() + "skiff-schedbench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let handler = APIHandler(store: try MVCCStore(persistence: try SQLitePersistence(path: dir + "/state.db")))
        let client = Client(transport: InProcessTransport(handler: handler, user: "system:admin"))
        var results: JSON = ["nodes": .number(JSONNumber(o.nodes)), "pods": .number(JSONNumber(o.pods)), "shape": .string(o.shape)]
        try await withThrowingTaskGroup(of: Void.self) { service in
            service.addTask { try await handler.run() }
            try await handler.bootstrap(servicePort: 6443)
            log("creating \(o.nodes) nodes")
            try await concurrently(o.nodes) { i in try await client.create(.nodes, node(i)) }
            for ns in ["before", "during", "rss"] { try await client.create(.namespaces, ["metadata": ["name": .string(ns)]]) }

            // 1. Pods waiting, then the scheduler starts.
            log("creating \(o.pods) pending pods")
            try await concurrently(o.pods) { i in try await client.create(.pods, namespace: "before", pod("p-\(i)", i, shape: o.shape)) }
            let factory = InformerFactory(client: client)
            let scheduler = Scheduler(factory: factory)
            service.addTask { await factory.run() }
            await factory.waitForSync()
            let start = ContinuousClock.now
            service.addTask { await scheduler.run() }
            let end = try await countBindings(client, namespace: "before", until: o.pods)
            let rate = Double(o.pods) / seconds(end - start)
            log("pending pods bound: \(Int(rate)) pods/s")
            results["schedulingBasicPodsPerSecond"] = .number(JSONNumber(rate.rounded()))

            // 2. Created while the scheduler runs: creation to bound.
            log("creating \(o.pods) pods with the scheduler running")
            let start2 = ContinuousClock.now
            async let counted = countBindings(client, namespace: "during", until: o.pods)
            try await concurrently(o.pods) { i in try await client.create(.pods, namespace: "during", pod("q-\(i)", i, shape: o.shape)) }
            let created = ContinuousClock.now
            let end2 = try await counted
            results["createdAndBoundPodsPerSecond"] = .number(JSONNumber((Double(o.pods) / seconds(end2 - start2)).rounded()))
            results["createsAloneSeconds"] = .number(JSONNumber((seconds(created - start2) * 100).rounded() / 100))

            // 3. RSS with many pods stored (all bound by the scheduler).
            if o.shape == "basic" {
                let more = max(0, o.rssPods - 2 * o.pods)
                log("creating \(more) more pods for the RSS figure")
                try await concurrently(more) { i in try await client.create(.pods, namespace: "rss", pod("r-\(i)", i, shape: "basic")) }
                _ = try await countBindings(client, namespace: "rss", until: more)
                try await Task.sleep(for: .seconds(6))
                results["rssMBWithNodesAndPods"] = .number(JSONNumber((rssMB() * 10).rounded() / 10))
                results["rssPods"] = .number(JSONNumber(2 * o.pods + more))
            }
            service.cancelAll()
        }
        results["machine"] = .string(machine())
        print(String(decoding: results.serialized(), as: UTF8.self))
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}

// Cluster DNS throughput and latency: the server on 127.0.0.1 with a synthetic zone of
// Services, N UDP clients each keeping one query outstanding for a fixed time. Clients are
// plain blocking sockets on their own threads, so they cost the server as little as can be.
//
//   DNSBench [--services 1000] [--clients 8] [--seconds 5]
//   DNSBench --serve 5353    (the same zone on 127.0.0.1:5353, forwarding per resolv.conf, for dig)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SkiffClient
import SkiffCore
import SkiffDNS

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

let serviceCount = option("--services", 1000)
let clientCount = option("--clients", 8)
let seconds = option("--seconds", 5)

let records = ClusterDNSRecords()
for i in 0..<serviceCount {
    let ip = "10.43.\(i / 250).\(i % 250 + 1)"
    let svc: JSON = [
        "metadata": ["name": .string("svc-\(i)"), "namespace": .string("ns-\(i % 10)")],
        "spec": ["clusterIP": .string(ip), "ports": [["name": "http", "port": 80, "protocol": "TCP"]]],
    ]
    records.apply(service: .added(svc))
}
let servePort = option("--serve", -1)
var config = ClusterDNSConfig()
if servePort < 0 { config.upstreams = [] }
let dns = ClusterDNS(config: config, records: records)
if servePort >= 0 {
    try await dns.run(host: "127.0.0.1", port: servePort)
    exit(0)
}

/// Pre-encoded queries, one per Service, so clients only patch the ID.
let queries: [[UInt8]] = (0..<serviceCount).map { i in
    var m = DNSMessage()
    m.recursionDesired = true
    m.questions = [DNSQuestion(name: DNSName("svc-\(i).ns-\(i % 10).svc.cluster.local") ?? .root, type: .a)]
    return m.encoded()
}

final class ClientResult: @unchecked Sendable {  // written by one thread, read after join
    var latencies: [Double] = []
    var errors = 0
}

/// One client: a connected UDP socket, one query at a time until the deadline.
func runClient(port: Int, queries: [[UInt8]], deadline: ContinuousClock.Instant, result: ClientResult) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { result.errors += 1; return }
    var reply = [UInt8](repeating: 0, count: 4096)
    var id: UInt16 = 0
    var rng = SystemRandomNumberGenerator()
    result.latencies.reserveCapacity(200_000)
    while ContinuousClock.now < deadline {
        id &+= 1
        var q = queries[Int.random(in: 0..<queries.count, using: &rng)]
        q[0] = UInt8(id >> 8)
        q[1] = UInt8(id & 0xFF)
        let start = ContinuousClock.now
        guard send(fd, q, q.count, 0) == q.count else { result.errors += 1; continue }
        let n = recv(fd, &reply, reply.count, 0)
        let elapsed = ContinuousClock.now - start
        // A reply must carry our ID, NOERROR and one answer.
        guard n >= 12, reply[0] == UInt8(id >> 8), reply[1] == UInt8(id & 0xFF), reply[3] & 0xF == 0, reply[7] == 1 else {
            result.errors += 1
            continue
        }
        result.latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

try await withThrowingTaskGroup(of: Void.self) { group in
    let (ports, listening) = AsyncStream.makeStream(of: Int.self)
    group.addTask { try await dns.run(host: "127.0.0.1", port: 0, onListening: { listening.yield($0) }) }
    var it = ports.makeAsyncIterator()
    guard let port = await it.next() else { return }

    let results = (0..<clientCount).map { _ in ClientResult() }
    let start = ContinuousClock.now
    let deadline = start + .seconds(seconds)
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let finished = DispatchGroup()
        for r in results {
            finished.enter()
            Thread {
                runClient(port: port, queries: queries, deadline: deadline, result: r)
                finished.leave()
            }.start()
        }
        finished.notify(queue: .global()) { done.resume() }
    }
    let elapsed = ContinuousClock.now - start
    let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let latencies = results.flatMap(\.latencies).sorted()
    let round = { (v: Double) in (v * 1000).rounded() / 1000 }
    print("""
        {"queries":\(latencies.count),"qps":\(Int(Double(latencies.count) / wall)),"p50_ms":\(round(percentile(latencies, 0.5))),\
        "p99_ms":\(round(percentile(latencies, 0.99))),"errors":\(results.map(\.errors).reduce(0, +)),\
        "services":\(serviceCount),"clients":\(clientCount),"seconds":\(seconds)}
        """)
    group.cancelAll()
}

import SkiffAPI
import SkiffClient
import SkiffCore
import Testing

actor Leading {
    var now: Set<String> = []
    var ever: [String] = []
    func start(_ id: String) { now.insert(id); ever.append(id) }
    func stop(_ id: String) { now.remove(id) }
}

@Suite struct LeaderElectionTests {
    func holder(_ c: Cluster) async throws -> String? {
        try await c.client.get(.leases, namespace: "kube-system", "kube-scheduler")[path: ["spec", "holderIdentity"]]?.stringValue
    }

    func elector(_ c: Cluster, _ id: String) -> LeaderElector {
        var e = LeaderElector(client: c.client, name: "kube-scheduler", identity: id)
        // Short, but with room for a loaded CI machine to renew in time.
        e.leaseDuration = .seconds(3)
        e.renewDeadline = .seconds(2)
        e.retryPeriod = .milliseconds(100)
        return e
    }

    func candidate(_ c: Cluster, _ id: String, _ leading: Leading) -> Task<Void, Never> {
        Task {
            await elector(c, id).run {
                await leading.start(id)
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
                await leading.stop(id)
            }
        }
    }

    @Test func oneLeadsAndAnotherTakesOverWhenItStops() async throws {
        let c = try await Cluster.start()
        defer { c.stop() }
        let leading = Leading()
        let a = candidate(c, "a", leading)
        let b = candidate(c, "b", leading)
        defer { a.cancel(); b.cancel() }
        for _ in 0..<500 where await leading.now.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await leading.now.count == 1)
        let first = try #require(await leading.now.first)
        #expect(try await holder(c) == first)
        // The leader stops, giving the Lease up: the other takes over, one transition later.
        (first == "a" ? a : b).cancel()
        let second = first == "a" ? "b" : "a"
        for _ in 0..<1000 where await !leading.now.contains(second) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await leading.now == [second])
        #expect(try await holder(c) == second)
        #expect(try await c.client.get(.leases, namespace: "kube-system", "kube-scheduler")[path: ["spec", "leaseTransitions"]] == 1)
    }
}

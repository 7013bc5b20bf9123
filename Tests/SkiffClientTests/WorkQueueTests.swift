import SkiffClient
import Testing

@Suite struct WorkQueueTests {
    @Test func keysAddedTwiceAreQueuedOnce() async {
        let q = WorkQueue(name: "t")
        q.add("a")
        q.add("b")
        q.add("a")
        #expect(q.count == 2)
        #expect(await q.get() == "a")
        #expect(await q.get() == "b")
    }

    @Test func aKeyIsNeverProcessedTwiceAtOnce() async {
        let q = WorkQueue(name: "t")
        q.add("a")
        let first = await q.get()
        #expect(first == "a")
        // Changed while being processed: not handed out again until done.
        q.add("a")
        #expect(q.count == 0)
        q.add("b")
        #expect(await q.get() == "b")
        q.done("a")
        #expect(await q.get() == "a")
        q.done("a")
        q.done("b")
        #expect(q.count == 0)
    }

    @Test func waitingWorkersGetKeysAsTheyArrive() async {
        let q = WorkQueue(name: "t")
        async let got = q.get()
        try? await Task.sleep(for: .milliseconds(20))
        q.add("x")
        #expect(await got == "x")
    }

    @Test func rateLimitedKeysComeBackAfterTheirBackOff() async {
        let q = WorkQueue(name: "t", baseDelay: .milliseconds(10))
        let timer = Task { await q.run() }
        defer { timer.cancel() }
        q.addRateLimited("k")
        q.addRateLimited("k")
        #expect(q.failures("k") == 2)
        #expect(q.count == 0)
        #expect(await q.get() == "k")
        q.forget("k")
        #expect(q.failures("k") == 0)
        q.done("k")
    }

    @Test func shutDownWakesWorkers() async {
        let q = WorkQueue(name: "t")
        async let got = q.get()
        try? await Task.sleep(for: .milliseconds(20))
        q.shutDown()
        #expect(await got == nil)
        #expect(await q.get() == nil)
    }
}

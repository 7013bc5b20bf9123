import Foundation
import Testing

@testable import SkiffStore

/// A store of each backend, with a scratch directory removed afterwards.
struct Backend: CustomStringConvertible, Sendable {
    let name: String
    var description: String { name }

    func make(policy: CompactionPolicy = CompactionPolicy()) throws -> (MVCCStore, URL?) {
        switch name {
        case "memory":
            return (MVCCStore(policy: policy), nil)
        default:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let p = try SQLitePersistence(path: dir.appendingPathComponent("state.db").path)
            return (try MVCCStore(persistence: p, policy: policy), dir)
        }
    }

    static let all = [Backend(name: "memory"), Backend(name: "sqlite")]
}

func bytes(_ s: String) -> ValueAtRevision { { _ in Array(s.utf8) } }
func text(_ kv: KeyValue?) -> String? { kv.map { String(decoding: $0.value, as: UTF8.self) } }

@Suite struct StoreSemanticsTests {
    @Test(arguments: Backend.all)
    func createGetUpdateDelete(backend: Backend) async throws {
        let (store, dir) = try backend.make()
        defer { dir.map { try? FileManager.default.removeItem(at: $0) } }

        let a = try await store.create(key: "/registry/pods/ns/a", value: bytes("a1"))
        #expect(a.createRevision == 1 && a.modRevision == 1)
        await #expect(throws: StoreError.keyExists(key: "/registry/pods/ns/a")) {
            try await store.create(key: "/registry/pods/ns/a", value: bytes("again"))
        }
        let a2 = try await store.update(key: "/registry/pods/ns/a", expectedRevision: 1, value: bytes("a2"))
        #expect(a2.createRevision == 1 && a2.modRevision == 2)
        // A stale compare-and-swap fails and reports the current revision.
        await #expect(throws: StoreError.conflict(key: "/registry/pods/ns/a", currentRevision: 2)) {
            try await store.update(key: "/registry/pods/ns/a", expectedRevision: 1, value: bytes("stale"))
        }
        #expect(text(await store.get(key: "/registry/pods/ns/a")) == "a2")
        await #expect(throws: StoreError.keyNotFound(key: "/registry/pods/ns/b")) {
            try await store.update(key: "/registry/pods/ns/b", expectedRevision: nil, value: bytes("x"))
        }
        let deleted = try await store.delete(key: "/registry/pods/ns/a", expectedRevision: nil)
        #expect(deleted.modRevision == 3 && text(deleted) == "a2")
        #expect(await store.get(key: "/registry/pods/ns/a") == nil)
        #expect(await store.currentRevision() == 3)
        // The value closure sees the revision the write gets.
        let c = try await store.create(key: "/registry/pods/ns/c") { rev in Array("rv=\(rev)".utf8) }
        #expect(text(c) == "rv=4")
    }

    @Test(arguments: Backend.all)
    func listAtRevision(backend: Backend) async throws {
        let (store, dir) = try backend.make()
        defer { dir.map { try? FileManager.default.removeItem(at: $0) } }
        _ = try await store.create(key: "/r/p/ns1/a", value: bytes("a1"))  // 1
        _ = try await store.create(key: "/r/p/ns2/b", value: bytes("b1"))  // 2
        _ = try await store.create(key: "/r/q/ns1/x", value: bytes("x1"))  // 3
        _ = try await store.update(key: "/r/p/ns1/a", expectedRevision: nil, value: bytes("a2"))  // 4
        _ = try await store.delete(key: "/r/p/ns2/b", expectedRevision: nil)  // 5

        let now = try await store.list(prefix: "/r/p/", atRevision: nil)
        #expect(now.revision == 5)
        #expect(now.items.map(\.key) == ["/r/p/ns1/a"])
        #expect(now.items.map { text($0) } == ["a2"])

        let at3 = try await store.list(prefix: "/r/p/", atRevision: 3)
        #expect(at3.items.map(\.key) == ["/r/p/ns1/a", "/r/p/ns2/b"])
        #expect(at3.items.map { text($0) } == ["a1", "b1"])
        #expect(at3.items[0].modRevision == 1)

        let ns1 = try await store.list(prefix: "/r/p/ns1/", atRevision: 1)
        #expect(ns1.items.map { text($0) } == ["a1"])

        await #expect(throws: StoreError.futureRevision(requested: 9, current: 5)) {
            try await store.list(prefix: "/r/", atRevision: 9)
        }
        await store.compact(revision: 4)
        await #expect(throws: StoreError.compacted(requested: 3, compacted: 4)) {
            try await store.list(prefix: "/r/", atRevision: 3)
        }
        #expect(try await store.list(prefix: "/r/p/", atRevision: 4).items.count == 2)
    }

    @Test(arguments: Backend.all)
    func watchDeliversEveryEventOnceInOrder(backend: Backend) async throws {
        let (store, dir) = try backend.make()
        defer { dir.map { try? FileManager.default.removeItem(at: $0) } }
        _ = try await store.create(key: "/r/p/a", value: bytes("a1"))  // 1
        _ = try await store.create(key: "/r/q/z", value: bytes("z1"))  // 2, another prefix

        // Watch from revision 0 replays history, then follows new events.
        let stream = try await store.watch(prefix: "/r/p/", afterRevision: 0)
        _ = try await store.update(key: "/r/p/a", expectedRevision: nil, value: bytes("a2"))  // 3
        _ = try await store.create(key: "/r/p/b", value: bytes("b1"))  // 4
        _ = try await store.delete(key: "/r/p/a", expectedRevision: nil)  // 5

        var seen: [WatchEvent] = []
        for await e in stream {
            seen.append(e)
            if seen.count == 4 { break }
        }
        #expect(seen.map(\.revision) == [1, 3, 4, 5])
        #expect(seen.map(\.type) == [.put, .put, .put, .delete])
        #expect(seen[0].isCreate && !seen[1].isCreate)
        #expect(text(seen[1].prevKV) == "a1")
        #expect(text(seen[3].kv) == "a2" && text(seen[3].prevKV) == "a2")

        // From a later revision only later events come.
        let later = try await store.watch(prefix: "/r/", afterRevision: 4)
        var it = later.makeAsyncIterator()
        #expect(await it.next()?.revision == 5)

        await store.compact(revision: 3)
        await #expect(throws: StoreError.compacted(requested: 2, compacted: 3)) {
            try await store.watch(prefix: "/r/", afterRevision: 2)
        }
    }

    @Test(arguments: Backend.all)
    func concurrentWritersShareCommitsAndGetUniqueRevisions(backend: Backend) async throws {
        let (store, dir) = try backend.make()
        defer { dir.map { try? FileManager.default.removeItem(at: $0) } }
        let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<400 {
                group.addTask { try await store.create(key: "/r/k/\(i)", value: bytes("v\(i)")).modRevision }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(Set(revisions).count == 400)
        #expect(revisions.max() == 400)
        // Racing compare-and-swaps on one key: exactly one wins per revision.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 {
                group.addTask { (try? await store.update(key: "/r/k/0", expectedRevision: revisions.min() ?? 0, value: bytes("w"))) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count <= 1)
    }

    @Test func autoCompactionBoundsHistory() async throws {
        let store = MVCCStore(policy: CompactionPolicy(retention: .seconds(3600), maxEvents: 10))
        for i in 0..<25 { _ = try await store.create(key: "/k/\(i)", value: bytes("v")) }
        #expect(await store.compactedRevision() == 15)
        await #expect(throws: StoreError.self) { try await store.watch(prefix: "/k/", afterRevision: 14) }
        #expect(try await store.list(prefix: "/k/", atRevision: 15).items.count == 15)
    }
}

@Suite struct SQLiteDurabilityTests {
    @Test func stateSurvivesReopen() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-reopen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.db").path
        do {
            let store = try MVCCStore(persistence: try SQLitePersistence(path: path))
            _ = try await store.create(key: "/a", value: bytes("1"))
            _ = try await store.create(key: "/b", value: bytes("2"))
            _ = try await store.update(key: "/a", expectedRevision: 1, value: bytes("3"))
            _ = try await store.delete(key: "/b", expectedRevision: nil)
        }
        let reopened = try MVCCStore(persistence: try SQLitePersistence(path: path))
        #expect(await reopened.currentRevision() == 4)
        let a = await reopened.get(key: "/a")
        #expect(text(a) == "3" && a?.createRevision == 1 && a?.modRevision == 3)
        #expect(await reopened.get(key: "/b") == nil)
        // History before the restart is gone: old watches must relist.
        await #expect(throws: StoreError.compacted(requested: 2, compacted: 4)) {
            try await reopened.watch(prefix: "/", afterRevision: 2)
        }
        #expect(try await reopened.create(key: "/c", value: bytes("4")).modRevision == 5)
    }

    /// kine's failure modes: a WAL that grows without bound and compaction that stalls
    /// writers. Writes run continuously while history is compacted; the WAL must stay
    /// bounded and no write may fail.
    @Test func walStaysBoundedUnderContinuousWritesAndCompaction() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let soft = 1 << 20, hard = 8 << 20
        let persistence = try SQLitePersistence(path: dir.appendingPathComponent("state.db").path, walSoftLimit: soft, walHardLimit: hard)
        let store = try MVCCStore(persistence: persistence, policy: CompactionPolicy(retention: .seconds(3600), maxEvents: 500))
        let value = String(repeating: "x", count: 2048)
        for i in 0..<64 { _ = try await store.create(key: "/k/\(i)", value: bytes(value)) }
        var maxWal = 0
        for _ in 0..<40 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<64 {
                    group.addTask { _ = try await store.update(key: "/k/\(i)", expectedRevision: nil, value: bytes(value)) }
                }
                try await group.waitForAll()
            }
            maxWal = max(maxWal, persistence.walSize())
        }
        #expect(maxWal <= hard + (2 << 20), "WAL reached \(maxWal) bytes")
        #expect(persistence.checkpointCount > 0)
        #expect(await store.compactions > 0)
        #expect(await store.keyCount == 64)
    }
}

import DequeModule
import Foundation

/// Where committed writes are made durable. The store calls `commit` once per batch of
/// writes (group commit) and applies the batch in memory only after it returns.
public protocol StorePersistence: Sendable {
    /// The durable state: current key-values and the last committed revision.
    func load() throws -> (items: [KeyValue], revision: Int64)
    /// Makes `events` durable, all or nothing; `revision` is the batch's last revision.
    func commit(_ events: [WatchEvent], revision: Int64) async throws
    /// Bytes the durable state takes on disk.
    var databaseBytes: Int { get }
}

/// How much history the store keeps for watches and lists at old revisions.
public struct CompactionPolicy: Sendable {
    /// Events older than this are forgotten (etcd is compacted every 5 minutes in Kubernetes).
    public var retention: Duration
    /// At most this many events are kept, whatever their age.
    public var maxEvents: Int

    public init(retention: Duration = .seconds(300), maxEvents: Int = 20_000) {
        self.retention = retention
        self.maxEvents = maxEvents
    }
}

/// The store: current state and recent history in memory, every batch of writes made
/// durable by a `StorePersistence` before it becomes visible. Writes that arrive while a
/// batch commits form the next batch, so concurrent writers share one transaction and one
/// fsync, and a lone writer pays for just its own.
///
/// History lives only in memory, bounded by the compaction policy; compaction is dropping
/// the oldest events, so it can never stall or fail under load. After a restart the
/// history starts at the recovered revision: older watches get 410 and relist, as clients
/// do after any kube-apiserver restart.
public actor MVCCStore: Store {
    struct Entry {
        var event: WatchEvent
        var time: ContinuousClock.Instant
    }

    enum WriteOp {
        case create(String, ValueAtRevision)
        case update(String, Int64?, ValueAtRevision)
        case delete(String, Int64?)

        var key: String {
            switch self {
            case .create(let k, _), .update(let k, _, _), .delete(let k, _): k
            }
        }
    }

    enum Turn { case done(Result<KeyValue, StoreError>), lead }

    struct Waiter {
        var op: WriteOp
        var continuation: CheckedContinuation<Turn, Never>
    }

    struct Watcher {
        var prefix: String
        var continuation: AsyncStream<WatchEvent>.Continuation
    }

    private let persistence: (any StorePersistence)?
    private let policy: CompactionPolicy
    private var kvs: [String: KeyValue] = [:]
    private var revision: Int64 = 0
    /// History holds every event with a revision above this one.
    private var compactRevision: Int64 = 0
    private var history: Deque<Entry> = []
    private var committing = false
    private var waiting: Deque<Waiter> = []
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0
    public private(set) var compactions = 0

    /// An in-memory store (tests, simulated clusters): nothing survives the process.
    public init(policy: CompactionPolicy = CompactionPolicy()) {
        self.persistence = nil
        self.policy = policy
    }

    /// A durable store recovered from `persistence`.
    public init(persistence: any StorePersistence, policy: CompactionPolicy = CompactionPolicy()) throws {
        self.persistence = persistence
        self.policy = policy
        let (items, rev) = try persistence.load()
        for kv in items { kvs[kv.key] = kv }
        revision = rev
        compactRevision = rev
    }

    public func currentRevision() -> Int64 { revision }
    public func compactedRevision() -> Int64 { compactRevision }
    public var keyCount: Int { kvs.count }

    /// A value grown by appending has up to twice the capacity it needs; the store keeps
    /// every value for the life of its object, so it keeps a copy of exactly its size.
    static func exactSize(_ value: [UInt8]) -> [UInt8] {
        value.capacity - value.count > value.count / 16 ? Array(unsafeUninitializedCapacity: value.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: value)
        } : value
    }

    public func create(key: String, value: @escaping ValueAtRevision) async throws(StoreError) -> KeyValue {
        try await perform(.create(key, value)).get()
    }

    public func update(key: String, expectedRevision: Int64?, value: @escaping ValueAtRevision) async throws(StoreError) -> KeyValue {
        try await perform(.update(key, expectedRevision, value)).get()
    }

    public func delete(key: String, expectedRevision: Int64?) async throws(StoreError) -> KeyValue {
        try await perform(.delete(key, expectedRevision)).get()
    }

    public func get(key: String) -> KeyValue? { kvs[key] }

    public func list(prefix: String, atRevision: Int64?) throws(StoreError) -> (items: [KeyValue], revision: Int64) {
        let at = atRevision ?? revision
        if at > revision { throw .futureRevision(requested: at, current: revision) }
        if at < compactRevision { throw .compacted(requested: at, compacted: compactRevision) }
        var state: [String: KeyValue] = [:]
        for (k, v) in kvs where k.hasPrefix(prefix) { state[k] = v }
        // Undo the events after `at`, newest first.
        for entry in history.reversed() {
            let e = entry.event
            if e.revision <= at { break }
            guard e.kv.key.hasPrefix(prefix) else { continue }
            state[e.kv.key] = e.prevKV
        }
        return (state.values.sorted { $0.key < $1.key }, at)
    }

    public func watch(prefix: String, afterRevision: Int64) throws(StoreError) -> AsyncStream<WatchEvent> {
        if afterRevision < compactRevision { throw .compacted(requested: afterRevision, compacted: compactRevision) }
        let (stream, continuation) = AsyncStream.makeStream(of: WatchEvent.self)
        for entry in history where entry.event.revision > afterRevision && entry.event.kv.key.hasPrefix(prefix) {
            continuation.yield(entry.event)
        }
        nextWatcherID += 1
        watchers[nextWatcherID] = Watcher(prefix: prefix, continuation: continuation)
        return stream
    }

    public func compact(revision target: Int64) {
        let target = min(target, revision)
        guard target > compactRevision else { return }
        while let first = history.first, first.event.revision <= target { history.removeFirst() }
        compactRevision = target
        compactions += 1
    }

    public func stats() -> StoreStats {
        StoreStats(revision: revision, compactedRevision: compactRevision, compactions: compactions, keys: kvs.count,
                   databaseBytes: persistence?.databaseBytes ?? 0)
    }

    /// Stops every watch stream; used at shutdown.
    public func closeWatches() {
        for w in watchers.values { w.continuation.finish() }
        watchers = [:]
    }

    // MARK: Group commit

    /// Queues `op` behind the batch being committed, or commits it at once as the leader.
    /// The leader commits its own write together with everything queued, then hands the
    /// lead to the next waiter, so no caller waits for more than two batches.
    private func perform(_ op: WriteOp) async -> Result<KeyValue, StoreError> {
        let turn = await withCheckedContinuation { (c: CheckedContinuation<Turn, Never>) in
            if committing {
                waiting.append(Waiter(op: op, continuation: c))
            } else {
                committing = true
                c.resume(returning: .lead)
            }
        }
        if case .done(let result) = turn { return result }

        let batch = Array(waiting)
        waiting.removeAll()
        let results = await commit([op] + batch.map(\.op))
        for (waiter, result) in zip(batch, results.dropFirst()) {
            waiter.continuation.resume(returning: .done(result))
        }
        if let next = waiting.popFirst() {
            next.continuation.resume(returning: .lead)
        } else {
            committing = false
        }
        return results[0]
    }

    private func commit(_ ops: [WriteOp]) async -> [Result<KeyValue, StoreError>] {
        var overlay: [String: KeyValue?] = [:]
        var rev = revision
        var events: [WatchEvent] = []
        var results: [Result<KeyValue, StoreError>] = []
        results.reserveCapacity(ops.count)
        for op in ops {
            let key = op.key
            let current: KeyValue? = if let o = overlay[key] { o } else { kvs[key] }
            switch op {
            case .create(_, let value):
                if current != nil { results.append(.failure(.keyExists(key: key))); continue }
                rev += 1
                let kv = KeyValue(key: key, value: Self.exactSize(value(rev)), createRevision: rev, modRevision: rev)
                overlay[key] = .some(kv)
                events.append(WatchEvent(type: .put, kv: kv, prevKV: nil))
                results.append(.success(kv))
            case .update(_, let expected, let value):
                guard let current else { results.append(.failure(.keyNotFound(key: key))); continue }
                if let expected, expected != current.modRevision {
                    results.append(.failure(.conflict(key: key, currentRevision: current.modRevision)))
                    continue
                }
                rev += 1
                let kv = KeyValue(key: key, value: Self.exactSize(value(rev)), createRevision: current.createRevision, modRevision: rev)
                overlay[key] = .some(kv)
                events.append(WatchEvent(type: .put, kv: kv, prevKV: current))
                results.append(.success(kv))
            case .delete(_, let expected):
                guard let current else { results.append(.failure(.keyNotFound(key: key))); continue }
                if let expected, expected != current.modRevision {
                    results.append(.failure(.conflict(key: key, currentRevision: current.modRevision)))
                    continue
                }
                rev += 1
                var kv = current
                kv.modRevision = rev
                overlay[key] = .some(nil)
                events.append(WatchEvent(type: .delete, kv: kv, prevKV: current))
                results.append(.success(kv))
            }
        }
        guard !events.isEmpty else { return results }
        if let persistence {
            do {
                try await persistence.commit(events, revision: rev)
            } catch {
                let failure = StoreError.unavailable("storage commit failed: \(error)")
                return results.map { r in r.flatMap { _ in .failure(failure) } }
            }
        }
        apply(events)
        return results
    }

    private func apply(_ events: [WatchEvent]) {
        let now = ContinuousClock.now
        for e in events {
            switch e.type {
            case .put: kvs[e.kv.key] = e.kv
            case .delete: kvs[e.kv.key] = nil
            }
            history.append(Entry(event: e, time: now))
            for (id, w) in watchers where e.kv.key.hasPrefix(w.prefix) {
                if case .terminated = w.continuation.yield(e) { watchers[id] = nil }
            }
        }
        revision = events[events.count - 1].revision
        autoCompact(now: now)
    }

    private func autoCompact(now: ContinuousClock.Instant) {
        let cutoff = now - policy.retention
        var target: Int64?
        if history.count > policy.maxEvents {
            target = history[history.count - policy.maxEvents - 1].event.revision
        }
        if let first = history.first, first.time < cutoff {
            var i = 0
            while i < history.count, history[i].time < cutoff { i += 1 }
            target = max(target ?? 0, history[i - 1].event.revision)
        }
        if let target { compact(revision: target) }
    }
}

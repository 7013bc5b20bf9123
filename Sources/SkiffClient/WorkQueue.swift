import DequeModule
import Synchronization

/// client-go's rate-limited work queue: a key added many times is queued once; a key
/// being processed is never handed to a second worker (if it changes meanwhile it is
/// queued again when the first finishes); failed keys come back after an exponential
/// per-key back-off (5 ms doubling to 1000 s) until `forget`.
public final class WorkQueue: Sendable {
    private struct State {
        var queue: Deque<String> = []
        /// Keys waiting to be processed (queued, or re-added while processing).
        var dirty: Set<String> = []
        var processing: Set<String> = []
        var failures: [String: Int] = [:]
        /// Keys to add later, with when.
        var delayed: [(key: String, at: ContinuousClock.Instant)] = []
        var waiters: Deque<CheckedContinuation<String?, Never>> = []
        var timerWaiter: CheckedContinuation<Void, Never>?
        var shuttingDown = false
    }

    private let state = Mutex(State())
    public let name: String
    let baseDelay: Duration
    let maxDelay: Duration

    public init(name: String, baseDelay: Duration = .milliseconds(5), maxDelay: Duration = .seconds(1000)) {
        self.name = name
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public func add(_ key: String) {
        let waiter = state.withLock { s -> CheckedContinuation<String?, Never>? in
            guard !s.shuttingDown, !s.dirty.contains(key) else { return nil }
            s.dirty.insert(key)
            if s.processing.contains(key) { return nil }
            if let w = s.waiters.popFirst() {
                s.dirty.remove(key)
                s.processing.insert(key)
                return w
            }
            s.queue.append(key)
            return nil
        }
        waiter?.resume(returning: key)
    }

    /// Adds `key` after `delay` (the queue's `run` must be running).
    public func add(_ key: String, after delay: Duration) {
        guard delay > .zero else { return add(key) }
        let timer = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.shuttingDown else { return nil }
            s.delayed.append((key, .now + delay))
            defer { s.timerWaiter = nil }
            return s.timerWaiter
        }
        timer?.resume()
    }

    /// Adds `key` after its back-off, which doubles with each failure until `forget`.
    public func addRateLimited(_ key: String) {
        let n = state.withLock { s -> Int in
            s.failures[key, default: 0] += 1
            return s.failures[key] ?? 1
        }
        add(key, after: min(maxDelay, baseDelay * (1 << min(n - 1, 40))))
    }

    /// The key succeeded: its back-off starts over.
    public func forget(_ key: String) {
        state.withLock { _ = $0.failures.removeValue(forKey: key) }
    }

    public func failures(_ key: String) -> Int { state.withLock { $0.failures[key] ?? 0 } }

    /// The next key to process, waiting for one; nil once shut down.
    public func get() async -> String? {
        await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
            let ready = state.withLock { s -> String?? in
                if let key = s.queue.popFirst() {
                    s.dirty.remove(key)
                    s.processing.insert(key)
                    return .some(key)
                }
                if s.shuttingDown { return .some(nil) }
                s.waiters.append(c)
                return .none
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// The worker is done with `key`; if it was added meanwhile, it is queued again.
    public func done(_ key: String) {
        let waiter = state.withLock { s -> (CheckedContinuation<String?, Never>, String)? in
            s.processing.remove(key)
            guard s.dirty.contains(key) else { return nil }
            if let w = s.waiters.popFirst() {
                s.dirty.remove(key)
                s.processing.insert(key)
                return (w, key)
            }
            s.queue.append(key)
            return nil
        }
        if let (w, k) = waiter { w.resume(returning: k) }
    }

    public var count: Int { state.withLock { $0.queue.count } }

    /// Wakes every waiting worker with nil; later `get`s return nil at once.
    public func shutDown() {
        let (waiters, timer) = state.withLock { s -> (Deque<CheckedContinuation<String?, Never>>, CheckedContinuation<Void, Never>?) in
            s.shuttingDown = true
            defer { s.waiters = []; s.timerWaiter = nil }
            return (s.waiters, s.timerWaiter)
        }
        for w in waiters { w.resume(returning: nil) }
        timer?.resume()
    }

    /// Moves delayed keys into the queue when their time comes; runs until shut down or
    /// cancelled.
    public func run() async {
        await withTaskCancellationHandler {
            while true {
                let now = ContinuousClock.now
                let (due, next, stop) = state.withLock { s -> ([String], ContinuousClock.Instant?, Bool) in
                    let due = s.delayed.filter { $0.at <= now }.map(\.key)
                    s.delayed.removeAll { $0.at <= now }
                    return (due, s.delayed.map(\.at).min(), s.shuttingDown)
                }
                if stop { return }
                for key in due { add(key) }
                if let next {
                    // Short slices, so a key added later with a shorter delay is not late.
                    try? await Task.sleep(until: min(next, now + .milliseconds(50)), clock: .continuous)
                    if Task.isCancelled { return }
                } else {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let wake = state.withLock { s -> Bool in
                            if s.shuttingDown || !s.delayed.isEmpty { return true }
                            s.timerWaiter = c
                            return false
                        }
                        if wake { c.resume() }
                    }
                }
            }
        } onCancel: {
            shutDown()
        }
    }
}

import Synchronization

/// The events waiting for one watcher. The cache appends without waiting; the watcher
/// takes everything queued at once, so a busy watch writes many events in one chunk
/// instead of waking and writing once per event.
final class WatchQueue: Sendable {
    private struct State {
        var pending: [WatchDelivery] = []
        var waiter: CheckedContinuation<[WatchDelivery]?, Never>?
        var finished = false
        /// The consumer is gone: appends are refused so the cache drops the watcher.
        var closed = false
    }

    private let state = Mutex(State())

    /// Queues `d`; false once the watcher has gone away.
    @discardableResult
    func append(_ d: WatchDelivery) -> Bool {
        let (accepted, waiter) = state.withLock { s -> (Bool, CheckedContinuation<[WatchDelivery]?, Never>?) in
            if s.closed || s.finished { return (false, nil) }
            if let w = s.waiter {
                s.waiter = nil
                return (true, w)
            }
            s.pending.append(d)
            return (true, nil)
        }
        waiter?.resume(returning: [d])
        return accepted
    }

    /// No more events (shutdown): the consumer drains what is queued, then stops.
    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<[WatchDelivery]?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.pending.isEmpty ? s.waiter : nil
        }
        waiter?.resume(returning: nil)
    }

    /// Everything queued, waiting if nothing is; nil when finished or cancelled.
    func next() async -> [WatchDelivery]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<[WatchDelivery]?, Never>) in
                let ready = state.withLock { s -> [WatchDelivery]?? in
                    if !s.pending.isEmpty {
                        defer { s.pending = [] }
                        return .some(s.pending)
                    }
                    if s.finished || s.closed || Task.isCancelled { return .some(nil) }
                    s.waiter = c
                    return .none
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            close()
        }
    }

    /// The consumer leaves: wakes it if it waits, and refuses further events.
    func close() {
        let waiter = state.withLock { s -> CheckedContinuation<[WatchDelivery]?, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }
}

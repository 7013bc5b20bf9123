import DequeModule

/// Upstream's scheduling queue: pods ready to try ordered by priority then arrival
/// (activeQ), pods waiting out a back-off after a failed attempt (1 s doubling to 10 s),
/// and pods that did not fit, parked until the cluster changes in a way that could help
/// (a node added or changed, a pod deleted) rather than retried in a loop.
struct SchedulingQueue {
    struct Entry {
        var key: String
        var priority: Int64
        var arrival: Int
        var attempts = 0
    }

    private var active: [Entry] = []  // a binary heap
    private var queued: [String: Entry] = [:]
    private var backoff: [String: (Entry, ContinuousClock.Instant)] = [:]
    private var unschedulable: [String: Entry] = [:]
    private var arrivals = 0

    var isEmpty: Bool { active.isEmpty }

    static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.priority != b.priority ? a.priority > b.priority : a.arrival < b.arrival
    }

    /// A new or changed pod to schedule (ignored if already waiting somewhere).
    mutating func add(_ key: String, priority: Int64) {
        guard queued[key] == nil, backoff[key] == nil, unschedulable[key] == nil else { return }
        arrivals += 1
        push(Entry(key: key, priority: priority, arrival: arrivals))
    }

    mutating func remove(_ key: String) {
        queued[key] = nil  // a heap entry without a `queued` record is skipped on pop
        backoff[key] = nil
        unschedulable[key] = nil
    }

    mutating func pop() -> Entry? {
        while let top = popHeap() {
            if let e = queued[top.key], e.arrival == top.arrival {
                queued[top.key] = nil
                return e
            }
        }
        return nil
    }

    /// A failed attempt: parked as unschedulable, or backed off after an error.
    mutating func failed(_ e: Entry, unschedulable parked: Bool, now: ContinuousClock.Instant) {
        var e = e
        e.attempts += 1
        if parked {
            unschedulable[e.key] = e
        } else {
            backoff[e.key] = (e, now + Self.backoff(e.attempts))
        }
    }

    static func backoff(_ attempts: Int) -> Duration {
        min(.seconds(10), .seconds(1) * (1 << min(attempts - 1, 4)))
    }

    /// The cluster changed: parked pods go back, through their back-off.
    mutating func moveAllUnschedulable(now: ContinuousClock.Instant) {
        for (key, e) in unschedulable { backoff[key] = (e, now + Self.backoff(e.attempts)) }
        unschedulable = [:]
    }

    /// Pods whose back-off has passed become active again.
    mutating func flushBackoff(now: ContinuousClock.Instant) {
        for (key, (e, until)) in backoff where until <= now {
            backoff[key] = nil
            push(e)
        }
    }

    private mutating func push(_ e: Entry) {
        queued[e.key] = e
        active.append(e)
        var i = active.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(active[i], active[parent]) else { break }
            active.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popHeap() -> Entry? {
        guard !active.isEmpty else { return nil }
        active.swapAt(0, active.count - 1)
        let top = active.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < active.count, Self.before(active[l], active[best]) { best = l }
            if r < active.count, Self.before(active[r], active[best]) { best = r }
            if best == i { break }
            active.swapAt(i, best)
            i = best
        }
        return top
    }
}

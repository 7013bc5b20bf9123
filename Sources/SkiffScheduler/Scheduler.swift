import Logging
import SkiffAPI
import SkiffClient
import SkiffCore
import Synchronization

/// kube-scheduler's role: takes pending pods for `default-scheduler` one at a time (by
/// priority), filters the nodes they fit on, scores those, assumes the pod onto the best
/// node in its own cache (so the next pod already sees it there) and binds it through
/// pods/binding while the next pod is being scheduled. It never reads the API in the
/// loop: nodes and pods come from informers.
public final class Scheduler: Sendable {
    public static let defaultName = "default-scheduler"
    let client: Client
    let events: EventRecorder
    let pods: Informer
    let nodes: Informer
    let filters: [any FilterPlugin] = [NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(), NodePorts(), NodeResourcesFit()]
    let scorers: [any ScorePlugin] = [TaintToleration(), NodeAffinity(), NodeResourcesFit(), NodeResourcesBalancedAllocation()]
    let logger = Logger(label: "skiff.scheduler")

    struct State {
        var queue = SchedulingQueue()
        /// The nodes, in one array: a scheduling cycle takes it as its snapshot (a copy
        /// only if an event changes a node meanwhile) and filters without the lock.
        var nodes = NodeList()
        /// Pods placed by this scheduler whose binding the informer has not shown yet.
        var assumed: [String: String] = [:]
        var nextStart = 0
        /// The loop, waiting for a pod.
        var waiter: CheckedContinuation<Void, Never>?

        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    let state = Mutex(State())

    public init(factory: InformerFactory) {
        client = factory.client
        events = EventRecorder(client: factory.client, component: Self.defaultName)
        pods = factory.informer(.pods)
        nodes = factory.informer(.nodes)
        pods.indexer.indexPodsByNode()
        pods.addHandler { [weak self] e in self?.podEvent(e) }
        nodes.addHandler { [weak self] e in self?.nodeEvent(e) }
    }

    // MARK: - Events

    func isPending(_ pod: JSON) -> Bool {
        (pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty && pod.deletionTimestamp == nil
            && (pod[path: ["spec", "schedulerName"]]?.stringValue ?? Self.defaultName) == Self.defaultName
            && !["Succeeded", "Failed"].contains(pod[path: ["status", "phase"]]?.stringValue ?? "")
    }

    func podEvent(_ e: InformerEvent) {
        let now = ContinuousClock.now
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            switch e {
            case .added(let pod), .updated(_, let pod):
                let info = PodInfo(pod)
                if let node = pod[path: ["spec", "nodeName"]]?.stringValue, !node.isEmpty {
                    s.queue.remove(info.key)
                    let assumedOn = s.assumed.removeValue(forKey: info.key)
                    if let assumedOn, assumedOn != node { s.nodes.update(assumedOn) { $0.remove(info) } }
                    let terminal = ["Succeeded", "Failed"].contains(pod[path: ["status", "phase"]]?.stringValue ?? "")
                    if terminal {
                        s.nodes.update(node) { $0.remove(info) }
                    } else if assumedOn != node || s.nodes[node]?.pods[info.key] == nil {
                        s.nodes.update(node) { $0.add(info) }
                    }
                } else if isPending(pod), s.assumed[info.key] == nil {
                    s.queue.add(info.key, priority: info.priority)
                } else {
                    s.queue.remove(info.key)
                }
            case .deleted(let pod):
                let info = PodInfo(pod)
                s.queue.remove(info.key)
                if let node = s.assumed.removeValue(forKey: info.key) ?? pod[path: ["spec", "nodeName"]]?.stringValue {
                    s.nodes.update(node) { $0.remove(info) }
                }
                // Room was freed: parked pods may fit now.
                s.queue.moveAllUnschedulable(now: now)
            }
            return s.queue.isEmpty ? nil : s.takeWaiter()
        }
        wake?.resume()
    }

    func nodeEvent(_ e: InformerEvent) {
        let now = ContinuousClock.now
        state.withLock { s in
            switch e {
            case .added(let node), .updated(_, let node):
                let name = node.name ?? ""
                if s.nodes[name] == nil {
                    s.nodes.append(NodeInfo(node))
                    // Pods already bound there (informer order is not guaranteed).
                    for pod in pods.indexer.byIndex(Indexer.podsByNode, name) {
                        s.nodes.update(name) { $0.add(PodInfo(pod)) }
                    }
                } else {
                    s.nodes.update(name) { $0.update(node) }
                }
                s.queue.moveAllUnschedulable(now: now)
            case .deleted(let node):
                s.nodes.remove(node.name ?? "")
            }
        }
    }

    // MARK: - The loop

    /// Schedules until cancelled; bindings run beside the loop.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            // Back-offs end on time even when nothing else happens.
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
                        s.queue.flushBackoff(now: .now)
                        return s.queue.isEmpty ? nil : s.takeWaiter()
                    }
                    wake?.resume()
                }
                // Cancelled: the loop must not sleep on.
                state.withLock { $0.takeWaiter() }?.resume()
            }
            while !Task.isCancelled {
                guard let entry = state.withLock({ $0.queue.pop() }) else {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let ready = state.withLock { s -> Bool in
                            if !s.queue.isEmpty || Task.isCancelled { return true }
                            s.waiter = c
                            return false
                        }
                        if ready { c.resume() }
                    }
                    continue
                }
                guard let pod = pods.indexer.get(entry.key), isPending(pod) else { continue }
                let info = PodInfo(pod)
                switch scheduleOne(info) {
                case .success(let node):
                    group.addTask { [self] in await bind(info, to: node, entry) }
                case .failure(let fit):
                    state.withLock { $0.queue.failed(entry, unschedulable: true, now: .now) }
                    group.addTask { [self] in await reportUnschedulable(info, fit) }
                }
            }
            group.cancelAll()
        }
    }

    /// Upstream's numFeasibleNodesToFind: every node up to 100, then a share falling from
    /// 50% (5% at least) as clusters grow, so large clusters are not scanned in full.
    static func feasibleNodesToFind(_ total: Int) -> Int {
        if total < 100 { return total }
        let percent = max(5, 50 - total / 125)
        return max(100, total * percent / 100)
    }

    /// Filters and scores on a snapshot of the nodes, outside the lock, then assumes the
    /// pod onto the chosen node; or says why it fits nowhere.
    func scheduleOne(_ pod: PodInfo) -> Result<String, FitError> {
        let (result, next) = decide(pod)
        state.withLock { s in
            s.nextStart = next
            if case .success(let chosen) = result {
                s.nodes.update(chosen) { $0.add(pod) }
                s.assumed[pod.key] = chosen
            }
        }
        return result
    }

    /// Filters and scores; returns the node and where the next cycle starts looking. The
    /// snapshot is released on return, so the assume that follows changes the nodes in
    /// place.
    func decide(_ pod: PodInfo) -> (Result<String, FitError>, next: Int) {
        let (nodes, start) = state.withLock { ($0.nodes.all, $0.nextStart) }
        let total = nodes.count
        let want = Self.feasibleNodesToFind(total)
        var feasible: [Int] = []
        var reasons: [String: Int] = [:]
        var unresolvable = 0
        var examined = 0
        while examined < total, feasible.count < want {
            let index = (start + examined) % total
            examined += 1
            var passed = true
            for f in filters {
                let status = f.filter(pod, nodes[index])
                if !status.isSuccess {
                    for r in status.reasons { reasons[r, default: 0] += 1 }
                    if status.code == .unresolvable { unresolvable += 1 }
                    passed = false
                    break
                }
            }
            if passed { feasible.append(index) }
        }
        let next = total > 0 ? (start + examined) % total : 0
        guard !feasible.isEmpty else {
            return (.failure(FitError(nodes: total, reasons: reasons, unresolvable: unresolvable)), next)
        }
        var totals = [Int64](repeating: 0, count: feasible.count)
        if feasible.count > 1 {
            for plugin in scorers {
                var scores = feasible.map { plugin.score(pod, nodes[$0]) }
                plugin.normalize(&scores)
                for i in scores.indices { totals[i] += scores[i] * plugin.weight }
            }
        }
        // The best score; ties go to the first found, which rotates with nextStart.
        var best = 0
        for i in totals.indices where totals[i] > totals[best] { best = i }
        return (.success(nodes[feasible[best]].name), next)
    }

    func bind(_ pod: PodInfo, to node: String, _ entry: SchedulingQueue.Entry) async {
        let (namespace, name) = (pod.pod.namespace ?? "", pod.pod.name ?? "")
        let binding: JSON = ["apiVersion": "v1", "kind": "Binding",
                             "metadata": ["name": .string(name), "namespace": .string(namespace), "uid": .string(pod.pod.uid ?? "")],
                             "target": ["apiVersion": "v1", "kind": "Node", "name": .string(node)]]
        do {
            let response = try await client.transport.send(ClientRequest(method: "POST", path: Resource.pods.path(namespace: namespace, name: name, subresource: "binding"),
                                                                         body: binding.serialized()))
            guard response.status == 201 || response.status == 200 else { throw ClientError(status: response.status, body: response.body) }
            events.event(pod.pod, .pods, type: "Normal", reason: "Scheduled", message: "Successfully assigned \(namespace)/\(name) to \(node)")
        } catch {
            logger.debug("binding failed", metadata: ["pod": "\(pod.key)", "error": "\(error)"])
            state.withLock { s in
                if s.assumed.removeValue(forKey: pod.key) != nil { s.nodes.update(node) { $0.remove(pod) } }
                s.queue.failed(entry, unschedulable: false, now: .now)
            }
        }
    }

    // MARK: - Reporting

    struct FitError: Error {
        var nodes: Int
        var reasons: [String: Int]
        var unresolvable: Int

        /// Upstream's message: reasons counted and sorted, then what preemption found.
        var message: String {
            let parts = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            var preemption: [String] = []
            if nodes - unresolvable > 0 { preemption.append("\(nodes - unresolvable) No preemption victims found for incoming pod") }
            if unresolvable > 0 { preemption.append("\(unresolvable) Preemption is not helpful for scheduling") }
            let head = "0/\(nodes) nodes are available" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
            return head + ". preemption: 0/\(nodes) nodes are available: " + (preemption.isEmpty ? "" : preemption.joined(separator: ", ")) + "."
        }
    }

    /// PodScheduled=False with the reason, and a FailedScheduling event.
    func reportUnschedulable(_ pod: PodInfo, _ fit: FitError) async {
        let message = fit.message
        var next = pod.pod
        var conditions = (pod.pod[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["type"] != "PodScheduled" }
        let old = pod.pod[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "PodScheduled" }
        if old?["message"]?.stringValue != message {
            conditions.append(["type": "PodScheduled", "status": "False", "lastProbeTime": nil,
                               "lastTransitionTime": .string(Timestamp.now().rfc3339), "reason": "Unschedulable", "message": .string(message)])
            next[path: ["status", "conditions"]] = .array(conditions)
            _ = try? await client.update(.pods, next, subresource: "status")
        }
        events.event(pod.pod, .pods, type: "Warning", reason: "FailedScheduling", message: message)
    }
}

/// The scheduler's nodes: an array (the cycle's snapshot) with an index by name.
struct NodeList {
    private(set) var all: [NodeInfo] = []
    private var index: [String: Int] = [:]

    subscript(name: String) -> NodeInfo? { index[name].map { all[$0] } }

    /// Changes a node in place (no copy while no snapshot shares the array).
    mutating func update(_ name: String, _ body: (inout NodeInfo) -> Void) {
        if let i = index[name] { body(&all[i]) }
    }

    mutating func append(_ n: NodeInfo) {
        index[n.name] = all.count
        all.append(n)
    }

    mutating func remove(_ name: String) {
        guard let i = index.removeValue(forKey: name) else { return }
        all.remove(at: i)
        for j in i..<all.count { index[all[j].name] = j }
    }
}

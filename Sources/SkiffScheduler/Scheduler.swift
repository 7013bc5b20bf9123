import Dispatch
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
    let framework: Framework
    let logger = Logger(label: "skiff.scheduler")

    struct State {
        var queue = SchedulingQueue()
        /// A cycle takes it as its snapshot and filters without the lock.
        var snapshot = Snapshot()
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

    /// `extraPlugins` run after the defaults at every extension point they implement.
    public init(factory: InformerFactory, extraPlugins: [any Plugin] = []) {
        client = factory.client
        events = EventRecorder(client: factory.client, component: Self.defaultName)
        pods = factory.informer(.pods)
        nodes = factory.informer(.nodes)
        let namespaces = factory.informer(.namespaces)
        let (services, controllers, replicaSets, statefulSets, budgets) = (factory.informer(.services), factory.informer(.replicationControllers),
                                                                          factory.informer(.replicaSets), factory.informer(.statefulSets),
                                                                          factory.informer(.podDisruptionBudgets))
        let spread = PodTopologySpread { ns in
            .init(services: services.indexer.list(namespace: ns), replicationControllers: controllers.indexer.list(namespace: ns),
                  replicaSets: replicaSets.indexer.list(namespace: ns), statefulSets: statefulSets.indexer.list(namespace: ns))
        }
        // Upstream's default profile, in its order.
        framework = Framework([NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(), NodePorts(), NodeResourcesFit(),
                               spread, InterPodAffinity(), DefaultPreemption { budgets.indexer.list(namespace: $0) },
                               NodeResourcesBalancedAllocation(), ImageLocality()] + extraPlugins + [DefaultBinder(client: client)])
        pods.indexer.indexPodsByNode()
        pods.addHandler { [weak self] e in self?.podEvent(e) }
        nodes.addHandler { [weak self] e in self?.nodeEvent(e) }
        namespaces.addHandler { [weak self] e in self?.namespaceEvent(e) }
    }

    // MARK: - Events

    func isPending(_ pod: JSON) -> Bool {
        (pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty && pod.deletionTimestamp == nil
            && (pod[path: ["spec", "schedulerName"]]?.stringValue ?? Self.defaultName) == Self.defaultName
            && !["Succeeded", "Failed"].contains(pod[path: ["status", "phase"]]?.stringValue ?? "")
    }

    func podEvent(_ e: InformerEvent) {
        let now = ContinuousClock.now
        // Parsed outside the lock, which the scheduling loop waits on.
        let info: PodInfo
        switch e { case .added(let pod), .updated(_, let pod), .deleted(let pod): info = PodInfo(pod) }
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            switch e {
            case .added(let pod), .updated(_, let pod):
                if let node = pod[path: ["spec", "nodeName"]]?.stringValue, !node.isEmpty {
                    s.queue.remove(info.key)
                    let assumedOn = s.assumed.removeValue(forKey: info.key)
                    if let assumedOn, assumedOn != node { s.snapshot.removePod(info, from: assumedOn) }
                    let terminal = ["Succeeded", "Failed"].contains(pod[path: ["status", "phase"]]?.stringValue ?? "")
                    if terminal {
                        s.snapshot.removePod(info, from: node)
                        s.queue.moveAllUnschedulable(now: now)
                    } else if !(assumedOn == node && s.snapshot[node]?.pods[info.key] != nil) && !Self.sameForScheduling(e, on: s.snapshot[node]) {
                        let placed = s.snapshot[node]?.pods[info.key] == nil
                        s.snapshot.addPod(info, to: node)
                        // A pod placed elsewhere may satisfy parked pods' affinity or spread.
                        if placed { s.queue.moveAllUnschedulable(now: now) }
                    }
                } else if isPending(pod), s.assumed[info.key] == nil {
                    s.queue.add(info.key, priority: info.priority)
                } else {
                    s.queue.remove(info.key)
                }
            case .deleted(let pod):
                s.queue.remove(info.key)
                if let node = s.assumed.removeValue(forKey: info.key) ?? pod[path: ["spec", "nodeName"]]?.stringValue {
                    s.snapshot.removePod(info, from: node)
                }
                // Room was freed: parked pods may fit now.
                s.queue.moveAllUnschedulable(now: now)
            }
            return s.queue.isEmpty ? nil : s.takeWaiter()
        }
        wake?.resume()
    }

    /// An update that changes nothing the plugins read (most are kubelet status
    /// updates) leaves the snapshot alone: replacing the pod would copy the nodes while a
    /// cycle holds them.
    static func sameForScheduling(_ e: InformerEvent, on node: NodeInfo?) -> Bool {
        guard case .updated(let old, let new) = e, let node, node.pods[objectKey(new)] != nil else { return false }
        return old[path: ["metadata", "labels"]] == new[path: ["metadata", "labels"]] && old["spec"] == new["spec"]
            && old.deletionTimestamp == new.deletionTimestamp && old[path: ["status", "startTime"]] == new[path: ["status", "startTime"]]
    }

    func nodeEvent(_ e: InformerEvent) {
        let now = ContinuousClock.now
        state.withLock { s in
            switch e {
            case .added(let node), .updated(_, let node):
                let name = node.name ?? ""
                let isNew = s.snapshot[name] == nil
                s.snapshot.setNode(node)
                if isNew {
                    // Pods already bound there (informer order is not guaranteed).
                    for pod in pods.indexer.byIndex(Indexer.podsByNode, name) { s.snapshot.addPod(PodInfo(pod), to: name) }
                }
                s.queue.moveAllUnschedulable(now: now)
            case .deleted(let node):
                s.snapshot.removeNode(node.name ?? "")
            }
        }
    }

    func namespaceEvent(_ e: InformerEvent) {
        let now = ContinuousClock.now
        state.withLock { s in
            switch e {
            case .added(let ns), .updated(_, let ns):
                s.snapshot.setNamespace(ns.name ?? "", labels: ns.labels)
                // Terms selecting namespaces by label may match differently now.
                s.queue.moveAllUnschedulable(now: now)
            case .deleted(let ns):
                s.snapshot.setNamespace(ns.name ?? "", labels: nil)
            }
        }
    }

    // MARK: - The loop

    /// Schedules until cancelled; bindings and evictions run beside the loop.
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
                case .success(let (node, cycle)):
                    group.addTask { [self] in await bind(info, to: node, cycle, entry) }
                case .failure(let fit):
                    state.withLock { $0.queue.failed(entry, unschedulable: true, now: .now) }
                    group.addTask { [self] in
                        if let preemption = fit.preemption { await preempt(info, preemption) }
                        await reportUnschedulable(info, fit)
                    }
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

    /// Runs the scheduling cycle on a snapshot, outside the lock, then assumes the pod onto
    /// the chosen node and runs Reserve and Permit; or says why it fits nowhere.
    func scheduleOne(_ pod: PodInfo) -> Result<(String, CycleState), FitError> {
        let (result, next) = decide(pod)
        state.withLock { s in
            s.nextStart = next
            if case .success(let (chosen, _)) = result {
                s.snapshot.addPod(pod, to: chosen)
                s.assumed[pod.key] = chosen
                s.queue.moveAllUnschedulable(now: .now)
            }
        }
        guard case .success(let (chosen, cycle)) = result else { return result }
        var reserved: [any ReservePlugin] = []
        var verdict = Status.success
        for r in framework.reservers {
            verdict = r.reserve(pod, chosen, cycle)
            reserved.append(r)
            if !verdict.isSuccess { break }
        }
        if verdict.isSuccess {
            for p in framework.permits {
                verdict = p.permit(pod, chosen, cycle)
                if !verdict.isSuccess { break }
            }
        }
        if verdict.isSuccess { return result }
        for r in reserved.reversed() { r.unreserve(pod, chosen, cycle) }
        forget(pod, on: chosen)
        let total = state.withLock { $0.snapshot.nodes.count }
        return .failure(FitError(nodes: total, reasons: [:], preFilterMessage: verdict.reasons.joined(separator: ", ")))
    }

    /// Takes back an assumed pod whose binding will not happen.
    func forget(_ pod: PodInfo, on node: String) {
        state.withLock { s in
            if s.assumed.removeValue(forKey: pod.key) != nil { s.snapshot.removePod(pod, from: node) }
        }
    }

    /// PreFilter, Filter (PostFilter when nothing fits), PreScore and Score; returns the
    /// node and where the next cycle starts looking. The snapshot is released on return, so
    /// the assume that follows changes the nodes in place.
    func decide(_ pod: PodInfo) -> (Result<(String, CycleState), FitError>, next: Int) {
        let (snapshot, start) = state.withLock { ($0.snapshot, $0.nextStart) }
        var cycle = CycleState(snapshot: snapshot)
        let nodes = snapshot.nodes
        let total = nodes.count
        if total == 0 { return (.failure(FitError(nodes: 0, reasons: [:])), 0) }
        let (pre, narrowed) = framework.runPreFilters(pod, &cycle)
        guard pre.isSuccess else { return (.failure(FitError(nodes: total, reasons: [:], preFilterMessage: pre.reasons.joined(separator: ", "))), start) }
        // PreFilter named the only nodes worth trying: the rest are not looked at.
        let candidates = narrowed.map { names in names.compactMap { snapshot.index(of: $0) }.sorted() }
        let count = candidates?.count ?? total
        let want = Self.feasibleNodesToFind(count)
        var feasible: [Int] = []
        var failed: [(Int, Status)] = []
        var examined = 0
        while examined < count, feasible.count < want {
            // As many nodes as are still wanted, filtered on both cores; those past the
            // last one needed are dropped, as upstream's early cancel does.
            let batch = min(count - examined, want - feasible.count)
            let indices = (0..<batch).map { i in
                let position = (start + examined + i) % count
                return candidates?[position] ?? position
            }
            let statuses = Self.filterInParallel(indices) { [cycle] in framework.runFilters(pod, nodes[$0], cycle) }
            for (i, status) in statuses.enumerated() where feasible.count < want {
                examined += 1
                if status.isSuccess { feasible.append(indices[i]) } else { failed.append((indices[i], status)) }
            }
        }
        let next = count > 0 ? (start + examined) % count : 0
        guard !feasible.isEmpty else {
            var statuses: [String: Status] = [:]
            var reasons: [String: Int] = [:]
            for (i, status) in failed {
                statuses[nodes[i].name] = status
                for r in status.reasons { reasons[r, default: 0] += 1 }
            }
            if let candidates {
                let skipped = Status.unresolvable("node(s) didn't satisfy plugin(s) [NodeAffinity]")
                let named = Set(candidates)
                for i in nodes.indices where !named.contains(i) { statuses[nodes[i].name] = skipped }
                if total > count { reasons[skipped.reasons[0], default: 0] += total - count }
            }
            var fit = FitError(nodes: total, reasons: reasons)
            for p in framework.postFilters {
                let result = p.postFilter(pod, cycle, statuses, framework)
                if result.status.isSuccess, result.nominatedNodeName != nil {
                    fit.preemption = result
                    fit.postFilterMessage = ""
                    break
                }
                fit.postFilterMessage = result.status.reasons.joined(separator: " ")
            }
            return (.failure(fit), next)
        }
        var best = 0
        if feasible.count > 1 {
            let totals = framework.runScores(pod, feasible.map { nodes[$0] }, &cycle)
            // The best score; ties go to the first found, which rotates with nextStart.
            for i in totals.indices where totals[i] > totals[best] { best = i }
        }
        cycle.releaseSnapshot()
        return (.success((nodes[feasible[best]].name, cycle)), next)
    }

    /// Below this many nodes a second thread costs more than it saves.
    static let parallelFilterThreshold = 64

    /// Result slots two threads fill at disjoint indices.
    private struct Slots: @unchecked Sendable { let base: UnsafeMutablePointer<Status> }

    /// `filter` over `indices` on two threads (the machine's cores), results in order.
    static func filterInParallel(_ indices: [Int], _ filter: @Sendable (Int) -> Status) -> [Status] {
        if indices.count < parallelFilterThreshold { return indices.map(filter) }
        return [Status](unsafeUninitializedCapacity: indices.count) { buffer, initialized in
            let half = indices.count / 2
            let slots = Slots(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                for i in (part == 0 ? 0..<half : half..<indices.count) { (slots.base + i).initialize(to: filter(indices[i])) }
            }
            initialized = indices.count
        }
    }

    func bind(_ pod: PodInfo, to node: String, _ cycle: CycleState, _ entry: SchedulingQueue.Entry) async {
        var status = Status.skip
        for b in framework.binders {
            status = await b.bind(pod, node, cycle)
            if status.code != .skip { break }
        }
        if status.isSuccess {
            events.event(pod.pod, .pods, type: "Normal", reason: "Scheduled", message: "Successfully assigned \(pod.key) to \(node)")
            return
        }
        logger.debug("binding failed", metadata: ["pod": "\(pod.key)", "error": "\(status.reasons)"])
        for r in framework.reservers.reversed() { r.unreserve(pod, node, cycle) }
        forget(pod, on: node)
        state.withLock { $0.queue.failed(entry, unschedulable: false, now: .now) }
    }

    // MARK: - Preemption

    /// Carries out what DefaultPreemption chose: each victim is marked with a
    /// DisruptionTarget condition, deleted, and told why by a Preempted event.
    func preempt(_ pod: PodInfo, _ result: PostFilterResult) async {
        guard let node = result.nominatedNodeName else { return }
        for victim in result.victims {
            // The informer's copy: the snapshot may hold the pod as it was when assumed.
            let current = pods.indexer.get(victim.key) ?? victim.pod
            var conditions = (current[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["type"] != "DisruptionTarget" }
            conditions.append(["type": "DisruptionTarget", "status": "True", "lastTransitionTime": .string(Timestamp.now().rfc3339),
                               "reason": "PreemptionByScheduler", "message": .string("\(Self.defaultName): preempting to accommodate a higher priority pod")])
            let (namespace, name) = (victim.namespace, victim.pod.name ?? "")
            do {
                _ = try await client.patch(.pods, namespace: namespace, name, merge: ["status": ["conditions": .array(conditions)]], subresource: "status")
                try await client.delete(.pods, namespace: namespace, name, preconditionUID: victim.pod.uid, ignoreNotFound: true)
                events.event(current, .pods, type: "Normal", reason: "Preempted", message: "Preempted by pod \(pod.pod.uid ?? "") on node \(node)")
            } catch {
                logger.debug("evicting a preemption victim failed", metadata: ["pod": "\(victim.key)", "error": "\(error)"])
            }
        }
    }

    // MARK: - Reporting

    struct FitError: Error {
        var nodes: Int
        var reasons: [String: Int]
        /// A PreFilter (or Permit) rejection: said instead of the per-node reasons.
        var preFilterMessage: String?
        /// What PostFilter said ("preemption: …"); empty when it nominated a node.
        var postFilterMessage = ""
        var preemption: PostFilterResult?

        init(nodes: Int, reasons: [String: Int], preFilterMessage: String? = nil) {
            self.nodes = nodes
            self.reasons = reasons
            self.preFilterMessage = preFilterMessage
        }

        /// Upstream's message: reasons counted and sorted, then what preemption found.
        var message: String {
            if nodes == 0 { return "no nodes available to schedule pods" }
            var text = "0/\(nodes) nodes are available"
            if let preFilterMessage {
                text += ": \(preFilterMessage)."
            } else {
                text += ": " + reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "."
            }
            return postFilterMessage.isEmpty ? text : text + " " + postFilterMessage
        }
    }

    /// PodScheduled=False with the reason (and the node preemption nominated), and a
    /// FailedScheduling event.
    func reportUnschedulable(_ pod: PodInfo, _ fit: FitError) async {
        let message = fit.message
        var next = pod.pod
        var conditions = (pod.pod[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["type"] != "PodScheduled" }
        let old = pod.pod[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "PodScheduled" }
        let nominated = fit.preemption?.nominatedNodeName
        if old?["message"]?.stringValue != message || (nominated != nil && pod.pod[path: ["status", "nominatedNodeName"]]?.stringValue != nominated) {
            conditions.append(["type": "PodScheduled", "status": "False", "lastProbeTime": nil,
                               "lastTransitionTime": .string(Timestamp.now().rfc3339), "reason": "Unschedulable", "message": .string(message)])
            next[path: ["status", "conditions"]] = .array(conditions)
            if let nominated { next[path: ["status", "nominatedNodeName"]] = .string(nominated) }
            _ = try? await client.update(.pods, next, subresource: "status")
        }
        events.event(pod.pod, .pods, type: "Warning", reason: "FailedScheduling", message: message)
    }
}

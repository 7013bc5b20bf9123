import SkiffAPI
import SkiffCore

/// A plugin's verdict, as upstream's framework.Status: plugins return one, never throw.
public struct Status: Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        case success
        /// Does not fit now; may fit after the cluster changes (or by preemption).
        case unschedulable
        /// Cannot fit on this node whatever is evicted (node selector, taints).
        case unresolvable
        case error
        /// PreFilter/PreScore: the plugin has nothing to do for this pod, so its
        /// Filter/Score is not called in this cycle.
        case skip
    }

    public var code: Code
    public var reasons: [String]

    public static let success = Status(code: .success, reasons: [])
    public static let skip = Status(code: .skip, reasons: [])
    public static func unschedulable(_ reasons: String...) -> Status { Status(code: .unschedulable, reasons: reasons) }
    public static func unresolvable(_ reasons: String...) -> Status { Status(code: .unresolvable, reasons: reasons) }

    public var isSuccess: Bool { code == .success }
}

/// What plugins compute once per pod and read on every node: upstream's CycleState. A
/// plugin keeps its values under their own (nested) types, which key the storage cheaply
/// since Filter reads them on every node; the cycle's snapshot rides along so plugins
/// that count pods across the cluster see the same view as the filters.
public struct CycleState: Sendable {
    /// Dropped once the node is chosen (`releaseSnapshot`): a state kept for Reserve,
    /// Permit and Bind must not pin the snapshot, or every assume would copy the nodes.
    public private(set) var snapshot: Snapshot
    private var data: [ObjectIdentifier: any Sendable] = [:]
    /// The filters to run: those whose PreFilter did not say Skip.
    var filters: [any FilterPlugin] = []
    /// Plugins whose PreFilter said Skip, and those whose PreScore did.
    var skippedFilters: Set<String> = []
    var skippedScores: Set<String> = []

    public init(snapshot: Snapshot) { self.snapshot = snapshot }

    mutating func releaseSnapshot() { snapshot = Snapshot.empty }

    public subscript<T: Sendable>(_ type: T.Type) -> T? {
        get { data[ObjectIdentifier(type)] as? T }
        set { data[ObjectIdentifier(type)] = newValue }
    }
}

public protocol Plugin: Sendable {
    var name: String { get }
}

/// Runs once per pod before any node is filtered; may reject the pod outright or narrow
/// the nodes worth filtering (`nodeNames`).
public protocol PreFilterPlugin: Plugin {
    func preFilter(_ pod: PodInfo, _ state: inout CycleState) -> (Status, nodeNames: Set<String>?)
    /// Preemption's "what if": keeps the per-cycle counts right when a pod is taken off
    /// or put back on `node` (already changed) while victims are tried.
    func addPod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState)
    func removePod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState)
}

extension PreFilterPlugin {
    public func addPod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) {}
    public func removePod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) {}
}

/// Decides whether a pod may run on a node; sees only the pod, the node and the cycle
/// state, so nodes can be filtered in parallel.
public protocol FilterPlugin: Plugin {
    func filter(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status
}

/// Runs when no node passed the filters (preemption).
public protocol PostFilterPlugin: Plugin {
    func postFilter(_ pod: PodInfo, _ state: CycleState, _ statuses: [String: Status], _ framework: Framework) -> PostFilterResult
}

public struct PostFilterResult: Sendable {
    public var status: Status
    public var nominatedNodeName: String?
    /// Pods to evict so the pod fits on the nominated node.
    public var victims: [PodInfo] = []
}

/// Runs once per pod over the nodes that passed, before scoring them.
public protocol PreScorePlugin: Plugin {
    func preScore(_ pod: PodInfo, _ nodes: [NodeInfo], _ state: inout CycleState) -> Status
}

/// Ranks the nodes that passed; scores are 0...100 after normalizing.
public protocol ScorePlugin: Plugin {
    var weight: Int64 { get }
    func score(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Int64
    /// Rescales raw scores to 0...100 (default: they already are).
    func normalize(_ scores: inout [Int64], _ state: CycleState)
}

extension ScorePlugin {
    public func normalize(_ scores: inout [Int64], _ state: CycleState) {}
}

/// Runs once the pod is assumed onto a node, before binding; Unreserve undoes it when a
/// later step fails.
public protocol ReservePlugin: Plugin {
    func reserve(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) -> Status
    func unreserve(_ pod: PodInfo, _ nodeName: String, _ state: CycleState)
}

extension ReservePlugin {
    public func unreserve(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) {}
}

/// The last word before binding: success lets it bind, a rejection sends the pod back to
/// the queue. (Upstream's "wait" is not supported.)
public protocol PermitPlugin: Plugin {
    func permit(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) -> Status
}

/// Writes the decision to the API; the first plugin that does not Skip binds.
public protocol BindPlugin: Plugin {
    func bind(_ pod: PodInfo, _ nodeName: String, _ state: CycleState) async -> Status
}

/// The plugins of a profile, sorted by extension point in the order given (upstream's
/// default order). A plugin takes part in every extension point it conforms to.
public struct Framework: Sendable {
    public let preFilters: [any PreFilterPlugin]
    public let filters: [any FilterPlugin]
    public let postFilters: [any PostFilterPlugin]
    public let preScores: [any PreScorePlugin]
    public let scorers: [any ScorePlugin]
    public let reservers: [any ReservePlugin]
    public let permits: [any PermitPlugin]
    public let binders: [any BindPlugin]

    public init(_ plugins: [any Plugin]) {
        preFilters = plugins.compactMap { $0 as? any PreFilterPlugin }
        filters = plugins.compactMap { $0 as? any FilterPlugin }
        postFilters = plugins.compactMap { $0 as? any PostFilterPlugin }
        preScores = plugins.compactMap { $0 as? any PreScorePlugin }
        scorers = plugins.compactMap { $0 as? any ScorePlugin }
        reservers = plugins.compactMap { $0 as? any ReservePlugin }
        permits = plugins.compactMap { $0 as? any PermitPlugin }
        binders = plugins.compactMap { $0 as? any BindPlugin }
    }

    /// PreFilter: the state for this pod, or the rejection; `nodeNames` is the
    /// intersection of the plugins' narrowing (nil: every node).
    public func runPreFilters(_ pod: PodInfo, _ state: inout CycleState) -> (Status, nodeNames: Set<String>?) {
        var names: Set<String>?
        for p in preFilters {
            let (status, narrowed) = p.preFilter(pod, &state)
            switch status.code {
            case .success: break
            case .skip: state.skippedFilters.insert(p.name)
            default: return (status, nil)
            }
            if let narrowed { names = names.map { $0.intersection(narrowed) } ?? narrowed }
        }
        state.filters = filters.filter { !state.skippedFilters.contains($0.name) }
        return (.success, names)
    }

    /// Every filter in order but those PreFilter skipped (so only on a state that
    /// `runPreFilters` prepared); the first that fails decides.
    public func runFilters(_ pod: PodInfo, _ node: NodeInfo, _ state: CycleState) -> Status {
        for f in state.filters {
            let status = f.filter(pod, node, state)
            if !status.isSuccess { return status }
        }
        return .success
    }

    public func runAddPod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) {
        for p in preFilters where !state.skippedFilters.contains(p.name) { p.addPod(pod, existing, on: node, &state) }
    }

    public func runRemovePod(_ pod: PodInfo, _ existing: PodInfo, on node: NodeInfo, _ state: inout CycleState) {
        for p in preFilters where !state.skippedFilters.contains(p.name) { p.removePod(pod, existing, on: node, &state) }
    }

    /// PreScore, Score and NormalizeScore: each node's weighted total.
    public func runScores(_ pod: PodInfo, _ nodes: [NodeInfo], _ state: inout CycleState) -> [Int64] {
        for p in preScores where p.preScore(pod, nodes, &state).code == .skip { state.skippedScores.insert(p.name) }
        var totals = [Int64](repeating: 0, count: nodes.count)
        for plugin in scorers where !state.skippedScores.contains(plugin.name) {
            var scores = nodes.map { plugin.score(pod, $0, state) }
            plugin.normalize(&scores, state)
            for i in scores.indices { totals[i] += scores[i] * plugin.weight }
        }
        return totals
    }
}

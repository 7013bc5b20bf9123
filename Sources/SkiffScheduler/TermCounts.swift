import SkiffCore
import Synchronization

/// The label ("key=value") a selector requires, if any: terms and queries are filed under
/// it, so only those filed under one of a pod's own labels (or under none) can match it.
func requiredLabel(_ selector: LabelSelector) -> String {
    for r in selector.requirements where r.values.count == 1 {
        switch r.operator {
        case .equals, .doubleEquals, .in: return "\(r.key)=\(r.values[0])"
        default: continue
        }
    }
    return ""
}

func labelKeys(_ labels: [String: String]) -> [String] {
    labels.map { "\($0.key)=\($0.value)" } + [""]
}

/// The (anti-)affinity terms that pods already placed carry, each with the summed weight
/// of its owners per topology value of the owners' nodes. Matching an incoming pod against
/// them then costs the few terms filed under its labels, not a scan of every pod.
public struct TermCounts: Sendable {
    private var counts: [AffinityTerm: [String: Int64]] = [:]
    private var buckets: [String: Set<AffinityTerm>] = [:]

    public init() {}

    /// Adds `weight` (negative to take it away) at `value` of the term's topology key.
    mutating func add(_ term: AffinityTerm, value: String, weight: Int64) {
        var c = counts[term] ?? [:]
        let next = (c[value] ?? 0) + weight
        c[value] = next == 0 ? nil : next
        if c.isEmpty {
            counts[term] = nil
            buckets[requiredLabel(term.selector)]?.remove(term)
        } else {
            if counts[term] == nil { buckets[requiredLabel(term.selector), default: []].insert(term) }
            counts[term] = c
        }
    }

    /// Every term that matches `pod`, with its counts by topology value.
    public func forEachMatching(_ pod: PodInfo, namespaceLabels: [String: String], _ body: (AffinityTerm, [String: Int64]) -> Void) {
        for label in labelKeys(pod.labels) {
            for term in buckets[label] ?? [] where term.matches(pod, namespaceLabels: namespaceLabels) {
                if let c = counts[term] { body(term, c) }
            }
        }
    }
}

/// Counts of the pods that match a selector in some namespaces, by topology value; what
/// InterPodAffinity and PodTopologySpread ask of the cluster for every pod. Counted once
/// when first asked, then kept current as pods are placed and removed, so pods of one
/// workload do not each scan the cluster. Shared by the scheduler's snapshots: an answer
/// computed from a snapshot is kept only if no pod changed since it was taken.
public final class MatchCountCache: Sendable {
    public struct Query: Hashable, Sendable {
        /// nil: every namespace.
        public let namespaces: Set<String>?
        public let selector: LabelSelector
        public let topologyKey: String
        /// PodTopologySpread leaves out pods being deleted; InterPodAffinity counts them.
        public let skipTerminating: Bool
        /// The selector's text, rendered once: queries are hashed on every lookup.
        private let selectorText: String

        public init(namespaces: Set<String>?, selector: LabelSelector, topologyKey: String, skipTerminating: Bool) {
            self.namespaces = namespaces
            self.selector = selector
            self.topologyKey = topologyKey
            self.skipTerminating = skipTerminating
            selectorText = AffinityTerm.text(selector)
        }

        public static func == (a: Query, b: Query) -> Bool {
            a.selectorText == b.selectorText && a.namespaces == b.namespaces && a.topologyKey == b.topologyKey && a.skipTerminating == b.skipTerminating
        }

        public func hash(into h: inout Hasher) {
            h.combine(namespaces)
            h.combine(selectorText)
            h.combine(topologyKey)
            h.combine(skipTerminating)
        }

        func matches(_ pod: PodInfo) -> Bool {
            (namespaces?.contains(pod.namespace) ?? true) && !(skipTerminating && pod.isTerminating) && selector.matches(pod.labels)
        }
    }

    /// Past this many queries the cache starts over rather than slow every pod event.
    static let limit = 4096

    private struct State {
        var generation = 0
        var entries: [Query: [String: Int]] = [:]
        var buckets: [String: Set<Query>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    func lookup(_ q: Query) -> [String: Int]? { state.withLock { $0.entries[q] } }

    /// Keeps an answer computed from the snapshot taken at `generation`, if still current.
    func store(_ q: Query, _ counts: [String: Int], generation: Int) {
        state.withLock { s in
            guard s.generation == generation else { return }
            if s.entries.count >= Self.limit { s.entries = [:]; s.buckets = [:] }
            s.entries[q] = counts
            s.buckets[requiredLabel(q.selector), default: []].insert(q)
        }
    }

    /// A pod placed (+1) or removed (-1) on a node with these labels; returns the new
    /// generation.
    func apply(_ pod: PodInfo, nodeLabels: [String: String], _ delta: Int) -> Int {
        state.withLock { s in
            s.generation += 1
            for label in labelKeys(pod.labels) {
                for q in s.buckets[label] ?? [] where q.matches(pod) {
                    guard let value = nodeLabels[q.topologyKey] else { continue }
                    let next = (s.entries[q]?[value] ?? 0) + delta
                    s.entries[q]?[value] = next == 0 ? nil : next
                }
            }
            return s.generation
        }
    }

    /// Node labels changed: every count may be filed under the wrong value.
    func clear() -> Int {
        state.withLock { s in
            s.generation += 1
            s.entries = [:]
            s.buckets = [:]
            return s.generation
        }
    }
}

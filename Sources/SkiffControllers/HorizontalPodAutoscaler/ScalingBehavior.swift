import SkiffCore

/// spec.behavior.scaleUp or scaleDown with upstream's defaults filled in field by field
/// (the API server leaves them unset, so the controller applies them, as upstream's
/// defaulting does for a behavior that is present).
struct HPAScalingRules: Sendable, Equatable {
    struct Policy: Sendable, Equatable {
        /// "Pods" or "Percent".
        var type: String
        var value: Int32
        var periodSeconds: Int32
    }

    var stabilizationWindowSeconds: Int32
    /// "Max", "Min" or "Disabled".
    var selectPolicy: String
    var policies: [Policy]
    var tolerance: Double?

    /// Scale up at once, by 4 pods or 100% (whichever is more) every 15 s.
    static let defaultScaleUp = HPAScalingRules(
        stabilizationWindowSeconds: 0, selectPolicy: "Max",
        policies: [Policy(type: "Pods", value: 4, periodSeconds: 15), Policy(type: "Percent", value: 100, periodSeconds: 15)])

    /// Scale down to anything every 15 s, after the controller's stabilization window.
    static func defaultScaleDown(windowSeconds: Int32) -> HPAScalingRules {
        HPAScalingRules(stabilizationWindowSeconds: windowSeconds, selectPolicy: "Max",
                        policies: [Policy(type: "Percent", value: 100, periodSeconds: 15)])
    }

    init(stabilizationWindowSeconds: Int32, selectPolicy: String, policies: [Policy], tolerance: Double? = nil) {
        self.stabilizationWindowSeconds = stabilizationWindowSeconds
        self.selectPolicy = selectPolicy
        self.policies = policies
        self.tolerance = tolerance
    }

    /// `rules` (HPAScalingRules JSON) over `defaults`.
    init(_ rules: JSON?, defaults: HPAScalingRules) {
        self = defaults
        guard let rules, rules.isObject else { return }
        if let p = rules["selectPolicy"]?.stringValue { selectPolicy = p }
        if let w = rules["stabilizationWindowSeconds"]?.int64Value { stabilizationWindowSeconds = Int32(clamping: w) }
        if let list = rules["policies"]?.arrayValue {
            policies = list.map {
                Policy(type: $0["type"]?.stringValue ?? "", value: Int32(clamping: $0["value"]?.int64Value ?? 0),
                       periodSeconds: Int32(clamping: $0["periodSeconds"]?.int64Value ?? 0))
            }
        }
        if let t = rules["tolerance"], !t.isNull, let q = try? Quantity(json: t) {
            // AsApproximateFloat64, to the precision a tolerance needs.
            tolerance = Double(q.scaledValue(-9)) / 1e9
        }
    }

    var longestPeriodSeconds: Int32 { policies.map(\.periodSeconds).max() ?? 0 }
}

/// spec.behavior with defaults; nil when the HPA has none, for which upstream keeps its
/// older rules (a downscale stabilization window and scale-ups of at most 2x or 4 pods).
struct HPABehavior: Sendable, Equatable {
    var scaleUp: HPAScalingRules
    var scaleDown: HPAScalingRules

    init(scaleUp: HPAScalingRules = .defaultScaleUp, scaleDown: HPAScalingRules = .defaultScaleDown(windowSeconds: 300)) {
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }

    init?(_ behavior: JSON?, downscaleStabilizationWindowSeconds: Int32) {
        guard let behavior, behavior.isObject else { return nil }
        scaleUp = HPAScalingRules(behavior["scaleUp"], defaults: .defaultScaleUp)
        scaleDown = HPAScalingRules(behavior["scaleDown"], defaults: .defaultScaleDown(windowSeconds: downscaleStabilizationWindowSeconds))
    }
}

/// The outcome of normalizing a metrics proposal: the replicas to set and the
/// AbleToScale (stabilization) and ScalingLimited (rate, min, max) verdicts.
struct Normalization: Sendable, Equatable {
    var replicas: Int32
    var stabilizedReason: String
    var stabilizedMessage: String
    var limited: Bool
    var limitedReason: String
    var limitedMessage: String
}

/// What the controller remembers of one HPA between syncs, in memory as upstream does:
/// its unstabilized recommendations, and the scale changes it made (for the rate
/// policies). Lost on restart, as upstream's.
struct AutoscalerHistory: Sendable, Equatable {
    struct Recommendation: Sendable, Equatable {
        var replicas: Int32
        var at: Timestamp
    }

    struct ScaleEvent: Sendable, Equatable {
        /// How many pods were added (or removed), never negative.
        var change: Int32
        var at: Timestamp
        /// Older than every policy period: its slot may be reused.
        var outdated = false
    }

    var recommendations: [Recommendation] = []
    var scaleUpEvents: [ScaleEvent] = []
    var scaleDownEvents: [ScaleEvent] = []

    /// The first sync's current size is the first recommendation, so a new HPA does not
    /// scale down before a window of evidence.
    mutating func recordInitial(_ current: Int32, now: Timestamp) {
        if recommendations.isEmpty { recommendations = [Recommendation(replicas: current, at: now)] }
    }

    /// Brings a metrics proposal within stabilization, rate and min/max limits.
    mutating func normalize(current: Int32, desired: Int32, minReplicas: Int32, maxReplicas: Int32, behavior: HPABehavior?,
                            downscaleStabilizationWindowSeconds: Int64, now: Timestamp) -> Normalization {
        let stabilized: Int32
        var reason = "ReadyForNewScale"
        var message = "recommended size matches current size"
        let limit: (replicas: Int32, reason: String, message: String)
        if let behavior {
            let s = stabilize(current: current, desired: desired, behavior: behavior, now: now)
            stabilized = s.replicas
            if stabilized != desired { (reason, message) = (s.reason, s.message) }
            limit = limitRate(current: current, desired: stabilized, minReplicas: minReplicas, maxReplicas: maxReplicas, behavior: behavior, now: now)
        } else {
            stabilized = stabilize(desired: desired, windowSeconds: downscaleStabilizationWindowSeconds, now: now)
            if stabilized != desired {
                reason = "ScaleDownStabilized"
                message = "recent recommendations were higher than current one, applying the highest recent recommendation"
            }
            limit = Self.limitWithoutBehavior(current: current, desired: stabilized, minReplicas: minReplicas, maxReplicas: maxReplicas)
        }
        return Normalization(replicas: limit.replicas, stabilizedReason: reason, stabilizedMessage: message,
                             limited: limit.replicas != stabilized, limitedReason: limit.reason, limitedMessage: limit.message)
    }

    /// Without behavior: the highest recommendation of the downscale window; the oldest
    /// expired recommendation's slot takes the new one.
    mutating func stabilize(desired: Int32, windowSeconds: Int64, now: Timestamp) -> Int32 {
        let cutoff = now.adding(seconds: -windowSeconds)
        var highest = desired
        var expired: Int?
        for (i, r) in recommendations.enumerated() {
            if r.at < cutoff {
                expired = i
            } else if r.replicas > highest {
                highest = r.replicas
            }
        }
        record(desired, at: now, replacing: expired)
        return highest
    }

    /// With behavior: held between the lowest recommendation of the scale-up window and
    /// the highest of the scale-down window, starting from the current size.
    mutating func stabilize(current: Int32, desired: Int32, behavior: HPABehavior,
                            now: Timestamp) -> (replicas: Int32, reason: String, message: String) {
        let upCutoff = now.adding(seconds: -Int64(behavior.scaleUp.stabilizationWindowSeconds))
        let downCutoff = now.adding(seconds: -Int64(behavior.scaleDown.stabilizationWindowSeconds))
        var up = desired
        var down = desired
        var expired: Int?
        for (i, r) in recommendations.enumerated() {
            if upCutoff < r.at { up = min(up, r.replicas) }
            if downCutoff < r.at { down = max(down, r.replicas) }
            if r.at < upCutoff, r.at < downCutoff { expired = i }
        }
        var replicas = current
        if replicas < up { replicas = up }
        if replicas > down { replicas = down }
        record(desired, at: now, replacing: expired)
        if desired >= current {
            return (replicas, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation")
        }
        return (replicas, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
    }

    private mutating func record(_ replicas: Int32, at now: Timestamp, replacing expired: Int?) {
        let r = Recommendation(replicas: replicas, at: now)
        if let expired { recommendations[expired] = r } else { recommendations.append(r) }
    }

    /// The older rules: min and max, and no more than double (or 4) per step.
    static func limitWithoutBehavior(current: Int32, desired: Int32, minReplicas: Int32,
                                     maxReplicas: Int32) -> (replicas: Int32, reason: String, message: String) {
        let scaleUpLimit = ReplicaCalculator.ceil(max(2 * Double(current), 4))
        var maximum = maxReplicas
        var reason = "TooManyReplicas"
        var message = "the desired replica count is more than the maximum replica count"
        if maxReplicas > scaleUpLimit {
            maximum = scaleUpLimit
            reason = "ScaleUpLimit"
            message = "the desired replica count is increasing faster than the maximum scale rate"
        }
        if desired < minReplicas {
            return (minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
        }
        if desired > maximum { return (maximum, reason, message) }
        return (desired, "DesiredWithinRange", "the desired count is within the acceptable range")
    }

    /// With behavior: min and max, and the scale-up or scale-down policies' rate over
    /// their periods.
    func limitRate(current: Int32, desired: Int32, minReplicas: Int32, maxReplicas: Int32, behavior: HPABehavior,
                   now: Timestamp) -> (replicas: Int32, reason: String, message: String) {
        if desired > current {
            let scaleUpLimit = max(current, scaleUpLimit(current: current, rules: behavior.scaleUp, now: now))
            var maximum = maxReplicas
            var reason = "TooManyReplicas"
            var message = "the desired replica count is more than the maximum replica count"
            if maximum > scaleUpLimit {
                maximum = scaleUpLimit
                reason = "ScaleUpLimit"
                message = "the desired replica count is increasing faster than the maximum scale rate"
            }
            if desired > maximum { return (maximum, reason, message) }
        } else if desired < current {
            let scaleDownLimit = min(current, scaleDownLimit(current: current, rules: behavior.scaleDown, now: now))
            var minimum = minReplicas
            var reason = "TooFewReplicas"
            var message = "the desired replica count is less than the minimum replica count"
            if minimum < scaleDownLimit {
                minimum = scaleDownLimit
                reason = "ScaleDownLimit"
                message = "the desired replica count is decreasing faster than the maximum scale rate"
            }
            if desired < minimum { return (minimum, reason, message) }
        }
        return (desired, "DesiredWithinRange", "the desired count is within the acceptable range")
    }

    /// Pods added (or removed) by events within the last `periodSeconds`.
    static func change(within periodSeconds: Int32, _ events: [ScaleEvent], now: Timestamp) -> Int32 {
        let cutoff = now.adding(seconds: -Int64(periodSeconds))
        return events.filter { cutoff < $0.at }.reduce(0) { $0 + $1.change }
    }

    /// The most replicas the scale-up policies allow now: each policy from the size at
    /// the start of its period; Max takes the most generous, Min the least.
    func scaleUpLimit(current: Int32, rules: HPAScalingRules, now: Timestamp) -> Int32 {
        if rules.selectPolicy == "Disabled" { return current }
        let useMin = rules.selectPolicy == "Min"
        var result: Int32 = useMin ? .max : .min
        for p in rules.policies {
            let start = current - Self.change(within: p.periodSeconds, scaleUpEvents, now: now)
                + Self.change(within: p.periodSeconds, scaleDownEvents, now: now)
            let proposed: Int32 = p.type == "Pods" ? start &+ p.value
                : p.type == "Percent" ? ReplicaCalculator.ceil(Double(start) * (1 + Double(p.value) / 100)) : 0
            result = useMin ? min(result, proposed) : max(result, proposed)
        }
        return result
    }

    /// The fewest replicas the scale-down policies allow now.
    func scaleDownLimit(current: Int32, rules: HPAScalingRules, now: Timestamp) -> Int32 {
        if rules.selectPolicy == "Disabled" { return current }
        let useMin = rules.selectPolicy == "Min"
        var result: Int32 = useMin ? .min : .max
        for p in rules.policies {
            let start = current - Self.change(within: p.periodSeconds, scaleUpEvents, now: now)
                + Self.change(within: p.periodSeconds, scaleDownEvents, now: now)
            let proposed: Int32 = p.type == "Pods" ? start &- p.value
                : p.type == "Percent" ? Self.truncate(Double(start) * (1 - Double(p.value) / 100)) : 0
            result = useMin ? max(result, proposed) : min(result, proposed)
        }
        return result
    }

    static func truncate(_ x: Double) -> Int32 {
        x.isNaN ? 0 : x >= Double(Int32.max) ? .max : x <= Double(Int32.min) ? .min : Int32(x)
    }

    /// Remembers a rescale for the rate policies (only HPAs with behavior use them),
    /// reusing the slot of an event older than every policy period.
    mutating func recordScale(behavior: HPABehavior?, from previous: Int32, to new: Int32, now: Timestamp) {
        guard let behavior else { return }
        let up = new > previous
        let period = up ? behavior.scaleUp.longestPeriodSeconds : behavior.scaleDown.longestPeriodSeconds
        let cutoff = now.adding(seconds: -Int64(period))
        var events = up ? scaleUpEvents : scaleDownEvents
        for i in events.indices where events[i].at < cutoff { events[i].outdated = true }
        let event = ScaleEvent(change: up ? new - previous : previous - new, at: now)
        if let slot = events.lastIndex(where: \.outdated) { events[slot] = event } else { events.append(event) }
        if up { scaleUpEvents = events } else { scaleDownEvents = events }
    }
}

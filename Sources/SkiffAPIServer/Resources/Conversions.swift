import SkiffAPI
import SkiffCore

/// Two versions that are views of one stored object: the storage version is stored, the
/// other is converted on the way in and out (upstream's conversion functions).
public struct StorageConversion: Sendable {
    /// The stored object, as this version shows it.
    public var fromStorage: @Sendable (JSON) -> JSON
    /// This version's object, as it is stored.
    public var toStorage: @Sendable (JSON) -> JSON
}

enum Conversions {
    /// events.k8s.io/v1 Events are core/v1 Events with other field names.
    static let eventsV1: StorageConversion = {
        // (events.k8s.io/v1 name, core/v1 name)
        let renames = [("regarding", "involvedObject"), ("note", "message"), ("reportingController", "reportingComponent"),
                       ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
                       ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count")]
        return StorageConversion(
            fromStorage: { core in
                var e = rename(core, renames.map { ($0.1, $0.0) })
                e.apiVersion = "events.k8s.io/v1"
                return e
            },
            toStorage: { e in
                var core = rename(e, renames)
                core.apiVersion = "v1"
                return core
            })
    }()

    /// autoscaling/v1 HorizontalPodAutoscalers are autoscaling/v2 ones seen through a CPU
    /// utilisation target.
    static let hpaV1 = StorageConversion(
        fromStorage: { v2 in
            var v1 = v2
            v1.apiVersion = "autoscaling/v1"
            v1[path: ["spec", "metrics"]] = nil
            v1[path: ["spec", "behavior"]] = nil
            if let cpu = cpuMetric(v2[path: ["spec", "metrics"]]) {
                v1[path: ["spec", "targetCPUUtilizationPercentage"]] = cpu[path: ["resource", "target", "averageUtilization"]]
            }
            v1[path: ["status", "currentMetrics"]] = nil
            v1[path: ["status", "conditions"]] = nil
            if let cpu = cpuMetric(v2[path: ["status", "currentMetrics"]]), let u = cpu[path: ["resource", "current", "averageUtilization"]] {
                v1[path: ["status", "currentCPUUtilizationPercentage"]] = u
            }
            return v1
        },
        toStorage: { v1 in
            var v2 = v1
            v2.apiVersion = "autoscaling/v2"
            if let target = v1[path: ["spec", "targetCPUUtilizationPercentage"]] {
                v2[path: ["spec", "metrics"]] = [["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": target]]]]
            }
            v2[path: ["spec", "targetCPUUtilizationPercentage"]] = nil
            if let current = v1[path: ["status", "currentCPUUtilizationPercentage"]] {
                v2[path: ["status", "currentMetrics"]] = [["type": "Resource", "resource": ["name": "cpu", "current": ["averageUtilization": current]]]]
            }
            v2[path: ["status", "currentCPUUtilizationPercentage"]] = nil
            return v2
        })

    static func cpuMetric(_ metrics: JSON?) -> JSON? {
        metrics?.arrayValue?.first { $0["type"] == "Resource" && $0[path: ["resource", "name"]] == "cpu" }
    }

    /// Renames top-level fields, keeping their positions.
    static func rename(_ o: JSON, _ pairs: [(String, String)]) -> JSON {
        guard let obj = o.objectValue else { return o }
        let map = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        var out = JSONObject()
        for (k, v) in obj { out[map[k] ?? k] = v }
        return .object(out)
    }
}

extension APIHandler {
    /// Stored bytes as the client's version shows them.
    func outgoing(_ r: ResourceInfo, _ bytes: [UInt8]) -> [UInt8] {
        guard let c = r.conversion, let o = try? JSON.parse(bytes) else { return bytes }
        return c.fromStorage(o).serialized()
    }

    /// A stored object in the client's version.
    func served(_ r: ResourceInfo, _ stored: JSON) -> JSON {
        r.conversion?.fromStorage(stored) ?? stored
    }

    /// A client-version object as it is stored.
    func storable(_ r: ResourceInfo, _ object: JSON) -> JSON {
        r.conversion?.toStorage(object) ?? object
    }
}

import SkiffAPI
import SkiffCore

/// The resource metrics API (metrics.k8s.io/v1beta1), served by the API server itself from
/// what ResourceMetricsScraper collected, as metrics-server serves it behind an APIService
/// upstream: NodeMetrics and PodMetrics, get and list only, never stored. A node or pod
/// appears once it has two points to compute its CPU rate from.
enum ResourceMetricsAPI {
    static let group = "metrics.k8s.io"
    static let version = "v1beta1"
    static let apiVersion = "metrics.k8s.io/v1beta1"

    /// The two resources as discovery lists them (verbs get and list, as metrics-server's).
    /// Their storage prefix matches no key: nothing of them is in the store.
    static let resources: [ResourceInfo] = [
        ResourceInfo(group: group, version: version, kind: "NodeMetrics", resource: "nodes", singular: "", namespaced: false,
                     verbs: ["get", "list"], storagePrefix: "/skiff-not-stored/metrics.k8s.io/nodes/", strategy: ResourceStrategy()),
        ResourceInfo(group: group, version: version, kind: "PodMetrics", resource: "pods", singular: "", namespaced: true,
                     verbs: ["get", "list"], storagePrefix: "/skiff-not-stored/metrics.k8s.io/pods/", strategy: ResourceStrategy()),
    ]

    static let tableColumns: [JSON] = [
        ["name": "Name", "type": "string", "format": "name", "description": "Name of the resource", "priority": 0],
        ["name": "CPU", "type": "string", "format": "", "description": "CPU consumption", "priority": 0],
        ["name": "Memory", "type": "string", "format": "", "description": "Memory consumption", "priority": 0],
        ["name": "Window", "type": "string", "format": "", "description": "Interval over which metrics are collected", "priority": 0],
    ]

    /// CPU in nanocores and memory in bytes, as metrics-server formats them ("12345n",
    /// "2048Ki": upstream's canonical Quantity strings).
    static func usage(cpuNanocores: UInt64, memoryBytes: UInt64) -> JSON {
        ["cpu": Quantity(Int64(clamping: cpuNanocores), scale: -9).json, "memory": Quantity(Int64(clamping: memoryBytes), format: .binarySI).json]
    }

    static func time(_ nanoseconds: Int64) -> JSON {
        let (s, ns) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        return .string(Timestamp(seconds: s, nanoseconds: Int32(ns)).rfc3339)
    }

    /// Go's time.Duration.String() ("15.004s", "1m0.5s", "250ms"), as metav1.Duration
    /// serializes a window.
    static func goDuration(_ nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let sign = nanoseconds < 0 ? "-" : ""
        var u = nanoseconds.magnitude
        /// `v` with its last `digits` digits after a decimal point, trailing zeros dropped.
        func fraction(_ v: UInt64, _ digits: Int) -> String {
            var divisor: UInt64 = 1
            for _ in 0..<digits { divisor *= 10 }
            var frac = String(v % divisor)
            frac = String(repeating: "0", count: digits - frac.count) + frac
            while frac.last == "0" { frac.removeLast() }
            return String(v / divisor) + (frac.isEmpty ? "" : "." + frac)
        }
        if u < 1_000_000_000 {
            if u < 1000 { return sign + "\(u)ns" }
            if u < 1_000_000 { return sign + fraction(u, 3) + "µs" }
            return sign + fraction(u, 6) + "ms"
        }
        let seconds = fraction(u % 60_000_000_000, 9) + "s"
        u /= 60_000_000_000
        if u == 0 { return sign + seconds }
        let minutes = "\(u % 60)m"
        u /= 60
        return sign + (u > 0 ? "\(u)h" : "") + minutes + seconds
    }
}

extension APIHandler {
    /// A request under /apis/metrics.k8s.io.
    func resourceMetrics(_ info: RequestInfo, _ req: APIRequest) async throws(APIError) -> APIResponse {
        let notFound = APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        guard info.version == ResourceMetricsAPI.version, info.subresource == nil,
              info.resource == "nodes" ? info.namespace == nil : info.resource == "pods" else { throw notFound }
        if info.resource == "pods", info.namespace == nil, info.name != nil { throw notFound }
        guard req.method == "GET" || req.method == "HEAD" else {
            throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
        if let watch = req.queryValue("watch"), watch == "true" || watch == "1" {
            throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
        guard let objects = registry.lookup(group: "", version: "v1", resource: info.resource) else { throw .internalError("\(info.resource) are not served") }
        let accept = Accept(req.header("accept"), query: req)
        // The nodes and pods as of the latest write (metrics-server reads an informer's,
        // a little behind; reading ours as of now costs nothing).
        if req.queryValue("resourceVersion") != "0" { await consistentRead() }
        var items: [JSON] = []
        if let name = info.name {
            guard let object = await cache.get(objects, key: objects.key(namespace: info.namespace, name: name)) else {
                throw objects.notFound(name)
            }
            guard let item = metricsItem(info.resource, object) else {
                throw info.resource == "nodes"
                    ? .notFound("nodemetrics", name, group: ResourceMetricsAPI.group)
                    : .notFound("podmetrics", "\(info.namespace ?? "")/\(name)", group: ResourceMetricsAPI.group)
            }
            items = [item]
        } else {
            let filter = try self.filter(objects, RequestInfo(target: .resource, namespace: info.namespace), req)
            let (candidates, _) = await cache.list(objects, filter: filter)
            items = candidates.compactMap { metricsItem(info.resource, $0) }
        }
        let kind = info.resource == "nodes" ? "NodeMetrics" : "PodMetrics"
        if accept.wantsTable {
            return .json(200, metricsTable(items, includeObject: accept.includeObject, kind: kind), contentType: Tables.contentType)
        }
        if info.name != nil, var item = items.first?.objectValue {
            var typed: JSONObject = ["kind": .string(kind), "apiVersion": .string(ResourceMetricsAPI.apiVersion)]
            for (k, v) in item where k != "kind" && k != "apiVersion" { typed[k] = v }
            item = typed
            return .json(200, .object(item))
        }
        return .json(200, ["kind": .string(kind + "List"), "apiVersion": .string(ResourceMetricsAPI.apiVersion), "metadata": [:],
                           "items": .array(items)])
    }

    /// A NodeMetrics or PodMetrics for the cached node or pod, nil while it has no usage.
    /// Its labels are the object's, its creationTimestamp now, as metrics-server's.
    private func metricsItem(_ resource: String, _ object: CachedObject) -> JSON? {
        var metadata: JSONObject = ["name": .string(object.name)]
        if resource == "pods" { metadata["namespace"] = .string(object.namespace) }
        metadata["creationTimestamp"] = .string(Timestamp.now().rfc3339)
        if !object.labels.isEmpty { metadata["labels"] = .object(JSONObject(object.labels.map { ($0.0, JSON.string($0.1)) })) }
        if resource == "nodes" {
            guard let usage = resourceMetrics.node(object.name) else { return nil }
            return ["metadata": .object(metadata), "timestamp": ResourceMetricsAPI.time(usage.timestamp),
                    "window": .string(ResourceMetricsAPI.goDuration(usage.window)),
                    "usage": ResourceMetricsAPI.usage(cpuNanocores: usage.cpuNanocores, memoryBytes: usage.memoryBytes)]
        }
        guard let usage = resourceMetrics.pod(PodReference(namespace: object.namespace, name: object.name)) else { return nil }
        let containers: [JSON] = usage.containers.sorted { $0.key < $1.key }.map { name, c in
            ["name": .string(name), "usage": ResourceMetricsAPI.usage(cpuNanocores: c.cpuNanocores, memoryBytes: c.memoryBytes)]
        }
        return ["metadata": .object(metadata), "timestamp": ResourceMetricsAPI.time(usage.timestamp),
                "window": .string(ResourceMetricsAPI.goDuration(usage.window)), "containers": .array(containers)]
    }

    /// The Table metrics-server prints: name, CPU, memory (a pod's summed over its
    /// containers) and window.
    private func metricsTable(_ items: [JSON], includeObject: String, kind: String) -> JSON {
        let rows: [JSON] = items.map { item in
            // Sums keep the first addend's format, as Quantity.Add on a zero Quantity.
            var cpu: Quantity?, memory: Quantity?
            let usages = item["usage"].map { [$0] } ?? (item["containers"]?.arrayValue ?? []).compactMap { $0["usage"] }
            for usage in usages {
                if let c = usage["cpu"].flatMap({ try? Quantity(json: $0) }) { cpu = cpu.map { $0 + c } ?? c }
                if let m = usage["memory"].flatMap({ try? Quantity(json: $0) }) { memory = memory.map { $0 + m } ?? m }
            }
            var row: JSONObject = ["cells": [item["metadata"]?["name"] ?? "", .string((cpu ?? .zero).description),
                                             .string((memory ?? .zero).description), item["window"] ?? ""]]
            switch includeObject {
            case "None": break
            case "Object":
                var object: JSONObject = ["kind": .string(kind), "apiVersion": .string(ResourceMetricsAPI.apiVersion)]
                for (k, v) in item.objectValue ?? [:] { object[k] = v }
                row["object"] = .object(object)
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"] ?? [:]]
            }
            return .object(row)
        }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": [:], "columnDefinitions": .array(ResourceMetricsAPI.tableColumns),
                "rows": .array(rows)]
    }
}

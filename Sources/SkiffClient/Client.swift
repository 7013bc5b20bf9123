import SkiffAPI
import SkiffCore

/// A resource as the client addresses it (group, version, plural), with the few kinds the
/// control plane works on named here.
public struct Resource: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The collection's path, in a namespace or across all of them.
    public func path(namespace: String? = nil, name: String? = nil, subresource: String? = nil) -> String {
        var p = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { p += "/namespaces/\(namespace)" }
        p += "/\(plural)"
        if let name { p += "/\(name)" }
        if let subresource { p += "/\(subresource)" }
        return p
    }

    public static let namespaces = Resource(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    public static let nodes = Resource(group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false)
    public static let leases = Resource(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true)
    public static let pods = Resource(group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true)
    public static let events = Resource(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true)
    public static let replicaSets = Resource(group: "apps", version: "v1", plural: "replicasets", kind: "ReplicaSet", namespaced: true)
    public static let deployments = Resource(group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true)
    public static let daemonSets = Resource(group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet", namespaced: true)
    public static let statefulSets = Resource(group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet", namespaced: true)
    public static let controllerRevisions = Resource(group: "apps", version: "v1", plural: "controllerrevisions", kind: "ControllerRevision", namespaced: true)
    public static let replicationControllers = Resource(group: "", version: "v1", plural: "replicationcontrollers", kind: "ReplicationController", namespaced: true)
    public static let jobs = Resource(group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true)
    public static let cronJobs = Resource(group: "batch", version: "v1", plural: "cronjobs", kind: "CronJob", namespaced: true)
    public static let services = Resource(group: "", version: "v1", plural: "services", kind: "Service", namespaced: true)
    public static let endpoints = Resource(group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true)
    public static let endpointSlices = Resource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true)
    public static let persistentVolumeClaims = Resource(group: "", version: "v1", plural: "persistentvolumeclaims", kind: "PersistentVolumeClaim", namespaced: true)
    public static let serviceAccounts = Resource(group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true)
    public static let podDisruptionBudgets = Resource(group: "policy", version: "v1", plural: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true)
    public static let priorityClasses = Resource(group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses", kind: "PriorityClass", namespaced: false)
    public static let resourceQuotas = Resource(group: "", version: "v1", plural: "resourcequotas", kind: "ResourceQuota", namespaced: true)
    public static let limitRanges = Resource(group: "", version: "v1", plural: "limitranges", kind: "LimitRange", namespaced: true)
}

/// What a list returns: the items and the revision to watch from.
public struct ObjectList: Sendable {
    public var items: [JSON]
    public var resourceVersion: String
    public var continueToken: String?
}

/// One watch event, decoded.
public struct WatchEvent: Sendable {
    public enum EventType: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR" }
    public var type: EventType
    public var object: JSON
}

/// The dynamic client: every verb on any resource, objects as JSON (the source of truth,
/// read through the accessors in SkiffAPI).
public struct Client: Sendable {
    public let transport: any Transport

    public init(transport: any Transport) { self.transport = transport }

    func call(_ request: ClientRequest, expect: Set<Int> = [200, 201]) async throws -> JSON {
        let response = try await transport.send(request)
        guard expect.contains(response.status) else { throw ClientError(status: response.status, body: response.body) }
        do {
            return try JSON.parse(response.body)
        } catch {
            throw ClientError(code: response.status, reason: "InvalidResponse", message: "\(error)")
        }
    }

    public func get(_ r: Resource, namespace: String? = nil, _ name: String) async throws -> JSON {
        try await call(ClientRequest(method: "GET", path: r.path(namespace: namespace, name: name)))
    }

    public func list(_ r: Resource, namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
                     limit: Int? = nil, continue token: String? = nil) async throws -> ObjectList {
        var query: [(String, String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let token { query.append(("continue", token)) }
        let list = try await call(ClientRequest(method: "GET", path: r.path(namespace: namespace), query: query))
        return ObjectList(items: list["items"]?.arrayValue ?? [],
                          resourceVersion: list[path: ["metadata", "resourceVersion"]]?.stringValue ?? "",
                          continueToken: list[path: ["metadata", "continue"]]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }

    @discardableResult
    public func create(_ r: Resource, namespace: String? = nil, _ object: JSON) async throws -> JSON {
        try await call(ClientRequest(method: "POST", path: r.path(namespace: namespace), body: object.serialized()))
    }

    /// Replaces the object (optimistic concurrency on its resourceVersion).
    @discardableResult
    public func update(_ r: Resource, _ object: JSON, subresource: String? = nil) async throws -> JSON {
        try await call(ClientRequest(method: "PUT", path: r.path(namespace: object.namespace, name: object.name ?? "", subresource: subresource),
                                     body: object.serialized()))
    }

    @discardableResult
    public func patch(_ r: Resource, namespace: String? = nil, _ name: String, merge patch: JSON, subresource: String? = nil) async throws -> JSON {
        try await call(ClientRequest(method: "PATCH", path: r.path(namespace: namespace, name: name, subresource: subresource),
                                     body: patch.serialized(), contentType: "application/merge-patch+json"))
    }

    /// Deletes the object; a missing object is not an error when `ignoreNotFound`.
    public func delete(_ r: Resource, namespace: String? = nil, _ name: String, propagationPolicy: String? = nil,
                       preconditionUID: String? = nil, ignoreNotFound: Bool = false) async throws {
        var options: JSON = ["kind": "DeleteOptions", "apiVersion": "v1"]
        if let propagationPolicy { options["propagationPolicy"] = .string(propagationPolicy) }
        if let preconditionUID { options["preconditions"] = ["uid": .string(preconditionUID)] }
        do {
            _ = try await call(ClientRequest(method: "DELETE", path: r.path(namespace: namespace, name: name), body: options.serialized()),
                               expect: [200, 202])
        } catch let e as ClientError where e.isNotFound && ignoreNotFound {}
    }

    public func deleteCollection(_ r: Resource, namespace: String? = nil) async throws {
        _ = try await call(ClientRequest(method: "DELETE", path: r.path(namespace: namespace)), expect: [200])
    }

    /// Watches from `resourceVersion`; the stream ends when the server closes the watch.
    /// An expired revision arrives as an ERROR event carrying a 410 Status.
    public func watch(_ r: Resource, namespace: String? = nil, resourceVersion: String, labelSelector: String? = nil,
                      fieldSelector: String? = nil, timeoutSeconds: Int = 300) async throws -> AsyncThrowingStream<WatchEvent, any Error> {
        var query: [(String, String)] = [("watch", "true"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
                                         ("timeoutSeconds", String(timeoutSeconds))]
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let chunks = try await transport.stream(ClientRequest(method: "GET", path: r.path(namespace: namespace), query: query))
        return AsyncThrowingStream { continuation in
            let task = Task {
                var pending: [UInt8] = []
                do {
                    for try await chunk in chunks {
                        pending += chunk
                        while let newline = pending.firstIndex(of: 0x0A) {
                            let line = pending[..<newline]
                            if !line.isEmpty {
                                let e = try JSON.parse(line)
                                let type = WatchEvent.EventType(rawValue: e["type"]?.stringValue ?? "") ?? .error
                                continuation.yield(WatchEvent(type: type, object: e["object"] ?? [:]))
                            }
                            pending.removeSubrange(...newline)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension Client {
    /// Every resource the server serves, from legacy discovery (/api/v1, /apis and each
    /// group's preferred version), with the verbs it supports; subresources left out.
    public func serverResources() async throws -> [(resource: Resource, verbs: Set<String>)] {
        var out: [(Resource, Set<String>)] = []
        func add(_ group: String, _ version: String, _ list: JSON) {
            for r in list["resources"]?.arrayValue ?? [] {
                guard let plural = r["name"]?.stringValue, !plural.contains("/") else { continue }
                out.append((Resource(group: group, version: version, plural: plural, kind: r["kind"]?.stringValue ?? "",
                                     namespaced: r["namespaced"]?.boolValue ?? false),
                            Set(r["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? [])))
            }
        }
        add("", "v1", try await call(ClientRequest(method: "GET", path: "/api/v1")))
        for g in try await call(ClientRequest(method: "GET", path: "/apis"))["groups"]?.arrayValue ?? [] {
            guard let name = g["name"]?.stringValue, let version = g[path: ["preferredVersion", "version"]]?.stringValue else { continue }
            add(name, version, try await call(ClientRequest(method: "GET", path: "/apis/\(name)/\(version)")))
        }
        return out
    }
}

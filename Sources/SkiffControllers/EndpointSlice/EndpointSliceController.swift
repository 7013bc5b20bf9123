import SkiffAPI
import SkiffClient
import SkiffCore

/// Keeps each Service's EndpointSlices (discovery.k8s.io/v1) and its Endpoints
/// (core/v1) equal to the pods its selector picks, as upstream's endpointslice and
/// endpoints controllers: one endpoint per pod with an IP, ready only when the pod is
/// Ready and not terminating, serving when Ready, terminating when being deleted; ports
/// resolved per pod (a named targetPort may differ between pods, which then land in
/// different slices); at most 100 endpoints per slice. Services without a selector are
/// left to their owners.
public final class EndpointSliceController: Controller {
    public let name = "endpointslice"
    public let queue = WorkQueue(name: "endpointslice")
    let client: Client
    let services: Informer
    let pods: Informer
    let slices: Informer

    static let serviceNameLabel = "kubernetes.io/service-name"
    static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
    static let managedBy = "endpointslice-controller.k8s.io"
    static let maxEndpoints = 100

    public init(factory: InformerFactory) {
        client = factory.client
        services = factory.informer(.services)
        pods = factory.informer(.pods)
        slices = factory.informer(.endpointSlices)
        services.addHandler { [queue] e in
            switch e {
            case .added(let s), .updated(_, let s), .deleted(let s): queue.add(objectKey(s))
            }
        }
        pods.addHandler { [weak self] e in
            switch e {
            case .added(let p), .deleted(let p): self?.enqueueServices(selecting: p)
            case .updated(let old, let new):
                self?.enqueueServices(selecting: old)
                self?.enqueueServices(selecting: new)
            }
        }
        slices.addHandler { [queue] e in
            switch e {
            case .added(let s), .updated(_, let s), .deleted(let s):
                if s.labels[Self.managedByLabel] == Self.managedBy, let svc = s.labels[Self.serviceNameLabel] {
                    queue.add("\(s.namespace ?? "")/\(svc)")
                }
            }
        }
    }

    func enqueueServices(selecting pod: JSON) {
        for svc in services.indexer.list(namespace: pod.namespace ?? "") {
            let selector = stringMap(svc[path: ["spec", "selector"]])
            if !selector.isEmpty, selector.allSatisfy({ pod.labels[$0.key] == $0.value }) { queue.add(objectKey(svc)) }
        }
    }

    struct Endpoint {
        var pod: JSON
        var ip: String
        var ready: Bool
        var serving: Bool
        var terminating: Bool
        /// The pod's hostname when its subdomain is the Service's name: what gives it a
        /// DNS name such as web-0.nginx.
        var hostname: String?
    }

    public func sync(key: String) async throws {
        let (namespace, name) = splitKey(key)
        guard let svc = services.indexer.get(key) else {
            // Slices go with the Service (the GC, by owner); Endpoints by name, as upstream.
            try await client.delete(.endpoints, namespace: namespace, name, ignoreNotFound: true)
            return
        }
        let selector = stringMap(svc[path: ["spec", "selector"]])
        guard !selector.isEmpty, svc[path: ["spec", "type"]]?.stringValue != "ExternalName" else { return }
        let ports = svc[path: ["spec", "ports"]]?.arrayValue ?? []
        let publishNotReady = svc[path: ["spec", "publishNotReadyAddresses"]]?.boolValue == true

        // Group endpoints by their resolved ports.
        var groups: [[JSON]: [Endpoint]] = [:]
        for pod in pods.indexer.list(namespace: namespace ?? "") where selector.allSatisfy({ pod.labels[$0.key] == $0.value }) {
            let phase = pod[path: ["status", "phase"]]?.stringValue
            guard phase != "Succeeded", phase != "Failed", let ip = pod[path: ["status", "podIP"]]?.stringValue, !ip.isEmpty else { continue }
            let terminating = pod.deletionTimestamp != nil
            // publishNotReadyAddresses: every pod counts as ready (peers finding each
            // other before they are ready, as StatefulSets' headless Services need).
            let ready = publishNotReady
                || pod[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } ?? false
            let resolved = ports.compactMap { Self.resolve($0, pod) }
            let hostname = pod[path: ["spec", "subdomain"]]?.stringValue == svc.name ? pod[path: ["spec", "hostname"]]?.stringValue : nil
            groups[resolved, default: []].append(Endpoint(pod: pod, ip: ip, ready: ready && (!terminating || publishNotReady), serving: ready,
                                                          terminating: terminating, hostname: hostname.flatMap { $0.isEmpty ? nil : $0 }))
        }
        try await reconcileSlices(svc, groups: groups)
        try await reconcileEndpoints(svc, name: name, groups: groups)
    }

    /// A service port as a pod serves it: the targetPort (number, or name looked up in
    /// the pod's container ports; default: the port). nil when the pod has no such port.
    static func resolve(_ port: JSON, _ pod: JSON) -> JSON? {
        let proto = port["protocol"]?.stringValue ?? "TCP"
        var number = port["targetPort"]?.int64Value ?? port["port"]?.int64Value
        if let named = port["targetPort"]?.stringValue {
            if let n = Int64(named) {
                number = n
            } else {
                number = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).flatMap { $0["ports"]?.arrayValue ?? [] }
                    .first { $0["name"]?.stringValue == named && ($0["protocol"]?.stringValue ?? "TCP") == proto }?["containerPort"]?.int64Value
            }
        }
        guard let number else { return nil }
        var out: JSON = ["name": .string(port["name"]?.stringValue ?? ""), "port": .number(JSONNumber(number)), "protocol": .string(proto)]
        if let app = port["appProtocol"] { out["appProtocol"] = app }
        return out
    }

    func reconcileSlices(_ svc: JSON, groups: [[JSON]: [Endpoint]]) async throws {
        let namespace = svc.namespace ?? ""
        let svcName = svc.name ?? ""
        var desired: [(ports: [JSON], endpoints: [JSON])] = []
        for (ports, endpoints) in groups.sorted(by: { $0.key.description < $1.key.description }) {
            let sorted = endpoints.sorted { $0.ip < $1.ip }
            for start in stride(from: 0, to: sorted.count, by: Self.maxEndpoints) {
                desired.append((ports, sorted[start..<min(sorted.count, start + Self.maxEndpoints)].map(Self.endpointJSON)))
            }
        }
        // A Service with no endpoints still gets one (empty) slice, as upstream.
        if desired.isEmpty { desired.append(([], [])) }
        var existing = slices.indexer.list(namespace: namespace).filter {
            $0.labels[Self.serviceNameLabel] == svcName && $0.labels[Self.managedByLabel] == Self.managedBy
                && controllerRef($0)?["uid"]?.stringValue == svc.uid
        }.sorted { ($0.name ?? "") < ($1.name ?? "") }
        for want in desired {
            let body: JSON = ["addressType": "IPv4", "endpoints": .array(want.endpoints), "ports": .array(want.ports)]
            if let current = existing.first {
                existing.removeFirst()
                if current["endpoints"] ?? [] == body["endpoints"] ?? [] && current["ports"] ?? [] == body["ports"] ?? [] { continue }
                var next = current
                next["endpoints"] = body["endpoints"]
                next["ports"] = body["ports"]
                try await client.update(.endpointSlices, next)
            } else {
                var slice = body
                slice["apiVersion"] = "discovery.k8s.io/v1"
                slice["kind"] = "EndpointSlice"
                slice["metadata"] = ["generateName": .string("\(svcName)-"), "namespace": .string(namespace),
                                     "labels": [.init(Self.serviceNameLabel): .string(svcName), .init(Self.managedByLabel): .string(Self.managedBy)],
                                     "ownerReferences": [ownerReference(svc)]]
                try await client.create(.endpointSlices, namespace: namespace, slice)
            }
        }
        for extra in existing {
            try await client.delete(.endpointSlices, namespace: namespace, extra.name ?? "", preconditionUID: extra.uid, ignoreNotFound: true)
        }
    }

    static func endpointJSON(_ e: Endpoint) -> JSON {
        var out: JSON = ["addresses": [.string(e.ip)],
                         "conditions": ["ready": .bool(e.ready), "serving": .bool(e.serving), "terminating": .bool(e.terminating)],
                         "targetRef": ["kind": "Pod", "namespace": .string(e.pod.namespace ?? ""), "name": .string(e.pod.name ?? ""),
                                       "uid": .string(e.pod.uid ?? "")]]
        if let node = e.pod[path: ["spec", "nodeName"]]?.stringValue { out["nodeName"] = .string(node) }
        if let hostname = e.hostname { out["hostname"] = .string(hostname) }
        return out
    }

    /// core/v1 Endpoints: ready addresses and notReadyAddresses per port set (terminating
    /// pods are left out, as upstream).
    func reconcileEndpoints(_ svc: JSON, name: String, groups: [[JSON]: [Endpoint]]) async throws {
        let namespace = svc.namespace ?? ""
        var subsets: [JSON] = []
        for (ports, endpoints) in groups.sorted(by: { $0.key.description < $1.key.description }) {
            func address(_ e: Endpoint) -> JSON {
                var a: JSON = ["ip": .string(e.ip), "targetRef": ["kind": "Pod", "namespace": .string(namespace), "name": .string(e.pod.name ?? ""),
                                                                   "uid": .string(e.pod.uid ?? "")]]
                if let node = e.pod[path: ["spec", "nodeName"]]?.stringValue { a["nodeName"] = .string(node) }
                if let hostname = e.hostname { a["hostname"] = .string(hostname) }
                return a
            }
            let live = endpoints.filter { !$0.terminating }.sorted { $0.ip < $1.ip }
            guard !live.isEmpty else { continue }
            var subset: JSON = ["ports": .array(ports.map { p in
                var q = p
                if q["name"] == "" { q["name"] = nil }
                return q
            })]
            let ready = live.filter(\.ready).map(address), notReady = live.filter { !$0.ready }.map(address)
            if !ready.isEmpty { subset["addresses"] = .array(ready) }
            if !notReady.isEmpty { subset["notReadyAddresses"] = .array(notReady) }
            subsets.append(subset)
        }
        do {
            var current = try await client.get(.endpoints, namespace: namespace, name)
            let want: JSON = subsets.isEmpty ? .null : .array(subsets)
            guard current["subsets"] ?? .null != want else { return }
            current["subsets"] = subsets.isEmpty ? nil : .array(subsets)
            try await client.update(.endpoints, current)
        } catch let e as ClientError where e.isNotFound {
            var endpoints: JSON = ["apiVersion": "v1", "kind": "Endpoints",
                                   "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": .object(svc[path: ["metadata", "labels"]]?.objectValue ?? [:])]]
            if !subsets.isEmpty { endpoints["subsets"] = .array(subsets) }
            try await client.create(.endpoints, namespace: namespace, endpoints)
        }
    }
}

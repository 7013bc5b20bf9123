import SkiffAPI
import SkiffClient
import SkiffCore

/// Gives each LoadBalancer Service its nodes' InternalIPs as ingress addresses, as k3s'
/// service load balancer does on a cluster without a cloud: every node's proxy answers on
/// its own address at the Service's port, so `EXTERNAL-IP` is never pending forever.
/// Other types lose any ingress left from when they were LoadBalancers.
public final class ServiceLBController: Controller {
    public let name = "service-lb"
    public let queue = WorkQueue(name: "service-lb")
    let client: Client
    let services: Informer
    let nodes: Informer

    public init(factory: InformerFactory) {
        client = factory.client
        services = factory.informer(.services)
        nodes = factory.informer(.nodes)
        services.addHandler { [queue] e in
            switch e {
            case .added(let s), .updated(_, let s): queue.add(objectKey(s))
            case .deleted: break
            }
        }
        nodes.addHandler { [weak self] e in
            guard let self else { return }
            switch e {
            case .added, .deleted: enqueueLoadBalancers()
            case .updated(let old, let new) where Self.ingressIP(old) != Self.ingressIP(new): enqueueLoadBalancers()
            default: break
            }
        }
    }

    func enqueueLoadBalancers() {
        for s in services.indexer.list() where s[path: ["spec", "type"]]?.stringValue == "LoadBalancer" { queue.add(objectKey(s)) }
    }

    /// A Ready node's InternalIP, nil for a node that cannot serve.
    static func ingressIP(_ node: JSON) -> String? {
        let ready = node[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } ?? false
        guard ready, node[path: ["spec", "unschedulable"]]?.boolValue != true else { return nil }
        return node[path: ["status", "addresses"]]?.arrayValue?.first { $0["type"] == "InternalIP" }?["address"]?.stringValue
    }

    public func sync(key: String) async throws {
        guard let svc = services.indexer.get(key) else { return }
        var ingress: [JSON] = []
        if svc[path: ["spec", "type"]]?.stringValue == "LoadBalancer" {
            ingress = Set(nodes.indexer.list().compactMap(Self.ingressIP)).sorted().map { ["ip": .string($0), "ipMode": "VIP"] }
        }
        let current = svc[path: ["status", "loadBalancer", "ingress"]]?.arrayValue ?? []
        guard current != ingress else { return }
        var next = svc
        next[path: ["status", "loadBalancer"]] = ingress.isEmpty ? [:] : ["ingress": .array(ingress)]
        do {
            _ = try await client.update(.services, next, subresource: "status")
        } catch let e as ClientError where e.isNotFound {}
    }
}

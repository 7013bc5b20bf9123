import SkiffAPI
import SkiffClient
import SkiffCore

/// Every active namespace has a `default` ServiceAccount, made again if deleted, as
/// upstream's serviceaccount controller ensures.
public final class ServiceAccountController: Controller {
    public let name = "serviceaccount"
    public let queue = WorkQueue(name: "serviceaccount")
    let client: Client
    let namespaces: Informer
    let serviceAccounts: Informer
    static let defaultName = "default"

    public init(factory: InformerFactory) {
        client = factory.client
        namespaces = factory.informer(.namespaces)
        serviceAccounts = factory.informer(.serviceAccounts)
        namespaces.addHandler { [queue] e in
            switch e {
            case .added(let ns), .updated(_, let ns): queue.add(ns.name ?? "")
            case .deleted: break
            }
        }
        serviceAccounts.addHandler { [queue] e in
            if case .deleted(let sa) = e, sa.name == Self.defaultName { queue.add(sa.namespace ?? "") }
        }
    }

    /// `key` is the namespace's name.
    public func sync(key: String) async throws {
        guard let ns = namespaces.indexer.get(key), ns.deletionTimestamp == nil,
              ns[path: ["status", "phase"]]?.stringValue != "Terminating",
              serviceAccounts.indexer.get("\(key)/\(Self.defaultName)") == nil else { return }
        let sa: JSON = ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": .string(Self.defaultName)]]
        do {
            try await client.create(.serviceAccounts, namespace: key, sa)
        } catch let e as ClientError where e.isAlreadyExists {
        } catch let e as ClientError where e.code == 403 || e.isNotFound {
            // The namespace began terminating meanwhile.
        }
    }
}

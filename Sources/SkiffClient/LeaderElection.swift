import Logging
import SkiffAPI
import SkiffCore

/// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection: a
/// candidate takes the Lease when it is free or expired (renewTime + leaseDuration in the
/// past), renews it every retryPeriod, and stops leading when it could not renew for
/// renewDeadline; another takes over once the Lease expires. When several servers run,
/// only the leader schedules and reconciles.
public struct LeaderElector: Sendable {
    public let client: Client
    public let namespace: String
    public let name: String
    public let identity: String
    public var leaseDuration: Duration = .seconds(15)
    public var renewDeadline: Duration = .seconds(10)
    public var retryPeriod: Duration = .seconds(2)
    let logger = Logger(label: "skiff.leaderelection")

    public init(client: Client, namespace: String = "kube-system", name: String, identity: String) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
    }

    /// Runs `lead` whenever this candidate holds the Lease (cancelling it when leadership
    /// is lost), until the calling task is cancelled.
    public func run(_ lead: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            while !Task.isCancelled {
                let held = await tryAcquireOrRenew()
                if held == true { break }
                // Held by another: wait a retry period. The API not answering yet (a server
                // starting): try again soon, so a new cluster gets its leaders at once.
                try? await Task.sleep(for: held == nil ? .milliseconds(100) : retryPeriod)
            }
            if Task.isCancelled { return }
            logger.info("became leader", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await lead() }
                group.addTask {
                    var lastRenew = ContinuousClock.now
                    while !Task.isCancelled {
                        try? await Task.sleep(for: retryPeriod)
                        if await tryAcquireOrRenew() == true {
                            lastRenew = .now
                        } else if ContinuousClock.now - lastRenew > renewDeadline {
                            return
                        }
                    }
                }
                // Whichever ends first — leadership lost, or the work — ends both.
                await group.next()
                group.cancelAll()
            }
            logger.info("stopped leading", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
            if Task.isCancelled { await release() }
        }
    }

    /// Gives the Lease up on shutdown (client-go's ReleaseOnCancel), so that the next
    /// candidate — the same server restarting — leads at once instead of waiting for it
    /// to expire.
    func release() async {
        guard var lease = try? await client.get(.leases, namespace: namespace, name),
              lease[path: ["spec", "holderIdentity"]]?.stringValue == identity else { return }
        lease[path: ["spec", "holderIdentity"]] = ""
        lease[path: ["spec", "leaseDurationSeconds"]] = 1
        lease[path: ["spec", "renewTime"]] = .string(Timestamp.now().rfc3339Micro)
        do { try await client.update(.leases, lease) } catch {
            logger.debug("lease not released", metadata: ["lease": "\(namespace)/\(name)", "error": "\(error)"])
        }
    }

    /// One attempt: true when this candidate holds the Lease afterwards, false when another
    /// does, nil when the API could not be asked.
    func tryAcquireOrRenew() async -> Bool? {
        let now = Timestamp.now()
        let seconds = leaseDuration.components.seconds
        do {
            var lease = try await client.get(.leases, namespace: namespace, name)
            let holder = lease[path: ["spec", "holderIdentity"]]?.stringValue ?? ""
            let renewed = lease[path: ["spec", "renewTime"]]?.stringValue.flatMap(Timestamp.init(rfc3339:))
            let duration = lease[path: ["spec", "leaseDurationSeconds"]]?.int64Value ?? seconds
            let expired = renewed.map { $0.adding(seconds: duration) < now } ?? true
            guard holder == identity || holder.isEmpty || expired else { return false }
            if holder != identity {
                lease[path: ["spec", "acquireTime"]] = .string(now.rfc3339Micro)
                lease[path: ["spec", "leaseTransitions"]] = .number(JSONNumber((lease[path: ["spec", "leaseTransitions"]]?.int64Value ?? 0) + 1))
            }
            lease[path: ["spec", "holderIdentity"]] = .string(identity)
            lease[path: ["spec", "leaseDurationSeconds"]] = .number(JSONNumber(seconds))
            lease[path: ["spec", "renewTime"]] = .string(now.rfc3339Micro)
            // The resourceVersion makes this a compare-and-swap: of two candidates racing
            // for an expired Lease, one gets 409.
            try await client.update(.leases, lease)
            return true
        } catch let e as ClientError where e.isNotFound {
            let lease: JSON = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                               "metadata": ["name": .string(name), "namespace": .string(namespace)],
                               "spec": ["holderIdentity": .string(identity), "leaseDurationSeconds": .number(JSONNumber(seconds)),
                                        "acquireTime": .string(now.rfc3339Micro), "renewTime": .string(now.rfc3339Micro), "leaseTransitions": 0]]
            do {
                try await client.create(.leases, namespace: namespace, lease)
                return true
            } catch let e as ClientError where e.isAlreadyExists {
                return false
            } catch {
                return nil
            }
        } catch let e as ClientError where e.code == 409 {
            return false
        } catch {
            return nil
        }
    }
}

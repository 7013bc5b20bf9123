import Logging
import SkiffClient
import SkiffCore

/// A controller as upstream writes them: informer handlers only enqueue keys; workers
/// take keys from a work queue and call a level-triggered `sync(key:)`.
public protocol Controller: Sendable {
    var name: String { get }
    var queue: WorkQueue { get }
    /// Brings the object named by `key` to its desired state; throwing retries it later.
    func sync(key: String) async throws
}

extension Controller {
    /// Runs `workers` workers until cancelled. A failed key comes back after its back-off;
    /// a key that succeeds starts its back-off over.
    public func run(workers: Int) async {
        let logger = Logger(label: "skiff.controller.\(name)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await queue.run() }
            for _ in 0..<workers {
                group.addTask {
                    while let key = await queue.get() {
                        do {
                            try await sync(key: key)
                            queue.forget(key)
                        } catch {
                            logger.debug("sync failed; retrying", metadata: ["key": "\(key)", "error": "\(error)"])
                            queue.addRateLimited(key)
                        }
                        queue.done(key)
                    }
                }
            }
        }
    }
}

/// kube-controller-manager's role: the controllers, sharing one set of informers, run
/// until cancelled.
public struct ControllerManager: Sendable {
    /// kube-controller-manager's flags that Skiff has.
    public struct Options: Sendable {
        /// --node-monitor-grace-period: seconds without a heartbeat before a node is Unknown.
        public var nodeMonitorGracePeriod: Int64 = 40
        /// --cluster-cidr: pod ranges for nodes come from here (nil: nodes bring their own).
        public var clusterCIDR = IPv4CIDR("10.42.0.0/16")
        /// --node-cidr-mask-size: the size of each node's pod range.
        public var nodeCIDRMaskSize = 24
        /// --terminated-pod-gc-threshold: terminated pods kept (0: all).
        public var terminatedPodGCThreshold = 12500
        /// The Job controller's first back-off for failed pods (tests shorten it).
        public var jobBackoffBase: Duration = .seconds(10)
        public init() {}
    }

    let factory: InformerFactory
    let controllers: [any Controller]
    let garbageCollector: GarbageCollector
    let nodeLifecycle: NodeLifecycleController

    /// The controllers, with informers from `factory` (shared with the scheduler); the
    /// caller runs the factory.
    public init(factory: InformerFactory, options: Options = Options()) {
        self.factory = factory
        garbageCollector = GarbageCollector(factory: factory)
        nodeLifecycle = NodeLifecycleController(factory: factory, gracePeriodSeconds: options.nodeMonitorGracePeriod)
        var controllers: [any Controller] = [
            ReplicaSetController(factory: factory),
            ReplicaSetController(factory: factory, kind: .replicationController),
            StatefulSetController(factory: factory),
            JobController(factory: factory, podFailureBackoff: options.jobBackoffBase),
            CronJobController(factory: factory),
            TTLAfterFinishedController(factory: factory),
            PodGCController(factory: factory, terminatedPodThreshold: options.terminatedPodGCThreshold),
            DeploymentController(factory: factory),
            DaemonSetController(factory: factory),
            DisruptionController(factory: factory),
            EndpointSliceController(factory: factory),
            ServiceLBController(factory: factory),
            NamespaceController(factory: factory),
            ServiceAccountController(factory: factory),
            ResourceQuotaController(factory: factory),
            HorizontalPodAutoscalerController(factory: factory),
            nodeLifecycle,
            garbageCollector,
        ]
        if let cidr = options.clusterCIDR {
            controllers.append(NodeIPAMController(factory: factory, clusterCIDR: cidr, nodeMaskSize: options.nodeCIDRMaskSize))
        }
        self.controllers = controllers
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await garbageCollector.discover() }
            group.addTask { await nodeLifecycle.monitor() }
            await factory.waitForSync()
            for c in controllers { group.addTask { await c.run(workers: 4) } }
        }
    }
}

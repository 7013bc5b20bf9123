import Logging
import SkiffClient

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
    let factory: InformerFactory
    let controllers: [any Controller]
    let garbageCollector: GarbageCollector

    /// The controllers, with informers from `factory` (shared with the scheduler); the
    /// caller runs the factory.
    let nodeLifecycle: NodeLifecycleController

    /// `nodeMonitorGracePeriod`: seconds without a heartbeat before a node is Unknown;
    /// `terminatedPodGCThreshold`: terminated pods kept (0: all); `jobBackoffBase`: the
    /// Job controller's first back-off for failed pods (tests shorten it).
    public init(factory: InformerFactory, nodeMonitorGracePeriod: Int64 = 40, terminatedPodGCThreshold: Int = 12500,
                jobBackoffBase: Duration = .seconds(10)) {
        self.factory = factory
        garbageCollector = GarbageCollector(factory: factory)
        nodeLifecycle = NodeLifecycleController(factory: factory, gracePeriodSeconds: nodeMonitorGracePeriod)
        controllers = [
            ReplicaSetController(factory: factory),
            JobController(factory: factory, podFailureBackoff: jobBackoffBase),
            CronJobController(factory: factory),
            TTLAfterFinishedController(factory: factory),
            PodGCController(factory: factory, terminatedPodThreshold: terminatedPodGCThreshold),
            DeploymentController(factory: factory),
            DaemonSetController(factory: factory),
            EndpointSliceController(factory: factory),
            NamespaceController(factory: factory),
            nodeLifecycle,
            garbageCollector,
        ]
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

import Foundation
import SkiffCore
import SkiffRuntime
import Synchronization
import Testing
@testable import SkiffKubelet

/// Each test runs real workers with 1-second periods and waits on outcomes with generous
/// timeouts; none asserts on how long anything took.
@Suite struct ProbeManagerTests {
    /// A runtime whose commands succeed or fail as `outcomes` says, per command name.
    final class Script: Sendable {
        let exitCodes: Mutex<[String: [Int32]]>
        init(_ exitCodes: [String: [Int32]]) { self.exitCodes = Mutex(exitCodes) }
        /// Pops the next exit code for the command; the last one repeats.
        func next(_ name: String) -> Int32 {
            exitCodes.withLock { codes in
                guard var list = codes[name], let first = list.first else { return 0 }
                if list.count > 1 { list.removeFirst() }
                codes[name] = list
                return first
            }
        }
    }

    func makeManager(_ script: Script, recorder: ProbeRecorder) -> (ProbeManager, FakeExecRuntime) {
        let runtime = FakeExecRuntime { command in exitResult(script.next(command[0]), stdout: command[0] == "live" ? "boom" : "") }
        let manager = ProbeManager(runtime: runtime, onEvent: { recorder.record($0) })
        recorder.read(manager)
        return (manager, runtime)
    }

    func probe(_ command: String, _ extra: JSON = [:]) -> JSON {
        var o: JSONObject = ["exec": ["command": [.string(command)]], "periodSeconds": 1]
        for (k, v) in extra.objectValue ?? [:] { o[k] = v }
        return .object(o)
    }

    @Test func readinessStartsNotReadyAndPublishesOnlyChanges() async throws {
        let recorder = ProbeRecorder()
        let script = Script(["ready": [1, 0]])
        let (manager, runtime) = makeManager(script, recorder: recorder)
        let pod = testPod(container: ["name": "app", "readinessProbe": probe("ready", ["successThreshold": 2])])
        await manager.updatePod(pod, podIP: "127.0.0.1", running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(await manager.status(podUID: "uid-1", containerName: "app", containerID: "c1") == ContainerProbeStatus(started: true, ready: false))
        #expect(await eventually { !recorder.allUpdates.isEmpty })
        // One failure, then two successes are needed.
        #expect(runtime.count(["ready"]) >= 3)
        #expect(recorder.allUpdates == [ProbeUpdate(podUID: "uid-1", containerName: "app", containerID: "c1", probeType: .readiness, result: .success, message: "")])
        #expect(await manager.status(podUID: "uid-1", containerName: "app", containerID: "c1") == ContainerProbeStatus(started: true, ready: true))
        #expect(recorder.allEvents.first?.message == "Readiness probe failed: ")
        #expect(recorder.allEvents.first?.reason == "Unhealthy")
        // More successes publish nothing new.
        let calls = runtime.count(["ready"])
        #expect(await eventually { runtime.count(["ready"]) >= calls + 1 })
        #expect(recorder.allUpdates.count == 1)
        await manager.shutdown()
        await recorder.finish()
    }

    @Test func livenessFailureCrossesThresholdAndStopsUntilANewContainer() async throws {
        let recorder = ProbeRecorder()
        let (manager, runtime) = makeManager(Script(["live": [1]]), recorder: recorder)
        let pod = testPod(container: ["name": "app", "livenessProbe": probe("live", ["failureThreshold": 2])])
        await manager.updatePod(pod, podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(await eventually { !recorder.allUpdates.isEmpty })
        let update = try #require(recorder.allUpdates.first)
        #expect(update.probeType == .liveness && update.result == .failure && update.requiresRestart && update.containerID == "c1")
        #expect(update.killMessage(willRestart: true) == "Container app failed liveness probe, will be restarted")
        #expect(runtime.count(["live"]) == 2)
        #expect(recorder.allEvents.map(\.message) == ["Liveness probe failed: boom", "Liveness probe failed: boom"])
        // The worker is on hold: a further period brings no probe.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.count(["live"]) == 2)
        // A new instance of the container gets a new worker, starting from success.
        await manager.updatePod(pod, podIP: nil, running: [RunningContainer(name: "app", id: "c2", startedAt: .now)])
        #expect(await eventually { recorder.allUpdates.count == 2 })
        #expect(recorder.allUpdates.last?.containerID == "c2")
        #expect(recorder.allUpdates.last?.result == .failure)
        await manager.shutdown()
        await recorder.finish()
    }

    @Test func startupGatesLivenessAndReadiness() async throws {
        let recorder = ProbeRecorder()
        let (manager, runtime) = makeManager(Script(["start": [1, 1, 0], "ready": [0], "live": [0]]), recorder: recorder)
        let container: JSON = ["name": "app", "startupProbe": probe("start", ["failureThreshold": 10]),
                               "readinessProbe": probe("ready"), "livenessProbe": probe("live")]
        await manager.updatePod(testPod(container: container), podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(await manager.status(podUID: "uid-1", containerName: "app", containerID: "c1") == ContainerProbeStatus(started: false, ready: false))
        #expect(await eventually { recorder.allUpdates.contains { $0.probeType == .startup } })
        #expect(recorder.allUpdates.first == ProbeUpdate(podUID: "uid-1", containerName: "app", containerID: "c1", probeType: .startup, result: .success, message: ""))
        #expect(runtime.count(["start"]) == 3)
        let before = runtime.commands.withLock { $0 }
        #expect(before.prefix(3).allSatisfy { $0 == ["start"] })
        #expect(await eventually { recorder.allUpdates.contains { $0.probeType == .readiness } })
        #expect(await manager.status(podUID: "uid-1", containerName: "app", containerID: "c1") == ContainerProbeStatus(started: true, ready: true))
        #expect(await eventually { runtime.count(["live"]) > 0 })
        // The startup probe is done for this container.
        let starts = runtime.count(["start"])
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.count(["start"]) == starts)
        await manager.shutdown()
        await recorder.finish()
    }

    @Test func initialDelayCountsFromTheContainerStart() async throws {
        let recorder = ProbeRecorder()
        let (manager, runtime) = makeManager(Script([:]), recorder: recorder)
        let container: JSON = ["name": "app", "readinessProbe": probe("ready", ["initialDelaySeconds": 3600])]
        await manager.updatePod(testPod(uid: "late", container: container), podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        await manager.updatePod(testPod(uid: "early", container: container), podIP: nil,
                                running: [RunningContainer(name: "app", id: "c2", startedAt: Date(timeIntervalSinceNow: -3601))])
        #expect(await eventually { recorder.allUpdates.contains { $0.podUID == "early" } })
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.count(["ready"]) >= 1)
        #expect(!recorder.allUpdates.contains { $0.podUID == "late" })
        #expect(await manager.status(podUID: "late", containerName: "app", containerID: "c1")?.ready == false)
        await manager.shutdown()
        await recorder.finish()
    }

    @Test func removalCancelsWorkers() async throws {
        let recorder = ProbeRecorder()
        let (manager, runtime) = makeManager(Script([:]), recorder: recorder)
        let container: JSON = ["name": "app", "readinessProbe": probe("ready")]
        await manager.updatePod(testPod(container: container), podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(await eventually { runtime.count(["ready"]) >= 2 })
        await manager.removePod(podUID: "uid-1")
        let calls = runtime.count(["ready"])
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.count(["ready"]) == calls)
        #expect(await manager.status(podUID: "uid-1", containerName: "app", containerID: "c1") == nil)
        // A container missing from the running list loses its workers too.
        await manager.updatePod(testPod(container: container), podIP: nil, running: [RunningContainer(name: "app", id: "c2", startedAt: .now)])
        #expect(await eventually { runtime.count(["ready"]) > calls })
        await manager.updatePod(testPod(container: container), podIP: nil, running: [])
        let after = runtime.count(["ready"])
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.count(["ready"]) == after)
        await manager.shutdown()
        await recorder.finish()
    }

    @Test func gracefulDeletionEndsLivenessAndStartup() async throws {
        let recorder = ProbeRecorder()
        let (manager, runtime) = makeManager(Script(["start": [1], "live": [1]]), recorder: recorder)
        let container: JSON = ["name": "app", "startupProbe": probe("start", ["failureThreshold": 100]), "livenessProbe": probe("live")]
        await manager.updatePod(testPod(container: container), podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(await eventually { runtime.count(["start"]) >= 1 })
        await manager.updatePod(testPod(container: container, deleting: true), podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(recorder.allUpdates.isEmpty || recorder.allUpdates.allSatisfy { $0.result == .success })
        #expect(await eventually { recorder.allUpdates.contains { $0.probeType == .startup && $0.result == .success } })
        let calls = runtime.commands.withLock { $0.count }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(runtime.commands.withLock { $0.count } == calls)
        #expect(runtime.count(["live"]) == 0)
        await manager.shutdown()
        await recorder.finish()
    }

    @Test func probeErrorsAreNotCounted() async throws {
        let recorder = ProbeRecorder()
        let runtime = FakeExecRuntime { _ in throw RuntimeError("NotFound", "no such container") }
        let manager = ProbeManager(runtime: runtime, onEvent: { recorder.record($0) })
        recorder.read(manager)
        let container: JSON = ["name": "app", "livenessProbe": probe("live", ["failureThreshold": 1])]
        await manager.updatePod(testPod(container: container), podIP: nil, running: [RunningContainer(name: "app", id: "c1", startedAt: .now)])
        #expect(await eventually { recorder.allEvents.count >= 2 })
        #expect(recorder.allEvents.first?.message == "Liveness probe errored and resulted in unknown state: NotFound: no such container")
        // Three attempts per period, as upstream's retries.
        #expect(runtime.count(["live"]) >= 3)
        #expect(recorder.allUpdates.isEmpty)
        await manager.shutdown()
        await recorder.finish()
        #expect(recorder.allUpdates.isEmpty)
    }
}

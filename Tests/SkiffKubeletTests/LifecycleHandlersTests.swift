import Foundation
import SkiffCore
import SkiffRuntime
import Testing
@testable import SkiffKubelet

@Suite struct LifecycleHandlersTests {
    let runtime = FakeExecRuntime { command in
        switch command.last {
        case "exit 1": return exitResult(1, stdout: "partial\n", stderr: "bad")
        case "slow":
            try await Task.sleep(for: .seconds(30))
            return exitResult(0)
        default: return exitResult(0)
        }
    }
    var handlers: LifecycleHandlers { LifecycleHandlers(runtime: runtime, version: "1.33") }
    let pod = testPod(container: ["name": "app"])

    func container(_ lifecycle: JSON) -> JSON { ["name": "app", "lifecycle": lifecycle] }

    @Test func postStartExec() async {
        let ok = container(["postStart": ["exec": ["command": ["sh", "-c", "true"]]]])
        #expect(await handlers.runPostStart(pod: pod, container: ok, containerID: "c1", podIP: nil) == nil)
        #expect(runtime.count(["sh", "-c", "true"]) == 1)
        let failing = container(["postStart": ["exec": ["command": ["sh", "-c", "exit 1"]]]])
        let failure = await handlers.runPostStart(pod: pod, container: failing, containerID: "c1", podIP: nil)
        #expect(failure?.reason == "FailedPostStartHook")
        #expect(failure?.message == """
            Exec lifecycle hook ([sh -c exit 1]) for Container "app" in Pod "web_default(uid-1)" failed - error: command 'sh -c exit 1' exited with 1: bad, message: "partial\\nbad"
            """)
        #expect(await handlers.runPostStart(pod: pod, container: ["name": "app"], containerID: "c1", podIP: nil) == nil)
    }

    @Test func postStartHTTP() async throws {
        let server = try await TestHTTPServer { head in head.uri == "/start" ? .init(status: 500) : .init(status: 302, headers: [("Location", "/start")]) }
        // Any response counts, as upstream; redirects are followed.
        let hook = container(["postStart": ["httpGet": ["path": "/go", "port": .number(JSONNumber(server.port))]]])
        #expect(await handlers.runPostStart(pod: pod, container: hook, containerID: "c1", podIP: "127.0.0.1") == nil)
        let heads = server.requests
        #expect(heads.map(\.uri) == ["/go", "/start"])
        #expect(heads.first?.headers["User-Agent"] == ["kube-lifecycle/1.33"])
        try await server.close()
        let closed = try await refusedPort()
        let refused = container(["postStart": ["httpGet": ["path": "/go", "port": .number(JSONNumber(closed))]]])
        let failure = await handlers.runPostStart(pod: pod, container: refused, containerID: "c1", podIP: "127.0.0.1")
        #expect(failure?.message == """
            HTTP lifecycle hook (/go) for Container "app" in Pod "web_default(uid-1)" failed - error: Get "http://127.0.0.1:\(closed)/go": dial tcp 127.0.0.1:\(closed): connect: connection refused
            """)
    }

    @Test func preStopRunsBeforeReturningAndReportsFailure() async {
        let ok = container(["preStop": ["exec": ["command": ["drain"]]]])
        let done = await handlers.runPreStop(pod: pod, container: ok, containerID: "c1", podIP: nil, gracePeriod: .seconds(30))
        #expect(done.failure == nil)
        #expect(runtime.count(["drain"]) == 1)
        let failing = container(["preStop": ["exec": ["command": ["sh", "-c", "exit 1"]]]])
        let failed = await handlers.runPreStop(pod: pod, container: failing, containerID: "c1", podIP: nil, gracePeriod: .seconds(30))
        #expect(failed.failure == LifecycleHandlers.Failure(reason: "FailedPreStopHook", message: "PreStopHook failed"))
    }

    @Test func preStopIsBoundedByTheGracePeriod() async {
        let slow = container(["preStop": ["exec": ["command": ["slow"]]]])
        let outcome = await handlers.runPreStop(pod: pod, container: slow, containerID: "c1", podIP: nil, gracePeriod: .seconds(1))
        #expect(outcome.failure == nil)
        #expect(outcome.elapsed <= .seconds(1))
        #expect(outcome.remainingGracePeriod(of: .seconds(1)) == .seconds(2))
        let sleeper = container(["preStop": ["sleep": ["seconds": 60]]])
        let slept = await handlers.runPreStop(pod: pod, container: sleeper, containerID: "c1", podIP: nil, gracePeriod: .seconds(1))
        #expect(slept.failure == nil)
        #expect(LifecycleHandlers.PreStopOutcome(failure: nil, elapsed: .seconds(5)).remainingGracePeriod(of: .seconds(30)) == .seconds(25))
        // No time left: the hook is skipped.
        #expect(await handlers.runPreStop(pod: pod, container: slow, containerID: "c1", podIP: nil, gracePeriod: .zero).elapsed == .zero)
    }

    @Test func sleepHook() async {
        #expect(await handlers.run(.sleep(seconds: 0), pod: pod, container: ["name": "app"], containerID: "c1", podIP: nil) == nil)
        let task = Task { await handlers.run(.sleep(seconds: 60), pod: pod, container: ["name": "app"], containerID: "c1", podIP: nil) }
        task.cancel()
        #expect(await task.value == """
            Sleep lifecycle hook (60) for Container "app" in Pod "web_default(uid-1)" failed - error: container terminated before sleep hook finished
            """)
    }
}

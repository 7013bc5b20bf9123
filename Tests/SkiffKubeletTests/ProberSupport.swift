import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SkiffCore
import SkiffRuntime
import Synchronization
@testable import SkiffKubelet

/// A runtime whose only working call is execSync, answered by a closure; every command is recorded.
final class FakeExecRuntime: RuntimeService {
    let commands = Mutex<[[String]]>([])
    let handler: @Sendable ([String]) async throws -> ExecResult

    init(_ handler: @escaping @Sendable ([String]) async throws -> ExecResult) {
        self.handler = handler
    }

    func count(_ command: [String]) -> Int { commands.withLock { $0.filter { $0 == command }.count } }

    func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult {
        commands.withLock { $0.append(command) }
        return try await handler(command)
    }

    private func unsupported() -> RuntimeError { RuntimeError("Unimplemented", "the fake runtime only runs execSync") }
    func version() async throws -> RuntimeVersion { throw unsupported() }
    func runPodSandbox(_ config: PodSandboxConfig) async throws -> String { throw unsupported() }
    func stopPodSandbox(_ id: String) async throws { throw unsupported() }
    func removePodSandbox(_ id: String) async throws { throw unsupported() }
    func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus { throw unsupported() }
    func listPodSandboxes() async throws -> [PodSandboxStatus] { throw unsupported() }
    func createContainer(sandboxID: String, config: ContainerConfig, sandboxConfig: PodSandboxConfig) async throws -> String { throw unsupported() }
    func startContainer(_ id: String) async throws { throw unsupported() }
    func stopContainer(_ id: String, timeout: Int) async throws { throw unsupported() }
    func removeContainer(_ id: String) async throws { throw unsupported() }
    func containerStatus(_ id: String) async throws -> ContainerStatus { throw unsupported() }
    func listContainers() async throws -> [ContainerStatus] { throw unsupported() }
    func containerStats(_ id: String) async throws -> ContainerStats { throw unsupported() }
    func exec(_ id: String, command: [String], io: ExecIO) async throws -> Int32 { throw unsupported() }
    func attach(_ id: String, io: ExecIO) async throws { throw unsupported() }
    func portForward(_ sandboxID: String, port: UInt16) async throws -> Int32 { throw unsupported() }
    func containerEvents() -> AsyncStream<String> { AsyncStream { $0.finish() } }
}

func exitResult(_ code: Int32, stdout: String = "", stderr: String = "") -> ExecResult {
    ExecResult(stdout: Array(stdout.utf8), stderr: Array(stderr.utf8), exitCode: code)
}

/// An HTTP/1.1 server on 127.0.0.1 with a closure for the answers (nil: never answer);
/// it records every request head.
final class TestHTTPServer: Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: String = ""
    }

    let channel: any Channel
    let recorder: Recorder
    var port: Int { channel.localAddress?.port ?? 0 }
    /// The request heads seen so far, in order.
    var requests: [HTTPRequestHead] { recorder.requests.withLock { $0 } }

    init(_ answer: @escaping @Sendable (HTTPRequestHead) -> Reply?) async throws {
        let recorder = Recorder()
        self.recorder = recorder
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(answer: answer, recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async throws { try await channel.close() }

    /// Shares the request list with the per-connection handlers.
    final class Recorder: Sendable {
        let requests = Mutex<[HTTPRequestHead]>([])
        func add(_ head: HTTPRequestHead) { requests.withLock { $0.append(head) } }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let answer: @Sendable (HTTPRequestHead) -> Reply?
        let recorder: Recorder
        var head: HTTPRequestHead?

        init(answer: @escaping @Sendable (HTTPRequestHead) -> Reply?, recorder: Recorder) {
            self.answer = answer
            self.recorder = recorder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                recorder.add(h)
            case .body:
                break
            case .end:
                guard let head, let reply = answer(head) else { return }
                var headers = HTTPHeaders(reply.headers)
                headers.add(name: "Content-Length", value: String(reply.body.utf8.count))
                headers.add(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: reply.status), headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// A port on 127.0.0.1 that refuses connections (bound once, then closed).
func refusedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

/// Everything a ProbeManager publishes: its updates (read until the stream ends) and its events.
final class ProbeRecorder: Sendable {
    let updates = Mutex<[ProbeUpdate]>([])
    let events = Mutex<[ProbeEvent]>([])
    let reader = Mutex<Task<Void, Never>?>(nil)

    func read(_ manager: ProbeManager) {
        let task = Task {
            for await u in manager.updates { self.updates.withLock { $0.append(u) } }
        }
        reader.withLock { $0 = task }
    }

    func record(_ event: ProbeEvent) { events.withLock { $0.append(event) } }
    var allUpdates: [ProbeUpdate] { updates.withLock { $0 } }
    var allEvents: [ProbeEvent] { events.withLock { $0 } }
    /// Waits for the reader to end (after the manager's shutdown).
    func finish() async { await reader.withLock { $0 }?.value }
}

/// A pod JSON with one container, for the manager's tests.
func testPod(uid: String = "uid-1", container: JSON, deleting: Bool = false) -> JSON {
    var metadata: JSON = ["name": "web", "namespace": "default", "uid": .string(uid)]
    if deleting, case .object(var o) = metadata {
        o["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        metadata = .object(o)
    }
    return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": ["containers": [container]]]
}

import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOPosix
import SkiffCore
import SkiffRuntime
import Testing
@testable import SkiffStreaming

/// The upgradable HTTP/1 channel on a real socket: plain requests (with or without an
/// Upgrade header) are served as usual, wanted upgrades are refused with a response or
/// switched to the session, which then owns the raw bytes.
@Suite struct UpgradeTests {
    /// A server whose /stream path upgrades: `refuse` answers 403, anything else echoes
    /// the raw bytes it reads back, upper-cased.
    static func withServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        let router = Router()
        router.get("/plain") { _, _ in "plain" }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            server: .upgradableHTTP1(wants: { $0.uri.hasPrefix("/stream") }) { head, _ in
                if head.uri.contains("refuse") { return .refuse(status: 403, contentType: "text/plain", body: Array("no".utf8)) }
                return .accept(headers: HTTPHeaders([("X-Chosen", "yes")])) { raw in
                    try? await raw.executeThenClose { inbound, outbound in
                        for try await buffer in inbound {
                            try await outbound.write(ByteBuffer(string: String(buffer: buffer).uppercased()))
                        }
                    }
                }
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portSink.yield($0.localAddress?.port ?? 0) })
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        try await body(await iterator.next() ?? 0)
    }

    /// Sends `request` on a new connection; returns what arrives until `until` is seen or
    /// the server closes.
    static func exchange(_ port: Int, _ request: String, then more: String? = nil, until: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received = ""
            var sentMore = false
            for try await buffer in inbound {
                received += String(buffer: buffer)
                if let more, !sentMore, received.contains("\r\n\r\n") {
                    try await outbound.write(ByteBuffer(string: more))
                    sentMore = true
                }
                if received.contains(until) { break }
            }
            return received
        }
    }

    @Test func plainRequestsAndUnwantedUpgradesAreServed() async throws {
        try await Self.withServer { port in
            let plain = try await Self.exchange(port, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", until: "plain")
            #expect(plain.hasPrefix("HTTP/1.1 200"))
            // NIO's upgrade handler would drop such a request's head and hang; the filter
            // takes the header off first.
            let other = try await Self.exchange(port, "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", until: "plain")
            #expect(other.hasPrefix("HTTP/1.1 200"))
            let h2c = try await Self.exchange(port, "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", until: "\r\n\r\n")
            #expect(h2c.hasPrefix("HTTP/1.1 404"))
        }
    }

    @Test func refusedAndAcceptedUpgrades() async throws {
        try await Self.withServer { port in
            let refused = try await Self.exchange(port, "GET /stream?refuse HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n", until: "no")
            #expect(refused.hasPrefix("HTTP/1.1 403"))
            #expect(refused.hasSuffix("\r\n\r\nno"))
            let accepted = try await Self.exchange(port, "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                                                   then: "raw bytes", until: "RAW BYTES")
            #expect(accepted.hasPrefix("HTTP/1.1 101"))
            #expect(accepted.lowercased().contains("x-chosen: yes"))
            #expect(accepted.hasSuffix("RAW BYTES"))
        }
    }
}

@Suite struct StreamingProtocolTests {
    @Test func webSocketAcceptKeyAsRFC6455() {
        #expect(WebSocketConnection.accept(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func webSocketFramesAreUnmaskedAndSplitAnywhere() throws {
        func frame(_ opcode: UInt8, fin: Bool, _ payload: [UInt8]) -> [UInt8] {
            let mask: [UInt8] = [1, 2, 3, 4]
            var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
            if payload.count < 126 { out.append(0x80 | UInt8(payload.count)) } else { out += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] }
            return out + mask + payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        }
        let big = [UInt8](repeating: 7, count: 300)
        let bytes = frame(0x2, fin: true, [1, 104, 105]) + frame(0x2, fin: false, [0, 1]) + frame(0x0, fin: true, [2]) + frame(0x2, fin: true, big)
        var parser = WebSocketFrameParser()
        var frames: [WebSocketFrameParser.Frame] = []
        for byte in bytes {
            parser.append([byte])
            while let f = try parser.next() { frames.append(f) }
        }
        #expect(frames.map(\.payload) == [[1, 104, 105], [0, 1], [2], big])
        #expect(frames.map(\.fin) == [true, false, true, true])
        var unmasked = WebSocketFrameParser()
        unmasked.append([0x82, 0x01, 0x00])
        #expect(throws: WebSocketError.self) { try unmasked.next() }
    }

    @Test func queryDecodingAsGo() {
        let request = StreamingRequest(HTTPRequestHead(version: .http1_1, method: .GET,
            uri: "/exec/ns/p/c?command=sh&command=-c&command=echo+a%2Bb%20c&stdout=true&tty=1"))
        #expect(request.values("command") == ["sh", "-c", "echo a+b c"])
        #expect(request.segments == ["exec", "ns", "p", "c"])
        let options = try? RemoteCommandOptions { request.value($0) }
        #expect(options == RemoteCommandOptions(stdin: false, stdout: true, stderr: false, tty: true))
        #expect(throws: (any Error).self) { try RemoteCommandOptions { _ in nil } }
    }

    @Test func exitCodesOnTheErrorStream() throws {
        let failed = try JSON.parse(RemoteCommandResult.exited(3).errorStreamBytes(structured: true) ?? [])
        #expect(failed["reason"]?.stringValue == "NonZeroExitCode")
        #expect(failed[path: ["details", "causes"]]?.arrayValue?.first?["message"]?.stringValue == "3")
        #expect(try JSON.parse(RemoteCommandResult.exited(0).errorStreamBytes(structured: true) ?? [])["status"]?.stringValue == "Success")
        #expect(RemoteCommandResult.exited(0).errorStreamBytes(structured: false) == nil)
    }

    @Test func terminalSizesFromKubectlJSON() {
        #expect(TerminalSize(json: Array(#"{"Width":120,"Height":40}"#.utf8)) == TerminalSize(width: 120, height: 40))
        #expect(TerminalSize(json: Array(#"{"Width":-1,"Height":40}"#.utf8)) == nil)
    }
}

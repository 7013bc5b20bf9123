import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SkiffCore
import SkiffRuntime
import SkiffStreaming
import X509

/// exec, attach and port-forward on the kubelet's server, as upstream's paths:
/// `/exec/{namespace}/{pod}[/{uid}]/{container}?command=…&stdin=…&stdout=…&stderr=…&tty=…`,
/// `/attach/…` alike without a command, and `/portForward/{namespace}/{pod}[/{uid}]`,
/// upgraded to WebSocket or SPDY/3.1.
extension KubeletServer {
    /// The requests upgraded: exec and port-forward.
    static func isStreaming(_ head: HTTPRequestHead) -> Bool {
        head.uri.hasPrefix("/exec/") || head.uri.hasPrefix("/attach/") || head.uri.hasPrefix("/portForward/")
    }

    static func decideUpgrade(_ head: HTTPRequestHead, channel: any Channel, source: any ContainerStreamingSource) async -> UpgradeDecision {
        let request = StreamingRequest(head)
        let segments = request.segments
        let verb = segments.first ?? ""
        if let denied = await ClientCertificateAuthorization.denial(channel: channel, path: request.path) {
            return .refuse(denied)
        }
        do throws(ContainerLogError) {
            switch (verb, segments.count) {
            case ("exec", 4...5):
                let (namespace, pod, container) = (segments[1], segments[2], segments[segments.count - 1])
                let command = request.values("command")
                guard !command.isEmpty else { return .refuse(.badRequest("you must specify at least one command for the container")) }
                let options: RemoteCommandOptions
                do { options = try RemoteCommandOptions { request.value($0) } } catch { return .refuse(error) }
                let id = try await source.runningContainer(namespace: namespace, pod: pod, container: container)
                let runtime = source.runtime
                return RemoteCommandServer.accept(head, options: options) { io in
                    do {
                        return .exited(try await runtime.exec(id, command: command, io: io))
                    } catch {
                        return .failed("\(error)")
                    }
                }
            case ("attach", 4...5):
                let options: RemoteCommandOptions
                do { options = try RemoteCommandOptions { request.value($0) } } catch { return .refuse(error) }
                let id = try await source.runningContainer(namespace: segments[1], pod: segments[2], container: segments[segments.count - 1])
                let runtime = source.runtime
                return RemoteCommandServer.accept(head, options: options) { io in
                    do {
                        try await runtime.attach(id, io: io)
                        return .exited(0)
                    } catch {
                        return .failed("\(error)")
                    }
                }
            case ("portForward", 3...4):
                let sandbox = try await source.readySandbox(namespace: segments[1], pod: segments[2])
                let runtime = source.runtime
                return PortForwardServer.accept(head, query: { request.values($0) }) { port in
                    try await runtime.portForward(sandbox, port: port)
                }
            default:
                return .refuse(APIError(code: 404, reason: "NotFound", message: "404 page not found"))
            }
        } catch {
            return .refuse(error.apiError)
        }
    }
}

import SkiffCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

// The network side of probes and hooks: one HTTP/1.1 GET per connection (upstream's prober
// disables keep-alives, and a probe must see a refused connection at once rather than a
// pool's retries) and bare TCP dials. Written on SwiftNIO directly because failures must
// read like upstream's Go errors, which users grep for.

/// An absolute http(s) URL split the way a request needs it.
struct ProbeURL: Sendable, Equatable, CustomStringConvertible {
    var scheme: String
    var host: String
    var port: Int
    /// Path and query, starting with "/".
    var target: String

    /// upstream's formatURL: the probe's path (which may carry a query) on scheme://host:port.
    init(scheme: String, host: String, port: Int, path: String) {
        self.scheme = scheme.lowercased()
        self.host = host
        self.port = port
        target = path.hasPrefix("/") ? path : "/" + path
    }

    /// host:port, with brackets around an IPv6 address (net.JoinHostPort).
    var hostPort: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    var description: String { "\(scheme)://\(hostPort)\(target)" }

    /// The URL a `Location` header points to, relative to this one; nil if it is not http(s).
    func resolving(_ location: String) -> ProbeURL? {
        guard let base = URL(string: description), let url = URL(string: location, relativeTo: base)?.absoluteURL,
              let components = URLComponents(url: url, resolvingAgainstBaseURL: true),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host else { return nil }
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        return ProbeURL(scheme: scheme, host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
                        port: components.port ?? (scheme == "https" ? 443 : 80), path: target)
    }
}

/// A failed request, its message worded as Go's `*url.Error` (`Get "<url>": <cause>`).
struct HTTPGetError: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// What a GET brought back: the final status and at most `maxBody` bytes of the body.
struct HTTPGetResponse: Sendable {
    var status: Int
    var body: [UInt8]
}

/// One-shot GETs with upstream's redirect rules and an overall deadline.
struct HTTPGetter: Sendable {
    /// Probes follow redirects only on the same host; lifecycle hooks follow any.
    enum Redirects: Sendable { case sameHost, any }

    /// Upstream reads at most 10 KiB of a probe's response body.
    static let maxBody = 10 * 1024
    /// Go's http.Client gives up after 10 redirects.
    static let maxRedirects = 10

    /// Certificates are not verified, as upstream's prober and lifecycle handlers do.
    static let insecureTLS = Result { () throws -> NIOSSLContext in
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateVerification = .none
        return try NIOSSLContext(configuration: config)
    }

    /// GETs `url`, following redirects by `redirects`; a redirect the policy stops is
    /// returned as the response (a 3xx). `timeout` bounds the whole exchange (nil: none).
    func get(_ url: ProbeURL, headers: [HTTPHeader], redirects: Redirects, timeout: Duration?) async throws(HTTPGetError) -> HTTPGetResponse {
        let exchange: @Sendable () async throws -> HTTPGetResponse = { try await follow(url, headers: headers, redirects: redirects, timeout: timeout) }
        do {
            guard let timeout else { return try await exchange() }
            guard let response = try await withDeadline(timeout, exchange) else {
                throw HTTPGetError(description: "Get \(goQuote(url.description)): context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
            }
            return response
        } catch let e as HTTPGetError {
            throw e
        } catch {
            throw HTTPGetError(description: "Get \(goQuote(url.description)): \(error)")
        }
    }

    private func follow(_ first: ProbeURL, headers: [HTTPHeader], redirects: Redirects, timeout: Duration?) async throws -> HTTPGetResponse {
        var url = first
        var headers = headers
        var count = 0
        while true {
            let (response, location) = try await once(url, headers: headers, connectTimeout: timeout)
            guard [301, 302, 303, 307, 308].contains(response.status), let location, let next = url.resolving(location) else { return response }
            if redirects == .sameHost, next.host != first.host { return response }
            count += 1
            if count >= Self.maxRedirects { throw HTTPGetError(description: "Get \(goQuote(next.description)): stopped after \(Self.maxRedirects) redirects") }
            // A Host header given by the user only survives a relative redirect, as in Go.
            if location.contains("://") { headers.removeAll { $0.name.lowercased() == "host" } }
            url = next
        }
    }

    /// One request on a fresh connection; returns the response and its Location header.
    private func once(_ url: ProbeURL, headers: [HTTPHeader], connectTimeout: Duration?) async throws -> (HTTPGetResponse, String?) {
        let tls: NIOSSLContext? = if url.scheme == "https" { try Self.insecureTLS.get() } else { nil }
        let sni = isIPAddress(url.host) ? nil : url.host
        let channel = try await dial(host: url.host, port: url.port, timeout: connectTimeout) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni)) }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target)
        head.headers.add(name: "Host", value: headers.last { $0.name.lowercased() == "host" }?.value ?? url.hostPort)
        for h in headers where h.name.lowercased() != "host" { head.headers.add(name: h.name, value: h.value) }
        head.headers.add(name: "Connection", value: "close")
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var response: HTTPResponseHead?
            var body: [UInt8] = []
            reading: for try await part in inbound {
                switch part {
                case .head(let h):
                    if h.status.code >= 200 { response = h }  // a 1xx is followed by the real response
                case .body(var buffer):
                    body += buffer.readBytes(length: min(Self.maxBody - body.count, buffer.readableBytes)) ?? []
                    // A body cut at 10 KiB is not an error, as upstream.
                    if response != nil, body.count >= Self.maxBody { break reading }
                case .end:
                    break reading
                }
            }
            guard let response else { throw HTTPGetError(description: "Get \(goQuote(url.description)): EOF") }
            return (HTTPGetResponse(status: Int(response.status.code), body: body), response.headers.first(name: "Location"))
        }
    }
}

/// Connects to host:port (an address, or a name to resolve); failures are thrown as the
/// text Go's dialer gives (`dial tcp 10.42.0.5:8080: connect: connection refused`).
func dial<Output: Sendable>(host: String, port: Int, timeout: Duration?,
                            _ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Output>) async throws -> Output {
    var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    if let timeout {
        let (seconds, attoseconds) = timeout.components
        bootstrap = bootstrap.connectTimeout(.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
    let hostPort = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    do {
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            return try await bootstrap.connect(to: address, channelInitializer: initializer)
        }
        return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
    } catch let error as NIOConnectionError {
        if let first = error.connectionErrors.first { throw DialError(description: "dial tcp \(hostPort): \(dialCause(first.error))") }
        throw DialError(description: "dial tcp: lookup \(host): no such host")
    } catch {
        throw DialError(description: "dial tcp \(hostPort): \(dialCause(error))")
    }
}

/// A failed TCP connection, worded as Go's `*net.OpError`.
struct DialError: Error, Sendable, CustomStringConvertible {
    var description: String
}

private func dialCause(_ error: any Error) -> String {
    if let e = error as? ChannelError, case .connectTimeout = e { return "i/o timeout" }
    if let e = error as? IOError { return "connect: " + String(cString: strerror(e.errnoCode)).lowercased() }
    return "\(error)"
}

private func isIPAddress(_ host: String) -> Bool {
    (try? SocketAddress(ipAddress: host, port: 0)) != nil
}

/// Runs `operation`, cancelling it once `timeout` has passed: nil then. The operation
/// must honour cancellation (NIO channels and the runtime's exec do).
func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
    }
}

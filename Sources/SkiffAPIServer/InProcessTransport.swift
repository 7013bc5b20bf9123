import SkiffClient

/// The API as a client transport for the components inside the server process (the
/// scheduler and controllers, as k3s runs them): requests go through the same handler,
/// validation and admission as any client's, without TLS or sockets.
public struct InProcessTransport: Transport {
    let handler: APIHandler
    let user: String

    public init(handler: APIHandler, user: String) {
        self.handler = handler
        self.user = user
    }

    func apiRequest(_ r: ClientRequest) -> APIRequest {
        var query: [String: [String]] = [:]
        for (k, v) in r.query { query[k, default: []].append(v) }
        return APIRequest(method: r.method, path: r.path, query: query,
                          headers: ["content-type": r.contentType, "accept": "application/json"], body: r.body, user: user)
    }

    public func send(_ r: ClientRequest) async throws -> ClientResponse {
        let response = await handler.handle(apiRequest(r))
        if case .stream = response.body { throw ClientError(code: 0, reason: "Stream", message: "\(r.path) answered with a stream") }
        return ClientResponse(status: response.status, body: response.bodyBytes)
    }

    public func stream(_ r: ClientRequest) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let response = await handler.handle(apiRequest(r))
        guard response.status == 200, case .stream(let produce) = response.body else {
            throw ClientError(status: response.status, body: response.bodyBytes)
        }
        return AsyncThrowingStream { continuation in
            // Owned by the stream: cancelled when its consumer stops.
            let task = Task {
                do {
                    try await produce { chunk in continuation.yield(chunk) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import SkiffAPIServer
import SkiffClient
import SkiffCore
import SkiffRuntime
import ServiceLifecycle
import SkiffStore
import Synchronization
import Testing
import X509
@testable import SkiffKubelet

/// The cluster PKI of a test: ClusterPKI's own certificates (its serving certificate, for
/// 127.0.0.1, serves as the kubelet's), plus a client certificate nobody authorized.
struct TestPKI {
    let pki: ClusterPKI
    let dir: String
    let nodeCertificatePEM: String
    let nodeKeyPEM: String

    init() throws {
        dir = NSTemporaryDirectory() + "skiff-kubelet-pki-" + UUID().uuidString
        pki = try ClusterPKI.loadOrCreate(in: dir, sans: ["127.0.0.1"])
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: pki.caKeyPEM)
        let ca = try Certificate(pemEncoded: pki.caCertificatePEM)
        let key = P256.Signing.PrivateKey()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
            issuer: ca.subject, subject: try DistinguishedName {
                OrganizationName("system:nodes")
                CommonName("system:node:n1")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.clientAuth])
            },
            issuerPrivateKey: .init(caKey))
        nodeCertificatePEM = try cert.serializeAsPEM().pemString
        nodeKeyPEM = key.pemRepresentation
    }

    var servingTLS: ServingTLS {
        ServingTLS(certificatePEM: pki.serverCertificatePEM, keyPEM: pki.serverKeyPEM, clientCAPEM: pki.caCertificatePEM)
    }
}

/// A log file and whether its container still runs, for the fake kubelet.
final class FakeContainer: Sendable {
    let path: String
    let running = Mutex(false)

    init(path: String) { self.path = path }

    func append(_ lines: [String], at time: Timestamp = Timestamp(seconds: 1_700_000_000)) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.map { "\(time.rfc3339Nano) stdout F \($0)\n" }.joined().utf8))
        try handle.close()
    }
}

/// The kubelet's side of logs, faked: pod default/p with c1 (running or not, with a
/// log), c2 (waiting to start) and no previous attempt.
struct FakeLogSource: ContainerLogSource {
    let c1: FakeContainer

    func logLocation(namespace: String, pod: String, container: String, previous: Bool) async throws -> ContainerLogLocation {
        guard namespace == "default", pod == "p" else { throw ContainerLogError.podNotFound(pod) }
        switch container {
        case "c1":
            if previous { throw ContainerLogError.previousNotFound(container, pod: pod) }
            let c1 = self.c1
            return ContainerLogLocation(path: c1.path, isRunning: { c1.running.withLock { $0 } })
        case "c2":
            throw ContainerLogError.waiting(container, pod: pod, reason: "ContainerCreating")
        default:
            throw ContainerLogError.containerNotFound(container, pod: pod)
        }
    }
}

/// A KubeletServer on a loopback port for the duration of `body`.
func withKubeletServer(_ pki: TestPKI, _ source: FakeLogSource, routes: @escaping @Sendable (Router<KubeletRequestContext>) -> Void = { _ in },
                       _ body: (Int) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let server = KubeletServer(host: "127.0.0.1", port: 0, tls: pki.servingTLS, logSource: source, routes: routes, onServerRunning: { channel in
        continuation.yield(channel.localAddress?.port ?? 0)
    })
    let services = ServiceGroup(services: [server], logger: Logger(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        do {
            try await body(port)
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
    }
}

func makeLogFile() throws -> FakeContainer {
    let dir = NSTemporaryDirectory() + "skiff-kubelet-logs-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let c1 = FakeContainer(path: dir + "/0.log")
    #expect(FileManager.default.createFile(atPath: c1.path, contents: nil))
    try c1.append(["one", "two", "three"])
    return c1
}

/// GET over HTTPS with an optional client certificate; the status and the body.
func get(_ url: String, pki: TestPKI, certificate: (String, String)?) async throws -> (Int, String) {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.pki.caCertificatePEM.utf8)))
    if let (cert, key) = certificate {
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(cert.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
    }
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
    do {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        try await client.shutdown()
        return (Int(response.status.code), String(buffer: body))
    } catch {
        try await client.shutdown()
        throw error
    }
}

@Suite struct KubeletServerTests {
    @Test func servesLogsToTheAPIServerAndAdminsOnly() async throws {
        let pki = try TestPKI()
        let c1 = try makeLogFile()
        try await withKubeletServer(pki, FakeLogSource(c1: c1)) { port in
            let base = "https://127.0.0.1:\(port)"
            let apiServer = (pki.pki.kubeletClientCertificatePEM, pki.pki.kubeletClientKeyPEM)
            let admin = (pki.pki.adminCertificatePEM, pki.pki.adminKeyPEM)

            var (status, body) = try await get(base + "/containerLogs/default/p/c1", pki: pki, certificate: apiServer)
            #expect(status == 200)
            #expect(body == "one\ntwo\nthree\n")
            (status, body) = try await get(base + "/containerLogs/default/p/c1?tailLines=1&timestamps=true", pki: pki, certificate: admin)
            #expect(status == 200)
            #expect(body == "2023-11-14T22:13:20.000000000Z three\n")
            (status, _) = try await get(base + "/healthz", pki: pki, certificate: admin)
            #expect(status == 200)

            (status, body) = try await get(base + "/containerLogs/default/p/c1", pki: pki, certificate: nil)
            #expect(status == 401)
            #expect(body.contains("\"reason\":\"Unauthorized\""))
            (status, body) = try await get(base + "/containerLogs/default/p/c1", pki: pki, certificate: (pki.nodeCertificatePEM, pki.nodeKeyPEM))
            #expect(status == 403)
            #expect(body.contains("Forbidden (user=system:node:n1, verb=get, resource=nodes, subresource=log)"))
        }
    }

    @Test func mapsTheKubeletsErrors() async throws {
        let pki = try TestPKI()
        try await withKubeletServer(pki, FakeLogSource(c1: try makeLogFile())) { port in
            let base = "https://127.0.0.1:\(port)/containerLogs/default/"
            let admin = (pki.pki.adminCertificatePEM, pki.pki.adminKeyPEM)
            let cases: [(String, Int, String)] = [
                ("p/c2", 400, #"container \"c2\" in pod \"p\" is waiting to start: ContainerCreating"#),
                ("p/c1?previous=true", 400, #"previous terminated container \"c1\" in pod \"p\" not found"#),
                ("nope/c1", 404, #"pod \"nope\" does not exist"#),
                ("p/c1?sinceSeconds=5&sinceTime=2023-11-14T22:13:20Z", 400, "at most one of sinceTime or sinceSeconds"),
                ("p/c1?tailLines=x", 400, "tailLines: invalid integer"),
            ]
            for (path, code, message) in cases {
                let (status, body) = try await get(base + path, pki: pki, certificate: admin)
                #expect(status == code, "\(path)")
                #expect(body.contains(message), "\(path): \(body)")
            }
        }
    }

    @Test func parsesTheLogQuery() throws {
        let query = ["follow": "true", "tailLines": "3", "limitBytes": "10", "timestamps": "1", "sinceTime": "2023-11-14T22:13:20Z"]
        let (options, previous) = try KubeletServer.parseLogQuery { query[$0] }
        #expect(options == ContainerLogOptions(tailLines: 3, sinceTime: Timestamp(seconds: 1_700_000_000), timestamps: true,
                                               limitBytes: 10, follow: true))
        #expect(!previous)
        #expect(throws: ContainerLogError.self) { try KubeletServer.parseLogQuery { $0 == "limitBytes" ? "0" : nil } }
    }
}

/// Collects a streamed API response; `onFirstChunk` runs once the first chunk arrived.
actor StreamedBody {
    var bytes: [UInt8] = []
    var chunks = 0

    func add(_ chunk: [UInt8]) -> Int {
        bytes += chunk
        chunks += 1
        return chunks
    }

    static func read(_ response: APIResponse, onFirstChunk: @escaping @Sendable () async throws -> Void = {}) async throws -> String {
        switch response.body {
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        case .parts(let parts): return String(decoding: Array(parts.joined()), as: UTF8.self)
        case .stream(let produce):
            let body = StreamedBody()
            try await produce { chunk in
                if await body.add(chunk) == 1 { try await onFirstChunk() }
            }
            return String(decoding: await body.bytes, as: UTF8.self)
        }
    }
}

@Suite struct PodLogProxyTests {
    @Test func proxiesPodsLogToTheNodesKubelet() async throws {
        let pki = try TestPKI()
        let c1 = try makeLogFile()
        try await withKubeletServer(pki, FakeLogSource(c1: c1)) { port in
            let handler = APIHandler(store: MVCCStore(), kubeletClient: KubeletClientConfig(pki: pki.pki))
            let cacheTask = Task { try await handler.run() }
            defer { cacheTask.cancel() }
            try await handler.bootstrap(servicePort: 6443)
            func request(_ method: String, _ target: String, _ body: String = "", contentType: String = "application/json") async -> APIResponse {
                await handler.handle(APIRequest(method, target, body: body, headers: ["content-type": contentType]))
            }
            #expect(await request("POST", "/api/v1/nodes", #"{"metadata":{"name":"n1"}}"#).status == 201)
            let status = #"{"status":{"addresses":[{"type":"Hostname","address":"n1"},{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":\#(port)}}}}"#
            #expect(await request("PATCH", "/api/v1/nodes/n1/status", status, contentType: "application/merge-patch+json").status == 200)
            let pod = #"{"metadata":{"name":"p"},"spec":{"nodeName":"n1","initContainers":[{"name":"i1","image":"busybox"}],"containers":[{"name":"c1","image":"busybox"},{"name":"c2","image":"busybox"}]}}"#
            #expect(await request("POST", "/api/v1/namespaces/default/pods", pod).status == 201)
            let unbound = #"{"metadata":{"name":"p2"},"spec":{"containers":[{"name":"c1","image":"busybox"}]}}"#
            #expect(await request("POST", "/api/v1/namespaces/default/pods", unbound).status == 201)
            let logs = "/api/v1/namespaces/default/pods/"

            var response = await request("GET", logs + "p/log?container=c1")
            #expect(response.status == 200)
            #expect(try await StreamedBody.read(response) == "one\ntwo\nthree\n")
            response = await request("GET", logs + "p/log?container=c1&tailLines=2&timestamps=true&limitBytes=40")
            #expect(try await StreamedBody.read(response) == "2023-11-14T22:13:20.000000000Z two\n2023-")

            let errors: [(String, Int, String)] = [
                ("p/log", 400, "a container name must be specified for pod p, choose one of: [c1 c2] or one of the init containers: [i1]"),
                ("p/log?container=nope", 400, "container nope is not valid for pod p"),
                ("p2/log", 400, "pod p2 does not have a host assigned"),
                ("gone/log", 404, #"pods "gone" not found"#),
                ("p/log?container=c2", 400, #"container "c2" in pod "p" is waiting to start: ContainerCreating"#),
                ("p/log?container=c1&previous=true", 400, #"previous terminated container "c1" in pod "p" not found"#),
                ("p/log?container=c1&tailLines=-1", 422, #"PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"#),
            ]
            for (path, code, message) in errors {
                let r = await request("GET", logs + path)
                #expect(r.status == code, "\(path)")
                let json = try JSON.parse(r.bodyBytes)
                #expect(json["kind"]?.stringValue == "Status", "\(path)")
                #expect(json["message"]?.stringValue == message, "\(path)")
            }

            // follow streams what arrives, and ends once the container has stopped.
            c1.running.withLock { $0 = true }
            response = await request("GET", logs + "p/log?container=c1&follow=true&tailLines=1")
            #expect(response.status == 200)
            let text = try await StreamedBody.read(response) {
                try c1.append(["four"])
                c1.running.withLock { $0 = false }
            }
            #expect(text == "three\nfour\n")
        }
    }
}

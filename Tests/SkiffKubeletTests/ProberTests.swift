import Foundation
import NIOHTTP1
import SkiffCore
import SkiffRuntime
import Testing
@testable import SkiffKubelet

@Suite struct ProbeSpecTests {
    @Test func defaultsAndClamping() {
        let p = Probe(["httpGet": ["port": 8080], "periodSeconds": 0, "timeoutSeconds": 5, "failureThreshold": 1])
        #expect(p.action == .httpGet(HTTPGetAction(path: "", port: .number(8080), host: "", scheme: "HTTP", httpHeaders: [])))
        #expect(p.periodSeconds == 1)
        #expect(p.timeoutSeconds == 5)
        #expect(p.successThreshold == 1)
        #expect(p.failureThreshold == 1)
        #expect(p.initialDelaySeconds == 0)
        let d = Probe(["exec": ["command": ["true"]]])
        #expect(d.action == .exec(command: ["true"]))
        #expect(d.periodSeconds == 10 && d.timeoutSeconds == 1 && d.failureThreshold == 3)
        #expect(ContainerAction(["sleep": ["seconds": 5]]) == .sleep(seconds: 5))
        #expect(ContainerAction(["grpc": ["port": 9000]]) == .grpc(port: 9000, service: nil))
        #expect(ContainerAction([:]) == nil)
    }

    @Test(arguments: [
        (PortReference.number(80), "80"),
        (.name("http"), "8080"),
        (.name("9090"), "9090"),
        (.name("nope"), "strconv.Atoi: parsing \"nope\": invalid syntax"),
        (.number(0), "invalid port number: 0"),
        (.number(70000), "invalid port number: 70000"),
    ])
    func ports(_ ref: PortReference, _ expected: String) {
        let container: JSON = ["name": "c", "ports": [["name": "http", "containerPort": 8080]]]
        do {
            #expect(String(try ref.resolve(in: container)) == expected)
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test func staticEnvExpansion() {
        let container: JSON = ["env": [["name": "FILE", "value": "/tmp/ok"], ["name": "FROM", "valueFrom": ["fieldRef": ["fieldPath": "x"]]]]]
        #expect(expandStaticEnv(["cat", "$(FILE)", "$(FROM)", "$$(FILE)", "a$b"], container: container) == ["cat", "/tmp/ok", "$(FROM)", "$(FILE)", "a$b"])
    }

    @Test func goQuoting() {
        #expect(goQuote("a \"b\"\n\\") == #""a \"b\"\n\\""#)
    }

    @Test func requestHeaders() throws {
        let get = HTTPGetAction(path: "healthz?x=1", port: .number(80), host: "", scheme: "HTTPS",
                                httpHeaders: [HTTPHeader(name: "X-Custom", value: "1"), HTTPHeader(name: "Accept", value: "")])
        let (url, headers) = try httpRequest(get, container: [:], podIP: "10.42.0.5", purpose: "probe", version: "1.33")
        #expect(url.description == "https://10.42.0.5:80/healthz?x=1")
        #expect(headers.map(\.name) == ["X-Custom", "User-Agent"])
        #expect(headers.last?.value == "kube-probe/1.33")
        let own = HTTPGetAction(path: "/", port: .number(80), host: "example.com", scheme: "HTTP", httpHeaders: [HTTPHeader(name: "user-agent", value: "me")])
        let (url2, headers2) = try httpRequest(own, container: [:], podIP: "10.42.0.5", purpose: "probe", version: "1.33")
        #expect(url2.host == "example.com")
        #expect(headers2.map(\.value) == ["me", "*/*"])
    }
}

@Suite struct ProberTests {
    let exec = FakeExecRuntime { command in
        switch command.first {
        case "ok": return exitResult(0, stdout: "fine")
        case "fail": return exitResult(1, stdout: "out;", stderr: "err")
        case "big": return exitResult(1, stdout: String(repeating: "x", count: 20_000))
        case "sleep":
            try await Task.sleep(for: .seconds(30))
            return exitResult(0)
        default: throw RuntimeError("NotFound", "container not running")
        }
    }
    var prober: Prober { Prober(runtime: exec, version: "1.33") }

    func http(_ port: Int, path: String = "/healthz", headers: [HTTPHeader] = []) -> ContainerAction {
        .httpGet(HTTPGetAction(path: path, port: .number(port), host: "", scheme: "HTTP", httpHeaders: headers))
    }

    func run(_ action: ContainerAction, timeout: Duration = .seconds(1)) async -> ProbeOutcome {
        await prober.probe(action, timeout: timeout, container: ["name": "c", "ports": [["name": "web", "containerPort": 1]]], containerID: "id", podIP: "127.0.0.1")
    }

    @Test func execResults() async {
        #expect(await run(.exec(command: ["ok"])) == .success("fine"))
        #expect(await run(.exec(command: ["fail"])) == .failure("out;err"))
        #expect(await run(.exec(command: ["sleep", "10"])) == .failure("command \"sleep 10\" timed out"))
        #expect(await run(.exec(command: ["gone"])) == .errored("NotFound: container not running"))
        guard case .failure(let big) = await run(.exec(command: ["big"])) else { Issue.record("expected a failure"); return }
        #expect(big.utf8.count == 10 * 1024)
    }

    @Test func httpStatusesAndHeaders() async throws {
        let server = try await TestHTTPServer { head in
            switch head.uri {
            case "/healthz?full=1": .init(status: 200, body: "ok")
            case "/redirect": .init(status: 302, headers: [("Location", "/healthz?full=1")])
            case "/elsewhere": .init(status: 302, headers: [("Location", "http://localhost:1/x")], body: "moved")
            case "/loop": .init(status: 301, headers: [("Location", "/loop")])
            case "/big": .init(status: 200, body: String(repeating: "y", count: 30_000))
            case "/hang": nil
            default: .init(status: 500, body: "secret")
            }
        }
        let port = server.port
        #expect(await run(http(port, path: "/healthz?full=1", headers: [HTTPHeader(name: "X-Probe", value: "yes")])) == .success("ok"))
        let head = try #require(server.requests.first)
        #expect(head.headers["User-Agent"] == ["kube-probe/1.33"])
        #expect(head.headers["Accept"] == ["*/*"])
        #expect(head.headers["X-Probe"] == ["yes"])
        #expect(head.headers["Host"] == ["127.0.0.1:\(port)"])

        #expect(await run(http(port, path: "/other")) == .failure("HTTP probe failed with statuscode: 500"))
        #expect(await run(http(port, path: "/redirect")) == .success("ok"))
        #expect(await run(http(port, path: "/elsewhere")) == .warning("Probe terminated redirects, Response body: moved"))
        #expect(server.requests.allSatisfy { $0.uri != "/x" })
        // Eleven requests: a generous deadline, so a loaded machine still sees the redirect limit.
        #expect(await run(http(port, path: "/loop"), timeout: .seconds(10)) == .failure("Get \"http://127.0.0.1:\(port)/loop\": stopped after 10 redirects"))
        guard case .success(let body) = await run(http(port, path: "/big")) else { Issue.record("expected a success"); return }
        #expect(body.utf8.count == 10 * 1024)
        #expect(await run(http(port, path: "/hang")) == .failure("Get \"http://127.0.0.1:\(port)/hang\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"))
        try await server.close()
    }

    @Test func namedPortAndRefusal() async throws {
        let closed = try await refusedPort()
        #expect(await run(http(closed)) == .failure("Get \"http://127.0.0.1:\(closed)/healthz\": dial tcp 127.0.0.1:\(closed): connect: connection refused"))
        #expect(await run(.tcpSocket(TCPSocketAction(port: .number(closed), host: ""))) == .failure("dial tcp 127.0.0.1:\(closed): connect: connection refused"))
        let server = try await TestHTTPServer { _ in .init(status: 204) }
        let container: JSON = ["name": "c", "ports": [["name": "web", "containerPort": .number(JSONNumber(server.port))]]]
        let named = ContainerAction.httpGet(HTTPGetAction(path: "/", port: .name("web"), host: "", scheme: "HTTP", httpHeaders: []))
        #expect(await prober.probe(named, timeout: .seconds(1), container: container, containerID: "id", podIP: "127.0.0.1") == .success(""))
        let tcp = ContainerAction.tcpSocket(TCPSocketAction(port: .name("web"), host: ""))
        #expect(await prober.probe(tcp, timeout: .seconds(1), container: container, containerID: "id", podIP: "127.0.0.1") == .success(""))
        #expect(await run(.tcpSocket(TCPSocketAction(port: .name("missing"), host: ""))) == .errored("strconv.Atoi: parsing \"missing\": invalid syntax"))
        try await server.close()
    }

    @Test func grpcIsNotSupported() async {
        #expect(await run(.grpc(port: 9000, service: nil)) == .errored("gRPC probes are not supported"))
    }
}

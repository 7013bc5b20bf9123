import Foundation
import NIOCore
import SkiffCore
import SkiffRuntime

/// What one probe attempt found: upstream's probe.Result with its output. `errored` is
/// upstream's Unknown-with-error: the check could not be made, and the worker throws the
/// result away instead of counting it toward a threshold.
enum ProbeOutcome: Sendable, Equatable {
    case success(String)
    /// Success, but worth an event (an HTTP probe stopped at a redirect to another host).
    case warning(String)
    case failure(String)
    case errored(String)
}

/// Runs single probe attempts: exec through the runtime, httpGet and tcpSocket from the
/// node to the pod's IP (the kubelet shares the host's network namespace, and pod IPs are
/// reachable over the CNI bridge).
struct Prober: Sendable {
    let runtime: any RuntimeService
    /// `<major>.<minor>` for the User-Agent (`kube-probe/1.33`).
    let version: String
    let http = HTTPGetter()

    /// Upstream keeps at most 10 KiB of an exec probe's output.
    static let maxOutput = 10 * 1024

    /// One attempt of `action` against the container, bounded by `timeout`.
    func probe(_ action: ContainerAction?, timeout: Duration, container: JSON, containerID: String, podIP: String?) async -> ProbeOutcome {
        switch action {
        case .exec(let command):
            return await exec(expandStaticEnv(command, container: container), containerID: containerID, timeout: timeout)
        case .httpGet(let get):
            let url: ProbeURL
            let headers: [HTTPHeader]
            do {
                (url, headers) = try httpRequest(get, container: container, podIP: podIP, purpose: "probe", version: version)
            } catch {
                return .errored("\(error)")
            }
            do {
                let response = try await http.get(url, headers: headers, redirects: .sameHost, timeout: timeout)
                let body = String(decoding: response.body, as: UTF8.self)
                switch response.status {
                case 200..<300: return .success(body)
                case 300..<400: return .warning("Probe terminated redirects, Response body: \(body)")
                // The body is left out on purpose, as upstream (it may hold secrets).
                default: return .failure("HTTP probe failed with statuscode: \(response.status)")
                }
            } catch {
                return .failure("\(error)")
            }
        case .tcpSocket(let tcp):
            let host = tcp.host.isEmpty ? podIP ?? "" : tcp.host
            let port: Int
            do {
                port = try tcp.port.resolve(in: container)
            } catch {
                return .errored("\(error)")
            }
            do {
                let channel = try await dial(host: host, port: port, timeout: timeout) { channel in channel.eventLoop.makeSucceededFuture(channel) }
                try await channel.close()
                return .success("")
            } catch let e as DialError {
                return .failure(e.description)
            } catch {
                // Closing a connected socket failed: the port was open, which is what counts.
                return .success("")
            }
        case .grpc:
            return .errored("gRPC probes are not supported")
        case .sleep:
            return .errored("sleep is not a probe handler")
        case nil:
            return .errored("missing probe handler")
        }
    }

    /// execSync bounded by the probe's timeout; exit 0 is success, and a timeout is a
    /// failure with upstream's `command "…" timed out` (the ExecProbeTimeout behaviour).
    private func exec(_ command: [String], containerID: String, timeout: Duration) async -> ProbeOutcome {
        do {
            guard let result = try await withDeadline(timeout, { try await runtime.execSync(containerID, command: command, timeout: timeout) }) else {
                return .failure("command \(goQuote(command.joined(separator: " "))) timed out")
            }
            let output = String(decoding: (result.stdout + result.stderr).prefix(Self.maxOutput), as: UTF8.self)
            return result.exitCode == 0 ? .success(output) : .failure(output)
        } catch {
            return .errored("\(error)")
        }
    }
}

/// The URL and headers of an httpGet probe or hook, as upstream's NewRequestForHTTPGetAction:
/// host defaults to the pod IP; User-Agent `kube-<purpose>/<version>` and `Accept: */*`
/// unless given, and an Accept given empty is dropped.
func httpRequest(_ get: HTTPGetAction, container: JSON, podIP: String?, purpose: String, version: String)
    throws(ProbeActionError) -> (ProbeURL, [HTTPHeader]) {
    let port = try get.port.resolve(in: container)
    let host = get.host.isEmpty ? podIP ?? "" : get.host
    guard !host.isEmpty else { throw ProbeActionError("the pod has no IP address yet") }
    let scheme = get.scheme.isEmpty ? "http" : get.scheme.lowercased()
    var headers = get.httpHeaders
    func given(_ name: String) -> Bool { headers.contains { $0.name.lowercased() == name.lowercased() } }
    if !given("User-Agent") { headers.append(HTTPHeader(name: "User-Agent", value: "kube-\(purpose)/\(version)")) }
    if !given("Accept") {
        headers.append(HTTPHeader(name: "Accept", value: "*/*"))
    } else {
        headers.removeAll { $0.name.lowercased() == "accept" && $0.value.isEmpty }
    }
    return (ProbeURL(scheme: scheme, host: host, port: port, path: get.path), headers)
}

import SkiffCore

// Typed views of core/v1's probe and lifecycle handler fields, read from the pod's JSON.
// Defaults are the API server's (validation has already rejected impossible values), and
// the few that the kubelet must still clamp are clamped here.

/// A port given as a number or as the name of one of the container's ports (IntOrString).
public enum PortReference: Sendable, Equatable {
    case number(Int)
    case name(String)

    init?(_ json: JSON?) {
        if let n = json?.intValue {
            self = .number(n)
        } else if let s = json?.stringValue {
            self = .name(s)
        } else {
            return nil
        }
    }

    /// The port number, looking a name up in the container's ports as upstream's
    /// ResolveContainerPort does (a name that is not found may still be a number in a string).
    func resolve(in container: JSON) throws(ProbeActionError) -> Int {
        let port: Int
        switch self {
        case .number(let n):
            port = n
        case .name(let name):
            let ports = container["ports"]?.arrayValue ?? []
            if let named = ports.first(where: { $0["name"]?.stringValue == name }), let n = named["containerPort"]?.intValue {
                port = n
            } else if let n = Int(name) {
                port = n
            } else {
                throw ProbeActionError("strconv.Atoi: parsing \(goQuote(name)): invalid syntax")
            }
        }
        guard port > 0, port < 65536 else { throw ProbeActionError("invalid port number: \(port)") }
        return port
    }
}

/// One `httpHeaders` entry.
public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// core/v1 HTTPGetAction.
public struct HTTPGetAction: Sendable, Equatable {
    public var path: String
    public var port: PortReference
    /// Empty: the pod's IP.
    public var host: String
    /// "HTTP" or "HTTPS" (certificates are not verified, as upstream).
    public var scheme: String
    public var httpHeaders: [HTTPHeader]
}

/// core/v1 TCPSocketAction.
public struct TCPSocketAction: Sendable, Equatable {
    public var port: PortReference
    /// Empty: the pod's IP.
    public var host: String
}

/// What a probe or a lifecycle hook does; the API allows exactly one handler per probe or hook.
public enum ContainerAction: Sendable, Equatable {
    case exec(command: [String])
    case httpGet(HTTPGetAction)
    case tcpSocket(TCPSocketAction)
    /// gRPC health checking (probes only): port and service.
    case grpc(port: Int, service: String?)
    /// `sleep.seconds` (lifecycle hooks only, 1.29+).
    case sleep(seconds: Int64)

    /// Reads the handler of a Probe or LifecycleHandler object; nil when it has none.
    public init?(_ json: JSON) {
        if let exec = json["exec"] {
            self = .exec(command: (exec["command"]?.arrayValue ?? []).compactMap(\.stringValue))
        } else if let http = json["httpGet"], let port = PortReference(http["port"]) {
            let headers = (http["httpHeaders"]?.arrayValue ?? []).map {
                HTTPHeader(name: $0["name"]?.stringValue ?? "", value: $0["value"]?.stringValue ?? "")
            }
            self = .httpGet(HTTPGetAction(path: http["path"]?.stringValue ?? "", port: port, host: http["host"]?.stringValue ?? "",
                                          scheme: http["scheme"]?.stringValue ?? "HTTP", httpHeaders: headers))
        } else if let tcp = json["tcpSocket"], let port = PortReference(tcp["port"]) {
            self = .tcpSocket(TCPSocketAction(port: port, host: tcp["host"]?.stringValue ?? ""))
        } else if let grpc = json["grpc"], let port = grpc["port"]?.intValue {
            self = .grpc(port: port, service: grpc["service"]?.stringValue)
        } else if let sleep = json["sleep"], let seconds = sleep["seconds"]?.int64Value {
            self = .sleep(seconds: seconds)
        } else {
            return nil
        }
    }
}

/// Which of a container's three probes; the raw value is the word upstream's events use.
public enum ProbeType: String, Sendable, CaseIterable, Hashable {
    case liveness = "Liveness"
    case readiness = "Readiness"
    case startup = "Startup"

    /// The container field that holds the probe.
    var field: String {
        switch self {
        case .liveness: "livenessProbe"
        case .readiness: "readinessProbe"
        case .startup: "startupProbe"
        }
    }
}

/// core/v1 Probe with the API's defaults applied.
public struct Probe: Sendable, Equatable {
    public var action: ContainerAction?
    public var initialDelaySeconds: Int
    /// Default 10, at least 1.
    public var periodSeconds: Int
    /// Default 1, at least 1.
    public var timeoutSeconds: Int
    /// Default 1; the API requires 1 for liveness and startup probes.
    public var successThreshold: Int
    /// Default 3.
    public var failureThreshold: Int
    /// The probe's own grace period for a kill after a liveness or startup failure (nil: the pod's).
    public var terminationGracePeriodSeconds: Int64?

    /// Reads a probe, applying the defaults the API server would have set.
    public init(_ json: JSON) {
        action = ContainerAction(json)
        initialDelaySeconds = max(json["initialDelaySeconds"]?.intValue ?? 0, 0)
        periodSeconds = max(json["periodSeconds"]?.intValue ?? 10, 1)
        timeoutSeconds = max(json["timeoutSeconds"]?.intValue ?? 1, 1)
        successThreshold = max(json["successThreshold"]?.intValue ?? 1, 1)
        failureThreshold = max(json["failureThreshold"]?.intValue ?? 3, 1)
        terminationGracePeriodSeconds = json["terminationGracePeriodSeconds"]?.int64Value
    }

    /// The container's probe of this type, if it has one.
    public init?(_ type: ProbeType, of container: JSON) {
        guard let json = container[type.field], json.isObject else { return nil }
        self.init(json)
    }
}

/// Why a probe or hook could not even be attempted (a bad port, a missing handler):
/// upstream's "errored" case, as opposed to a failed check.
public struct ProbeActionError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The spec of the container with this name: a regular container, or a sidecar (an
/// init container with restartPolicy Always), the containers that are probed.
func containerSpec(named name: String, in pod: JSON) -> JSON? {
    if let c = pod[path: ["spec", "containers"]]?.arrayValue?.first(where: { $0["name"]?.stringValue == name }) { return c }
    return pod[path: ["spec", "initContainers"]]?.arrayValue?.first {
        $0["name"]?.stringValue == name && $0["restartPolicy"]?.stringValue == "Always"
    }
}

/// `name_namespace(uid)`, how upstream's kubelet names a pod in messages (format.Pod).
func podDescription(_ pod: JSON) -> String {
    "\(pod[path: ["metadata", "name"]]?.stringValue ?? "")_\(pod[path: ["metadata", "namespace"]]?.stringValue ?? "")(\(pod[path: ["metadata", "uid"]]?.stringValue ?? ""))"
}

/// Expands `$(VAR)` in a probe's command from the container's literal `env` values only,
/// as upstream's ExpandContainerCommandOnlyStatic: `$$` is a literal `$`, and unknown
/// references are left as written.
func expandStaticEnv(_ command: [String], container: JSON) -> [String] {
    var env: [String: String] = [:]
    for e in container["env"]?.arrayValue ?? [] {
        if let name = e["name"]?.stringValue, let value = e["value"]?.stringValue { env[name] = value }
    }
    guard !env.isEmpty else { return command }
    return command.map { arg in
        var out = ""
        var rest = Substring(arg)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                out += "$"
                rest = after.dropFirst()
            } else if after.first == "(", let close = after.firstIndex(of: ")") {
                let name = String(after[after.index(after: after.startIndex)..<close])
                out += env[name] ?? "$(\(name))"
                rest = after[after.index(after: close)...]
            } else {
                out += "$"
                rest = after
            }
        }
        return out + rest
    }
}

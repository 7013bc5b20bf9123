import Foundation
import SkiffAPI
import SkiffCore
import SkiffRuntime

/// A container's configuration cannot be made (a missing ConfigMap, key, volume, bad
/// subPath): the kubelet reports it as the container's `CreateContainerConfigError` and
/// retries on the next sync. The message is upstream's.
public struct ContainerConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A container's environment, computed as the kubelet's makeEnvironmentVariables does:
/// envFrom first, then env in order (later wins), then Service links underneath.
public enum EnvVars {
    /// Fetches a "ConfigMap" or "Secret" by (kind, namespace, name); nil when it does not exist.
    public typealias Lookup = (_ kind: String, _ namespace: String, _ name: String) async throws -> JSON?

    /// The environment of `container` in `pod`.
    ///
    /// `services` are the Services the kubelet knows (the pod's namespace and
    /// `default/kubernetes`); `status.podIP(s)`/`status.hostIP(s)` are read from `pod`, so
    /// the kubelet fills them from the sandbox before calling.
    public static func resolve(container: JSON, pod: JSON, services: [JSON], nodeAllocatable: [String: Quantity],
                               lookup: Lookup) async throws -> [KeyValue] {
        let namespace = pod.namespace ?? "default"
        let serviceEnv = serviceEnvironment(namespace: namespace,
                                            enableServiceLinks: pod[path: ["spec", "enableServiceLinks"]]?.boolValue ?? true,
                                            services: services)
        let serviceMap = Dictionary(serviceEnv.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        var env = OrderedEnv()
        var cache: [String: JSON?] = [:]

        func fetch(_ kind: String, _ name: String) async throws -> JSON? {
            let key = "\(kind)/\(name)"
            if let cached = cache[key] { return cached }
            let object: JSON?
            do {
                object = try await lookup(kind, namespace, name)
            } catch let e as ContainerConfigError {
                throw e
            } catch {
                throw ContainerConfigError("couldn't get \(kind.lowercased()) \(namespace)/\(name): \(error)")
            }
            cache[key] = object
            return object
        }

        for source in container["envFrom"]?.arrayValue ?? [] {
            let prefix = source["prefix"]?.stringValue ?? ""
            let kind: String, ref: JSON
            if let r = source["configMapRef"] { (kind, ref) = ("ConfigMap", r) } else if let r = source["secretRef"] { (kind, ref) = ("Secret", r) } else { continue }
            let name = ref["name"]?.stringValue ?? ""
            guard let object = try await fetch(kind, name) else {
                if ref["optional"]?.boolValue == true { continue }
                throw ContainerConfigError(notFoundMessage(kind, name))
            }
            for (key, value) in dataEntries(object, kind: kind) {
                let name = prefix + key
                // Upstream skips invalid names (and records an InvalidEnvironmentVariableNames event).
                guard isEnvVarName(name) else { continue }
                env[name] = value
            }
        }

        for variable in container["env"]?.arrayValue ?? [] {
            guard let name = variable["name"]?.stringValue else { continue }
            var value = variable["value"]?.stringValue ?? ""
            if !value.isEmpty {
                value = expand(value) { env[$0] ?? serviceMap[$0] }
            } else if let from = variable["valueFrom"] {
                if let field = from["fieldRef"] {
                    value = try DownwardAPI.fieldValue(field["fieldPath"]?.stringValue ?? "", pod: pod, forEnv: true)
                } else if let resource = from["resourceFieldRef"] {
                    value = try DownwardAPI.resourceValue(resource, container: container, nodeAllocatable: nodeAllocatable)
                } else if let ref = from["configMapKeyRef"] ?? from["secretKeyRef"] {
                    let kind = from["configMapKeyRef"] != nil ? "ConfigMap" : "Secret"
                    let optional = ref["optional"]?.boolValue == true
                    let objectName = ref["name"]?.stringValue ?? "", key = ref["key"]?.stringValue ?? ""
                    guard let object = try await fetch(kind, objectName) else {
                        if optional { continue }
                        throw ContainerConfigError(notFoundMessage(kind, objectName))
                    }
                    guard let v = dataEntries(object, kind: kind).first(where: { $0.key == key })?.value else {
                        if optional { continue }
                        throw ContainerConfigError("couldn't find key \(key) in \(kind) \(namespace)/\(objectName)")
                    }
                    value = v
                }
            }
            env[name] = value
        }

        var result = env.keyValues
        for kv in serviceEnv where env[kv.key] == nil { result.append(kv) }
        return result
    }

    /// Service links (Docker-link style variables) for the pod's namespace when enabled,
    /// and always those of the master service `default/kubernetes`.
    static func serviceEnvironment(namespace: String, enableServiceLinks: Bool, services: [JSON]) -> [KeyValue] {
        var byName: [String: JSON] = [:]
        for service in services where isServiceIPSet(service) {
            guard let name = service.name else { continue }
            if service.namespace == "default" && name == "kubernetes" {
                if byName[name] == nil { byName[name] = service }
            } else if service.namespace == namespace && enableServiceLinks {
                byName[name] = service
            }
        }
        return byName.keys.sorted().flatMap { serviceVariables(byName[$0]!) }
    }

    static func isServiceIPSet(_ service: JSON) -> Bool {
        let ip = service[path: ["spec", "clusterIP"]]?.stringValue ?? ""
        return !ip.isEmpty && ip != "None"
    }

    /// FOO_SERVICE_HOST, FOO_SERVICE_PORT(_NAME) and the Docker link variables of one Service.
    static func serviceVariables(_ service: JSON) -> [KeyValue] {
        let ports = service[path: ["spec", "ports"]]?.arrayValue ?? []
        guard let first = ports.first else { return [] }
        let ip = service[path: ["spec", "clusterIP"]]?.stringValue ?? ""
        let prefix = envName(service.name ?? "")
        var out = [KeyValue(prefix + "_SERVICE_HOST", ip), KeyValue(prefix + "_SERVICE_PORT", String(first["port"]?.intValue ?? 0))]
        for port in ports {
            if let name = port["name"]?.stringValue, !name.isEmpty {
                out.append(KeyValue(prefix + "_SERVICE_PORT_" + envName(name), String(port["port"]?.intValue ?? 0)))
            }
        }
        let host = ip.contains(":") ? "[\(ip)]" : ip
        for (i, port) in ports.enumerated() {
            let proto = port["protocol"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "TCP"
            let number = port["port"]?.intValue ?? 0
            let url = "\(proto.lowercased())://\(host):\(number)"
            if i == 0 { out.append(KeyValue(prefix + "_PORT", url)) }
            let portPrefix = "\(prefix)_PORT_\(number)_\(proto.uppercased())"
            out += [KeyValue(portPrefix, url), KeyValue(portPrefix + "_PROTO", proto.lowercased()),
                    KeyValue(portPrefix + "_PORT", String(number)), KeyValue(portPrefix + "_ADDR", ip)]
        }
        return out
    }

    static func envName(_ s: String) -> String { s.replacingOccurrences(of: "-", with: "_").uppercased() }

    /// The message of upstream's kubelet object cache for a missing object.
    static func notFoundMessage(_ kind: String, _ name: String) -> String { "\(kind.lowercased()) \"\(name)\" not found" }

    /// A ConfigMap's data and binaryData, or a Secret's decoded data, in the object's order.
    static func dataEntries(_ object: JSON, kind: String) -> [(key: String, value: String)] {
        if kind == "Secret" {
            return (object["data"]?.objectValue ?? JSONObject()).map { ($0, String(decoding: Data(base64Encoded: $1.stringValue ?? "") ?? Data(), as: UTF8.self)) }
        }
        return (object["data"]?.objectValue ?? JSONObject()).map { ($0, $1.stringValue ?? "") }
    }

    /// IsEnvVarName: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
    public static func isEnvVarName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "-" || c == "." || c == "_" }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }

    /// Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`, and references `mapping`
    /// cannot resolve stay as written.
    public static func expand(_ input: String, _ mapping: (String) -> String?) -> String {
        let bytes = Array(input.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count else {
                out.append(bytes[i])
                i += 1
                continue
            }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "$") {
                out.append(next)
                i += 2
            } else if next == UInt8(ascii: "("), let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: ")")) {
                let name = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
                out += Array((mapping(name) ?? "$(\(name))").utf8)
                i = close + 1
            } else {
                // "$" not starting a reference (or an unclosed one) is copied with the next byte.
                out += [bytes[i], next]
                i += 2
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Environment variables in first-set order, where setting a name again replaces its value.
struct OrderedEnv {
    private var order: [String] = []
    private var values: [String: String] = [:]

    subscript(name: String) -> String? {
        get { values[name] }
        set {
            if values[name] == nil { order.append(name) }
            values[name] = newValue
        }
    }

    var keyValues: [KeyValue] { order.map { KeyValue($0, values[$0] ?? "") } }
}

/// The downward API's values, shared by env (fieldRef, resourceFieldRef) and the
/// downwardAPI volume.
enum DownwardAPI {
    /// A pod field by its fieldPath; env can read spec and status fields too.
    static func fieldValue(_ path: String, pod: JSON, forEnv: Bool) throws -> String {
        let metadataFields: [String: String?] = ["metadata.name": pod.name, "metadata.namespace": pod.namespace, "metadata.uid": pod.uid]
        if let value = metadataFields[path] { return value ?? "" }
        switch path {
        case "metadata.labels": return formatMap(pod.labels)
        case "metadata.annotations": return formatMap(pod.annotations)
        default: break
        }
        for (prefix, map) in [("metadata.labels", pod.labels), ("metadata.annotations", pod.annotations)] {
            if path.hasPrefix(prefix + "['"), path.hasSuffix("']"), path.count > prefix.count + 4 {
                let key = String(path.dropFirst(prefix.count + 2).dropLast(2))
                return map[key] ?? ""
            }
        }
        if forEnv {
            func ips(_ list: String, _ single: String) -> [String] {
                let all = pod[path: ["status", list]]?.arrayValue?.compactMap { $0["ip"]?.stringValue } ?? []
                if !all.isEmpty { return all }
                return pod[path: ["status", single]]?.stringValue.map { [$0] } ?? []
            }
            switch path {
            case "spec.nodeName": return pod[path: ["spec", "nodeName"]]?.stringValue ?? ""
            case "spec.serviceAccountName": return pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? ""
            case "status.hostIP": return ips("hostIPs", "hostIP").first ?? ""
            case "status.hostIPs": return ips("hostIPs", "hostIP").joined(separator: ",")
            case "status.podIP": return ips("podIPs", "podIP").first ?? ""
            case "status.podIPs": return ips("podIPs", "podIP").joined(separator: ",")
            default: break
            }
        }
        throw ContainerConfigError("unsupported fieldPath: \(path)")
    }

    /// `key="value"` lines sorted by key, values quoted as Go's %q does.
    static func formatMap(_ map: [String: String]) -> String {
        map.keys.sorted().map { "\($0)=\(goQuote(map[$0] ?? ""))" }.joined(separator: "\n")
    }

    /// A container's limit or request divided by the divisor, rounded up; unset limits are
    /// the node's allocatable, as the kubelet defaults them for the downward API.
    static func resourceValue(_ ref: JSON, container: JSON, nodeAllocatable: [String: Quantity]) throws -> String {
        let resource = ref["resource"]?.stringValue ?? ""
        let divisor = try ref["divisor"].map { j -> Quantity in
            do { return try Quantity(json: j) } catch { throw ContainerConfigError("invalid divisor \(j): \(error)") }
        } ?? Quantity(1)
        let parts = resource.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["limits", "requests"].contains(parts[0]), ["cpu", "memory", "ephemeral-storage"].contains(parts[1]) else {
            throw ContainerConfigError("unsupported container resource : \(resource)")
        }
        var amount = Quantity.zero
        if let q = container[path: ["resources", parts[0], parts[1]]] {
            do { amount = try Quantity(json: q) } catch { throw ContainerConfigError("invalid quantity \(q) for \(resource): \(error)") }
        } else if parts[0] == "limits", let allocatable = nodeAllocatable[parts[1]] {
            amount = allocatable
        }
        let (numerator, denominator) = parts[1] == "cpu" ? (amount.milliValue, divisor.milliValue) : (amount.value, divisor.value)
        guard denominator > 0 else { throw ContainerConfigError("invalid divisor \(divisor) for \(resource)") }
        let quotient = numerator / denominator + (numerator % denominator > 0 ? 1 : 0)
        return String(quotient)
    }
}

import SkiffAPI
import SkiffCore
import SkiffRuntime

/// How the kubelet turns a pod's spec into the runtime's terms: cgroups by QoS class,
/// CPU shares and quota, OOM score, the security context, DNS and the sandbox.
enum PodResources {
    /// The pod's cgroup, under the QoS tier as the kubelet's cgroupfs layout has it.
    static func cgroupParent(_ pod: JSON) -> String {
        let uid = pod.uid ?? ""
        switch pod[path: ["status", "qosClass"]]?.stringValue ?? "BestEffort" {
        case "Guaranteed": return "/kubepods/pod\(uid)"
        case "Burstable": return "/kubepods/burstable/pod\(uid)"
        default: return "/kubepods/besteffort/pod\(uid)"
        }
    }

    static func quantity(_ c: JSON, _ kind: String, _ resource: String) -> Quantity? {
        c[path: ["resources", kind, resource]]?.stringValue.flatMap { try? Quantity(parsing: $0) }
    }

    /// CPU shares from the request (2 at least, as the kernel's minimum the kubelet uses),
    /// a CFS quota from the limit (period 100 ms), the memory limit, and the OOM score
    /// adjustment by QoS class.
    static func linuxResources(container c: JSON, qosClass: String, nodeMemoryBytes: Int64) -> LinuxContainerResources {
        var r = LinuxContainerResources()
        let request = quantity(c, "requests", "cpu") ?? quantity(c, "limits", "cpu")
        r.cpuShares = max(2, (request?.milliValue ?? 0) * 1024 / 1000)
        if let limit = quantity(c, "limits", "cpu") {
            r.cpuPeriod = 100_000
            r.cpuQuota = max(1000, limit.milliValue * 100_000 / 1000)
        }
        if let memory = quantity(c, "limits", "memory") { r.memoryLimitInBytes = memory.value }
        switch qosClass {
        case "Guaranteed": r.oomScoreAdj = -997
        case "BestEffort": r.oomScoreAdj = 1000
        default:
            let requested = (quantity(c, "requests", "memory") ?? quantity(c, "limits", "memory"))?.value ?? 0
            let score = nodeMemoryBytes > 0 ? 1000 - (1000 * requested) / nodeMemoryBytes : 1000
            r.oomScoreAdj = min(999, max(3, score))
        }
        return r
    }

    /// The container's security context over the pod's, in CRI terms. Seccomp defaults to
    /// Unconfined, as the kubelet's (its --seccomp-default is off by default).
    static func securityContext(container c: JSON, pod: JSON) -> LinuxContainerSecurityContext {
        let podSC = pod[path: ["spec", "securityContext"]] ?? [:]
        let sc = c["securityContext"] ?? [:]
        func value(_ key: String) -> JSON? { sc[key] ?? podSC[key] }
        var out = LinuxContainerSecurityContext()
        out.runAsUser = value("runAsUser")?.int64Value
        out.runAsGroup = value("runAsGroup")?.int64Value
        out.runAsNonRoot = value("runAsNonRoot")?.boolValue ?? false
        out.privileged = sc["privileged"]?.boolValue ?? false
        out.readonlyRootfs = sc["readOnlyRootFilesystem"]?.boolValue ?? false
        out.noNewPrivs = sc["allowPrivilegeEscalation"]?.boolValue == false
        out.capabilities = Capabilities(add: sc[path: ["capabilities", "add"]]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                        drop: sc[path: ["capabilities", "drop"]]?.arrayValue?.compactMap(\.stringValue) ?? [])
        out.seccompProfile = value("seccompProfile")?["type"]?.stringValue == "RuntimeDefault" ? "RuntimeDefault" : "Unconfined"
        out.procMount = sc["procMount"]?.stringValue ?? "Default"
        var groups = podSC["supplementalGroups"]?.arrayValue?.compactMap { $0.int64Value } ?? []
        if let fsGroup = podSC["fsGroup"]?.int64Value, !groups.contains(fsGroup) { groups.append(fsGroup) }
        out.supplementalGroups = groups
        return out
    }

    /// The pod's hostname: spec.hostname, else its name, cut to 63 characters as upstream.
    static func hostname(_ pod: JSON) -> String {
        let name = pod[path: ["spec", "hostname"]]?.stringValue ?? pod.name ?? ""
        var h = String(name.prefix(63))
        while h.hasSuffix("-") || h.hasSuffix(".") { h.removeLast() }
        return h
    }

    /// resolv.conf per dnsPolicy, as the kubelet builds it. nil = the host's file as is.
    static func dnsConfig(pod: JSON, clusterDNS: [String], clusterDomain: String, hostSearches: [String]) -> DNSConfig? {
        var policy = pod[path: ["spec", "dnsPolicy"]]?.stringValue ?? "ClusterFirst"
        let hostNetwork = pod[path: ["spec", "hostNetwork"]]?.boolValue ?? false
        if policy == "ClusterFirst" && hostNetwork { policy = "Default" }
        if policy == "ClusterFirstWithHostNet" { policy = "ClusterFirst" }
        if policy == "ClusterFirst" && clusterDNS.isEmpty { policy = "Default" }
        var config: DNSConfig?
        switch policy {
        case "ClusterFirst":
            let ns = pod.namespace ?? "default"
            config = DNSConfig(servers: clusterDNS,
                               searches: ["\(ns).svc.\(clusterDomain)", "svc.\(clusterDomain)", clusterDomain] + hostSearches,
                               options: ["ndots:5"])
        case "None":
            config = DNSConfig()
        default:
            config = nil
        }
        guard let extra = pod[path: ["spec", "dnsConfig"]] else { return config }
        var merged = config ?? DNSConfig()
        if config == nil && policy != "None" { return nil }  // Default with dnsConfig: not merged into the host file here
        merged.servers += extra["nameservers"]?.arrayValue?.compactMap(\.stringValue) ?? []
        merged.searches += extra["searches"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for option in extra["options"]?.arrayValue ?? [] {
            guard let name = option["name"]?.stringValue else { continue }
            merged.options.removeAll { $0 == name || $0.hasPrefix(name + ":") }
            merged.options.append(option["value"]?.stringValue.map { "\(name):\($0)" } ?? name)
        }
        return merged
    }

    /// Container ports with a hostPort, for the portmap plugin.
    static func portMappings(_ pod: JSON) -> [PortMapping] {
        var out: [PortMapping] = []
        for c in pod[path: ["spec", "containers"]]?.arrayValue ?? [] {
            for p in c["ports"]?.arrayValue ?? [] {
                guard let host = p["hostPort"]?.intValue, host > 0, let port = p["containerPort"]?.intValue else { continue }
                out.append(PortMapping(protocol: p["protocol"]?.stringValue ?? "TCP", containerPort: port, hostPort: host,
                                       hostIP: p["hostIP"]?.stringValue ?? ""))
            }
        }
        return out
    }
}

import SkiffCore

/// What a request under /api or /apis addresses, as upstream's RequestInfoFactory reads it:
/// `/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}` and
/// `/apis/{group}/{version}/...`.
struct RequestInfo: Equatable {
    enum Target: Equatable {
        /// /api, /apis, /apis/{group}
        case discoveryRoot
        case discoveryGroup(String)
        /// /api/v1, /apis/{group}/{version}
        case discoveryVersion(group: String, version: String)
        case resource
    }

    var target: Target
    var group = ""
    var version = ""
    var namespace: String?
    var resource = ""
    var name: String?
    var subresource: String?

    /// Parses the path segments after the host; nil when it is not an API path.
    static func parse(_ path: String) -> RequestInfo? {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let prefix = parts.first else { return nil }
        parts.removeFirst()
        var info = RequestInfo(target: .resource)
        switch prefix {
        case "api":
            guard let v = parts.first else { return RequestInfo(target: .discoveryRoot) }
            info.version = v
            parts.removeFirst()
        case "apis":
            guard let g = parts.first else { return RequestInfo(target: .discoveryRoot) }
            info.group = g
            parts.removeFirst()
            guard let v = parts.first else { return RequestInfo(target: .discoveryGroup(g)) }
            info.version = v
            parts.removeFirst()
        default:
            return nil
        }
        if parts.isEmpty { return RequestInfo(target: .discoveryVersion(group: info.group, version: info.version)) }
        // namespaces/{ns}/{resource}/... addresses namespaced objects; namespaces/{ns} and
        // namespaces/{ns}/{status|finalize} address the namespace itself.
        if parts[0] == "namespaces", parts.count >= 3, !["status", "finalize"].contains(parts[2]) || parts.count > 3 {
            info.namespace = parts[1]
            parts.removeFirst(2)
        }
        info.resource = parts[0]
        if parts.count > 1 { info.name = parts[1] }
        if parts.count > 2 { info.subresource = parts[2] }
        if parts.count > 3 { return nil }
        return info
    }
}

import Foundation

/// Credentials from `kubernetes.io/dockerconfigjson` (`{"auths": {...}}`) and legacy
/// `kubernetes.io/dockercfg` secrets (the same map without `auths`), keyed by registry host
/// as ImageReference names them, so `https://index.docker.io/v1/` becomes `docker.io`.
public enum DockerConfig {
    /// Registry host → credentials; entries that are not objects are ignored.
    public static func credentials(fromDockerConfigJSON bytes: [UInt8]) -> [String: AuthConfig] {
        guard let top = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return [:] }
        let auths = (top["auths"] as? [String: Any]) ?? top
        var out: [String: AuthConfig] = [:]
        for (key, value) in auths {
            guard let entry = value as? [String: Any] else { continue }
            var config = AuthConfig(
                username: entry["username"] as? String ?? "", password: entry["password"] as? String ?? "",
                identityToken: entry["identitytoken"] as? String ?? "", registryToken: entry["registrytoken"] as? String ?? "")
            if let auth = entry["auth"] as? String, let pair = decodeBasic(auth) {
                config.username = pair.0
                config.password = pair.1
            }
            out[normalizeRegistryKey(key)] = config
        }
        return out
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/v2/` → `host:5000`.
    public static func normalizeRegistryKey(_ key: String) -> String {
        var host = key
        if let range = host.range(of: "://") { host = String(host[range.upperBound...]) }
        host = String(host.prefix { $0 != "/" })
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return host
        }
    }

    /// base64 `user:password` → (user, password).
    static func decodeBasic(_ auth: String) -> (String, String)? {
        guard let data = Data(base64Encoded: auth.trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

import Foundation
import Yams

/// Mirrors and per-registry settings in k3s' registries.yaml format, so that an air-gapped
/// site can serve `docker.io/library/nginx` from a local mirror.
public struct RegistryConfig: Sendable, Equatable, Decodable {
    /// Where to pull a registry's images from, keyed by registry host (`docker.io`, or `*` for all).
    public struct Mirror: Sendable, Equatable, Decodable {
        /// Endpoint URLs tried in order (`https://mirror.local:5000`), then the registry itself.
        public var endpoint: [String]
        /// Regular expression → replacement applied to the repository path at the mirrors.
        public var rewrite: [String: String]

        public init(endpoint: [String] = [], rewrite: [String: String] = [:]) {
            self.endpoint = endpoint
            self.rewrite = rewrite
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            endpoint = try c.decodeIfPresent([String].self, forKey: .endpoint) ?? []
            rewrite = try c.decodeIfPresent([String: String].self, forKey: .rewrite) ?? [:]
        }

        private enum CodingKeys: String, CodingKey { case endpoint, rewrite }
    }

    /// Credentials for one registry host; `auth` is base64 of `user:password`.
    public struct Auth: Sendable, Equatable, Decodable {
        public var username: String?
        public var password: String?
        public var auth: String?
        public var identityToken: String?

        public init(username: String? = nil, password: String? = nil, auth: String? = nil, identityToken: String? = nil) {
            self.username = username
            self.password = password
            self.auth = auth
            self.identityToken = identityToken
        }

        private enum CodingKeys: String, CodingKey {
            case username, password, auth
            case identityToken = "identity_token"
        }

        /// As the CRI's AuthConfig, `auth` decoded into username and password.
        public var authConfig: AuthConfig {
            var config = AuthConfig(username: username ?? "", password: password ?? "", identityToken: identityToken ?? "")
            if let auth, let pair = DockerConfig.decodeBasic(auth) {
                config.username = pair.0
                config.password = pair.1
            }
            return config
        }
    }

    /// TLS settings for one registry host.
    public struct TLS: Sendable, Equatable, Decodable {
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var insecureSkipVerify: Bool

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecureSkipVerify = insecureSkipVerify
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
            certFile = try c.decodeIfPresent(String.self, forKey: .certFile)
            keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile)
            insecureSkipVerify = try c.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
        }

        private enum CodingKeys: String, CodingKey {
            case caFile = "ca_file", certFile = "cert_file", keyFile = "key_file"
            case insecureSkipVerify = "insecure_skip_verify"
        }
    }

    /// Settings for one registry or mirror host (`host:port` as in the endpoint URL).
    public struct HostConfig: Sendable, Equatable, Decodable {
        public var auth: Auth?
        public var tls: TLS?

        public init(auth: Auth? = nil, tls: TLS? = nil) {
            self.auth = auth
            self.tls = tls
        }
    }

    public var mirrors: [String: Mirror]
    public var configs: [String: HostConfig]

    public init(mirrors: [String: Mirror] = [:], configs: [String: HostConfig] = [:]) {
        self.mirrors = mirrors
        self.configs = configs
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mirrors = try c.decodeIfPresent([String: Mirror].self, forKey: .mirrors) ?? [:]
        configs = try c.decodeIfPresent([String: HostConfig].self, forKey: .configs) ?? [:]
    }

    private enum CodingKeys: String, CodingKey { case mirrors, configs }

    /// Parses registries.yaml text; an empty document is an empty configuration.
    public init(yaml: String) throws {
        if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            self.init()
            return
        }
        do {
            self = try YAMLDecoder().decode(RegistryConfig.self, from: yaml)
        } catch {
            throw ImageContentError("registries.yaml is invalid: \(error)")
        }
        for (host, mirror) in mirrors {
            for endpoint in mirror.endpoint where URL(string: endpoint)?.host == nil {
                throw ImageContentError("registries.yaml: mirror endpoint \"\(endpoint)\" of \(host) is not a URL")
            }
        }
    }

    /// Loads `path`; a missing file is an empty configuration (no mirrors, defaults).
    public static func load(path: String) throws -> RegistryConfig {
        guard FileManager.default.fileExists(atPath: path) else { return RegistryConfig() }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try RegistryConfig(yaml: String(decoding: data, as: UTF8.self))
    }

    /// The default location beside the agent's other state: `<data-dir>/registries.yaml`.
    public static func defaultPath(dataDirectory: String) -> String { dataDirectory + "/registries.yaml" }

    /// A place to pull one repository from: base URL (scheme, host, optional path) and the
    /// repository path there (after a mirror's rewrite).
    struct Endpoint: Equatable {
        var baseURL: String
        var host: String
        var repository: String
        var isMirror: Bool
    }

    /// The mirrors configured for the reference's registry (or `*`), in order, then the
    /// registry itself: HTTPS, or plain HTTP for a loopback host, as Docker treats those.
    func endpoints(for reference: ImageReference) -> [Endpoint] {
        var out: [Endpoint] = []
        if let mirror = mirrors[reference.domain] ?? mirrors["*"] {
            for raw in mirror.endpoint {
                var base = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
                if base.hasSuffix("/v2") { base.removeLast(3) }
                guard let url = URL(string: base), let host = url.host else { continue }
                let hostPort = url.port.map { "\(Self.bracketed(host)):\($0)" } ?? Self.bracketed(host)
                out.append(Endpoint(baseURL: base, host: hostPort, repository: Self.rewrite(reference.path, mirror.rewrite), isMirror: true))
            }
        }
        let host = reference.domain == "docker.io" ? "registry-1.docker.io" : reference.domain
        let scheme = Self.isLoopback(reference.domain) ? "http" : "https"
        let base = "\(scheme)://\(host)"
        if !out.contains(where: { $0.baseURL == base }) {
            out.append(Endpoint(baseURL: base, host: reference.domain, repository: reference.path, isMirror: false))
        }
        return out
    }

    /// True for localhost, 127.0.0.0/8 and ::1, with or without a port.
    static func isLoopback(_ hostPort: String) -> Bool {
        var host = hostPort
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix { $0 != "]" })
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".")
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    private static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    private static func rewrite(_ path: String, _ rules: [String: String]) -> String {
        for (pattern, template) in rules.sorted(by: { $0.key < $1.key }) {
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            let range = NSRange(path.startIndex..., in: path)
            if regex.firstMatch(in: path, range: range) != nil {
                return regex.stringByReplacingMatches(in: path, range: range, withTemplate: template)
            }
        }
        return path
    }
}

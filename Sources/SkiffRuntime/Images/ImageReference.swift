import Foundation

/// An image reference normalized as Docker does: `busybox` is
/// `docker.io/library/busybox:latest`, `localhost:5000/x@sha256:…` keeps its host and port.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// Registry host, with its port if any: `docker.io`, `127.0.0.1:5000`.
    public var domain: String
    /// Repository path inside the registry: `library/busybox`.
    public var path: String
    public var tag: String?
    /// `sha256:<64 hex>`.
    public var digest: String?

    /// The error Docker gives (`invalid reference format…`); the kubelet reports it as InvalidImageName.
    public struct ParseError: Error, Sendable, CustomStringConvertible, Equatable {
        public var message: String
        public var description: String { message }
    }

    /// `domain/path`: the name registries, repoTags and repoDigests use.
    public var repository: String { "\(domain)/\(path)" }

    /// The full normalized reference, `:latest` added when neither tag nor digest is given.
    public var description: String {
        var s = repository
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    /// What the registry's manifests endpoint is asked for: the digest if pinned, else the tag.
    public var manifestReference: String { digest ?? tag ?? "latest" }

    /// Parses and normalizes `string`; a missing tag becomes `latest` unless a digest pins it.
    public init(parsing string: String) throws {
        func fail(_ why: String = "") -> ParseError {
            ParseError(message: why.isEmpty ? "invalid reference format" : "invalid reference format: \(why)")
        }
        guard !string.isEmpty else { throw fail("repository name must have at least one component") }
        var rest = Substring(string)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            guard Self.isDigest(d) else { throw fail("invalid digest \"\(d)\"") }
            digest = d
            rest = rest[..<at]
        }
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let t = String(rest[rest.index(after: colon)...])
            guard Self.isTag(t) else { throw fail() }
            tag = t
            rest = rest[..<colon]
        }
        var name = String(rest)
        var domain = "docker.io"
        if let slash = name.firstIndex(of: "/") {
            let first = String(name[..<slash])
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                domain = first
                name = String(name[name.index(after: slash)...])
            }
        }
        guard Self.isDomain(domain) else { throw fail() }
        if domain == "index.docker.io" { domain = "docker.io" }
        if domain == "docker.io" && !name.contains("/") { name = "library/" + name }
        if name.lowercased() != name && Self.isPath(name.lowercased()) {
            throw fail("repository name (\(name)) must be lowercase")
        }
        guard Self.isPath(name) else { throw fail() }
        guard domain.count + 1 + name.count <= 255 else { throw fail("repository name must not be more than 255 characters") }
        if tag == nil && digest == nil { tag = "latest" }
        self.domain = domain
        self.path = name
        self.tag = tag
        self.digest = digest
    }

    /// `sha256:` followed by 64 lowercase hex digits.
    static func isDigest(_ s: String) -> Bool {
        guard s.hasPrefix("sha256:") else { return false }
        let hex = s.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private static func isTag(_ s: String) -> Bool {
        guard let first = s.first, s.count <= 128, first.isASCII, first.isLetter || first.isNumber || first == "_" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }

    private static func isDomain(_ s: String) -> Bool {
        var host = Substring(s)
        if let colon = s.lastIndex(of: ":"), !s.hasPrefix("[") || s[..<colon].hasSuffix("]") {
            let port = s[s.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return false }
            host = s[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { return host.count > 2 }
        return !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// Components of lowercase letters and digits joined by `.`, `_`, `__` or dashes.
    private static func isPath(_ s: String) -> Bool {
        s.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            guard let f = component.first, let l = component.last, isAlnum(f), isAlnum(l) else { return false }
            var previous: Character = f
            var underscores = 0
            for c in component.dropFirst() {
                if isAlnum(c) { underscores = 0 } else if c == "_" {
                    underscores += 1
                    if underscores > 2 || (previous != "_" && !isAlnum(previous)) { return false }
                } else if c == "." {
                    if !isAlnum(previous) { return false }
                } else if c == "-" {
                    if !isAlnum(previous) && previous != "-" { return false }
                } else { return false }
                previous = c
            }
            return true
        }
    }

    private static func isAlnum(_ c: Character) -> Bool {
        c.isASCII && (c.isNumber || (c.isLetter && c.isLowercase))
    }
}

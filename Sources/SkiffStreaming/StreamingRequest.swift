import NIOHTTP1
import SkiffCore

/// The path and query of an upgrade request, decoded as Go's url.ParseQuery does ('+'
/// is a space: kubectl encodes `command` arguments that way).
public struct StreamingRequest: Sendable {
    public var path: String
    public var query: [String: [String]]

    public init(_ head: HTTPRequestHead) {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map(String.init) ?? ""
        query = parts.count < 2 ? [:] : URLQuery.parse(parts[1])
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] { query[name] ?? [] }

    /// The first value of `name`.
    public func value(_ name: String) -> String? { query[name]?.first }

    /// The path's segments, percent-decoded.
    public var segments: [String] { path.split(separator: "/").map { URLQuery.decode($0, plusIsSpace: false) } }
}

import NIOHTTP1

/// The path and query of an upgrade request, decoded as Go's url.ParseQuery does ('+'
/// is a space: kubectl encodes `command` arguments that way).
public struct StreamingRequest: Sendable {
    public var path: String
    public var query: [(name: String, value: String)]

    public init(_ head: HTTPRequestHead) {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map(String.init) ?? ""
        query = parts.count < 2 ? [] : parts[1].split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(pair[0]), pair.count > 1 ? Self.decode(pair[1]) : "")
        }
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }

    /// The first value of `name`.
    public func value(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The path's segments, percent-decoded.
    public var segments: [String] { path.split(separator: "/").map { Self.decode($0, plusIsSpace: false) } }

    static func decode(_ text: Substring, plusIsSpace: Bool = true) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

import Foundation

/// URL query strings as Go's net/url reads and writes them: `+` is a space, values are
/// percent-decoded, and escaping keeps only unreserved characters (url.QueryEscape).
public enum URLQuery {
    /// Every value of every name, in order.
    public static func parse(_ query: some StringProtocol) -> [String: [String]] {
        var values: [String: [String]] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[decode(kv[0]), default: []].append(kv.count > 1 ? decode(kv[1]) : "")
        }
        return values
    }

    /// Percent-decodes; `+` is a space in a query, not in a path.
    public static func decode(_ text: some StringProtocol, plusIsSpace: Bool = true) -> String {
        var out: [UInt8] = []
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 3
            } else {
                out.append(plusIsSpace && b[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-encodes a query name or value: all but ASCII letters, digits and `-._~`.
    public static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

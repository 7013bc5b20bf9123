/// One sample of the Prometheus text exposition format (0.0.4).
public struct PrometheusSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
    /// Milliseconds since the epoch, when the line carries one.
    public var timestamp: Int64?

    public init(name: String, labels: [String: String] = [:], value: Double, timestamp: Int64? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }
}

/// A line of the text format that does not parse.
public struct PrometheusParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// A reader of the Prometheus text format, enough for a kubelet's /metrics/resource: the
/// samples, with labels, values (Go's float syntax, NaN and ±Inf) and timestamps; HELP,
/// TYPE and other comments are skipped. Written here because the Prometheus client
/// libraries for Swift only write the format.
public enum PrometheusText {
    public static func parse(_ text: String) throws(PrometheusParseError) -> [PrometheusSample] {
        var samples: [PrometheusSample] = []
        var number = 0
        for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var line = rawLine[...]
            while let last = line.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") || last == UInt8(ascii: "\r") { line = line.dropLast() }
            while let first = line.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { line = line.dropFirst() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            do throws(PrometheusParseError.Reason) {
                samples.append(try sample(Array(line)))
            } catch {
                throw PrometheusParseError(line: number, reason: error.text)
            }
        }
        return samples
    }
}

extension PrometheusParseError {
    struct Reason: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }
}

extension PrometheusText {
    typealias Reason = PrometheusParseError.Reason

    /// `name[{label="value",...}] value [timestamp]`.
    static func sample(_ b: [UInt8]) throws(Reason) -> PrometheusSample {
        var i = 0
        func isNameByte(_ c: UInt8, first: Bool) -> Bool {
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || (!first && c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
        }
        func skipSpaces() { while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 } }
        func name(labels: Bool) throws(Reason) -> String {
            let start = i
            while i < b.count, isNameByte(b[i], first: i == start), !(labels && b[i] == UInt8(ascii: ":")) { i += 1 }
            guard i > start else { throw Reason("expected a \(labels ? "label" : "metric") name") }
            return String(decoding: b[start..<i], as: UTF8.self)
        }

        let metric = try name(labels: false)
        var labels: [String: String] = [:]
        skipSpaces()
        if i < b.count, b[i] == UInt8(ascii: "{") {
            i += 1
            while true {
                skipSpaces()
                guard i < b.count else { throw Reason("unterminated label set") }
                if b[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                let key = try name(labels: true)
                skipSpaces()
                guard i < b.count, b[i] == UInt8(ascii: "=") else { throw Reason("expected '=' after label \(key)") }
                i += 1
                skipSpaces()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw Reason("expected a quoted value for label \(key)") }
                i += 1
                var value: [UInt8] = []
                while true {
                    guard i < b.count else { throw Reason("unterminated value of label \(key)") }
                    let c = b[i]
                    i += 1
                    if c == UInt8(ascii: "\"") { break }
                    if c == UInt8(ascii: "\\") {
                        guard i < b.count else { throw Reason("unterminated escape in label \(key)") }
                        switch b[i] {
                        case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                        case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(b[i])
                        default: throw Reason("invalid escape \\\(Character(UnicodeScalar(b[i]))) in label \(key)")
                        }
                        i += 1
                    } else {
                        value.append(c)
                    }
                }
                labels[key] = String(decoding: value, as: UTF8.self)
                skipSpaces()
                if i < b.count, b[i] == UInt8(ascii: ",") { i += 1 }
            }
        }
        skipSpaces()
        func token() -> String {
            let start = i
            while i < b.count, b[i] != UInt8(ascii: " "), b[i] != UInt8(ascii: "\t") { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        let valueText = token()
        guard let value = parseValue(valueText) else { throw Reason("invalid value \"\(valueText)\"") }
        skipSpaces()
        var timestamp: Int64?
        if i < b.count {
            let t = token()
            guard let ms = Int64(t) else { throw Reason("invalid timestamp \"\(t)\"") }
            timestamp = ms
            skipSpaces()
            guard i == b.count else { throw Reason("unexpected text after the timestamp") }
        }
        return PrometheusSample(name: metric, labels: labels, value: value, timestamp: timestamp)
    }

    /// Go's ParseFloat syntax as the format uses it, with NaN and ±Inf spelled out.
    static func parseValue(_ text: String) -> Double? {
        switch text.lowercased() {
        case "nan": return .nan
        case "+inf", "inf": return .infinity
        case "-inf": return -.infinity
        default:
            // Swift would also read "0x1p3" and "infinity"; the format has neither.
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE_".contains($0)) }) else { return nil }
            return Double(text.replacingOccurrences(of: "_", with: ""))
        }
    }
}

/// A field selector as k8s.io/apimachinery/pkg/fields implements it: comma-separated
/// `field=value`, `field==value` or `field!=value` terms, ANDed. Values may escape `\`, `,`
/// and `=` with a backslash; field names are taken literally up to the first operator.
///
/// The server inspects `requirements` to reject fields a resource does not support (see
/// `transformed(_:)`, which mirrors upstream's per-kind field label conversion).
public struct FieldSelector: Sendable, Equatable, CustomStringConvertible {
    /// selection.Equals / selection.NotEquals; `==` parses to `equals`.
    public enum Operator: String, Sendable {
        case equals = "="
        case notEquals = "!="
    }

    public struct Requirement: Sendable, Equatable {
        public var field: String
        public var `operator`: Operator
        public var value: String

        public init(field: String, operator op: Operator, value: String) {
            self.field = field
            self.operator = op
            self.value = value
        }

        /// A field the object does not have compares as "".
        public func matches(_ fields: (String) -> String?) -> Bool {
            let actual = fields(field) ?? ""
            return self.operator == .equals ? actual == value : actual != value
        }
    }

    /// In the order upstream keeps them: terms sorted by their raw text.
    public private(set) var requirements: [Requirement]
    /// True for `nothing` (fields.Nothing()), which matches no object.
    public let matchesNothing: Bool

    private init(requirements: [Requirement], matchesNothing: Bool) {
        self.requirements = requirements
        self.matchesNothing = matchesNothing
    }

    /// An AND of the given requirements, in the given order.
    public init(_ requirements: [Requirement]) {
        self.init(requirements: requirements, matchesNothing: false)
    }

    public static let everything = FieldSelector(requirements: [], matchesNothing: false)
    public static let nothing = FieldSelector(requirements: [], matchesNothing: true)

    /// Selector.Empty(): no restriction at all.
    public var isEmpty: Bool { !matchesNothing && requirements.isEmpty }

    public func matches(_ fields: (String) -> String?) -> Bool {
        if matchesNothing { return false }
        return requirements.allSatisfy { $0.matches(fields) }
    }

    public func matches(_ fields: [String: String]) -> Bool {
        matches { fields[$0] }
    }

    /// Selector.RequiresExactMatch: the value an `=` term pins `field` to (used for
    /// metadata.name on single-object watches).
    public func requiresExactMatch(_ field: String) -> String? {
        requirements.first { $0.field == field && $0.operator == .equals }?.value
    }

    /// Selector.String: terms joined by ",", values re-escaped, `==` printed as `=`.
    public var description: String {
        requirements.map { $0.field + $0.operator.rawValue + Self.escapeValue($0.value) }.joined(separator: ",")
    }

    /// Selector.Transform: rewrites each term (kube-apiserver's field label conversion,
    /// which rejects unsupported fields by throwing); a term rewritten to an empty field
    /// and value is dropped.
    public func transformed(
        _ transform: (Requirement) throws(APIError) -> (field: String, value: String)
    ) throws(APIError) -> FieldSelector {
        if matchesNothing { return self }
        var result: [Requirement] = []
        for requirement in requirements {
            let (field, value) = try transform(requirement)
            if field.isEmpty && value.isEmpty { continue }
            result.append(Requirement(field: field, operator: requirement.operator, value: value))
        }
        return FieldSelector(requirements: result, matchesNothing: false)
    }

    /// runtime.DefaultMetaV1FieldSelectorConversion: the fields every kind supports.
    public static func defaultFieldLabelConversion(_ requirement: Requirement) throws(APIError) -> (field: String, value: String) {
        switch requirement.field {
        case "metadata.name", "metadata.namespace":
            return (requirement.field, requirement.value)
        default:
            throw .badRequest("\(GoText.quoted(requirement.field)) is not a known field selector: only \"metadata.name\", \"metadata.namespace\"")
        }
    }

    /// The rejection built-in kinds with their own field label conversion give.
    public static func fieldLabelNotSupported(_ field: String) -> APIError {
        .badRequest("field label not supported: \(field)")
    }

    // MARK: Parsing (fields.ParseSelector)

    /// fields.ParseSelector; errors are 400 BadRequest with upstream's message, as
    /// kube-apiserver answers for a bad `?fieldSelector=`.
    public init(parsing selector: String) throws(APIError) {
        var requirements: [Requirement] = []
        let terms = Self.splitTerms(selector).sorted { $0.lexicographicallyPrecedes($1) }
        for term in terms where !term.isEmpty {
            guard let (field, op, rawValue) = Self.splitTerm(term) else {
                throw .badRequest("invalid selector: '\(selector)'; can't understand '\(String(decoding: term, as: UTF8.self))'")
            }
            let value = try Self.unescapeValue(rawValue)
            // Transforming with the identity drops terms whose field and value are both empty.
            if field.isEmpty && value.isEmpty { continue }
            requirements.append(Requirement(field: field, operator: op, value: value))
        }
        self.init(requirements: requirements, matchesNothing: false)
    }

    /// Splits on commas not escaped by a backslash; escapes stay in the terms.
    static func splitTerms(_ selector: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(selector.utf8)
        if bytes.isEmpty { return [] }
        var terms: [ArraySlice<UInt8>] = []
        var start = 0
        var escaped = false
        for (i, b) in bytes.enumerated() {
            if escaped {
                escaped = false
            } else if b == UInt8(ascii: "\\") {
                escaped = true
            } else if b == UInt8(ascii: ",") {
                terms.append(bytes[start..<i])
                start = i + 1
            }
        }
        terms.append(bytes[start...])
        return terms
    }

    /// The first `!=`, `==` or `=` (tried in that order at each position) splits the term.
    static func splitTerm(_ term: ArraySlice<UInt8>) -> (String, Operator, ArraySlice<UInt8>)? {
        let bang = UInt8(ascii: "!"), equal = UInt8(ascii: "=")
        var i = term.startIndex
        while i < term.endIndex {
            let next = term.index(after: i)
            let hasNext = next < term.endIndex
            let field = String(decoding: term[term.startIndex..<i], as: UTF8.self)
            if term[i] == bang && hasNext && term[next] == equal {
                return (field, .notEquals, term[term.index(after: next)...])
            }
            if term[i] == equal && hasNext && term[next] == equal {
                return (field, .equals, term[term.index(after: next)...])
            }
            if term[i] == equal {
                return (field, .equals, term[next...])
            }
            i = next
        }
        return nil
    }

    /// fields.EscapeValue: backslash-escapes `\`, `,` and `=`.
    public static func escapeValue(_ value: String) -> String {
        var out = ""
        for ch in value.unicodeScalars {
            if ch == "\\" || ch == "," || ch == "=" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(ch)
        }
        return out
    }

    /// fields.UnescapeValue with upstream's errors for unknown escapes, a trailing
    /// backslash, and a bare `,` or `=` (reported as its code point, as upstream prints it).
    public static func unescapeValue(_ value: String) throws(APIError) -> String {
        try unescapeValue(Array(value.utf8)[...])
    }

    static func unescapeValue(_ value: ArraySlice<UInt8>) throws(APIError) -> String {
        let text = String(decoding: value, as: UTF8.self)
        var out = String.UnicodeScalarView()
        var escaped = false
        for ch in text.unicodeScalars {
            if escaped {
                guard ch == "\\" || ch == "," || ch == "=" else {
                    var sequence = "\\"
                    sequence.unicodeScalars.append(ch)
                    throw .badRequest("invalid field selector: invalid escape sequence: \(sequence)")
                }
                out.append(ch)
                escaped = false
                continue
            }
            switch ch {
            case "\\":
                escaped = true
            case ",", "=":
                throw .badRequest("invalid field selector: unescaped character in value: \(ch.value)")
            default:
                out.append(ch)
            }
        }
        if escaped {
            throw .badRequest("invalid field selector: invalid escape sequence: \\")
        }
        return String(out)
    }
}

/// A label selector as k8s.io/apimachinery/pkg/labels implements it: an AND of
/// requirements, parsed from the `labelSelector` query syntax or built from a
/// metav1.LabelSelector object, with upstream's error messages and canonical string form.
///
/// Two selectors match everything-or-nothing without requirements: the empty selector
/// (`everything`, from "" or `{}`) matches every object, while `nothing` (from an absent
/// metav1.LabelSelector) matches none — upstream distinguishes them and so do we.
public struct LabelSelector: Sendable, Equatable, CustomStringConvertible {
    /// selection.Operator; the raw values are upstream's spellings, which appear in messages.
    public enum Operator: String, Sendable, CaseIterable {
        case doesNotExist = "!"
        case equals = "="
        case doubleEquals = "=="
        case `in` = "in"
        case notEquals = "!="
        case notIn = "notin"
        case exists = "exists"
        case greaterThan = "gt"
        case lessThan = "lt"
    }

    /// One term of a selector: a key, an operator and its values.
    public struct Requirement: Sendable, Equatable, CustomStringConvertible {
        public let key: String
        public let `operator`: Operator
        /// As given (the parser hands them over sorted and deduplicated, as upstream does).
        public let values: [String]

        /// labels.NewRequirement: validates the key, the value count for the operator and
        /// each value, throwing 400 BadRequest with upstream's aggregated message.
        public init(key: String, operator op: Operator, values: [String] = []) throws(APIError) {
            let problems = Self.problems(key: key, operator: op, values: values, valuesWereNil: false)
            if !problems.isEmpty { throw .badRequest(LabelSelector.aggregate(problems)) }
            self.init(unchecked: key, op, values)
        }

        init(unchecked key: String, _ op: Operator, _ values: [String]) {
            self.key = key
            self.operator = op
            self.values = values
        }

        /// The field errors NewRequirement reports, rendered as upstream prints them. Its
        /// field paths are relative ("key", "values[0][app]") because callers pass no path.
        static func problems(key: String, operator op: Operator, values: [String], valuesWereNil: Bool) -> [String] {
            var problems: [String] = []
            let keyErrors = Validation.isQualifiedName(key)
            if !keyErrors.isEmpty {
                problems.append("key: Invalid value: \(GoText.quoted(key)): " + keyErrors.joined(separator: "; "))
            }
            let badValues = GoText.json(valuesWereNil && values.isEmpty ? nil : values)
            switch op {
            case .in, .notIn:
                if values.isEmpty {
                    problems.append("values: Invalid value: \(badValues): for 'in', 'notin' operators, values set can't be empty")
                }
            case .equals, .doubleEquals, .notEquals:
                if values.count != 1 {
                    problems.append("values: Invalid value: \(badValues): exact-match compatibility requires one single value")
                }
            case .exists, .doesNotExist:
                if !values.isEmpty {
                    problems.append("values: Invalid value: \(badValues): values set must be empty for exists and does not exist")
                }
            case .greaterThan, .lessThan:
                if values.count != 1 {
                    problems.append("values: Invalid value: \(badValues): for 'Gt', 'Lt' operators, exactly one value is required")
                }
                for (i, value) in values.enumerated() where Int64(value) == nil {
                    problems.append("values[\(i)]: Invalid value: \(GoText.quoted(value)): for 'Gt', 'Lt' operators, the value must be an integer")
                }
            }
            for (i, value) in values.enumerated() {
                let valueErrors = Validation.isValidLabelValue(value)
                if !valueErrors.isEmpty {
                    problems.append("values[\(i)][\(key)]: Invalid value: \(GoText.quoted(value)): " + valueErrors.joined(separator: "; "))
                }
            }
            return problems
        }

        /// Requirement.Matches; `label` looks a key up in the object's labels.
        public func matches(_ label: (String) -> String?) -> Bool {
            switch self.operator {
            case .in, .equals, .doubleEquals:
                guard let value = label(key) else { return false }
                return values.contains(value)
            case .notIn, .notEquals:
                guard let value = label(key) else { return true }
                return !values.contains(value)
            case .exists:
                return label(key) != nil
            case .doesNotExist:
                return label(key) == nil
            case .greaterThan, .lessThan:
                // Both sides must read as Go's ParseInt would; anything else never matches.
                guard let text = label(key), let actual = Int64(text), values.count == 1, let bound = Int64(values[0]) else {
                    return false
                }
                return self.operator == .greaterThan ? actual > bound : actual < bound
            }
        }

        public func matches(_ labels: [String: String]) -> Bool {
            matches { labels[$0] }
        }

        /// Requirement.String: values of set operators are printed sorted.
        public var description: String {
            switch self.operator {
            case .exists: return key
            case .doesNotExist: return "!" + key
            case .in, .notIn:
                return key + " " + self.operator.rawValue + " (" + renderedValues + ")"
            case .equals, .doubleEquals, .notEquals:
                return key + self.operator.rawValue + renderedValues
            case .greaterThan: return key + ">" + renderedValues
            case .lessThan: return key + "<" + renderedValues
            }
        }

        private var renderedValues: String {
            values.count == 1 ? values[0] : values.sorted(by: Validation.utf8Less).joined(separator: ",")
        }
    }

    /// Sorted by key (stably), as upstream keeps them.
    public private(set) var requirements: [Requirement]
    /// True for `nothing`, the selector of an absent metav1.LabelSelector.
    public let matchesNothing: Bool

    private init(requirements: [Requirement], matchesNothing: Bool) {
        self.requirements = requirements
        self.matchesNothing = matchesNothing
    }

    /// labels.Everything(): no requirements, matches every object.
    public static let everything = LabelSelector(requirements: [], matchesNothing: false)
    /// labels.Nothing(): matches no object; what a nil metav1.LabelSelector converts to.
    public static let nothing = LabelSelector(requirements: [], matchesNothing: true)

    /// Selector.Empty(): true when the selector does not restrict anything (never for `nothing`).
    public var isEmpty: Bool { !matchesNothing && requirements.isEmpty }

    /// Same as `isEmpty`, named for call sites that skip filtering.
    public var matchesEverything: Bool { isEmpty }

    /// Selector.Matches over an object's labels.
    public func matches(_ labels: [String: String]) -> Bool {
        matches { labels[$0] }
    }

    /// Matches against `metadata.labels` as stored in JSON (nil or absent means no labels).
    public func matches(_ labels: JSON?) -> Bool {
        let object = labels?.objectValue
        return matches { object?[$0]?.stringValue }
    }

    public func matches(_ label: (String) -> String?) -> Bool {
        if matchesNothing { return false }
        return requirements.allSatisfy { $0.matches(label) }
    }

    /// Selector.String: requirements joined by ",", already in key order.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }

    /// Selector.RequiresExactMatch: the value a selector pins `key` to, if it does.
    public func requiresExactMatch(_ key: String) -> String? {
        guard let requirement = requirements.first(where: { $0.key == key }) else { return nil }
        switch requirement.operator {
        case .equals, .doubleEquals, .in:
            return requirement.values.count == 1 ? requirement.values[0] : nil
        default:
            return nil
        }
    }

    /// Selector.Add: a copy with more requirements, re-sorted by key; `nothing` stays nothing.
    public func adding(_ more: [Requirement]) -> LabelSelector {
        if matchesNothing { return self }
        return LabelSelector(requirements: Self.sortedByKey(requirements + more), matchesNothing: false)
    }

    /// SelectorFromValidatedSet: key=value for each label, trusted as already valid.
    public init(matchLabels: [String: String]) {
        let requirements = matchLabels.map { Requirement(unchecked: $0.key, .equals, [$0.value]) }
        self.init(requirements: Self.sortedByKey(requirements), matchesNothing: false)
    }

    static func sortedByKey(_ requirements: [Requirement]) -> [Requirement] {
        // Stable, like the insertion sort Go's sort.Sort uses for short selectors.
        requirements.enumerated()
            .sorted { $0.element.key == $1.element.key ? $0.offset < $1.offset : Validation.utf8Less($0.element.key, $1.element.key) }
            .map(\.element)
    }

    /// utilerrors.NewAggregate(...).Error(): one message plain, several deduplicated in brackets.
    static func aggregate(_ messages: [String]) -> String {
        if messages.count == 1 { return messages[0] }
        var seen = Set<String>()
        let unique = messages.filter { seen.insert($0).inserted }
        return unique.count == 1 ? unique[0] : "[" + unique.joined(separator: ", ") + "]"
    }
}

// MARK: - The labelSelector query syntax (labels.Parse)

extension LabelSelector {
    /// labels.Parse. A malformed selector throws 400 BadRequest carrying upstream's message
    /// (e.g. "unable to parse requirement: found '', expected: ',' or ')'"), which is what
    /// kube-apiserver answers for a bad `?labelSelector=`.
    public init(parsing selector: String) throws(APIError) {
        var parser = SelectorParser(selector)
        do throws(SelectorSyntaxError) {
            let requirements = try parser.parse()
            self.init(requirements: Self.sortedByKey(requirements), matchesNothing: false)
        } catch {
            throw .badRequest(error.message)
        }
    }
}

/// A syntax or validation failure inside the parser; its message is upstream's error text.
struct SelectorSyntaxError: Error {
    let message: String
}

/// Tokenizer and recursive-descent parser with upstream's token rules: keywords `in` and
/// `notin`, the symbols `= == != ! > < ( ) ,`, whitespace (space, tab, CR, LF) as
/// delimiter, and everything else as identifier bytes.
struct SelectorParser {
    enum Token: Equatable {
        case endOfString, closedPar, comma, doesNotExist, doubleEquals, equals, greaterThan
        case identifier, `in`, lessThan, notEquals, notIn, openPar
    }

    /// Whether `in`/`notin` are operators (after a key) or plain identifiers (values).
    enum Context { case keyAndOperator, values }

    private let bytes: [UInt8]
    private var position = 0
    private var items: [(token: Token, literal: String)] = []
    private var cursor = 0

    init(_ selector: String) {
        bytes = Array(selector.utf8)
    }

    // MARK: Lexer

    /// The next byte, or 0 at the end. A NUL byte in the input also reads as 0 (and is
    /// consumed), which upstream's lexer treats as end of input.
    private mutating func read() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func unread() { position -= 1 }

    private static func isWhitespace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n")
    }

    private static func isSymbol(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: ","), UInt8(ascii: ">"), UInt8(ascii: "<"):
            true
        default:
            false
        }
    }

    private static func symbolToken(_ text: [UInt8]) -> Token? {
        switch String(decoding: text, as: UTF8.self) {
        case ")": .closedPar
        case ",": .comma
        case "!": .doesNotExist
        case "==": .doubleEquals
        case "=": .equals
        case ">": .greaterThan
        case "<": .lessThan
        case "!=": .notEquals
        case "(": .openPar
        default: nil
        }
    }

    private mutating func lex() -> (Token, String) {
        var ch = read()
        while Self.isWhitespace(ch) { ch = read() }
        if ch == 0 { return (.endOfString, "") }
        unread()
        return Self.isSymbol(ch) ? lexSymbol() : lexIdentifierOrKeyword()
    }

    /// The longest run of symbol bytes that still forms a token ("!=" and "==" are the only
    /// two-byte ones).
    private mutating func lexSymbol() -> (Token, String) {
        var buffer: [UInt8] = []
        var last: (Token, String)?
        while true {
            let ch = read()
            if ch == 0 { break }
            guard Self.isSymbol(ch) else {
                unread()
                break
            }
            buffer.append(ch)
            if let token = Self.symbolToken(buffer) {
                last = (token, String(decoding: buffer, as: UTF8.self))
            } else if last != nil {
                unread()
                break
            }
        }
        // Every single symbol byte is a token, so `last` is always set here.
        return last ?? (.identifier, String(decoding: buffer, as: UTF8.self))
    }

    private mutating func lexIdentifierOrKeyword() -> (Token, String) {
        var buffer: [UInt8] = []
        while true {
            let ch = read()
            if ch == 0 { break }
            if Self.isSymbol(ch) || Self.isWhitespace(ch) {
                unread()
                break
            }
            buffer.append(ch)
        }
        let text = String(decoding: buffer, as: UTF8.self)
        switch text {
        case "in": return (.in, text)
        case "notin": return (.notIn, text)
        default: return (.identifier, text)
        }
    }

    // MARK: Parser

    private func lookahead(_ context: Context) -> (Token, String) {
        let item = items[cursor]
        return (Self.adjust(item.token, context), item.literal)
    }

    private mutating func consume(_ context: Context) -> (Token, String) {
        let item = items[cursor]
        cursor += 1
        return (Self.adjust(item.token, context), item.literal)
    }

    private static func adjust(_ token: Token, _ context: Context) -> Token {
        context == .values && (token == .in || token == .notIn) ? .identifier : token
    }

    mutating func parse() throws(SelectorSyntaxError) -> [LabelSelector.Requirement] {
        while true {
            let (token, literal) = lex()
            items.append((token, literal))
            if token == .endOfString { break }
        }
        var requirements: [LabelSelector.Requirement] = []
        while true {
            let (token, literal) = lookahead(.values)
            switch token {
            case .identifier, .doesNotExist:
                do throws(SelectorSyntaxError) {
                    requirements.append(try parseRequirement())
                } catch {
                    throw SelectorSyntaxError(message: "unable to parse requirement: " + error.message)
                }
                let (next, nextLiteral) = consume(.values)
                switch next {
                case .endOfString:
                    return requirements
                case .comma:
                    let (after, afterLiteral) = lookahead(.values)
                    if after != .identifier && after != .doesNotExist {
                        throw SelectorSyntaxError(message: "found '\(afterLiteral)', expected: identifier after ','")
                    }
                default:
                    throw SelectorSyntaxError(message: "found '\(nextLiteral)', expected: ',' or 'end of string'")
                }
            case .endOfString:
                return requirements
            default:
                throw SelectorSyntaxError(message: "found '\(literal)', expected: !, identifier, or 'end of string'")
            }
        }
    }

    private mutating func parseRequirement() throws(SelectorSyntaxError) -> LabelSelector.Requirement {
        let (key, inferred) = try parseKeyAndInferOperator()
        if let inferred {
            return try Self.requirement(key, inferred, [])
        }
        let op = try parseOperator()
        let values: Set<String>
        switch op {
        case .in, .notIn: values = try parseValues()
        default: values = try parseExactValue()
        }
        return try Self.requirement(key, op, values.sorted(by: Validation.utf8Less))
    }

    private static func requirement(_ key: String, _ op: LabelSelector.Operator, _ values: [String]) throws(SelectorSyntaxError) -> LabelSelector.Requirement {
        let problems = LabelSelector.Requirement.problems(key: key, operator: op, values: values, valuesWereNil: false)
        if !problems.isEmpty { throw SelectorSyntaxError(message: LabelSelector.aggregate(problems)) }
        return LabelSelector.Requirement(unchecked: key, op, values)
    }

    /// Reads `[!]key`; the operator is Exists/DoesNotExist when nothing follows the key
    /// (and stays DoesNotExist after '!' regardless, leaving what follows to fail later).
    private mutating func parseKeyAndInferOperator() throws(SelectorSyntaxError) -> (String, LabelSelector.Operator?) {
        var op: LabelSelector.Operator?
        var (token, literal) = consume(.values)
        if token == .doesNotExist {
            op = .doesNotExist
            (token, literal) = consume(.values)
        }
        guard token == .identifier else {
            throw SelectorSyntaxError(message: "found '\(literal)', expected: identifier")
        }
        let keyErrors = Validation.isQualifiedName(literal)
        if !keyErrors.isEmpty {
            // Upstream passes a nil field path here, which prints as "<nil>".
            throw SelectorSyntaxError(message: "<nil>: Invalid value: \(GoText.quoted(literal)): " + keyErrors.joined(separator: "; "))
        }
        let (next, _) = lookahead(.values)
        if (next == .endOfString || next == .comma) && op == nil {
            op = .exists
        }
        return (literal, op)
    }

    private mutating func parseOperator() throws(SelectorSyntaxError) -> LabelSelector.Operator {
        let (token, literal) = consume(.keyAndOperator)
        switch token {
        case .in: return .in
        case .equals: return .equals
        case .doubleEquals: return .doubleEquals
        case .greaterThan: return .greaterThan
        case .lessThan: return .lessThan
        case .notIn: return .notIn
        case .notEquals: return .notEquals
        default:
            throw SelectorSyntaxError(message: "found '\(literal)', expected: in, notin, =, ==, !=, gt, lt")
        }
    }

    /// `( v1, v2, ... )`; empty entries ("()", "(a,,b)") stand for the empty value.
    private mutating func parseValues() throws(SelectorSyntaxError) -> Set<String> {
        let (open, openLiteral) = consume(.values)
        guard open == .openPar else {
            throw SelectorSyntaxError(message: "found '\(openLiteral)' expected: '('")
        }
        let (token, literal) = lookahead(.values)
        switch token {
        case .identifier, .comma:
            let values = try parseIdentifiersList()
            let (close, _) = consume(.values)
            guard close == .closedPar else {
                throw SelectorSyntaxError(message: "found '\(literal)', expected: ')'")
            }
            return values
        case .closedPar:
            _ = consume(.values)
            return [""]
        default:
            throw SelectorSyntaxError(message: "found '\(literal)', expected: ',', ')' or identifier")
        }
    }

    private mutating func parseIdentifiersList() throws(SelectorSyntaxError) -> Set<String> {
        var values = Set<String>()
        while true {
            let (token, literal) = consume(.values)
            switch token {
            case .identifier:
                values.insert(literal)
                let (next, nextLiteral) = lookahead(.values)
                switch next {
                case .comma: continue
                case .closedPar: return values
                default: throw SelectorSyntaxError(message: "found '\(nextLiteral)', expected: ',' or ')'")
                }
            case .comma:
                if values.isEmpty { values.insert("") }  // "(,"
                let (next, _) = lookahead(.values)
                if next == .closedPar {  // ",)"
                    values.insert("")
                    return values
                }
                if next == .comma { values.insert("") }  // ",,"
            default:
                throw SelectorSyntaxError(message: "found '\(literal)', expected: ',', or identifier")
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; absent means the empty value.
    private mutating func parseExactValue() throws(SelectorSyntaxError) -> Set<String> {
        let (next, _) = lookahead(.values)
        if next == .endOfString || next == .comma { return [""] }
        let (token, literal) = consume(.values)
        guard token == .identifier else {
            throw SelectorSyntaxError(message: "found '\(literal)', expected: identifier")
        }
        return [literal]
    }
}

// MARK: - metav1.LabelSelector objects

extension LabelSelector {
    /// metav1.LabelSelectorAsSelector: `null`/absent gives `nothing`, `{}` gives
    /// `everything`, otherwise matchLabels and matchExpressions become requirements.
    /// Invalid keys, values or operators throw 400 BadRequest with upstream's message.
    public init(_ selector: JSON?) throws(APIError) {
        guard let decoded = try MetaLabelSelector(selector) else {
            self = .nothing
            return
        }
        if decoded.matchLabels.isEmpty && decoded.matchExpressions.isEmpty {
            self = .everything
            return
        }
        var requirements: [Requirement] = []
        // Upstream walks matchLabels in Go's random map order; sorted keys make the first
        // reported error deterministic.
        for key in decoded.matchLabels.keys.sorted(by: Validation.utf8Less) {
            let value = decoded.matchLabels[key] ?? ""
            let problems = Requirement.problems(key: key, operator: .equals, values: [value], valuesWereNil: false)
            if !problems.isEmpty { throw .badRequest(Self.aggregate(problems)) }
            requirements.append(Requirement(unchecked: key, .equals, [value]))
        }
        for expression in decoded.matchExpressions {
            guard let op = expression.selectionOperator else {
                throw .badRequest("\(GoText.quoted(expression.operator)) is not a valid label selector operator")
            }
            let values = expression.values ?? []
            let problems = Requirement.problems(key: expression.key, operator: op, values: values,
                                                valuesWereNil: true)
            if !problems.isEmpty { throw .badRequest(Self.aggregate(problems)) }
            requirements.append(Requirement(unchecked: expression.key, op, values))
        }
        self.init(requirements: Self.sortedByKey(requirements), matchesNothing: false)
    }

    /// ValidateLabelSelector (with default options) for a metav1.LabelSelector stored at
    /// `fieldPath`, e.g. "spec.selector": the 422 causes kube-apiserver reports. Parts with
    /// the wrong JSON type are skipped; decoding rejects those before validation.
    public static func validate(_ selector: JSON?, fieldPath: String) -> [APIError.Cause] {
        guard let decoded = try? MetaLabelSelector(selector) else { return [] }
        var causes = Validation.validateLabels(decoded.matchLabels, fieldPath: fieldPath + ".matchLabels")
        for (i, expression) in decoded.matchExpressions.enumerated() {
            let path = fieldPath + ".matchExpressions[\(i)]"
            let values = expression.values ?? []
            switch expression.operator {
            case "In", "NotIn":
                if values.isEmpty {
                    causes.append(APIError.Cause(type: "FieldValueRequired",
                                                 message: "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                                                 field: path + ".values"))
                }
            case "Exists", "DoesNotExist":
                if !values.isEmpty {
                    causes.append(APIError.Cause(type: "FieldValueForbidden",
                                                 message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                                                 field: path + ".values"))
                }
            default:
                causes.append(Validation.invalidCause(path + ".operator", expression.operator, "not a valid selector operator"))
            }
            causes += Validation.validateLabelName(expression.key, fieldPath: path + ".key")
            for (j, value) in values.enumerated() {
                for message in Validation.isValidLabelValue(value) {
                    causes.append(Validation.invalidCause(path + ".values[\(j)]", value, message))
                }
            }
        }
        return causes
    }
}

/// The decoded shape of a metav1.LabelSelector, read as Go's encoding/json would read it
/// (null members are zero values, unknown members are ignored).
struct MetaLabelSelector {
    struct Expression {
        var key = ""
        var `operator` = ""
        var values: [String]?

        var selectionOperator: LabelSelector.Operator? {
            switch self.operator {
            case "In": .in
            case "NotIn": .notIn
            case "Exists": .exists
            case "DoesNotExist": .doesNotExist
            default: nil
            }
        }
    }

    var matchLabels: [String: String] = [:]
    var matchExpressions: [Expression] = []

    /// nil for an absent or null selector.
    init?(_ json: JSON?) throws(APIError) {
        guard let json, !json.isNull else { return nil }
        guard let object = json.objectValue else { throw Self.typeError(json, "v1.LabelSelector", field: nil) }
        switch object["matchLabels"] {
        case nil, .null?:
            break
        case .object(let labels)?:
            for (key, value) in labels {
                switch value {
                case .null: matchLabels[key] = ""
                case .string(let s): matchLabels[key] = s
                default: throw Self.typeError(value, "string", field: "matchLabels")
                }
            }
        case let other?:
            throw Self.typeError(other, "map[string]string", field: "matchLabels")
        }
        switch object["matchExpressions"] {
        case nil, .null?:
            break
        case .array(let items)?:
            for item in items {
                var expression = Expression()
                switch item {
                case .null:
                    break
                case .object(let fields):
                    expression.key = try Self.string(fields["key"], field: "matchExpressions.key")
                    expression.operator = try Self.string(fields["operator"], field: "matchExpressions.operator")
                    switch fields["values"] {
                    case nil, .null?:
                        break
                    case .array(let values)?:
                        expression.values = try values.map { (v: JSON) throws(APIError) -> String in
                            try Self.string(v, field: "matchExpressions.values")
                        }
                    case let other?:
                        throw Self.typeError(other, "[]string", field: "matchExpressions.values")
                    }
                default:
                    throw Self.typeError(item, "v1.LabelSelectorRequirement", field: "matchExpressions")
                }
                matchExpressions.append(expression)
            }
        case let other?:
            throw Self.typeError(other, "[]v1.LabelSelectorRequirement", field: "matchExpressions")
        }
    }

    private static func string(_ json: JSON?, field: String) throws(APIError) -> String {
        switch json {
        case nil, .null?: return ""
        case .string(let s)?: return s
        case let other?: throw typeError(other, "string", field: field)
        }
    }

    /// encoding/json's UnmarshalTypeError wording.
    private static func typeError(_ json: JSON, _ goType: String, field: String?) -> APIError {
        let kind: String
        switch json {
        case .null: kind = "null"
        case .bool: kind = "bool"
        case .number: kind = "number"
        case .string: kind = "string"
        case .array: kind = "array"
        case .object: kind = "object"
        }
        if let field {
            return .badRequest("json: cannot unmarshal \(kind) into Go struct field LabelSelector.\(field) of type \(goType)")
        }
        return .badRequest("json: cannot unmarshal \(kind) into Go value of type \(goType)")
    }
}

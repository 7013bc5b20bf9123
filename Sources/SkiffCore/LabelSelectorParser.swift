// The labelSelector query syntax (labels.Parse): the tokenizer and parser behind
// `LabelSelector(parsing:)`.

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
        if let problem = LabelSelector.Requirement.problem(key: key, operator: op, values: values, valuesWereNil: false) {
            throw SelectorSyntaxError(message: problem)
        }
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

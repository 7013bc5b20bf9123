/// The string-format checks kube-apiserver applies to names, label keys and values, with
/// the exact error wording of k8s.io/apimachinery (pkg/util/validation and
/// pkg/api/validate/content, Kubernetes 1.35/1.36), because clients and conformance tests
/// compare those messages verbatim.
///
/// Each `is…` function returns the list of problems, empty when the value is valid, just as
/// upstream returns `[]string`. Lengths are counted in UTF-8 bytes, as Go's `len` does.
public enum Validation {
    public static let dns1123LabelMaxLength = 63
    public static let dns1123SubdomainMaxLength = 253
    public static let dns1035LabelMaxLength = 63
    public static let labelKeyNameMaxLength = 63
    public static let labelValueMaxLength = 63
    /// metadata.annotations may hold at most 256 KiB of keys plus values.
    public static let totalAnnotationSizeLimit = 256 * 1024

    // Upstream's regular expressions, quoted in the messages.
    static let dns1123LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123SubdomainFormat = dns1123LabelFormat + "(\\." + dns1123LabelFormat + ")*"
    static let dns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?"
    static let labelKeyFormat = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let labelValueFormat = "(" + labelKeyFormat + ")?"

    static let dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    static let dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    static let dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
    static let labelKeyMessage = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

    // MARK: - Format checks

    /// A DNS (RFC 1123) label: namespace names, and the names of most "short name" kinds.
    public static func isDNS1123Label(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        var errors: [String] = []
        if bytes.count > dns1123LabelMaxLength {
            errors.append(maxLengthError(dns1123LabelMaxLength, unit: "characters"))
        }
        if !matchesDNS1123Label(bytes[...]) {
            if matchesDNS1123Subdomain(bytes[...]) {
                // A valid subdomain that is not a valid label can only be failing on dots.
                errors.append("must not contain dots")
            } else {
                errors.append(regexError(dns1123LabelMessage, dns1123LabelFormat, examples: ["my-name", "123-abc"]))
            }
        }
        return errors
    }

    /// A DNS (RFC 1123) subdomain: the name format of most kinds.
    /// IANA_SVC_NAME: a named port, with upstream's messages.
    public static func isValidPortName(_ name: String) -> [String] {
        var errors: [String] = []
        if name.count > 15 { errors.append("must be no more than 15 characters") }
        if !name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) {
            errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
        }
        if name.contains("--") { errors.append("must not contain consecutive hyphens") }
        if !name.contains(where: { ("a"..."z").contains($0) }) { errors.append("must contain at least one letter (a-z)") }
        if name.hasPrefix("-") || name.hasSuffix("-") { errors.append("must not begin or end with a hyphen") }
        return errors
    }

    public static func isDNS1123Subdomain(_ value: String) -> [String] {
        dns1123SubdomainErrors(Array(value.utf8)[...], unit: "characters")
    }

    /// A DNS (RFC 1035) label: Service names, which must start with a letter.
    public static func isDNS1035Label(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        var errors: [String] = []
        if bytes.count > dns1035LabelMaxLength {
            errors.append(maxLengthError(dns1035LabelMaxLength, unit: "characters"))
        }
        if !matchesDNS1035Label(bytes[...]) {
            errors.append(regexError(dns1035LabelMessage, dns1035LabelFormat, examples: ["my-name", "abc-123"]))
        }
        return errors
    }

    /// A "qualified name" (label key, annotation key, finalizer): an optional DNS subdomain
    /// prefix and '/', then a name of at most 63 characters.
    public static func isQualifiedName(_ value: String) -> [String] {
        let parts = Array(value.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var errors: [String] = []
        let name: ArraySlice<UInt8>
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errors.append("prefix part must be non-empty")
            } else {
                // The prefix is checked by the newer content package, which counts bytes.
                errors += dns1123SubdomainErrors(prefix, unit: "bytes").map { "prefix part " + $0 }
            }
        default:
            return ["a valid label key "
                + regexError(labelKeyMessage, labelKeyFormat, examples: ["MyName", "my.name", "123-abc"])
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errors.append("name part must be non-empty")
        } else if name.count > labelKeyNameMaxLength {
            errors.append("name part " + maxLengthError(labelKeyNameMaxLength, unit: "bytes"))
        }
        if !matchesLabelKeyName(name) {
            errors.append("name part " + regexError(labelKeyMessage, labelKeyFormat, examples: ["MyName", "my.name", "123-abc"]))
        }
        return errors
    }

    /// A label value: empty, or up to 63 alphanumerics with inner '-', '_' and '.'.
    public static func isValidLabelValue(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        var errors: [String] = []
        if bytes.count > labelValueMaxLength {
            errors.append(maxLengthError(labelValueMaxLength, unit: "bytes"))
        }
        if !bytes.isEmpty && !matchesLabelKeyName(bytes[...]) {
            errors.append(regexError(labelValueMessage, labelValueFormat, examples: ["MyValue", "my_value", "12345"]))
        }
        return errors
    }

    /// Whether a name can be a REST path segment (and an etcd key segment); upstream checks
    /// this for every object name regardless of the kind's own name rule.
    public static func isPathSegmentName(_ name: String) -> [String] {
        if name == "." || name == ".." {
            return ["may not be '\(name)'"]
        }
        return isPathSegmentPrefix(name)
    }

    /// The part of `isPathSegmentName` that also applies to generateName prefixes.
    public static func isPathSegmentPrefix(_ name: String) -> [String] {
        ["/", "%"].filter { name.contains($0) }.map { "may not contain '\($0)'" }
    }

    // MARK: - Object names

    /// Upstream's ValidateNameFunc: `prefix` is true when validating a generateName, to which
    /// random characters will be appended.
    public typealias NameValidator = @Sendable (_ name: String, _ prefix: Bool) -> [String]

    public static func nameIsDNSSubdomain(_ name: String, prefix: Bool) -> [String] {
        isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name)
    }

    public static func nameIsDNSLabel(_ name: String, prefix: Bool) -> [String] {
        isDNS1123Label(prefix ? maskTrailingDash(name) : name)
    }

    public static func nameIsDNS1035Label(_ name: String, prefix: Bool) -> [String] {
        isDNS1035Label(prefix ? maskTrailingDash(name) : name)
    }

    /// A generateName may end in '-' because characters follow it. Upstream replaces the
    /// last *two* bytes with "a" (so "ab-" is checked as "aa"); kept as is since it decides
    /// which over-long prefixes pass.
    static func maskTrailingDash(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > 1, bytes.last == UInt8(ascii: "-") else { return name }
        return String(decoding: bytes.dropLast(2) + [UInt8(ascii: "a")], as: UTF8.self)
    }

    /// The name/generateName part of ValidateObjectMeta: errors for `metadata.generateName`
    /// (checked as a prefix) and `metadata.name` (required unless generated).
    public static func validateObjectName(
        name: String, generateName: String = "", fieldPath: String = "metadata",
        _ nameValidator: NameValidator = { nameIsDNSSubdomain($0, prefix: $1) }
    ) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        if !generateName.isEmpty {
            for message in nameValidator(generateName, true) {
                causes.append(invalidCause(fieldPath + ".generateName", generateName, message))
            }
        }
        if name.isEmpty {
            causes.append(APIError.Cause(type: "FieldValueRequired", message: "Required value: name or generateName is required",
                                         field: fieldPath + ".name"))
        } else {
            for message in nameValidator(name, false) {
                causes.append(invalidCause(fieldPath + ".name", name, message))
            }
        }
        return causes
    }

    // MARK: - Labels and annotations

    /// ValidateLabelName: one cause per problem, all on `fieldPath`.
    public static func validateLabelName(_ key: String, fieldPath: String) -> [APIError.Cause] {
        isQualifiedName(key).map { invalidCause(fieldPath, key, $0) }
    }

    /// ValidateLabels for metadata.labels (or a selector's matchLabels). Upstream reports
    /// every problem against the map's own path; keys are visited in sorted order here
    /// (upstream's order is Go's random map order).
    public static func validateLabels(_ labels: [String: String], fieldPath: String) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        for key in labels.keys.sorted(by: utf8Less) {
            causes += validateLabelName(key, fieldPath: fieldPath)
            for message in isValidLabelValue(labels[key] ?? "") {
                causes.append(invalidCause(fieldPath, labels[key] ?? "", message))
            }
        }
        return causes
    }

    /// ValidateAnnotations: keys are qualified names compared case-insensitively, and keys
    /// plus values may total at most 256 KiB.
    public static func validateAnnotations(_ annotations: [String: String], fieldPath: String) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        for key in annotations.keys.sorted(by: utf8Less) {
            for message in isQualifiedName(key.lowercased()) {
                causes.append(invalidCause(fieldPath, key, message))
            }
        }
        if annotationsSize(annotations) > totalAnnotationSizeLimit {
            causes.append(APIError.Cause(type: "FieldValueTooLong",
                                         message: "Too long: may not be more than \(totalAnnotationSizeLimit) bytes",
                                         field: fieldPath))
        }
        return causes
    }

    /// The byte count upstream compares with the annotation limit.
    public static func annotationsSize(_ annotations: [String: String]) -> Int {
        annotations.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }

    /// A FieldValueInvalid cause with the value quoted as Go's %q does.
    static func invalidCause(_ field: String, _ value: String, _ detail: String) -> APIError.Cause {
        APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \(GoText.quoted(value)): \(detail)", field: field)
    }

    // MARK: - Message builders

    static func maxLengthError(_ length: Int, unit: String) -> String {
        "must be no more than \(length) \(unit)"
    }

    /// Upstream's RegexError: the message, examples, and the regular expression.
    static func regexError(_ message: String, _ format: String, examples: [String] = []) -> String {
        if examples.isEmpty {
            return message + " (regex used for validation is '" + format + "')"
        }
        let quoted = examples.map { "'\($0)', " }.joined(separator: " or ")
        return message + " (e.g. " + quoted + "regex used for validation is '" + format + "')"
    }

    static func dns1123SubdomainErrors(_ bytes: ArraySlice<UInt8>, unit: String) -> [String] {
        var errors: [String] = []
        if bytes.count > dns1123SubdomainMaxLength {
            errors.append(maxLengthError(dns1123SubdomainMaxLength, unit: unit))
        }
        if !matchesDNS1123Subdomain(bytes) {
            errors.append(regexError(dns1123SubdomainMessage, dns1123SubdomainFormat, examples: ["example.com"]))
        }
        return errors
    }

    // MARK: - Matchers for upstream's regular expressions (anchored at both ends)

    static func isLowerAlphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
    static func isAlphanumeric(_ b: UInt8) -> Bool { isLowerAlphanumeric(b) || (b >= 0x41 && b <= 0x5A) }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
    static func matchesDNS1123Label(_ s: ArraySlice<UInt8>) -> Bool {
        guard let first = s.first, let last = s.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
        return s.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// Labels joined by single dots.
    static func matchesDNS1123Subdomain(_ s: ArraySlice<UInt8>) -> Bool {
        s.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy(matchesDNS1123Label)
    }

    /// `[a-z]([-a-z0-9]*[a-z0-9])?`
    static func matchesDNS1035Label(_ s: ArraySlice<UInt8>) -> Bool {
        guard let first = s.first, first >= 0x61, first <= 0x7A else { return false }
        return matchesDNS1123Label(s)
    }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
    static func matchesLabelKeyName(_ s: ArraySlice<UInt8>) -> Bool {
        guard let first = s.first, let last = s.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return s.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// Go's string order (bytewise), used wherever upstream sorts strings.
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// Renderings of values the way Go's fmt and encoding/json print them inside upstream's
/// error messages.
enum GoText {
    /// `%q` / strconv.Quote: printable characters as is, the rest as Go escapes.
    static func quoted(_ s: String) -> String {
        quote(s) { scalar in
            switch scalar {
            case "\u{07}": return "\\a"
            case "\u{0B}": return "\\v"
            default: break
            }
            let v = scalar.value
            if v < 0x20 || v == 0x7F { return "\\x" + hex(v, width: 2) }
            if v < 0x80 || isPrint(scalar) { return nil }
            return v < 0x10000 ? "\\u" + hex(v, width: 4) : "\\U" + hex(v, width: 8)
        }
    }

    /// encoding/json's rendering of a string (HTML-safe escaping, as Go's default).
    static func json(_ s: String) -> String {
        quote(s) { scalar in
            switch scalar {
            case "<", ">", "&", "\u{2028}", "\u{2029}": "\\u" + hex(scalar.value, width: 4)
            default: scalar.value < 0x20 ? "\\u" + hex(scalar.value, width: 4) : nil
            }
        }
    }

    /// `s` in double quotes with the backslash escapes strconv.Quote and encoding/json
    /// share; `escape` renders any other scalar that needs it (nil keeps it as is).
    private static func quote(_ s: String, escape: (Unicode.Scalar) -> String?) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            if let escaped = sharedEscape(scalar) ?? escape(scalar) {
                out += escaped
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func sharedEscape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar {
        case "\"": "\\\""
        case "\\": "\\\\"
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case "\u{08}": "\\b"
        case "\u{0C}": "\\f"
        default: nil
        }
    }

    /// encoding/json's rendering of a `[]string`; nil renders as `null`.
    static func json(_ strings: [String]?) -> String {
        guard let strings else { return "null" }
        return "[" + strings.map { json($0) }.joined(separator: ",") + "]"
    }

    /// unicode.IsPrint for non-ASCII: letters, marks, numbers, punctuation and symbols.
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            true
        default:
            false
        }
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

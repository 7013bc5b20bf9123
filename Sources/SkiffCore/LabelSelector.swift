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
            try self.init(key: key, operator: op, values: values, valuesWereNil: false)
        }

        /// The same checks; `valuesWereNil` is for metav1 expressions, whose absent or null `values`
        /// upstream prints as null rather than [].
        init(key: String, operator op: Operator, values: [String], valuesWereNil: Bool) throws(APIError) {
            if let problem = Self.problem(key: key, operator: op, values: values, valuesWereNil: valuesWereNil) {
                throw .badRequest(problem)
            }
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

        /// NewRequirement's error as one message (nil when the requirement is valid).
        static func problem(key: String, operator op: Operator, values: [String], valuesWereNil: Bool) -> String? {
            let found = problems(key: key, operator: op, values: values, valuesWereNil: valuesWereNil)
            return found.isEmpty ? nil : LabelSelector.aggregate(found)
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

    /// Internal rather than private: the parser and the metav1 conversion build selectors too.
    init(requirements: [Requirement], matchesNothing: Bool) {
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

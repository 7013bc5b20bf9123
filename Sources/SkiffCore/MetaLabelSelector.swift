// metav1.LabelSelector objects: converting one to a selector and validating it.

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
            requirements.append(try Requirement(key: key, operator: .equals, values: [value]))
        }
        for expression in decoded.matchExpressions {
            guard let op = expression.selectionOperator else {
                throw .badRequest("\(GoText.quoted(expression.operator)) is not a valid label selector operator")
            }
            let values = expression.values ?? []
            requirements.append(try Requirement(key: expression.key, operator: op, values: values, valuesWereNil: true))
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
        let kind = json.goKindName
        if let field {
            return .badRequest("json: cannot unmarshal \(kind) into Go struct field LabelSelector.\(field) of type \(goType)")
        }
        return .badRequest("json: cannot unmarshal \(kind) into Go value of type \(goType)")
    }
}

import SkiffCore

/// Strategic merge patch (`application/strategic-merge-patch+json`) applied the way
/// kube-apiserver applies a client's patch to a built-in object (apimachinery's
/// strategicpatch, server side: parallel lists merged, unmatched nulls ignored).
///
/// Maps merge recursively and `null` deletes; lists whose field has patchStrategy `merge`
/// merge by patchMergeKey (or as sets of primitives), other lists are replaced. Directives:
/// `$patch` (replace/delete in maps, replace/delete in list elements), `$setElementOrder/f`,
/// `$deleteFromPrimitiveList/f` and `$retainKeys`. Lists come out in upstream's order, so a
/// client that diffs the result sees what it would see against Kubernetes.
///
/// Fields the schema does not know merge as plain maps and replaced lists: upstream fails
/// there only on input that a complete schema and a typed original rule out. `any` fields
/// merge the same way, where upstream (a RawExtension, say) answers 500 for a map or list
/// that both sides hold. Like upstream, the result may keep nulls and directives inside list
/// elements that were appended or replaced whole; decoding into the typed object drops them.
public enum StrategicMergePatch {
    public static func apply(_ patch: JSON, to original: JSON, type: String, schema: APISchema) throws(APIError) -> JSON {
        guard let root = schema[type: type] else {
            throw APIError.badRequest("strategic merge patch format is not supported")
        }
        let patchMembers: JSONObject
        switch patch {
        case .object(let members): patchMembers = members
        case .null: return original
        default:
            throw APIError.badRequest("json: cannot unmarshal \(patch.goKindName) into Go value of type map[string]interface {}")
        }
        let merger = Merger(schema: schema)
        do {
            return .object(try merger.mergeMap(original.objectValue, patchMembers, in: .type(root)))
        } catch {
            throw error.apiError
        }
    }

}

// MARK: - Errors

extension StrategicMergePatch {
    /// A patch failure, sorted by the status kube-apiserver gives it
    /// (interpretStrategicMergePatchError and the default error path).
    enum Failure: Error, Equatable {
        /// mergepatch's malformed-directive errors: 400 BadRequest with their text.
        case badRequest(String)
        /// mergepatch.ErrNoListOfLists: 422 Invalid, whose text upstream replaces.
        case unprocessable(String)
        /// Any other error: a plain Go error, which the server reports as 500 with no reason.
        case failed(String)
        /// Input on which the upstream code panics; the server answers a bare 500.
        case serverPanic(String)

        var apiError: APIError {
            switch self {
            case .badRequest(let message):
                APIError.badRequest(message)
            case .unprocessable:
                APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request")
            case .failed(let message):
                APIError(code: 500, reason: "", message: message)
            case .serverPanic:
                APIError(code: 500, reason: "InternalError", message: "This request caused apiserver to panic. Look in the logs for details.")
            }
        }

        static let badRetainKeys = Failure.badRequest("invalid patch format of retainKeys")
        static let badPrimitiveList = Failure.badRequest("invalid patch format of primitive list")
        static let badSetElementOrder = Failure.badRequest("invalid patch format of setElementOrder list")
        static let listOfLists = Failure.unprocessable("lists of lists are not supported")

        static func noMergeKey(_ item: JSONObject, _ key: String) -> Failure {
            .failed("map: \(GoValue.format(.object(item))) does not contain declared merge key: \(key)")
        }

        static func badArgType(expected: String, _ actual: JSON) -> Failure {
            .failed("expected a \(expected), but received a \(GoValue.typeName(actual))")
        }

        static func badPatchType(_ directive: JSON, _ item: JSONObject) -> Failure {
            .failed("unknown patch type: \(GoValue.format(directive, verb: .s)) in map: \(GoValue.format(.object(item)))")
        }
    }
}

// MARK: - Schema lookups

extension StrategicMergePatch {
    /// Where a value sits in the schema, as far as patching cares.
    enum Node {
        /// A struct type: fields carry patch strategies.
        case type(APISchema.TypeDef)
        /// A Go map (map[string]T): its entries have no patch metadata.
        case map
        /// Anything without fields to consult (`any`, scalars, unknown fields).
        case opaque

        /// Go's reflect.Kind name, which upstream prints in one error.
        var kindName: String {
            switch self {
            case .type: "struct"
            case .map: "map"
            case .opaque: "interface"
            }
        }
    }

    /// A field's patchStrategy (retainKeys aside, which only matters to the client) and merge key.
    struct PatchMeta {
        var strategy = ""
        var mergeKey = ""
    }

    static let notStruct = Failure.failed("merging an object in json but data type is not struct, instead is: map")
}

// MARK: - Merging

extension StrategicMergePatch {
    /// Merges maps member by member; lists and directives are in StrategicMergePatchLists.swift
    /// and StrategicMergePatchDirectives.swift.
    struct Merger {
        // Extensions of a nested type do not see the outer type's names; these let the
        // Merger extensions in the other files use them unqualified.
        typealias Failure = StrategicMergePatch.Failure
        typealias Node = StrategicMergePatch.Node
        typealias PatchMeta = StrategicMergePatch.PatchMeta
        typealias OrderIndex = StrategicMergePatch.OrderIndex

        let schema: APISchema

        func node(for type: APISchema.FieldType) -> Node {
            switch type {
            case .ref(let name): schema[type: name].map(Node.type) ?? .opaque
            case .map: .map
            default: .opaque
            }
        }

        func meta(of field: APISchema.Field) throws(Failure) -> PatchMeta {
            let strategies = field.patchStrategies.subtracting(["retainKeys"]).sorted()
            guard strategies.count <= 1 else {
                throw .failed("unexpected patch strategy: [\(field.patchStrategies.sorted().joined(separator: " "))]")
            }
            return PatchMeta(strategy: strategies.first ?? "", mergeKey: field.patchMergeKey ?? "")
        }

        /// The schema of a map-valued field and its patch metadata.
        func lookupMap(_ key: String, in node: Node) throws(Failure) -> (Node, PatchMeta) {
            switch node {
            case .type(let type):
                guard let field = type.field(key) else { return (.opaque, PatchMeta()) }
                return (self.node(for: field.type), try meta(of: field))
            case .map: throw notStruct
            case .opaque: return (.opaque, PatchMeta())
            }
        }

        /// The schema of a list field's elements and the list's patch metadata. A struct
        /// field stands for a pointer, whose element upstream takes as the list element.
        func lookupList(_ key: String, in node: Node) throws(Failure) -> (Node, PatchMeta) {
            switch node {
            case .type(let type):
                guard let field = type.field(key) else { return (.opaque, PatchMeta()) }
                let meta = try meta(of: field)
                switch field.type {
                case .array(.array): throw .failed("unexpected slice of slice")
                case .array(let element): return (self.node(for: element), meta)
                case .ref: return (self.node(for: field.type), meta)
                case .map: throw .failed("expected slice or array type, but got: struct")
                default: return (.opaque, meta)
                }
            case .map: throw notStruct
            case .opaque: return (.opaque, PatchMeta())
            }
        }

        /// Merges `patch` into `original` (absent counts as empty), directives first.
        func mergeMap(_ original: JSONObject?, _ patch: JSONObject, in node: Node) throws(Failure) -> JSONObject {
            if let directive = patch["$patch"] {
                return try mapDirective(directive, patch)
            }
            var original = original ?? JSONObject()
            var patch = patch
            try applyRetainKeys(&original, &patch)
            try mergeOrderedLists(&original, &patch, in: node)
            for (patchKey, patchValue) in patch {
                var key = patchKey
                var isDeleteList = false
                if patchKey.hasPrefix("$deleteFromPrimitiveList") {
                    let listKey = try extractKey(patchKey, prefix: "$deleteFromPrimitiveList", orThrow: .badPrimitiveList)
                    isDeleteList = true
                    if !listKey.isEmpty { key = listKey }
                }
                try mergeMember(key, patchValue, into: &original, in: node, isDeleteList: isDeleteList)
            }
            return original
        }

        func mergeMember(
            _ key: String, _ patchValue: JSON, into original: inout JSONObject, in node: Node, isDeleteList: Bool
        ) throws(Failure) {
            if patchValue.isNull {
                original.removeValue(forKey: key)
                return
            }
            guard let originalValue = original[key], GoValue.sameType(originalValue, patchValue) else {
                // New here, or a different type: the patch value wins, minus nulls and directives.
                if !isDeleteList { original[key] = removingDirectives(discardingNulls(patchValue)) }
                return
            }
            switch (originalValue, patchValue) {
            case (.object(let originalMap), .object(let patchMap)):
                let (child, meta) = try lookupMap(key, in: node)
                original[key] = meta.strategy == "replace" ? patchValue : .object(try mergeMap(originalMap, patchMap, in: child))
            case (.array(let originalList), .array(let patchList)):
                let (element, meta) = try lookupList(key, in: node)
                original[key] = .array(try mergeList(originalList, patchList, element: element, meta: meta, isDeleteList: isDeleteList))
            default:
                original[key] = patchValue
            }
        }
    }
}

extension StrategicMergePatch.Merger {
    /// Drops null members of maps at any depth, looking through lists (whose null elements stay).
    func discardingNulls(_ value: JSON) -> JSON {
        switch value {
        case .object(let members):
            var kept = JSONObject()
            for (key, member) in members where !member.isNull { kept[key] = discardingNulls(member) }
            return .object(kept)
        case .array(let elements):
            return .array(elements.map(discardingNulls))
        default:
            return value
        }
    }

    /// The value without maps that carry `$patch`; nil when the value itself carries one.
    func removingDirectives(_ value: JSON) -> JSON? {
        switch value {
        case .object(let members):
            guard members["$patch"] == nil else { return nil }
            var kept = JSONObject()
            for (key, member) in members {
                if let cleaned = removingDirectives(member) { kept[key] = cleaned }
            }
            return .object(kept)
        case .array(let elements):
            return .array(elements.compactMap(removingDirectives))
        default:
            return value
        }
    }
}

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
    struct Merger {
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

        /// `$patch` inside a map: replace keeps the patch as it is, delete empties the map.
        func mapDirective(_ directive: JSON, _ patch: JSONObject) throws(Failure) -> JSONObject {
            switch directive {
            case .string("replace"):
                var replacement = patch
                replacement.removeValue(forKey: "$patch")
                return replacement
            case .string("delete"):
                return JSONObject()
            default:
                throw .badPatchType(directive, patch)
            }
        }

        /// `$retainKeys`: every non-null patch key must be listed; unlisted keys leave original.
        func applyRetainKeys(_ original: inout JSONObject, _ patch: inout JSONObject) throws(Failure) {
            guard let retainKeys = patch.removeValue(forKey: "$retainKeys") else { return }
            guard case .array(let listed) = retainKeys else { throw .badRetainKeys }
            var retained = Set<GoValue.Key>()
            for entry in listed { retained.insert(try GoValue.key(entry)) }
            for (key, value) in patch where !value.isNull
                && !key.hasPrefix("$deleteFromPrimitiveList") && !key.hasPrefix("$setElementOrder")
            {
                guard retained.contains(.string(key)) else { throw .badRetainKeys }
            }
            for key in original.keys where !retained.contains(.string(key)) {
                original.removeValue(forKey: key)
            }
        }

        /// Handles each `$setElementOrder/f` with its list `f`: merges the list and orders it by
        /// the directive, then the live order, removing both from the patch.
        func mergeOrderedLists(_ original: inout JSONObject, _ patch: inout JSONObject, in node: Node) throws(Failure) {
            for directiveKey in patch.keys where directiveKey.hasPrefix("$setElementOrder") {
                guard let orderValue = patch.removeValue(forKey: directiveKey) else { continue }
                guard case .array(let order) = orderValue else { throw .badArgType(expected: "[]interface {}", orderValue) }
                let key = try extractKey(directiveKey, prefix: "$setElementOrder", orThrow: .badSetElementOrder)
                let originalList = try listValue(original[key])
                let patchList = try listValue(patch[key])
                let (element, meta) = try lookupList(key, in: node)
                try validate(patchList ?? [], against: order, mergeKey: meta.mergeKey)

                let merged: [JSON]
                var live = originalList ?? []
                switch (originalList, patchList) {
                case (let originalList?, nil): merged = originalList
                case (nil, let patchList?): merged = patchList.compactMap(removingDirectives)
                case (let originalList?, let patchList?):
                    (merged, live) = try mergeListSharingBacking(originalList, patchList, element: element, meta: meta, isDeleteList: false)
                case (nil, nil): continue
                }
                let (patchItems, serverOnly) = try partition(merged, by: order, mergeKey: meta.mergeKey)
                let kind = try elementKind(of: [live, patchList ?? []])
                original[key] = .array(try orderElements(
                    patchItems: patchItems, serverOnly: serverOnly, patchOrder: order, serverOrder: live,
                    mergeKey: meta.mergeKey, kind: kind))
                patch.removeValue(forKey: key)
            }
        }

        func listValue(_ value: JSON?) throws(Failure) -> [JSON]? {
            guard let value else { return nil }
            guard case .array(let list) = value else { throw .badArgType(expected: "[]interface {}", value) }
            return list
        }

        /// The list field named after a directive prefix ("$setElementOrder/containers").
        func extractKey(_ key: String, prefix: String, orThrow failure: Failure) throws(Failure) -> String {
            guard let slash = key.firstIndex(of: "/"), key[..<slash] == prefix else { throw failure }
            return String(key[key.index(after: slash)...])
        }

        /// The patch list must follow `$setElementOrder` (deletions and directives aside).
        func validate(_ patchList: [JSON], against order: [JSON], mergeKey: String) throws(Failure) {
            guard !order.isEmpty, !patchList.isEmpty else { return }
            let items = mergeKey.isEmpty ? patchList : try splitDeletions(patchList).kept
            var itemIndex = 0
            var orderIndex = 0
            while itemIndex < items.count, orderIndex < order.count {
                if items[itemIndex].objectValue?["$patch"] != nil {
                    itemIndex += 1
                    continue
                }
                if try mergeKeysEqual(items[itemIndex], order[orderIndex], mergeKey: mergeKey) { itemIndex += 1 }
                orderIndex += 1
            }
            if itemIndex < items.count, orderIndex >= order.count {
                throw .failed("The order in patch list:\n\(GoValue.format(.array(patchList)))\n doesn't match $setElementOrder list:\n\(GoValue.format(.array(order)))\n")
            }
        }

        func mergeKeysEqual(_ left: JSON, _ right: JSON, mergeKey: String) throws(Failure) -> Bool {
            guard !mergeKey.isEmpty else { return try GoValue.equal(left, right) }
            guard case .object(let leftMap) = left else { throw .badArgType(expected: "map[string]interface {}", left) }
            guard case .object(let rightMap) = right else { throw .badArgType(expected: "map[string]interface {}", right) }
            guard let leftKey = leftMap[mergeKey] else { throw .noMergeKey(leftMap, mergeKey) }
            guard let rightKey = rightMap[mergeKey] else { throw .noMergeKey(rightMap, mergeKey) }
            return try GoValue.equal(leftKey, rightKey)
        }

        /// Splits list items into those kept and those carrying `$patch: delete`.
        func splitDeletions(_ list: [JSON]) throws(Failure) -> (kept: [JSON], deleted: [JSON]) {
            var kept: [JSON] = []
            var deleted: [JSON] = []
            for item in list {
                guard case .object(let members) = item else { throw .badArgType(expected: "map[string]interface {}", item) }
                if members["$patch"] == .string("delete") { deleted.append(item) } else { kept.append(item) }
            }
            return (kept, deleted)
        }

        /// Merges a list per its strategy; `$deleteFromPrimitiveList` lists always take this path.
        func mergeList(
            _ original: [JSON], _ patch: [JSON], element: Node, meta: PatchMeta, isDeleteList: Bool
        ) throws(Failure) -> [JSON] {
            try mergeListSharingBacking(original, patch, element: element, meta: meta, isDeleteList: isDeleteList).merged
        }

        /// Merges a list and also returns the original list as upstream's caller sees it
        /// afterwards. Upstream deletes by shifting elements left inside the original's Go
        /// backing array and appends new elements into the freed tail, so a caller still
        /// holding the original slice (the `$setElementOrder` path, which orders by it) sees
        /// those writes; `kubectl apply` results depend on it.
        func mergeListSharingBacking(
            _ original: [JSON], _ patch: [JSON], element: Node, meta: PatchMeta, isDeleteList: Bool
        ) throws(Failure) -> (merged: [JSON], backing: [JSON]) {
            guard meta.strategy == "merge" || isDeleteList else { return (patch, original) }
            if original.isEmpty && patch.isEmpty { return (original, original) }
            let kind = try elementKind(of: [original, patch])
            if kind != .object {
                if isDeleteList { return (try removing(patch, from: original), original) }
                let merged = try uniqued(original + patch)
                return (try orderMerged(merged, original: original, patch: patch, mergeKey: meta.mergeKey, kind: kind), original)
            }
            guard !meta.mergeKey.isEmpty else { throw .failed("cannot merge lists without merge key for \(element.kindName)") }
            var backing = original
            let (remaining, plainPatch) = try applyElementDirectives(original, patch, mergeKey: meta.mergeKey, backing: &backing)
            let merged = try mergeByKey(remaining, plainPatch, mergeKey: meta.mergeKey, element: element, backing: &backing)
            return (try orderMerged(merged, original: remaining, patch: plainPatch, mergeKey: meta.mergeKey, kind: kind), backing)
        }

        /// Orders a merged list: patch elements by the patch, the rest by the live list.
        func orderMerged(_ merged: [JSON], original: [JSON], patch: [JSON], mergeKey: String, kind: GoValue.Kind) throws(Failure) -> [JSON] {
            let (patchItems, serverOnly) = try partition(merged, by: patch, mergeKey: mergeKey)
            return try orderElements(
                patchItems: patchItems, serverOnly: serverOnly, patchOrder: patch, serverOrder: original,
                mergeKey: mergeKey, kind: kind)
        }

        /// The common Go type of all elements; nulls and mixed types fail as upstream does.
        func elementKind(of lists: [[JSON]]) throws(Failure) -> GoValue.Kind {
            var kind: GoValue.Kind?
            for list in lists {
                for item in list {
                    let itemKind = GoValue.kind(of: item)
                    guard let known = kind else {
                        if itemKind == .null { throw .serverPanic("nil list element") }
                        if itemKind == .array { throw .listOfLists }
                        kind = itemKind
                        continue
                    }
                    if known != itemKind {
                        throw .failed("list element types are not identical: \(GoValue.format(.array(lists.map(JSON.array))))")
                    }
                }
            }
            guard let kind else { throw .failed("no elements in any of the given slices") }
            return kind
        }

        /// Primitive list minus every element of `deletions`, order kept.
        func removing(_ deletions: [JSON], from list: [JSON]) throws(Failure) -> [JSON] {
            var doomed = Set<GoValue.Key>()
            for item in deletions { doomed.insert(try GoValue.key(item)) }
            var kept: [JSON] = []
            for item in list {
                if !doomed.contains(try GoValue.key(item)) { kept.append(item) }
            }
            return kept
        }

        /// Primitive set union; the order is settled afterwards by `orderElements`.
        func uniqued(_ list: [JSON]) throws(Failure) -> [JSON] {
            var seen = Set<GoValue.Key>()
            var unique: [JSON] = []
            for item in list {
                if seen.insert(try GoValue.key(item)).inserted { unique.append(item) }
            }
            return unique
        }

        /// Applies `$patch` list elements: delete drops matching originals, replace makes the
        /// plain patch elements the whole list. Returns the remaining original and plain patch.
        func applyElementDirectives(
            _ original: [JSON], _ patch: [JSON], mergeKey: String, backing: inout [JSON]
        ) throws(Failure) -> ([JSON], [JSON]) {
            var remaining = original
            var plain: [JSON] = []
            var replace = false
            for item in patch {
                guard case .object(let members) = item else { throw .badArgType(expected: "map[string]interface {}", item) }
                guard let directive = members["$patch"] else {
                    plain.append(item)
                    continue
                }
                switch directive {
                case .string("delete"):
                    guard let keyValue = members[mergeKey] else { throw .noMergeKey(members, mergeKey) }
                    while let (index, _) = try find(keyValue, mergeKey: mergeKey, in: remaining) {
                        remaining.remove(at: index)
                        // Go shifts the tail left in place; the last slot keeps a stale copy.
                        for position in index..<remaining.count { backing[position] = remaining[position] }
                    }
                case .string("replace"):
                    replace = true
                case .string("merge"):
                    throw .failed("merging lists cannot yet be specified in the patch")
                default:
                    throw .badPatchType(directive, members)
                }
            }
            return replace ? (plain, []) : (remaining, plain)
        }

        /// Merges each patch element into the original with the same merge key, or appends it
        /// (into `backing` too while it has room, as Go's append does).
        func mergeByKey(
            _ original: [JSON], _ patch: [JSON], mergeKey: String, element: Node, backing: inout [JSON]
        ) throws(Failure) -> [JSON] {
            var merged = original
            for item in patch {
                guard case .object(let members) = item else { throw .badArgType(expected: "map[string]interface {}", item) }
                guard let keyValue = members[mergeKey] else { throw .noMergeKey(members, mergeKey) }
                if let (index, existing) = try find(keyValue, mergeKey: mergeKey, in: merged) {
                    merged[index] = .object(try mergeMap(existing, members, in: element))
                    if index < backing.count { backing[index] = merged[index] }
                } else {
                    if merged.count < backing.count { backing[merged.count] = item }
                    merged.append(item)
                }
            }
            return merged
        }

        /// The first map in `list` whose merge key equals `keyValue`.
        func find(_ keyValue: JSON, mergeKey: String, in list: [JSON]) throws(Failure) -> (Int, JSONObject)? {
            for (index, item) in list.enumerated() {
                guard case .object(let members) = item else { throw .failed("value for key \(index) is not a map") }
                if let candidate = members[mergeKey], try GoValue.equal(candidate, keyValue) { return (index, members) }
            }
            return nil
        }

        /// Splits merged elements into those named by `list` and those only the server has.
        func partition(_ merged: [JSON], by list: [JSON], mergeKey: String) throws(Failure) -> (patch: [JSON], serverOnly: [JSON]) {
            var inPatch: [JSON] = []
            var serverOnly: [JSON] = []
            if mergeKey.isEmpty {
                var named = Set<GoValue.Key>()
                for item in list { named.insert(try GoValue.key(item)) }
                for item in merged {
                    if named.contains(try GoValue.key(item)) { inPatch.append(item) } else { serverOnly.append(item) }
                }
                return (inPatch, serverOnly)
            }
            for item in merged {
                guard case .object(let members) = item else { throw .badArgType(expected: "map[string]interface {}", item) }
                guard let keyValue = members[mergeKey] else { throw .noMergeKey(members, mergeKey) }
                if try find(keyValue, mergeKey: mergeKey, in: list) != nil { inPatch.append(item) } else { serverOnly.append(item) }
            }
            return (inPatch, serverOnly)
        }

        /// Sorts patch elements by the patch order and server-only ones by the live order,
        /// then interleaves them: a server-only element goes before a patch element only when
        /// the live list has it earlier.
        func orderElements(
            patchItems: [JSON], serverOnly: [JSON], patchOrder: [JSON], serverOrder: [JSON], mergeKey: String, kind: GoValue.Kind
        ) throws(Failure) -> [JSON] {
            let right = try sortSlice(patchItems, by: patchOrder, mergeKey: mergeKey, kind: kind)
            let left = try sortSlice(serverOnly, by: serverOrder, mergeKey: mergeKey, kind: kind)
            let live = OrderIndex(serverOrder, mergeKey: mergeKey, kind: kind)
            var result: [JSON] = []
            result.reserveCapacity(left.count + right.count)
            var i = 0
            var j = 0
            while i < left.count || j < right.count {
                if i >= left.count {
                    result.append(right[j]); j += 1
                } else if j >= right.count {
                    result.append(left[i]); i += 1
                } else if let l = live.position(of: left[i]), let r = live.position(of: right[j]), l < r {
                    result.append(left[i]); i += 1
                } else {
                    result.append(right[j]); j += 1
                }
            }
            return result
        }

        /// Stable sort by position in `order`; `$patch: delete` elements go last.
        func sortSlice(_ items: [JSON], by order: [JSON], mergeKey: String, kind: GoValue.Kind) throws(Failure) -> [JSON] {
            var items = items
            var deletions: [JSON] = []
            if kind == .object {
                for list in [items, order] {
                    for item in list {
                        guard case .object(let members) = item else { throw .badArgType(expected: "map[string]interface {}", item) }
                        if members[mergeKey] == nil { throw .noMergeKey(members, mergeKey) }
                    }
                }
                (items, deletions) = try splitDeletions(items)
            }
            let index = OrderIndex(order, mergeKey: mergeKey, kind: kind)
            return index.stableSorted(items) + deletions
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

// MARK: - Ordering

extension StrategicMergePatch {
    /// Positions of elements in a reference list, found by merge key (maps) or by value,
    /// the first occurrence winning as in upstream's linear search.
    struct OrderIndex {
        var positions: [GoValue.Key: Int] = [:]
        let mergeKey: String
        let kind: GoValue.Kind

        init(_ order: [JSON], mergeKey: String, kind: GoValue.Kind) {
            self.mergeKey = mergeKey
            self.kind = kind
            for (position, item) in order.enumerated() {
                if let key = lookupKey(item), positions[key] == nil { positions[key] = position }
            }
        }

        func lookupKey(_ item: JSON) -> GoValue.Key? {
            let value = kind == .object ? (item.objectValue?[mergeKey] ?? .null) : item
            return try? GoValue.key(value)
        }

        func position(of item: JSON) -> Int? { lookupKey(item).flatMap { positions[$0] } }

        /// Upstream's comparator says "less" whenever either side is missing from the order; an
        /// insertion sort reproduces that, and a plain stable sort serves the usual case.
        func stableSorted(_ items: [JSON]) -> [JSON] {
            let found = items.map(position(of:))
            if found.allSatisfy({ $0 != nil }) {
                let ranked = zip(found, items.indices).sorted { ($0.0 ?? 0, $0.1) < ($1.0 ?? 0, $1.1) }
                return ranked.map { items[$0.1] }
            }
            var sorted = Array(zip(found, items))
            for i in sorted.indices.dropFirst() {
                var j = i
                while j > 0, Self.less(sorted[j].0, sorted[j - 1].0) {
                    sorted.swapAt(j, j - 1)
                    j -= 1
                }
            }
            return sorted.map(\.1)
        }

        static func less(_ a: Int?, _ b: Int?) -> Bool {
            guard let a, let b else { return true }
            return a < b
        }
    }
}

// MARK: - Go value semantics

/// How upstream's Go code sees a decoded JSON value: its dynamic type, `==`, and `fmt`'s
/// printing (which its error messages carry).
enum GoValue {
    enum Kind: Equatable { case null, bool, string, int64, float64, object, array }

    /// A comparable scalar, as Go's interface equality and map keys see it.
    enum Key: Hashable {
        case null
        case bool(Bool)
        case string(String)
        case int64(Int64)
        case float64(Double)
    }

    /// Integers without fraction or exponent decode as int64, other numbers as float64.
    static func kind(of value: JSON) -> Kind {
        switch value {
        case .null: .null
        case .bool: .bool
        case .string: .string
        case .number(let number): Int64(number.text) != nil ? .int64 : .float64
        case .object: .object
        case .array: .array
        }
    }

    static func sameType(_ a: JSON, _ b: JSON) -> Bool { kind(of: a) == kind(of: b) }

    /// Maps and lists cannot be compared or hashed in Go: doing so panics.
    static func key(_ value: JSON) throws(StrategicMergePatch.Failure) -> Key {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .string(let text): return .string(text)
        case .number(let number):
            if let integer = Int64(number.text) { return .int64(integer) }
            return .float64(number.double ?? 0)
        case .object, .array:
            throw .serverPanic("hash of unhashable type \(typeName(value))")
        }
    }

    /// Go's `==` on two interface values: different dynamic types are unequal, and two maps
    /// or two lists panic.
    static func equal(_ a: JSON, _ b: JSON) throws(StrategicMergePatch.Failure) -> Bool {
        guard sameType(a, b) else { return false }
        return try key(a) == key(b)
    }

    /// reflect's name of the dynamic type, or what `%s` prints for a nil type.
    static func typeName(_ value: JSON) -> String {
        switch kind(of: value) {
        case .null: "%!s(<nil>)"
        case .bool: "bool"
        case .string: "string"
        case .int64: "int64"
        case .float64: "float64"
        case .object: "map[string]interface {}"
        case .array: "[]interface {}"
        }
    }

    enum Verb { case v, s }

    /// `fmt`'s `%v` (or `%s`) of the value: maps print as `map[k:v ...]` with sorted keys,
    /// lists as `[a b]`, nil as `<nil>`.
    static func format(_ value: JSON, verb: Verb = .v) -> String {
        switch value {
        case .null:
            return verb == .v ? "<nil>" : "%!s(<nil>)"
        case .bool(let flag):
            return verb == .v ? String(flag) : "%!s(bool=\(flag))"
        case .string(let text):
            return text
        case .number(let number):
            let text: String
            if let integer = Int64(number.text) {
                text = String(integer)
            } else {
                text = goFloat(number.double ?? 0)
            }
            return verb == .v ? text : "%!s(\(kind(of: value) == .int64 ? "int64" : "float64")=\(text))"
        case .array(let elements):
            return "[" + elements.map { format($0, verb: verb) }.joined(separator: " ") + "]"
        case .object(let members):
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let pairs = keys.map { key in "\(key):\(format(members[key] ?? .null, verb: verb))" }
            return "map[" + pairs.joined(separator: " ") + "]"
        }
    }

    /// strconv.FormatFloat(x, 'g', -1, 64): shortest digits, exponent form when the decimal
    /// exponent is below -4 or at least 6 ("1e+06", "1.5e-05", "123456").
    static func goFloat(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf") }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let (digits, pointPosition) = shortestDigits(abs(value))
        let sign = value < 0 ? "-" : ""
        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.prefix(1))
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let magnitude = abs(exponent)
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        }
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        if pointPosition >= digits.count {
            return sign + digits + String(repeating: "0", count: pointPosition - digits.count)
        }
        return sign + digits.prefix(pointPosition) + "." + digits.dropFirst(pointPosition)
    }

    /// The shortest round-tripping decimal digits of a positive double (no leading or trailing
    /// zeros) and where the decimal point goes relative to them.
    static func shortestDigits(_ value: Double) -> (String, Int) {
        let description = "\(value)"
        let parts = description.split(separator: "e", maxSplits: 1)
        let mantissa = parts.first.map(String.init) ?? description
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let integerPart = mantissa.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? mantissa
        var digits = mantissa.filter { $0 != "." }
        var point = integerPart.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (digits, point)
    }
}

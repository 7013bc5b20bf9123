import SkiffCore

// The strategic merge patch directives: `$patch` in maps and in list elements,
// `$retainKeys`, `$setElementOrder/f` (with `$deleteFromPrimitiveList/f` read in `mergeMap`).

extension StrategicMergePatch.Merger {
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
}

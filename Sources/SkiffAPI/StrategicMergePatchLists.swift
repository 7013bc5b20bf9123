import SkiffCore

// Merging and ordering lists: by merge key, as primitive sets, or replaced, in the order
// upstream produces.

extension StrategicMergePatch.Merger {
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

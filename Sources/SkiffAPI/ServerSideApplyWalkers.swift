import SkiffCore

/// The fields that changed between two objects (structured-merge-diff's Comparison).
struct SSAComparison: Sendable {
    var removed = FieldSet()
    var modified = FieldSet()
    var added = FieldSet()

    /// Drops the reset fields (and everything below them) from all three sets.
    func excluding(_ reset: FieldSet) -> SSAComparison {
        guard !reset.isEmpty else { return self }
        return SSAComparison(removed: removed.recursivelySubtracting(reset),
                             modified: modified.recursivelySubtracting(reset),
                             added: added.recursivelySubtracting(reset))
    }
}

/// Why a list item has no path element (upstream's listItemToPathElement errors).
struct SSAItemError: Error, Sendable {
    var message: String
}

// MARK: - List items

extension SSATypes {
    /// The element naming a list item: its key fields (defaults filling missing ones) in a
    /// list-map, its value in a set.
    func pathElement(_ item: JSON, _ element: SSANode, _ kind: SSAListKind) throws(SSAItemError) -> FieldPathElement {
        switch kind {
        case .atomic: throw SSAItemError(message: "invalid indexing of non-associative list")
        case .set: return try setElement(item)
        case .map(let keys): return try keyElement(item, element, keys)
        }
    }

    private func keyElement(_ item: JSON, _ element: SSANode, _ keys: [String]) throws(SSAItemError) -> FieldPathElement {
        guard case .object(let members) = item else {
            throw SSAItemError(message: item.isNull
                ? "associative list with keys may not have a null element"
                : "associative list with keys may not have non-map elements")
        }
        var fields: [KeyField] = []
        for key in keys {
            if let value = members[key] ?? keyDefault(element, key) {
                fields.append(KeyField(name: key, value: SSAValue.canonical(value)))
            }
        }
        if !keys.isEmpty, fields.isEmpty {
            let quoted = "[" + keys.map(SSAValue.goQuote).joined(separator: " ") + "]"
            throw SSAItemError(message: "associative list with keys has an element that omits all key fields \(quoted) (and doesn't have default values for any key fields)")
        }
        return .key(FieldPathElement.sortedKeys(fields))
    }

    private func setElement(_ item: JSON) throws(SSAItemError) -> FieldPathElement {
        switch item {
        case .object: throw SSAItemError(message: "associative list without keys has an element that's a map type")
        case .array: throw SSAItemError(message: "not supported: associative list with lists as elements")
        case .null: throw SSAItemError(message: "associative list without keys has an element that's an explicit null")
        default: return .value(SSAValue.canonical(item))
        }
    }

    /// Items paired with their elements; items without one are left out, as the walkers
    /// only see validated values (or values whose errors upstream would also drop).
    func indexed(_ items: [JSON], _ element: SSANode, _ kind: SSAListKind) -> [(FieldPathElement, JSON)] {
        items.compactMap { item in (try? pathElement(item, element, kind)).map { ($0, item) } }
    }
}

// MARK: - Field sets

extension SSATypes {
    /// Every leaf, list item and map entry a value sets (upstream's ToFieldSet): struct
    /// fields count only through their leaves unless empty or null; atomic lists and maps
    /// are single leaves; duplicated list items are owned as a whole, not descended into.
    func fieldSet(of value: JSON, _ node: SSANode) -> FieldSet {
        var set = FieldSet()
        collect(value, node, [], into: &set)
        return set
    }

    private func collect(_ value: JSON, _ node: SSANode, _ path: FieldPath, into set: inout FieldSet) {
        switch atom(node, for: value) {
        case .scalar?:
            set.insert(path)
        case .list(let element, let kind)?:
            if kind == .atomic { set.insert(path); return }
            guard case .array(let items) = value else { return }
            collectItems(items, element, kind, path, into: &set)
        case .map(let shape)?:
            if shape.atomic { set.insert(path); return }
            guard case .object(let members) = value else { return }
            for (key, child) in members {
                let childPath = path + [.field(key)]
                collect(child, fieldNode(shape, key) ?? .deduced, childPath, into: &set)
                if child.isNull || child.objectValue?.isEmpty == true || !isNamedField(shape, key) {
                    set.insert(childPath)
                }
            }
        case nil:
            return
        }
    }

    private func collectItems(_ items: [JSON], _ element: SSANode, _ kind: SSAListKind, _ path: FieldPath, into set: inout FieldSet) {
        let indexed = indexed(items, element, kind)
        var seen = Set<FieldPathElement>(), duplicates = Set<FieldPathElement>()
        for (pe, _) in indexed {
            if seen.insert(pe).inserted { continue }
            if duplicates.insert(pe).inserted { set.insert(path + [pe]) }
        }
        for (pe, item) in indexed where !duplicates.contains(pe) {
            collect(item, element, path + [pe], into: &set)
            set.insert(path + [pe])
        }
    }

    /// Adds as members the named struct fields on the way to each path (upstream's
    /// EnsureNamedFieldsAreMembers), so pruning a struct's last field can prune the struct.
    func ensuringNamedFields(_ set: FieldSet, _ node: SSANode?) -> FieldSet {
        var out = FieldSet()
        for pe in set.members { out.insertMember(pe) }
        let shapes = node.map(atoms) ?? []
        let mapShape = shapes.lazy.compactMap { if case .map(let s) = $0 { s } else { nil } }.first
        let listElement = shapes.lazy.compactMap { if case .list(let e, _) = $0 { e } else { nil } }.first
        for (pe, child) in set.children {
            var childNode: SSANode?
            switch pe {
            case .field(let name):
                if let mapShape {
                    if isNamedField(mapShape, name) { out.insertMember(pe) }
                    childNode = fieldNode(mapShape, name)
                }
            case .key: childNode = listElement
            case .value, .index: childNode = nil
            }
            out.setChild(pe, ensuringNamedFields(child, childNode))
        }
        return out
    }
}

// MARK: - Compare

extension SSATypes {
    /// The fields `rhs` adds, changes and removes relative to `lhs` (upstream's Compare).
    /// nil means absent; `.null` is a present value.
    func compare(_ lhs: JSON?, _ rhs: JSON?, _ node: SSANode) -> SSAComparison {
        var c = SSAComparison()
        compare(lhs, rhs, node, [], &c)
        return c
    }

    private func compare(_ lhs: JSON?, _ rhs: JSON?, _ node: SSANode, _ path: FieldPath, _ c: inout SSAComparison) {
        let all = atoms(node)
        let (al, ar) = (deduced(all, lhs), deduced(all, rhs))
        let inLeaf: Bool
        if rhs == nil {
            inLeaf = compareAtom(al.first, lhs, rhs, path, &c)
        } else if lhs == nil || al == ar {
            inLeaf = compareAtom(ar.first, lhs, rhs, path, &c)
        } else {
            _ = compareAtom(al.first, lhs, rhs, path, &c)
            inLeaf = compareAtom(ar.first, lhs, rhs, path, &c)
        }
        guard !inLeaf else { return }
        if lhs == nil { c.added.insert(path) } else if rhs == nil { c.removed.insert(path) }
    }

    /// Compares under one shape; returns whether the value was a leaf.
    private func compareAtom(_ atom: SSAAtom?, _ lhs: JSON?, _ rhs: JSON?, _ path: FieldPath, _ c: inout SSAComparison) -> Bool {
        switch atom {
        case .list(let element, let kind)?:
            let (l, r) = (lhs?.arrayValue, rhs?.arrayValue)
            if kind == .atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { break }
            compareItems(l ?? [], r ?? [], element, kind, path, &c)
            return false
        case .map(let shape)?:
            let (l, r) = (lhs?.objectValue, rhs?.objectValue)
            if shape.atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { break }
            for key in unionKeys(l, r) {
                compare(l?[key], r?[key], fieldNode(shape, key) ?? .deduced, path + [.field(key)], &c)
            }
            return false
        case .scalar?, nil:
            break
        }
        compareLeaf(lhs, rhs, path, &c)
        return true
    }

    private func compareLeaf(_ lhs: JSON?, _ rhs: JSON?, _ path: FieldPath, _ c: inout SSAComparison) {
        guard let lhs else { c.added.insert(path); return }
        guard let rhs else { c.removed.insert(path); return }
        if !SSAValue.equal(lhs, rhs) { c.modified.insert(path) }
    }

    /// Items compared by element; duplicated items are compared as whole groups.
    private func compareItems(_ l: [JSON], _ r: [JSON], _ element: SSANode, _ kind: SSAListKind, _ path: FieldPath, _ c: inout SSAComparison) {
        var order: [FieldPathElement] = []
        var lValues: [FieldPathElement: [JSON]] = [:], rValues: [FieldPathElement: [JSON]] = [:]
        for (pe, item) in indexed(l, element, kind) {
            if lValues[pe] == nil { order.append(pe) }
            lValues[pe, default: []].append(item)
        }
        for (pe, item) in indexed(r, element, kind) {
            if lValues[pe] == nil, rValues[pe] == nil { order.append(pe) }
            rValues[pe, default: []].append(item)
        }
        for pe in order {
            let (ll, rl) = (lValues[pe] ?? [], rValues[pe] ?? [])
            let itemPath = path + [pe]
            if ll.count <= 1, rl.count <= 1 {
                compare(ll.first, rl.first, element, itemPath, &c)
            } else if ll.count >= 2, rl.count >= 2 {
                if !SSAValue.equal(.array(ll), .array(rl)) { c.modified.insert(itemPath) }
            } else if ll.count >= 2 {
                if let first = rl.first { compare(nil, first, element, itemPath, &c) }
                c.removed.insert(itemPath)
            } else {
                if let first = ll.first { compare(first, nil, element, itemPath, &c) }
                c.added.insert(itemPath)
            }
        }
    }

    private func unionKeys(_ l: JSONObject?, _ r: JSONObject?) -> [String] {
        var keys = l?.keys ?? []
        for key in r?.keys ?? [] where l?[key] == nil { keys.append(key) }
        return keys
    }
}

// MARK: - Merge

extension SSATypes {
    /// Merges an applied configuration into a live object (upstream's Merge with keep-RHS):
    /// leaves and atomic values take `rhs`, maps merge by key, granular lists by element.
    /// Maps keep `lhs`'s key order with new keys after; lists follow upstream's ordering.
    func merge(_ lhs: JSON?, _ rhs: JSON?, _ node: SSANode) -> JSON? {
        // rhs's shape decides; when the shapes differ upstream also walks lhs's, only for
        // errors that validation has already ruled out.
        mergeAtom(atom(node, for: rhs ?? lhs), lhs, rhs)
    }

    private func mergeAtom(_ atom: SSAAtom?, _ lhs: JSON?, _ rhs: JSON?) -> JSON? {
        switch atom {
        case .list(let element, let kind)?:
            let (l, r) = (lhs?.arrayValue, rhs?.arrayValue)
            if kind == .atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { return rhs ?? lhs }
            return mergeItems(l ?? [], r ?? [], element, kind)
        case .map(let shape)?:
            let (l, r) = (lhs?.objectValue, rhs?.objectValue)
            if shape.atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { return rhs ?? lhs }
            var out = JSONObject()
            for key in unionKeys(l, r) {
                if let v = merge(l?[key], r?[key], fieldNode(shape, key) ?? .deduced) { out[key] = v }
            }
            return out.isEmpty ? nil : .object(out)
        case .scalar?, nil:
            return rhs ?? lhs
        }
    }

    /// Upstream's list merge: live items keep their order, applied items come in the
    /// applied order, and an item both hold is placed where the applied list puts it.
    private func mergeItems(_ l: [JSON], _ r: [JSON], _ element: SSANode, _ kind: SSAListKind) -> JSON? {
        let lhs = indexed(l, element, kind), rhs = indexed(r, element, kind)
        var observedLHS: [FieldPathElement: JSON] = [:], observedRHS: [FieldPathElement: JSON] = [:]
        for (pe, item) in lhs { observedLHS[pe] = observedLHS[pe] == nil ? item : .null }
        for (pe, item) in rhs where observedRHS[pe] == nil { observedRHS[pe] = item }
        var shared = rhs.map(\.0).filter { observedLHS[$0] != nil }[...]
        var nextShared = shared.popFirst()
        var mergedRHS = Set<FieldPathElement>()
        var out: [JSON] = []
        var (li, ri) = (0, 0)
        while li < lhs.count || ri < rhs.count {
            if li < lhs.count, ri < rhs.count {
                let pe = lhs[li].0
                if pe == rhs[ri].0 {
                    mergedRHS.insert(pe)
                    if let m = merge(observedLHS[pe], observedRHS[pe], element) { out.append(m) }
                    li += 1
                    ri += 1
                    nextShared = shared.popFirst()
                    continue
                }
                if observedRHS[pe] != nil, let ns = nextShared, ns != pe {
                    li += 1
                    continue
                }
            }
            if li < lhs.count {
                let pe = lhs[li].0
                if observedRHS[pe] == nil {
                    if let m = merge(lhs[li].1, nil, element) { out.append(m) }
                    li += 1
                    continue
                } else if mergedRHS.contains(pe) {
                    li += 1
                }
            }
            if ri < rhs.count {
                let pe = rhs[ri].0
                mergedRHS.insert(pe)
                if let m = merge(observedLHS[pe], observedRHS[pe], element) { out.append(m) }
                ri += 1
                if nextShared == pe { nextShared = shared.popFirst() }
            }
        }
        return out.isEmpty ? nil : .array(out)
    }
}

// MARK: - Remove

extension SSATypes {
    /// The value without the items and fields in `set` (upstream's RemoveItems). A list or
    /// map that loses everything becomes null, as upstream; with `dropEmptied` its key goes
    /// instead, which is what the object Go would store shows.
    func removing(_ set: FieldSet, from value: JSON, _ node: SSANode, dropEmptied: Bool = false) -> JSON? {
        switch atom(node, for: value) {
        case .list(let element, let kind)?:
            guard case .array(let items) = value, !items.isEmpty, kind != .atomic else { return nil }
            var out: [JSON] = []
            for item in items {
                guard let pe = try? pathElement(item, element, kind) else { out.append(item); continue }
                if set.has([pe]) { continue }
                let below = set.child(pe)
                out.append(below.isEmpty ? item : removing(below, from: item, element, dropEmptied: dropEmptied) ?? .null)
            }
            return out.isEmpty ? nil : .array(out)
        case .map(let shape)?:
            guard case .object(let members) = value, !members.isEmpty, !shape.atomic else { return nil }
            var out = JSONObject()
            for (key, child) in members where !set.has([.field(key)]) {
                let below = set.child(.field(key))
                if below.isEmpty { out[key] = child; continue }
                let kept = removing(below, from: child, fieldNode(shape, key) ?? .deduced, dropEmptied: dropEmptied)
                if kept != nil || !dropEmptied { out[key] = kept ?? .null }
            }
            return out.isEmpty ? nil : .object(out)
        case .scalar?, nil:
            return value
        }
    }
}

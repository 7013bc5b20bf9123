import SkiffCore

/// The fields that changed between two objects (structured-merge-diff's Comparison), with
/// added and modified together: every caller takes them as one.
struct SSAComparison: Sendable {
    var removed = FieldSet()
    var changed = FieldSet()

    /// Drops the reset fields (and everything below them) from both sets.
    func excluding(_ reset: FieldSet) -> SSAComparison {
        guard !reset.isEmpty else { return self }
        return SSAComparison(removed: removed.recursivelySubtracting(reset), changed: changed.recursivelySubtracting(reset))
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
        case .map(let keys):
            guard case .object(let members) = item else { throw Self.nonMapItem(item) }
            return try keyElement({ members[$0] }, element, keys)
        }
    }

    /// The element naming an item as Go writes it, reading a struct's key fields without
    /// building the rest of it.
    func pathElement(_ item: SSAView, _ element: SSANode, _ kind: SSAListKind) throws(SSAItemError) -> FieldPathElement {
        if case .map(let keys) = kind, item.norm == .go, case .object(let members) = item.raw, let type = structInfo(element) {
            return try keyElement({ key in
                type.field(key).flatMap { i in structMember(members[key], type, i).map { materialize($0, type.nodes[i]) } }
            }, element, keys)
        }
        return try pathElement(materialize(item, element), element, kind)
    }

    private static func nonMapItem(_ item: JSON) -> SSAItemError {
        SSAItemError(message: item.isNull
            ? "associative list with keys may not have a null element"
            : "associative list with keys may not have non-map elements")
    }

    private func keyElement(_ member: (String) -> JSON?, _ element: SSANode, _ keys: [String]) throws(SSAItemError) -> FieldPathElement {
        var fields: [KeyField] = []
        fields.reserveCapacity(keys.count)
        for key in keys {
            if let value = member(key) ?? keyDefault(element, key) {
                fields.append(KeyField(name: key, value: SSAValue.canonical(value)))
            }
        }
        if !keys.isEmpty, fields.isEmpty {
            let quoted = "[" + keys.map(goQuote).joined(separator: " ") + "]"
            throw SSAItemError(message: "associative list with keys has an element that omits all key fields \(quoted) (and doesn't have default values for any key fields)")
        }
        return .key(fields.count == 1 ? fields : FieldPathElement.sortedKeys(fields))
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

// MARK: - Merge

extension SSATypes {
    /// Merges an applied configuration into a live object (upstream's Merge with keep-RHS):
    /// leaves and atomic values take `rhs`, maps merge by key, granular lists by element.
    /// Maps keep `lhs`'s key order with new keys after; lists follow upstream's ordering.
    /// `rhs` must be valid for its type (the applied configuration is checked strictly).
    /// `asSet` says `lhs` is valid too and the result is only compared as a set (the Go-form
    /// merge): then a side merged with nothing is that side as it is, and objects' key order
    /// does not matter.
    func merge(_ lhs: JSON?, _ rhs: JSON?, _ node: SSANode, asSet: Bool) -> JSON? {
        guard let lhs else { return rhs }
        guard let rhs else { return asSet ? lhs : mergeAtom(atom(node, for: lhs), lhs, nil, asSet) }
        // The same on both sides (so both valid): the merge gives lhs back, up to the key
        // order of atomic values it takes from rhs; so for the stored object only when
        // identical.
        if asSet ? SSAValue.same(lhs, rhs) : SSAValue.identical(lhs, rhs) { return lhs }
        // rhs's shape decides; when the shapes differ upstream also walks lhs's, only for
        // errors that validation has already ruled out.
        return mergeAtom(atom(node, for: rhs), lhs, rhs, asSet)
    }

    private func mergeAtom(_ atom: SSAAtom?, _ lhs: JSON?, _ rhs: JSON?, _ asSet: Bool) -> JSON? {
        switch atom {
        case .list(let element, let kind)?:
            let (l, r) = (lhs?.arrayValue, rhs?.arrayValue)
            if kind == .atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { return rhs ?? lhs }
            return mergeItems(l ?? [], r ?? [], element, kind, asSet)
        case .map(let shape)?:
            let (l, r) = (lhs?.objectValue, rhs?.objectValue)
            if shape.atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { return rhs ?? lhs }
            var pairs: [(String, JSON)] = []
            pairs.reserveCapacity((l?.count ?? 0) + (r?.count ?? 0))
            for (key, lv) in l ?? JSONObject() {
                let rv = r?[key]
                if rv == nil, asSet {
                    pairs.append((key, lv))
                } else if let v = merge(lv, rv, fieldNode(shape, key) ?? .deduced, asSet: asSet) {
                    pairs.append((key, v))
                }
            }
            for (key, rv) in r ?? JSONObject() where l?[key] == nil {
                if let v = merge(nil, rv, fieldNode(shape, key) ?? .deduced, asSet: asSet) { pairs.append((key, v)) }
            }
            return pairs.isEmpty ? nil : .object(SSAValue.object(pairs))
        case .scalar?, nil:
            return rhs ?? lhs
        }
    }

    /// Upstream's list merge: live items keep their order, applied items come in the
    /// applied order, and an item both hold is placed where the applied list puts it.
    private func mergeItems(_ l: [JSON], _ r: [JSON], _ element: SSANode, _ kind: SSAListKind, _ asSet: Bool) -> JSON? {
        let lhs = indexed(l, element, kind), rhs = indexed(r, element, kind)
        var observedLHS = SSAElementMap<JSON>(capacity: lhs.count), observedRHS = SSAElementMap<JSON>(capacity: rhs.count)
        for (pe, item) in lhs { observedLHS[pe] = observedLHS[pe] == nil ? item : .null }
        for (pe, item) in rhs where observedRHS[pe] == nil { observedRHS[pe] = item }
        var shared = rhs.map(\.0).filter { observedLHS[$0] != nil }[...]
        var nextShared = shared.popFirst()
        var mergedRHS = SSAElementSet(capacity: lhs.count + rhs.count)
        var out: [JSON] = []
        var (li, ri) = (0, 0)
        while li < lhs.count || ri < rhs.count {
            if li < lhs.count, ri < rhs.count {
                let pe = lhs[li].0
                if pe == rhs[ri].0 {
                    _ = mergedRHS.insert(pe)
                    if let m = merge(observedLHS[pe], observedRHS[pe], element, asSet: asSet) { out.append(m) }
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
                    if let m = merge(lhs[li].1, nil, element, asSet: asSet) { out.append(m) }
                    li += 1
                    continue
                } else if mergedRHS.contains(pe) {
                    li += 1
                }
            }
            if ri < rhs.count {
                let pe = rhs[ri].0
                _ = mergedRHS.insert(pe)
                if let m = merge(observedLHS[pe], observedRHS[pe], element, asSet: asSet) { out.append(m) }
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
            out.reserveCapacity(items.count)
            for item in items {
                guard let pe = try? pathElement(item, element, kind) else { out.append(item); continue }
                guard let entry = set.entry(pe) else { out.append(item); continue }
                if entry.isMember { continue }
                out.append(removing(entry.children, from: item, element, dropEmptied: dropEmptied) ?? .null)
            }
            return out.isEmpty ? nil : .array(out)
        case .map(let shape)?:
            guard case .object(let members) = value, !members.isEmpty, !shape.atomic else { return nil }
            var pairs: [(String, JSON)] = []
            pairs.reserveCapacity(members.count)
            for (key, child) in members {
                guard let entry = set.entry(.field(key)) else { pairs.append((key, child)); continue }
                if entry.isMember { continue }
                let kept = removing(entry.children, from: child, fieldNode(shape, key) ?? .deduced, dropEmptied: dropEmptied)
                if kept != nil || !dropEmptied { pairs.append((key, kept ?? .null)) }
            }
            return pairs.isEmpty ? nil : .object(SSAValue.object(pairs))
        case .scalar?, nil:
            return value
        }
    }
}

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
                type.index[key].flatMap { i in structMember(members[key], type.fields[i]).map { materialize($0, type.fields[i].node) } }
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
            let quoted = "[" + keys.map(SSAValue.goQuote).joined(separator: " ") + "]"
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

// MARK: - Field sets

extension SSATypes {
    /// Every leaf, list item and map entry a value sets (upstream's ToFieldSet): struct
    /// fields count only through their leaves unless empty or null; atomic lists and maps
    /// are single leaves; duplicated list items are owned as a whole, not descended into.
    /// With `namedFields`, the struct fields on the way to each path are members too, as
    /// `ensuringNamedFields` would make them.
    func fieldSet(of value: JSON, _ node: SSANode, namedFields: Bool = false) -> FieldSet {
        collect(value, node, namedFields).children
    }

    /// What a value contributes: whether its own path is in the set, and the paths below.
    private func collect(_ value: JSON, _ node: SSANode, _ named: Bool) -> (isMember: Bool, children: FieldSet) {
        switch atom(node, for: value) {
        case .scalar?:
            return (true, FieldSet())
        case .list(let element, let kind)?:
            if kind == .atomic { return (true, FieldSet()) }
            guard case .array(let items) = value else { return (false, FieldSet()) }
            return (false, collectItems(items, element, kind, named))
        case .map(let shape)?:
            if shape.atomic { return (true, FieldSet()) }
            guard case .object(let members) = value else { return (false, FieldSet()) }
            var entries: [FieldSet.Entry] = []
            entries.reserveCapacity(members.count)
            for (key, child) in members {
                let isNamed = isNamedField(shape, key)
                let (childIsMember, below) = collect(child, fieldNode(shape, key) ?? .deduced, named)
                let isMember = childIsMember || child.isNull || child.objectValue?.isEmpty == true || !isNamed || (named && !below.isEmpty)
                if isMember || !below.isEmpty { entries.append(FieldSet.Entry(element: .field(key), isMember: isMember, children: below)) }
            }
            return (false, FieldSet(collecting: entries))
        case nil:
            return (false, FieldSet())
        }
    }

    private func collectItems(_ items: [JSON], _ element: SSANode, _ kind: SSAListKind, _ named: Bool) -> FieldSet {
        let indexed = indexed(items, element, kind)
        var seen = SSAElementSet(capacity: indexed.count), duplicates = SSAElementSet(capacity: 0)
        var duplicated: [FieldPathElement] = []
        for (pe, _) in indexed where !seen.insert(pe) {
            if duplicates.insert(pe) { duplicated.append(pe) }
        }
        var entries: [FieldSet.Entry] = duplicated.map { FieldSet.Entry(element: $0, isMember: true, children: FieldSet()) }
        for (pe, item) in indexed where !duplicated.contains(pe) {
            entries.append(FieldSet.Entry(element: pe, isMember: true, children: collect(item, element, named).children))
        }
        return FieldSet(collecting: entries)
    }

    /// Adds as members the named struct fields on the way to each path (upstream's
    /// EnsureNamedFieldsAreMembers), so pruning a struct's last field can prune the struct.
    func ensuringNamedFields(_ set: FieldSet, _ node: SSANode?) -> FieldSet {
        guard !set.isEmpty else { return set }
        let atoms = node.map { info($0).atoms } ?? []
        let mapShape = atoms.lazy.compactMap { if case .map(let s) = $0 { s } else { nil } }.first
        let listElement = atoms.lazy.compactMap { if case .list(let e, _) = $0 { e } else { nil } }.first
        var entries = set.entries
        for i in entries.indices where !entries[i].children.isEmpty {
            var childNode: SSANode?
            switch entries[i].element {
            case .field(let name):
                if let mapShape {
                    if isNamedField(mapShape, name) { entries[i].isMember = true }
                    childNode = fieldNode(mapShape, name)
                }
            case .key: childNode = listElement
            case .value, .index: childNode = nil
            }
            entries[i].children = ensuringNamedFields(entries[i].children, childNode)
        }
        return FieldSet(collecting: entries)
    }
}

// MARK: - Compare

/// What a comparison found at one node: whether its own path was added or modified, or
/// removed, and the paths below it that were.
private struct SSADiff {
    var changedSelf = false
    var removedSelf = false
    var changed = FieldSet()
    var removed = FieldSet()
}

/// A level's entries, sorted into sets once the level is done.
private struct SSADiffEntries {
    var changed: [FieldSet.Entry] = []
    var removed: [FieldSet.Entry] = []

    mutating func add(_ pe: FieldPathElement, _ d: SSADiff) {
        if d.changedSelf || !d.changed.isEmpty { changed.append(FieldSet.Entry(element: pe, isMember: d.changedSelf, children: d.changed)) }
        if d.removedSelf || !d.removed.isEmpty { removed.append(FieldSet.Entry(element: pe, isMember: d.removedSelf, children: d.removed)) }
    }

    func store(into d: inout SSADiff) {
        if !changed.isEmpty { d.changed = d.changed.union(FieldSet(collecting: changed)) }
        if !removed.isEmpty { d.removed = d.removed.union(FieldSet(collecting: removed)) }
    }
}

extension SSATypes {
    /// The fields `rhs` adds, changes and removes relative to `lhs` (upstream's Compare),
    /// both as Go writes them. nil means absent; `.null` is a present value. Subtrees the
    /// same on both sides are skipped: they can hold no difference.
    func compare(_ lhs: SSAView?, _ rhs: SSAView?, _ node: SSANode) -> SSAComparison {
        let d = compareNode(lhs, rhs, node)
        // The root's own path is the whole object, which is never owned.
        return SSAComparison(removed: d.removed, changed: d.changed)
    }

    private func compareNode(_ lhs: SSAView?, _ rhs: SSAView?, _ node: SSANode) -> SSADiff {
        if let lhs, let rhs, lhs.norm == rhs.norm, SSAValue.same(lhs.raw, rhs.raw) { return SSADiff() }
        let info = info(node)
        let al = lhs.flatMap { atomIndex(info, $0.raw) }, ar = rhs.flatMap { atomIndex(info, $0.raw) }
        var d = SSADiff()
        let inLeaf: Bool
        if rhs == nil {
            inLeaf = compareAtom(info.atoms[al ?? 0], lhs, rhs, node, &d)
        } else if lhs == nil || info.atoms.count == 1 || al == ar {
            inLeaf = compareAtom(info.atoms[ar ?? 0], lhs, rhs, node, &d)
        } else {
            _ = compareAtom(info.atoms[al ?? 0], lhs, rhs, node, &d)
            inLeaf = compareAtom(info.atoms[ar ?? 0], lhs, rhs, node, &d)
        }
        if !inLeaf {
            if lhs == nil { d.changedSelf = true } else if rhs == nil { d.removedSelf = true }
        }
        return d
    }

    /// Compares under one shape; returns whether the value was a leaf.
    private func compareAtom(_ atom: SSAAtom, _ lhs: SSAView?, _ rhs: SSAView?, _ node: SSANode, _ d: inout SSADiff) -> Bool {
        switch atom {
        case .list(let element, let kind):
            let l = lhs.flatMap { arrayView($0, node) }, r = rhs.flatMap { arrayView($0, node) }
            if kind == .atomic || ((l?.0.isEmpty ?? true) && (r?.0.isEmpty ?? true)) { break }
            compareItems(l ?? ([], .none), r ?? ([], .none), element, kind, &d)
            return false
        case .map(let shape):
            let l = lhs.flatMap { objectView($0, node) }, r = rhs.flatMap { objectView($0, node) }
            if shape.atomic || (isEmpty(l) && isEmpty(r)) { break }
            var entries = SSADiffEntries()
            forEachMember(l) { key, lv in
                entries.add(.field(key), compareNode(lv, member(r, key), fieldNode(shape, key) ?? .deduced))
            }
            forEachMember(r) { key, rv in
                if member(l, key) == nil { entries.add(.field(key), compareNode(nil, rv, fieldNode(shape, key) ?? .deduced)) }
            }
            entries.store(into: &d)
            return false
        case .scalar:
            break
        }
        compareLeaf(lhs, rhs, node, &d)
        return true
    }

    private func compareLeaf(_ lhs: SSAView?, _ rhs: SSAView?, _ node: SSANode, _ d: inout SSADiff) {
        guard let lhs else { d.changedSelf = true; return }
        guard let rhs else { d.removedSelf = true; return }
        if !SSAValue.equal(materialize(lhs, node), materialize(rhs, node)) { d.changedSelf = true }
    }

    /// Items compared by element; duplicated items are compared as whole groups.
    private func compareItems(_ l: ([JSON], SSANorm), _ r: ([JSON], SSANorm), _ element: SSANode, _ kind: SSAListKind, _ d: inout SSADiff) {
        var groups = SSAItemGroups(capacity: l.0.count + r.0.count)
        for item in l.0 {
            let view = SSAView(raw: item, norm: l.1)
            if let pe = try? pathElement(view, element, kind) { groups.add(pe, view, right: false) }
        }
        for item in r.0 {
            let view = SSAView(raw: item, norm: r.1)
            if let pe = try? pathElement(view, element, kind) { groups.add(pe, view, right: true) }
        }
        var entries = SSADiffEntries()
        for group in groups.groups {
            let (ll, rl) = (group.left, group.right)
            var c = SSADiff()
            if ll.count <= 1, rl.count <= 1 {
                c = compareNode(ll.first, rl.first, element)
            } else if ll.count >= 2, rl.count >= 2 {
                let (lv, rv) = (ll.map { materialize($0, element) }, rl.map { materialize($0, element) })
                if !SSAValue.equal(.array(lv), .array(rv)) { c.changedSelf = true }
            } else if ll.count >= 2 {
                if let first = rl.first { c = compareNode(nil, first, element) }
                c.removedSelf = true
            } else {
                if let first = ll.first { c = compareNode(first, nil, element) }
                c.changedSelf = true
            }
            entries.add(group.element, c)
        }
        entries.store(into: &d)
    }
}

/// A list's items on both sides grouped by element, in the order elements first appear.
private struct SSAItemGroups {
    struct Group {
        var element: FieldPathElement
        var left: [SSAView] = []
        var right: [SSAView] = []
    }

    var groups: [Group] = []
    private var index: [FieldPathElement: Int]?

    init(capacity: Int) {
        groups.reserveCapacity(capacity)
        if capacity > 16 { index = Dictionary(minimumCapacity: capacity) }
    }

    mutating func add(_ pe: FieldPathElement, _ item: SSAView, right: Bool) {
        let at: Int
        if let found = index != nil ? index?[pe] : groups.firstIndex(where: { $0.element == pe }) {
            at = found
        } else {
            at = groups.count
            groups.append(Group(element: pe))
            index?[pe] = at
        }
        if right { groups[at].right.append(item) } else { groups[at].left.append(item) }
    }
}

// MARK: - Merge

extension SSATypes {
    /// Merges an applied configuration into a live object (upstream's Merge with keep-RHS):
    /// leaves and atomic values take `rhs`, maps merge by key, granular lists by element.
    /// Maps keep `lhs`'s key order with new keys after; lists follow upstream's ordering.
    /// `rhs` must be valid for its type (the applied configuration is checked strictly); so
    /// must `lhs` when `lhsValid`: then a side merged with nothing is that side unchanged.
    func merge(_ lhs: JSON?, _ rhs: JSON?, _ node: SSANode, lhsValid: Bool) -> JSON? {
        if lhs == nil { return rhs }
        if rhs == nil, lhsValid { return lhs }
        // rhs's shape decides; when the shapes differ upstream also walks lhs's, only for
        // errors that validation has already ruled out.
        return mergeAtom(atom(node, for: rhs ?? lhs), lhs, rhs, lhsValid)
    }

    private func mergeAtom(_ atom: SSAAtom?, _ lhs: JSON?, _ rhs: JSON?, _ lhsValid: Bool) -> JSON? {
        switch atom {
        case .list(let element, let kind)?:
            let (l, r) = (lhs?.arrayValue, rhs?.arrayValue)
            if kind == .atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { return rhs ?? lhs }
            return mergeItems(l ?? [], r ?? [], element, kind, lhsValid)
        case .map(let shape)?:
            let (l, r) = (lhs?.objectValue, rhs?.objectValue)
            if shape.atomic || ((l?.isEmpty ?? true) && (r?.isEmpty ?? true)) { return rhs ?? lhs }
            var pairs: [(String, JSON)] = []
            pairs.reserveCapacity((l?.count ?? 0) + (r?.count ?? 0))
            for (key, lv) in l ?? JSONObject() {
                if let v = merge(lv, r?[key], fieldNode(shape, key) ?? .deduced, lhsValid: lhsValid) { pairs.append((key, v)) }
            }
            for (key, rv) in r ?? JSONObject() where l?[key] == nil {
                if let v = merge(nil, rv, fieldNode(shape, key) ?? .deduced, lhsValid: lhsValid) { pairs.append((key, v)) }
            }
            return pairs.isEmpty ? nil : .object(JSONObject(pairs))
        case .scalar?, nil:
            return rhs ?? lhs
        }
    }

    /// Upstream's list merge: live items keep their order, applied items come in the
    /// applied order, and an item both hold is placed where the applied list puts it.
    private func mergeItems(_ l: [JSON], _ r: [JSON], _ element: SSANode, _ kind: SSAListKind, _ lhsValid: Bool) -> JSON? {
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
                    if let m = merge(observedLHS[pe], observedRHS[pe], element, lhsValid: lhsValid) { out.append(m) }
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
                    if let m = merge(lhs[li].1, nil, element, lhsValid: lhsValid) { out.append(m) }
                    li += 1
                    continue
                } else if mergedRHS.contains(pe) {
                    li += 1
                }
            }
            if ri < rhs.count {
                let pe = rhs[ri].0
                mergedRHS.insert(pe)
                if let m = merge(observedLHS[pe], observedRHS[pe], element, lhsValid: lhsValid) { out.append(m) }
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
            return pairs.isEmpty ? nil : .object(JSONObject(pairs))
        case .scalar?, nil:
            return value
        }
    }
}

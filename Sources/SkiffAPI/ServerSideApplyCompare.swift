import SkiffCore

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
            forEachMember(l, shape) { key, lv, childNode in
                entries.add(.field(key), compareNode(lv, member(r, key), childNode ?? .deduced))
            }
            forEachMember(r, shape) { key, rv, childNode in
                if member(l, key) == nil { entries.add(.field(key), compareNode(nil, rv, childNode ?? .deduced)) }
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
        let groups = itemGroups(l, r, element, kind, requireRight: false) ?? SSAItemGroups(capacity: 0)
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

// MARK: - Changed fields as FieldsV1

/// One FieldsV1 object being built: its entries, sorted when done.
private struct SSAFieldsV1Level {
    var elements: [FieldPathElement] = []
    /// Each entry's key when known already (a declared field's), and what it holds.
    var items: [(key: String?, children: JSONObject?)] = []
    /// The entries' ranks among their struct's fields while every entry is one, which
    /// then order them.
    var ranks: [Int]? = []

    init() {}

    init(capacity: Int) {
        elements.reserveCapacity(capacity)
        items.reserveCapacity(capacity)
        ranks?.reserveCapacity(capacity)
    }

    mutating func append(_ element: FieldPathElement, key: String?, children: JSONObject?, rank: Int? = nil) {
        elements.append(element)
        items.append((key, children))
        if let rank { ranks?.append(rank) } else { ranks = nil }
    }

    /// The object an element holds: `"."` first when it is a member itself; nil when
    /// nothing is below it.
    func object(member: Bool) -> JSONObject? {
        guard !elements.isEmpty else { return nil }
        var object = SSAValue.emptyObject(capacity: elements.count + (member ? 1 : 0))
        if member { object["."] = .object(JSONObject()) }
        if elements.count == 1 {
            object[items[0].key ?? elements[0].serialized] = .object(items[0].children ?? JSONObject())
            return object
        }
        let order = if let ranks {
            elements.indices.sorted { ranks[$0] < ranks[$1] }
        } else {
            elements.indices.sorted { elements[$0].compare(elements[$1]) < 0 }
        }
        for i in order { object[items[i].key ?? elements[i].serialized] = .object(items[i].children ?? JSONObject()) }
        return object
    }
}

/// What the create walk found at one node: whether the new value fits its type there,
/// whether its own path changed, and the entries below it.
private struct SSAChanged {
    var valid = true
    var changedSelf = false
    var level = SSAFieldsV1Level()

    static let invalid = SSAChanged(valid: false)
}

extension SSATypes {
    /// For a create: whether `rhs` is valid (`isValid`, duplicates allowed) and, if so, the
    /// FieldsV1 of what `compare(lhs, rhs)` reports added or modified, less `reset` (with
    /// all below it) and less `stripped`'s members. `lhs` must be valid (the zero object).
    /// It follows `compare` and `isValid` step for step in one walk, writing FieldsV1 as it
    /// goes rather than building sets that a create would only encode.
    func changedFieldsV1(_ lhs: SSAView?, _ rhs: SSAView, _ node: SSANode, reset: FieldSet, stripped: FieldSet) -> JSONObject? {
        let c = changedNode(lhs, rhs, node, reset, stripped)
        guard c.valid else { return nil }
        return c.level.object(member: false) ?? JSONObject()
    }

    private func changedNode(_ lhs: SSAView?, _ rhs: SSAView?, _ node: SSANode, _ reset: FieldSet, _ stripped: FieldSet) -> SSAChanged {
        // Without a right side only removals are found.
        guard let rhs else { return SSAChanged() }
        guard let lhs else {
            if reset.isEmpty, stripped.isEmpty { return added(rhs, node) }
            return changedPresent(nil, rhs, node, reset, stripped)
        }
        if lhs.norm == rhs.norm, SSAValue.same(lhs.raw, rhs.raw) {
            return isValid(rhs, node, allowDuplicates: true) ? SSAChanged() : .invalid
        }
        return changedPresent(lhs, rhs, node, reset, stripped)
    }

    private func changedPresent(_ lhs: SSAView?, _ rhs: SSAView, _ node: SSANode, _ reset: FieldSet, _ stripped: FieldSet) -> SSAChanged {
        let info = info(node)
        let al = lhs.flatMap { atomIndex(info, $0.raw) }, ar = atomIndex(info, rhs.raw)
        var c = SSAChanged()
        let inLeaf: Bool
        if lhs == nil || info.atoms.count == 1 || al == ar {
            inLeaf = changedAtom(info.atoms[ar ?? 0], lhs, rhs, node, reset, stripped, checking: true, &c)
        } else {
            _ = changedAtom(info.atoms[al ?? 0], lhs, rhs, node, reset, stripped, checking: false, &c)
            inLeaf = changedAtom(info.atoms[ar ?? 0], lhs, rhs, node, reset, stripped, checking: true, &c)
        }
        if !inLeaf, lhs == nil { c.changedSelf = true }
        return c
    }

    /// Adds one child's entry, unless reset holds it (then the child is only checked).
    private func addChanged(_ pe: FieldPathElement, key: String? = nil, _ reset: FieldSet, _ stripped: FieldSet, _ c: inout SSAChanged,
                            check: () -> Bool, _ child: (FieldSet, FieldSet) -> SSAChanged) {
        if !reset.isEmpty, reset.hasMember(pe) {
            if !check() { c.valid = false }
            return
        }
        let (childReset, childStripped) = reset.isEmpty && stripped.isEmpty ? (reset, stripped) : (reset.child(pe), stripped.child(pe))
        let below = child(childReset, childStripped)
        guard below.valid else { c.valid = false; return }
        let isMember = below.changedSelf && (stripped.isEmpty || !stripped.hasMember(pe))
        let children = below.level.object(member: isMember)
        if isMember || children != nil { c.level.append(pe, key: key, children: children) }
    }

    /// One shape of `compare`'s walk. `checking` is set for the shape the right side's
    /// value takes, which is the one `isValid` checks it under.
    private func changedAtom(_ atom: SSAAtom, _ lhs: SSAView?, _ rhs: SSAView, _ node: SSANode, _ reset: FieldSet, _ stripped: FieldSet,
                             checking: Bool, _ c: inout SSAChanged) -> Bool {
        switch atom {
        case .list(let element, let kind):
            let l = lhs.flatMap { arrayView($0, node) }, r = arrayView(rhs, node)
            if checking, r == nil, !rhs.raw.isNull { c.valid = false }
            if kind == .atomic || ((l?.0.isEmpty ?? true) && (r?.0.isEmpty ?? true)) { break }
            changedItems(l ?? ([], .none), r ?? ([], .none), element, kind, reset, stripped, &c)
            return false
        case .map(let shape):
            let l = lhs.flatMap { objectView($0, node) }, r = objectView(rhs, node)
            if checking, r == nil, !rhs.raw.isNull { c.valid = false }
            if shape.atomic || (isEmpty(l) && isEmpty(r)) { break }
            if case .fields(let lm, let type)? = l, lm.isEmpty, case .fields(let rm, let rt)? = r, rt === type {
                // The left side is the struct's zero value (as in a create): each field's
                // counterpart is its zero, and it has no field the right side lacks.
                changedFields(rm, type, reset, stripped, &c)
                return false
            }
            if l != nil {
                forEachMember(l, shape) { key, lv, childNode, fieldKey in
                    guard let rv = member(r, key) else { return }
                    addChanged(.field(key), key: fieldKey, reset, stripped, &c, check: { childNode.map { isValid(rv, $0, allowDuplicates: true) } ?? false }) {
                        changedNode(lv, rv, childNode ?? .deduced, $0, $1)
                    }
                }
            }
            forEachMember(r, shape) { key, rv, childNode, fieldKey in
                if checking, childNode == nil { c.valid = false }
                if l == nil || member(l, key) == nil {
                    addChanged(.field(key), key: fieldKey, reset, stripped, &c, check: { childNode.map { isValid(rv, $0, allowDuplicates: true) } ?? false }) {
                        changedNode(nil, rv, childNode ?? .deduced, $0, $1)
                    }
                }
            }
            return false
        case .scalar:
            break
        }
        if checking, !isValid(rhs, node, allowDuplicates: true) { c.valid = false }
        if let lhs {
            if !SSAValue.equal(materialize(lhs, node), materialize(rhs, node)) { c.changedSelf = true }
        } else {
            c.changedSelf = true
        }
        return true
    }

    /// The members of a struct against its zero value.
    private func changedFields(_ members: JSONObject, _ type: SSAStructInfo, _ reset: FieldSet, _ stripped: FieldSet, _ c: inout SSAChanged) {
        func visit(_ i: Int, _ rv: SSAView) {
            let node = type.nodes[i]
            addChanged(.field(type.names[i]), key: type.keys[i], reset, stripped, &c, check: { isValid(rv, node, allowDuplicates: true) }) {
                changedNode(structMember(nil, type, i), rv, node, $0, $1)
            }
        }
        for (key, child) in members {
            guard let i = type.field(key), let rv = structMember(child, type, i) else { continue }
            visit(i, rv)
        }
        for i in type.zeroFields where members[type.names[i]] == nil {
            if let rv = structMember(nil, type, i) { visit(i, rv) }
        }
    }

    private func changedItems(_ l: ([JSON], SSANorm), _ r: ([JSON], SSANorm), _ element: SSANode, _ kind: SSAListKind,
                              _ reset: FieldSet, _ stripped: FieldSet, _ c: inout SSAChanged) {
        guard let groups = itemGroups(l, r, element, kind, requireRight: true) else { c.valid = false; return }
        for group in groups.groups {
            let (ll, rl) = (group.left, group.right)
            let check = { rl.allSatisfy { isValid($0, element, allowDuplicates: true) } }
            addChanged(group.element, reset, stripped, &c, check: check) { childReset, childStripped in
                if ll.count <= 1, rl.count <= 1 {
                    return changedNode(ll.first, rl.first, element, childReset, childStripped)
                }
                guard check() else { return .invalid }
                if ll.count >= 2, rl.count >= 2 {
                    let (lv, rv) = (ll.map { materialize($0, element) }, rl.map { materialize($0, element) })
                    return SSAChanged(changedSelf: !SSAValue.equal(.array(lv), .array(rv)))
                } else if ll.count >= 2 {
                    return rl.first.map { changedNode(nil, $0, element, childReset, childStripped) } ?? SSAChanged()
                } else {
                    return SSAChanged(changedSelf: true)
                }
            }
            if !c.valid { return }
        }
    }

    /// `compare(nil, value)` with nothing reset or stripped below: every path the value
    /// has, each a member, with the value checked on the way.
    private func added(_ value: SSAView, _ node: SSANode) -> SSAChanged {
        let info = info(node)
        switch info.atoms[atomIndex(info, value.raw) ?? 0] {
        case .scalar(let kind):
            return SSAChanged(valid: Self.fits(kind, value.raw), changedSelf: true)
        case .list(let element, let kind):
            if value.raw.isNull { return SSAChanged(changedSelf: true) }
            guard let (items, norm) = arrayView(value, node) else { return .invalid }
            if kind == .atomic || items.isEmpty {
                return SSAChanged(valid: isValid(value, node, allowDuplicates: true), changedSelf: true)
            }
            var groups = SSAItemGroups(capacity: items.count)
            for item in items {
                let view = SSAView(raw: item, norm: norm)
                guard let pe = try? pathElement(view, element, kind) else { return .invalid }
                groups.add(pe, view, right: true)
            }
            var c = SSAChanged(changedSelf: true, level: SSAFieldsV1Level(capacity: groups.groups.count))
            for group in groups.groups {
                if group.right.count == 1 {
                    let below = added(group.right[0], element)
                    guard below.valid else { return .invalid }
                    c.level.append(group.element, key: nil, children: below.level.object(member: true))
                } else {
                    // Duplicated items are owned whole.
                    guard group.right.allSatisfy({ isValid($0, element, allowDuplicates: true) }) else { return .invalid }
                    c.level.append(group.element, key: nil, children: nil)
                }
            }
            return c
        case .map(let shape):
            if value.raw.isNull { return SSAChanged(changedSelf: true) }
            guard let object = objectView(value, node) else { return .invalid }
            if shape.atomic { return SSAChanged(valid: isValid(value, node, allowDuplicates: true), changedSelf: true) }
            var c = SSAChanged(changedSelf: true)
            switch object {
            case .members(let members, let norm):
                c.level = SSAFieldsV1Level(capacity: members.count)
                // A map of scalars (labels, annotations): each value a leaf.
                let scalarElement: SSAScalar? = if let element = shape.element, case .scalar(let kind) = tables.nodes[element.id].kind { kind } else { nil }
                for (key, child) in members {
                    if let kind = scalarElement, shape.fields == .none {
                        guard Self.fits(kind, child) else { return .invalid }
                        c.level.append(.field(key), key: nil, children: nil)
                        continue
                    }
                    guard let childNode = fieldNode(shape, key) else { return .invalid }
                    let below = added(SSAView(raw: child, norm: norm), childNode)
                    guard below.valid else { return .invalid }
                    c.level.append(.field(key), key: nil, children: below.level.object(member: true))
                }
            case .fields(let members, let type):
                c.level = SSAFieldsV1Level(capacity: members.count + type.zeroFields.count)
                for (key, child) in members {
                    guard let i = type.field(key), let view = structMember(child, type, i) else { continue }
                    if let kind = type.scalars[i] {
                        guard Self.fits(kind, view.raw) else { return .invalid }
                        c.level.append(.field(key), key: type.keys[i], children: nil, rank: type.ranks[i])
                        continue
                    }
                    let below = added(view, type.nodes[i])
                    guard below.valid else { return .invalid }
                    c.level.append(.field(key), key: type.keys[i], children: below.level.object(member: true), rank: type.ranks[i])
                }
                for i in type.zeroFields where members[type.names[i]] == nil {
                    guard let view = structMember(nil, type, i) else { continue }
                    let below = added(view, type.nodes[i])
                    guard below.valid else { return .invalid }
                    c.level.append(.field(type.names[i]), key: type.keys[i], children: below.level.object(member: true), rank: type.ranks[i])
                }
            }
            return c
        }
    }
}

/// A list's items on both sides grouped by element, in the order elements first appear.
extension SSATypes {
    /// Both sides' items grouped by element, in first-appearance order. Items without an
    /// element are left out, except on the right when `requireRight` (then nil).
    fileprivate func itemGroups(_ l: ([JSON], SSANorm), _ r: ([JSON], SSANorm), _ element: SSANode, _ kind: SSAListKind,
                                requireRight: Bool) -> SSAItemGroups? {
        var groups = SSAItemGroups(capacity: l.0.count + r.0.count)
        for item in l.0 {
            let view = SSAView(raw: item, norm: l.1)
            if let pe = try? pathElement(view, element, kind) { groups.add(pe, view, right: false) }
        }
        for item in r.0 {
            let view = SSAView(raw: item, norm: r.1)
            if let pe = try? pathElement(view, element, kind) {
                groups.add(pe, view, right: true)
            } else if requireRight {
                return nil
            }
        }
        return groups
    }
}

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

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
                let (childNode, isNamed) = member(shape, key)
                let (childIsMember, below) = collect(child, childNode ?? .deduced, named)
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

    /// `fieldSet(of: before, namedFields: true).subtracting(fieldSet(of: after, namedFields:
    /// true)).subtracting(minus)` for `after` made from `before` by `removing`: what the
    /// removal makes vanish, less what `minus` holds. Subtrees the removal left alone are the
    /// same values (shared storage) and are skipped, and subtrees `minus` covers are walked
    /// without building their sets, so the cost follows what was removed and is not owned.
    func vanished(_ before: JSON, _ after: JSON, _ node: SSANode, minus: FieldSet = FieldSet()) -> FieldSet {
        if SSAValue.same(before, after) { return FieldSet() }
        switch atom(node, for: before) {
        case .list(let element, let kind)?:
            guard kind != .atomic, case .array(let items) = before else { return FieldSet() }
            return vanishedItems(items, after.arrayValue, element, kind, node, after, minus)
        case .map(let shape)?:
            guard !shape.atomic, case .object(let members) = before else { return FieldSet() }
            // `after` is the same node: its members in the shape its own value takes.
            let afterMembers: JSONObject? = if case .map? = atom(node, for: after) { after.objectValue } else { nil }
            var entries: [FieldSet.Entry] = []
            for (key, b) in members {
                let (childNode, isNamed) = member(shape, key)
                let typeNode = childNode ?? .deduced
                let (minusMember, minusBelow) = minus.isEmpty ? (false, FieldSet()) : minus.field(key)
                let member: Bool, below: FieldSet
                if let a = afterMembers?[key] {
                    if SSAValue.same(b, a) { continue }
                    below = vanished(b, a, typeNode, minus: minusBelow)
                    member = fieldMember(b, typeNode, isNamed) && !fieldMember(a, typeNode, isNamed)
                } else {
                    // Gone: all it had vanishes.
                    let (isMember, rest) = collect(b, typeNode, minus: minusBelow)
                    below = rest
                    member = isMember || b.isNull || b.objectValue?.isEmpty == true || !isNamed || !rest.isEmpty || hasPaths(b, typeNode)
                }
                let kept = member && !minusMember
                if kept || !below.isEmpty { entries.append(FieldSet.Entry(element: .field(key), isMember: kept, children: below)) }
            }
            return FieldSet(collecting: entries)
        case .scalar?, nil:
            return FieldSet()
        }
    }

    /// `collect` with named fields, less `minus`.
    private func collect(_ value: JSON, _ node: SSANode, minus: FieldSet) -> (isMember: Bool, children: FieldSet) {
        if minus.isEmpty { return collect(value, node, true) }
        switch atom(node, for: value) {
        case .scalar?:
            return (true, FieldSet())
        case .list(let element, let kind)?:
            if kind == .atomic { return (true, FieldSet()) }
            guard case .array(let items) = value else { return (false, FieldSet()) }
            var entries: [FieldSet.Entry] = []
            for (pe, group) in Self.groups(indexed(items, element, kind)) {
                let minusEntry = minus.entry(pe)
                let below = group.count > 1 ? FieldSet() : collect(group[0], element, minus: minusEntry?.children ?? FieldSet()).children
                let kept = !(minusEntry?.isMember ?? false)
                if kept || !below.isEmpty { entries.append(FieldSet.Entry(element: pe, isMember: kept, children: below)) }
            }
            return (false, FieldSet(collecting: entries))
        case .map(let shape)?:
            if shape.atomic { return (true, FieldSet()) }
            guard case .object(let members) = value else { return (false, FieldSet()) }
            var entries: [FieldSet.Entry] = []
            for (key, child) in members {
                let (childNode, isNamed) = member(shape, key)
                let (minusMember, minusBelow) = minus.field(key)
                let (childIsMember, below) = collect(child, childNode ?? .deduced, minus: minusBelow)
                let kept = !minusMember && (childIsMember || child.isNull || child.objectValue?.isEmpty == true || !isNamed || !below.isEmpty
                    || hasPaths(child, childNode ?? .deduced))
                if kept || !below.isEmpty { entries.append(FieldSet.Entry(element: .field(key), isMember: kept, children: below)) }
            }
            return (false, FieldSet(collecting: entries))
        case nil:
            return (false, FieldSet())
        }
    }

    /// Whether `collect` makes a map member's own path a member (with named fields).
    private func fieldMember(_ value: JSON, _ node: SSANode, _ isNamed: Bool) -> Bool {
        value.isNull || value.objectValue?.isEmpty == true || !isNamed || isLeaf(value, node) || hasPaths(value, node)
    }

    /// Whether `collect` takes a value as one leaf (its first result).
    private func isLeaf(_ value: JSON, _ node: SSANode) -> Bool {
        switch atom(node, for: value) {
        case .scalar?: true
        case .list(_, let kind)?: kind == .atomic
        case .map(let shape)?: shape.atomic
        case nil: false
        }
    }

    /// Whether `collect` finds any path below a value, stopping at the first.
    private func hasPaths(_ value: JSON, _ node: SSANode) -> Bool {
        switch atom(node, for: value) {
        case .list(let element, let kind)?:
            guard kind != .atomic, case .array(let items) = value else { return false }
            return items.contains { (try? pathElement($0, element, kind)) != nil }
        case .map(let shape)?:
            guard !shape.atomic, case .object(let members) = value else { return false }
            for (key, child) in members {
                let (childNode, isNamed) = member(shape, key)
                if fieldMember(child, childNode ?? .deduced, isNamed) { return true }
            }
            return false
        case .scalar?, nil:
            return false
        }
    }

    private func vanishedItems(_ before: [JSON], _ after: [JSON]?, _ element: SSANode, _ kind: SSAListKind, _ node: SSANode, _ afterValue: JSON,
                               _ minus: FieldSet) -> FieldSet {
        // Items pair up by element; an item keeps its path (items are always members) unless
        // its element is gone, and a duplicated one has nothing below it.
        let afterItems: [JSON] = if case .list? = atom(node, for: afterValue) { after ?? [] } else { [] }
        let (beforeGroups, afterGroups) = (Self.groups(indexed(before, element, kind)), Self.groups(indexed(afterItems, element, kind)))
        var entries: [FieldSet.Entry] = []
        for (pe, items) in beforeGroups {
            let counterpart = afterGroups.first { $0.0 == pe }?.1
            let minusEntry = minus.isEmpty ? nil : minus.entry(pe)
            let minusBelow = minusEntry?.children ?? FieldSet()
            let below: FieldSet
            if items.count > 1 {
                below = FieldSet()
            } else if let others = counterpart, others.count == 1 {
                below = vanished(items[0], others[0], element, minus: minusBelow)
            } else {
                below = collect(items[0], element, minus: minusBelow).children
            }
            let kept = counterpart == nil && !(minusEntry?.isMember ?? false)
            if kept || !below.isEmpty { entries.append(FieldSet.Entry(element: pe, isMember: kept, children: below)) }
        }
        return FieldSet(collecting: entries)
    }

    /// Items grouped by element, in first-appearance order.
    private static func groups(_ indexed: [(FieldPathElement, JSON)]) -> [(FieldPathElement, [JSON])] {
        var out: [(FieldPathElement, [JSON])] = []
        for (pe, item) in indexed {
            if let i = out.firstIndex(where: { $0.0 == pe }) { out[i].1.append(item) } else { out.append((pe, [item])) }
        }
        return out
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
                    let (node, isNamed) = member(mapShape, name)
                    if isNamed { entries[i].isMember = true }
                    childNode = node
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
        var groups = SSAItemGroups(capacity: l.0.count + r.0.count)
        for item in l.0 {
            let view = SSAView(raw: item, norm: l.1)
            if let pe = try? pathElement(view, element, kind) { groups.add(pe, view, right: false) }
        }
        for item in r.0 {
            let view = SSAView(raw: item, norm: r.1)
            guard let pe = try? pathElement(view, element, kind) else { c.valid = false; return }
            groups.add(pe, view, right: true)
        }
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

import SkiffCore

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

import SkiffCore

/// A set of field paths, stored as a trie as structured-merge-diff's `fieldpath.Set`:
/// `members` are the paths that end here, `children` the subtrees below. A path is in the
/// set only when its last element is a member; a child subtree alone does not put its root
/// in the set. Children are never empty, so `isEmpty` and FieldsV1 need no pruning.
struct FieldSet: Equatable, Sendable {
    private(set) var members: Set<FieldPathElement> = []
    private(set) var children: [FieldPathElement: FieldSet] = [:]

    init() {}

    init(_ paths: [FieldPath]) {
        for p in paths { insert(p) }
    }

    var isEmpty: Bool { members.isEmpty && children.isEmpty }

    /// Adds a path; the empty path (the whole object) is never owned, as upstream.
    mutating func insert(_ path: FieldPath) {
        insert(path[...])
    }

    private mutating func insert(_ path: ArraySlice<FieldPathElement>) {
        guard let first = path.first else { return }
        if path.count == 1 {
            members.insert(first)
        } else {
            children[first, default: FieldSet()].insert(path.dropFirst())
        }
    }

    mutating func insertMember(_ element: FieldPathElement) {
        members.insert(element)
    }

    func has(_ path: FieldPath) -> Bool {
        guard let first = path.first else { return false }
        if path.count == 1 { return members.contains(first) }
        return children[first]?.has(Array(path.dropFirst())) ?? false
    }

    /// The subtree below one element (upstream's WithPrefix), empty when there is none.
    func child(_ element: FieldPathElement) -> FieldSet {
        children[element] ?? FieldSet()
    }

    mutating func setChild(_ element: FieldPathElement, _ set: FieldSet) {
        children[element] = set.isEmpty ? nil : set
    }

    func union(_ other: FieldSet) -> FieldSet {
        var out = self
        out.members.formUnion(other.members)
        for (pe, c) in other.children {
            out.children[pe] = out.children[pe].map { $0.union(c) } ?? c
        }
        return out
    }

    func intersection(_ other: FieldSet) -> FieldSet {
        var out = FieldSet()
        out.members = members.intersection(other.members)
        for (pe, c) in children {
            if let oc = other.children[pe] { out.setChild(pe, c.intersection(oc)) }
        }
        return out
    }

    /// Leaf-wise difference: removing a parent path leaves its children in place.
    func subtracting(_ other: FieldSet) -> FieldSet {
        var out = FieldSet()
        out.members = members.subtracting(other.members)
        for (pe, c) in children {
            out.setChild(pe, other.children[pe].map { c.subtracting($0) } ?? c)
        }
        return out
    }

    /// Difference that also drops everything below a path `other` holds (reset fields).
    func recursivelySubtracting(_ other: FieldSet) -> FieldSet {
        var out = FieldSet()
        out.members = members.subtracting(other.members)
        for (pe, c) in children where !other.members.contains(pe) {
            out.setChild(pe, other.children[pe].map { c.recursivelySubtracting($0) } ?? c)
        }
        return out
    }

    /// Every path in upstream's iteration order: this level's members, then each child's.
    func paths() -> [FieldPath] {
        var out: [FieldPath] = []
        collectPaths(prefix: [], into: &out)
        return out
    }

    private func collectPaths(prefix: FieldPath, into out: inout [FieldPath]) {
        for pe in FieldPathElement.sorted(members) { out.append(prefix + [pe]) }
        for pe in FieldPathElement.sorted(children.keys) {
            children[pe]?.collectPaths(prefix: prefix + [pe], into: &out)
        }
    }
}

// MARK: - FieldsV1

extension FieldSet {
    /// The FieldsV1 object: keys in upstream's order, `{}` for a member, `"."` first inside
    /// an element that is both a member and a parent.
    var fieldsV1: JSON { .object(contents(includeSelf: false)) }

    private func contents(includeSelf: Bool) -> JSONObject {
        var out = JSONObject()
        if includeSelf && !isEmpty { out["."] = .object(JSONObject()) }
        for pe in FieldPathElement.sorted(members.union(children.keys)) {
            let value = children[pe].map { $0.contents(includeSelf: members.contains(pe)) } ?? JSONObject()
            out[pe.serialized] = .object(value)
        }
        return out
    }

    /// Reads FieldsV1 as upstream's readIterV1: an empty object is a member, `"."` marks
    /// the element itself, unknown element types are skipped.
    init(fieldsV1 json: JSON) throws(FieldsV1Error) {
        switch json {
        case .null: self.init()
        case .object(let members): self = try Self.read(members).children ?? FieldSet()
        default: throw FieldsV1Error(message: "fieldsV1 must be an object, not \(json.typeName)")
        }
    }

    private static func read(_ object: JSONObject) throws(FieldsV1Error) -> (children: FieldSet?, isMember: Bool) {
        var children = FieldSet()
        var found = false
        var isMember = false
        for (key, value) in object {
            if key == "." {
                isMember = true
                continue
            }
            guard let pe = try FieldPathElement.parse(key) else { continue }
            let (grandchildren, childIsMember) = try read(childObject(value, key))
            if childIsMember {
                children.insertMember(pe)
                found = true
            }
            if let grandchildren {
                children.setChild(pe, children.child(pe).union(grandchildren))
                found = true
            }
        }
        return (found ? children : nil, isMember || !found)
    }

    private static func childObject(_ value: JSON, _ key: String) throws(FieldsV1Error) -> JSONObject {
        switch value {
        case .object(let members): return members
        case .null: return JSONObject()
        default: throw FieldsV1Error(message: "value of \(key) must be an object")
        }
    }
}

import SkiffCore

/// A set of field paths, a trie as structured-merge-diff's `fieldpath.Set`. Each level is a
/// vector of entries sorted in upstream's element order (so FieldsV1 and conflicts come out
/// in order without sorting, and set operations are merge joins); an entry says whether the
/// path ending at its element is in the set and holds the subtree below it. A child subtree
/// alone does not put its root in the set. Entries are never empty (neither member nor
/// parent), so `isEmpty` and FieldsV1 need no pruning.
struct FieldSet: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        var element: FieldPathElement
        var isMember: Bool
        var children: FieldSet
    }

    /// A level as FieldsV1 held it, `"."` first when `hasSelf`.
    private struct Written: Sendable {
        var object: JSONObject
        var hasSelf: Bool
    }

    private(set) var entries: [Entry] = [] {
        didSet { written = nil }
    }

    /// This level's FieldsV1 when it was read from FieldsV1 that was exactly what `fieldsV1`
    /// writes. Set operations keep the subtrees they do not touch, so writing a changed set
    /// encodes only the levels on changed paths.
    private var written: Written?

    init() {}

    static func == (a: FieldSet, b: FieldSet) -> Bool { a.entries == b.entries }

    init(_ paths: [FieldPath]) {
        for p in paths { insert(p) }
    }

    /// Entries in any order, each member or parent, elements possibly repeated: sorted once
    /// and merged, which is cheaper than inserting paths one by one while walking a value.
    init(collecting unsorted: [Entry]) {
        var list = unsorted
        if !Self.isStrictlySorted(list) {
            list.sort { $0.element.compare($1.element) < 0 }
            var merged: [Entry] = []
            merged.reserveCapacity(list.count)
            for e in list {
                if let last = merged.last, last.element == e.element {
                    merged[merged.count - 1].isMember = last.isMember || e.isMember
                    merged[merged.count - 1].children = last.children.union(e.children)
                } else {
                    merged.append(e)
                }
            }
            list = merged
        }
        entries = list
    }

    private init(sorted: [Entry], written: Written? = nil) {
        entries = sorted
        self.written = written
    }

    private static func isStrictlySorted(_ list: [Entry]) -> Bool {
        guard list.count > 1 else { return true }
        for i in 1..<list.count where list[i - 1].element.compare(list[i].element) >= 0 { return false }
        return true
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Where `element` is or would go.
    private func position(of element: FieldPathElement) -> (found: Bool, index: Int) {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let c = entries[mid].element.compare(element)
            if c == 0 { return (true, mid) }
            if c < 0 { low = mid + 1 } else { high = mid }
        }
        return (false, low)
    }

    /// Adds a path; the empty path (the whole object) is never owned, as upstream.
    mutating func insert(_ path: FieldPath) {
        insert(path[...])
    }

    private mutating func insert(_ path: ArraySlice<FieldPathElement>) {
        guard let first = path.first else { return }
        let (found, i) = position(of: first)
        if !found { entries.insert(Entry(element: first, isMember: false, children: FieldSet()), at: i) }
        if path.count == 1 {
            entries[i].isMember = true
        } else {
            entries[i].children.insert(path.dropFirst())
        }
    }

    func has(_ path: FieldPath) -> Bool {
        var set = self
        for (n, pe) in path.enumerated() {
            let (found, i) = set.position(of: pe)
            guard found else { return false }
            if n == path.count - 1 { return set.entries[i].isMember }
            set = set.entries[i].children
        }
        return false
    }

    /// Whether the one-element path `element` is in the set.
    func hasMember(_ element: FieldPathElement) -> Bool {
        let (found, i) = position(of: element)
        return found && entries[i].isMember
    }

    /// The subtree below one element (upstream's WithPrefix), empty when there is none.
    func child(_ element: FieldPathElement) -> FieldSet {
        let (found, i) = position(of: element)
        return found ? entries[i].children : FieldSet()
    }

    /// The entry of one element, if the set has one.
    func entry(_ element: FieldPathElement) -> Entry? {
        let (found, i) = position(of: element)
        return found ? entries[i] : nil
    }

    /// Whether `.field(name)` is a member, and the set below it: `hasMember` and `child` in
    /// one search, without building the element.
    func field(_ name: String) -> (isMember: Bool, children: FieldSet) {
        // Fields sort first, by name.
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            guard case .field(let other) = entries[mid].element else {
                high = mid
                continue
            }
            let c = SSAValue.compareStrings(other, name)
            if c == 0 { return (entries[mid].isMember, entries[mid].children) }
            if c < 0 { low = mid + 1 } else { high = mid }
        }
        return (false, FieldSet())
    }

    func union(_ other: FieldSet) -> FieldSet {
        if other.isEmpty { return self }
        if isEmpty { return other }
        var out: [Entry] = []
        out.reserveCapacity(max(entries.count, other.entries.count))
        var i = 0, j = 0
        while i < entries.count, j < other.entries.count {
            let a = entries[i], b = other.entries[j]
            let c = a.element.compare(b.element)
            if c < 0 {
                out.append(a)
                i += 1
            } else if c > 0 {
                out.append(b)
                j += 1
            } else {
                out.append(Entry(element: a.element, isMember: a.isMember || b.isMember, children: a.children.union(b.children)))
                i += 1
                j += 1
            }
        }
        out.append(contentsOf: entries[i...])
        out.append(contentsOf: other.entries[j...])
        return FieldSet(sorted: out)
    }

    func intersection(_ other: FieldSet) -> FieldSet {
        if isEmpty || other.isEmpty { return FieldSet() }
        var out: [Entry] = []
        var i = 0, j = 0
        while i < entries.count, j < other.entries.count {
            let a = entries[i], b = other.entries[j]
            let c = a.element.compare(b.element)
            if c < 0 {
                i += 1
            } else if c > 0 {
                j += 1
            } else {
                let e = Entry(element: a.element, isMember: a.isMember && b.isMember, children: a.children.intersection(b.children))
                if e.isMember || !e.children.isEmpty { out.append(e) }
                i += 1
                j += 1
            }
        }
        return FieldSet(sorted: out)
    }

    /// Leaf-wise difference: removing a parent path leaves its children in place.
    func subtracting(_ other: FieldSet) -> FieldSet {
        difference(other, recursive: false) ?? self
    }

    /// Difference that also drops everything below a path `other` holds (reset fields).
    func recursivelySubtracting(_ other: FieldSet) -> FieldSet {
        difference(other, recursive: true) ?? self
    }

    /// The difference, or nil when it removes nothing (the caller keeps `self`, and with it
    /// its storage, which is what lets an untouched manager keep its encoded FieldsV1).
    func difference(_ other: FieldSet, recursive: Bool) -> FieldSet? {
        if isEmpty || other.isEmpty { return nil }
        var out: [Entry]?
        var i = 0, j = 0
        while i < entries.count, j < other.entries.count {
            let a = entries[i], b = other.entries[j]
            let c = a.element.compare(b.element)
            if c > 0 {
                j += 1
                continue
            }
            if c < 0 {
                out?.append(a)
                i += 1
                continue
            }
            var kept: Entry?
            var changed = true
            if recursive, b.isMember {
                kept = nil
            } else {
                let isMember = a.isMember && !b.isMember
                let children = a.children.difference(b.children, recursive: recursive)
                if isMember == a.isMember, children == nil {
                    kept = a
                    changed = false
                } else {
                    let e = Entry(element: a.element, isMember: isMember, children: children ?? a.children)
                    kept = e.isMember || !e.children.isEmpty ? e : nil
                }
            }
            if out == nil, changed {
                out = Array(entries[..<i])
            }
            if let kept { out?.append(kept) }
            i += 1
            j += 1
        }
        guard var out else { return nil }
        out.append(contentsOf: entries[i...])
        return FieldSet(sorted: out)
    }

    /// Every path in upstream's iteration order: this level's members, then each child's.
    func paths() -> [FieldPath] {
        var out: [FieldPath] = []
        collectPaths(prefix: [], into: &out)
        return out
    }

    private func collectPaths(prefix: FieldPath, into out: inout [FieldPath]) {
        for e in entries where e.isMember { out.append(prefix + [e.element]) }
        for e in entries where !e.children.isEmpty {
            e.children.collectPaths(prefix: prefix + [e.element], into: &out)
        }
    }
}

// MARK: - FieldsV1

extension FieldSet {
    /// The FieldsV1 object: keys in upstream's order, `{}` for a member, `"."` first inside
    /// an element that is both a member and a parent.
    var fieldsV1: JSON { .object(contents(includeSelf: false)) }

    private func contents(includeSelf: Bool) -> JSONObject {
        let hasSelf = includeSelf && !isEmpty
        if let written, written.hasSelf == hasSelf { return written.object }
        var pairs: [(String, JSON)] = []
        pairs.reserveCapacity(entries.count + 1)
        if hasSelf { pairs.append((".", .object(JSONObject()))) }
        for e in entries {
            let value = e.children.isEmpty ? JSONObject() : e.children.contents(includeSelf: e.isMember)
            pairs.append((e.element.serialized, .object(value)))
        }
        return SSAValue.object(pairs)
    }

    /// Reads FieldsV1 as upstream's readIterV1: an empty object is a member, `"."` marks
    /// the element itself, unknown element types are skipped. Levels written exactly as
    /// `fieldsV1` would write them keep that JSON, to be written back if left unchanged.
    init(fieldsV1 json: JSON) throws(FieldsV1Error) {
        switch json {
        case .null: self.init()
        case .object(let members): self = try Self.read(members, top: true).children ?? FieldSet()
        default: throw FieldsV1Error(message: "fieldsV1 must be an object, not \(json.typeName)")
        }
    }

    /// One level: its entries, whether it marks its element itself (`"."`, or nothing at
    /// all inside), and whether it and all below are exactly as `fieldsV1` writes them.
    private static func read(_ object: JSONObject, top: Bool) throws(FieldsV1Error) -> (children: FieldSet?, isMember: Bool, canonical: Bool) {
        var list: [Entry] = []
        list.reserveCapacity(object.count)
        var isMember = false
        var canonical = true
        for (position, (key, value)) in object.enumerated() {
            if key == "." {
                isMember = true
                // Written only first, as an empty object, inside an element with children.
                if top || position != 0 || value.objectValue?.isEmpty != true { canonical = false }
                continue
            }
            guard let pe = try FieldPathElement.parse(key) else {
                canonical = false
                continue
            }
            let child: JSONObject
            switch value {
            case .object(let members): child = members
            case .null:
                canonical = false
                child = JSONObject()
            default: throw FieldsV1Error(message: "value of \(key) must be an object")
            }
            let (grandchildren, childIsMember, childCanonical) = try read(child, top: false)
            if !childCanonical { canonical = false }
            if canonical, let last = list.last, last.element.compare(pe) >= 0 { canonical = false }
            if canonical, !pe.isField, pe.serialized != key { canonical = false }
            list.append(Entry(element: pe, isMember: childIsMember, children: grandchildren ?? FieldSet()))
        }
        let found = !list.isEmpty
        // `{".":{}}` alone reads as a member but is written `{}`.
        if isMember, !found { canonical = false }
        guard found else { return (nil, true, canonical) }
        // Canonical entries are sorted and distinct already.
        let set = canonical ? FieldSet(sorted: list, written: Written(object: object, hasSelf: isMember)) : FieldSet(collecting: list)
        return (set, isMember, canonical)
    }
}

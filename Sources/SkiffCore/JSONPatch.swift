/// JSON patch (RFC 6902, `application/json-patch+json`) as kube-apiserver applies it through
/// evanphx/json-patch v4, quirks included, because clients see them:
///
/// - `add`, `remove`, `move` and `copy` cannot address the whole document (path `""`);
///   `replace` and `test` can.
/// - `replace` of a missing object member adds it; `copy` from a missing member copies null.
/// - Array indices may be negative, counting from the end; leading zeros and `+` are accepted.
/// - A pointer's first token is ignored whatever it is (`a/b` means `/b`).
/// - A missing `value` is null, and `test` of null matches a missing member.
///
/// Every failure of an operation is reported as upstream does: 422 Invalid with a fixed
/// message that does not say which operation failed.
public enum JSONPatch {
    /// kube-apiserver refuses patches with more operations than this (413).
    public static let maxOperations = 10_000
    /// Bytes that `copy` operations may add in one patch (kube-apiserver's
    /// --json-patch-max-copy-bytes default).
    public static let maxCopyBytes = 3 * 1024 * 1024

    /// Applies `patch` to `document`. `fieldValidation` is the request's directive; with
    /// "Ignore" the operations are not type-checked first, so ill-typed members surface as
    /// failed operations (422) instead of a decoding error (400).
    public static func apply(_ patch: JSON, to document: JSON, fieldValidation: String = "Warn") throws(APIError) -> JSON {
        if fieldValidation != "Ignore", let message = typeError(in: patch) {
            throw APIError.badRequest("error decoding patch: \(message)")
        }
        let operations = try decode(patch)
        guard operations.count <= maxOperations else {
            throw APIError(code: 413, reason: "RequestEntityTooLarge",
                           message: "Request entity too large: The allowed maximum operations in a JSON patch is \(maxOperations), got \(operations.count)")
        }
        do {
            return try applyOperations(operations, to: document)
        } catch {
            throw error.apiError
        }
    }

    /// Unknown members of operations, worded as the strict-decoding warnings upstream adds
    /// (`json patch unknown field "x"`); the caller warns or fails per fieldValidation.
    public static func unknownFieldWarnings(in patch: JSON) -> [String] {
        guard case .array(let operations) = patch else { return [] }
        let known: Set<String> = ["op", "path", "from", "value"]
        var warnings: [String] = []
        for case .object(let operation) in operations {
            for key in operation.keys where !known.contains(key) {
                warnings.append("json patch unknown field \"\(key)\"")
            }
        }
        return warnings
    }

    /// Why one operation could not be applied. Upstream keeps this text out of the response;
    /// it is here for logs and tests.
    enum Failure: Error, Sendable, Equatable {
        /// The operation does not apply to the document (reported as 422 Invalid).
        case operationFailed(String)
        /// Input that makes the upstream library crash; the server answers 500.
        case serverPanic(String)

        var apiError: APIError {
            switch self {
            case .operationFailed:
                APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request")
            case .serverPanic:
                APIError(code: 500, reason: "InternalError", message: "This request caused apiserver to panic. Look in the logs for details.")
            }
        }
    }

    /// One decoded operation: the members as sent, nil where absent.
    struct Operation {
        var members: JSONObject

        /// "unknown" when `op` is absent or not a string, as upstream's Kind().
        var kind: String { members["op"]?.stringValue ?? "unknown" }

        func pointer(_ member: String) -> String? { members[member]?.stringValue }

        /// The `value` member; absent and null are both null to upstream's add/copy.
        var value: JSON? { members["value"] }
    }

    // MARK: Decoding

    /// The 400 upstream's typed pre-decode of `[]jsonPatchOp` reports, if any.
    static func typeError(in patch: JSON) -> String? {
        switch patch {
        case .null: return nil
        case .array(let elements):
            for element in elements {
                switch element {
                case .null: continue
                case .object(let members):
                    for name in ["op", "path", "from"] {
                        guard let value = members[name] else { continue }
                        switch value {
                        case .null, .string: continue
                        default:
                            return "json: cannot unmarshal \(value.goKindName) into Go struct field jsonPatchOp.\(name) of type string"
                        }
                    }
                default:
                    return "json: cannot unmarshal \(element.goKindName) into Go value of type handlers.jsonPatchOp"
                }
            }
            return nil
        default:
            return "json: cannot unmarshal \(patch.goKindName) into Go value of type []handlers.jsonPatchOp"
        }
    }

    static func decode(_ patch: JSON) throws(APIError) -> [Operation] {
        switch patch {
        case .null: return []
        case .array(let elements):
            var operations: [Operation] = []
            operations.reserveCapacity(elements.count)
            for element in elements {
                switch element {
                case .null: operations.append(Operation(members: JSONObject()))
                case .object(let members): operations.append(Operation(members: members))
                default:
                    throw APIError.badRequest("json: cannot unmarshal \(element.goKindName) into Go value of type jsonpatch.Operation")
                }
            }
            return operations
        default:
            throw APIError.badRequest("json: cannot unmarshal \(patch.goKindName) into Go value of type jsonpatch.Patch")
        }
    }

    // MARK: Applying

    static func applyOperations(_ operations: [Operation], to document: JSON) throws(Failure) -> JSON {
        var document = document
        var copiedBytes = 0
        for operation in operations {
            switch operation.kind {
            case "add": try add(operation, to: &document)
            case "remove": try remove(operation, from: &document)
            case "replace": try replace(operation, in: &document)
            case "move": try move(operation, in: &document)
            case "copy": try copy(operation, in: &document, copiedBytes: &copiedBytes)
            case "test": try test(operation, against: document)
            default: throw .operationFailed("Unexpected kind: \(operation.kind)")
            }
        }
        return document
    }

    static func add(_ operation: Operation, to document: inout JSON) throws(Failure) {
        guard let path = operation.pointer("path") else { throw .operationFailed("add operation failed to decode path: missing value") }
        let value = operation.value ?? .null
        let done: Void? = try withParent(of: path, in: &document) { (container, key) throws(Failure) in
            try insert(value, at: key, in: &container, context: "error in add for path: '\(path)'")
        }
        if done == nil { throw .operationFailed("add operation does not apply: doc is missing path: \"\(path)\": missing value") }
    }

    static func remove(_ operation: Operation, from document: inout JSON) throws(Failure) {
        guard let path = operation.pointer("path") else { throw .operationFailed("remove operation failed to decode path: missing value") }
        let done: Void? = try withParent(of: path, in: &document) { (container, key) throws(Failure) in
            try delete(key, from: &container, context: "error in remove for path: '\(path)'")
        }
        if done == nil { throw .operationFailed("remove operation does not apply: doc is missing path: \"\(path)\": missing value") }
    }

    static func replace(_ operation: Operation, in document: inout JSON) throws(Failure) {
        guard let path = operation.pointer("path") else { throw .operationFailed("replace operation failed to decode path: missing value") }
        if path.isEmpty {
            guard let value = operation.value else { throw .serverPanic("replace of the whole document without a value") }
            guard value.isContainer else { throw .operationFailed("replace operation value must be object or array") }
            document = value
            return
        }
        let value = operation.value ?? .null
        let done: Void? = try withParent(of: path, in: &document) { (container, key) throws(Failure) in
            do {
                _ = try element(key, of: container, context: "")
            } catch {
                throw .operationFailed("replace operation does not apply: doc is missing key: \(path): missing value")
            }
            try overwrite(value, at: key, in: &container)
        }
        if done == nil { throw .operationFailed("replace operation does not apply: doc is missing path: \(path): missing value") }
    }

    static func move(_ operation: Operation, in document: inout JSON) throws(Failure) {
        guard let from = operation.pointer("from") else { throw .operationFailed("move operation failed to decode from: missing value") }
        guard let (source, sourceKey) = parent(of: from, in: document) else {
            throw .operationFailed("move operation does not apply: doc is missing from path: \(from): missing value")
        }
        let value = try element(sourceKey, of: source, context: "error in move for path: '\(sourceKey)'") ?? .null
        _ = try withParent(of: from, in: &document) { (container, key) throws(Failure) in
            try delete(key, from: &container, context: "error in move for path: '\(key)'")
        }
        guard let path = operation.pointer("path") else { throw .operationFailed("move operation failed to decode path: missing value") }
        let done: Void? = try withParent(of: path, in: &document) { (container, key) throws(Failure) in
            try insert(value, at: key, in: &container, context: "error in move for path: '\(path)'")
        }
        if done == nil { throw .operationFailed("move operation does not apply: doc is missing destination path: \(path): missing value") }
    }

    static func copy(_ operation: Operation, in document: inout JSON, copiedBytes: inout Int) throws(Failure) {
        guard let from = operation.pointer("from") else { throw .operationFailed("copy operation failed to decode from: missing value") }
        guard let (source, sourceKey) = parent(of: from, in: document) else {
            throw .operationFailed("copy operation does not apply: doc is missing from path: \(from): missing value")
        }
        let value = try element(sourceKey, of: source, context: "error in copy for from: '\(from)'") ?? .null
        guard let path = operation.pointer("path") else { throw .operationFailed("copy operation failed to decode path: missing value") }
        let done: Void? = try withParent(of: path, in: &document) { (container, key) throws(Failure) in
            // Upstream counts the serialized size of each copied value (null counts nothing).
            if !value.isNull { copiedBytes += value.serialized().count }
            if copiedBytes > maxCopyBytes {
                throw .operationFailed("Unable to complete the copy, the accumulated size increase of copy is \(copiedBytes), exceeding the limit \(maxCopyBytes)")
            }
            try insert(value, at: key, in: &container, context: "error while adding value during copy")
        }
        if done == nil { throw .operationFailed("copy operation does not apply: doc is missing destination path: \(path): missing value") }
    }

    static func test(_ operation: Operation, against document: JSON) throws(Failure) {
        guard let path = operation.pointer("path") else { throw .operationFailed("test operation failed to decode path: missing value") }
        let failed = Failure.operationFailed("testing value \(path) failed: test failed")
        if path.isEmpty {
            guard let expected = operation.value else { throw .serverPanic("test of the whole document without a value") }
            guard document == expected else { throw failed }
            return
        }
        guard let (container, key) = parent(of: path, in: document) else {
            throw .operationFailed("test operation does not apply: is missing path: \(path): missing value")
        }
        let actual = try element(key, of: container, context: "error in test for path: '\(path)'") ?? .null
        let expected = operation.value
        if actual.isNull {
            // A missing member and a null one both match an absent or null value.
            guard expected == nil || expected == .null else { throw failed }
            return
        }
        guard let expected, actual == expected else { throw failed }
    }

    // MARK: Pointers and containers

    /// The container that holds the last token of `path` and that token, read-only.
    static func parent(of path: String, in document: JSON) -> (JSON, String)? {
        let tokens = path.split(separator: "/", omittingEmptySubsequences: false).map { unescape(String($0)) }
        guard tokens.count >= 2, let key = tokens.last else { return nil }
        var node = document
        for token in tokens.dropFirst().dropLast() {
            let child: JSON?
            switch node {
            case .object(let members): child = members[token]
            case .array(let elements): child = existingIndex(token, count: elements.count).map { elements[$0] }
            default: child = nil
            }
            guard let child, child.isContainer else { return nil }
            node = child
        }
        return (node, key)
    }

    /// Runs `body` on the container that holds the last token of `path`, or returns nil when
    /// the pointer has no last token or a token before it does not lead to an object or array.
    static func withParent<R>(
        of path: String, in document: inout JSON, _ body: (inout JSON, String) throws(Failure) -> R
    ) throws(Failure) -> R? {
        let tokens = path.split(separator: "/", omittingEmptySubsequences: false).map { unescape(String($0)) }
        guard tokens.count >= 2, let key = tokens.last else { return nil }
        return try descend(&document, through: tokens.dropFirst().dropLast()) { (container) throws(Failure) in
            try body(&container, key)
        }
    }

    /// Walks `tokens` down from `node`, mutating in place so large documents are not copied.
    static func descend<R>(
        _ node: inout JSON, through tokens: ArraySlice<String>, _ body: (inout JSON) throws(Failure) -> R
    ) throws(Failure) -> R? {
        guard let token = tokens.first else { return try body(&node) }
        switch node {
        case .object(var members):
            guard var child = members[token], child.isContainer else { return nil }
            node = .null
            defer { members[token] = child; node = .object(members) }
            return try descend(&child, through: tokens.dropFirst(), body)
        case .array(var elements):
            guard let index = existingIndex(token, count: elements.count), elements[index].isContainer else { return nil }
            var child = elements[index]
            node = .null
            defer { elements[index] = child; node = .array(elements) }
            return try descend(&child, through: tokens.dropFirst(), body)
        default:
            return nil
        }
    }

    /// RFC 6901 unescaping in one left-to-right pass: `~1` is `/`, `~0` is `~`.
    static func unescape(_ token: String) -> String {
        guard token.contains("~") else { return token }
        var result = ""
        var iterator = token.makeIterator()
        while let character = iterator.next() {
            guard character == "~" else { result.append(character); continue }
            switch iterator.next() {
            case "1": result.append("/")
            case "0": result.append("~")
            case let other?: result.append("~"); result.append(other)
            case nil: result.append("~")
            }
        }
        return result
    }

    /// An index of an existing element, negative ones counting from the end; nil if out of range.
    static func existingIndex(_ token: String, count: Int) -> Int? {
        guard var index = Int(token) else { return nil }
        if index < 0 { index += count }
        return index >= 0 && index < count ? index : nil
    }

    /// The value at `key` of a container; nil for a missing object member (upstream does not
    /// fail there), a failure for a bad or out-of-range array index.
    static func element(_ key: String, of container: JSON, context: String) throws(Failure) -> JSON? {
        switch container {
        case .object(let members):
            return members[key]
        case .array(let elements):
            guard let index = existingIndex(key, count: elements.count) else {
                throw .operationFailed("\(context): \(indexProblem(key))")
            }
            return elements[index]
        default:
            throw .operationFailed("\(context): invalid state detected")
        }
    }

    /// Why `token` does not name an element, in Go's words.
    static func indexProblem(_ token: String) -> String {
        guard let index = Int(token) else { return "strconv.Atoi: parsing \"\(token)\": invalid syntax" }
        return "Unable to access invalid index: \(index): invalid index referenced"
    }

    static func insert(_ value: JSON, at key: String, in container: inout JSON, context: String) throws(Failure) {
        switch container {
        case .object:
            setMember(key, to: value, in: &container)
        case .array(var elements):
            var index = elements.count
            if key != "-" {
                guard let requested = Int(key) else {
                    throw .operationFailed("\(context): value was not a proper array index: '\(key)': \(indexProblem(key))")
                }
                // One past the end is allowed, and negative indices count from there.
                let size = elements.count + 1
                index = requested < 0 ? requested + size : requested
                guard index >= 0, index < size else { throw .operationFailed("\(context): \(indexProblem(key))") }
            }
            container = .null
            elements.insert(value, at: index)
            container = .array(elements)
        default:
            throw .operationFailed("\(context): invalid state detected")
        }
    }

    /// Sets an element `element(_:of:context:)` found (the replace operation).
    static func overwrite(_ value: JSON, at key: String, in container: inout JSON) throws(Failure) {
        switch container {
        case .object:
            setMember(key, to: value, in: &container)
        case .array(var elements):
            guard let index = existingIndex(key, count: elements.count) else {
                throw .operationFailed("error in remove for path: '\(key)': \(indexProblem(key))")
            }
            container = .null
            elements[index] = value
            container = .array(elements)
        default:
            throw .operationFailed("invalid state detected")
        }
    }

    /// Sets member `key` of the object `container` (add and replace alike). The container
    /// is emptied meanwhile so the members are changed in place, not copied.
    static func setMember(_ key: String, to value: JSON, in container: inout JSON) {
        guard case .object(var members) = container else { return }
        container = .null
        members[key] = value
        container = .object(members)
    }

    static func delete(_ key: String, from container: inout JSON, context: String) throws(Failure) {
        switch container {
        case .object(var members):
            guard members[key] != nil else {
                throw .operationFailed("\(context): Unable to remove nonexistent key: \(key): missing value")
            }
            container = .null
            members.removeValue(forKey: key)
            container = .object(members)
        case .array(var elements):
            guard let index = existingIndex(key, count: elements.count) else {
                throw .operationFailed("\(context): \(indexProblem(key))")
            }
            container = .null
            elements.remove(at: index)
            container = .array(elements)
        default:
            throw .operationFailed("\(context): invalid state detected")
        }
    }
}

extension JSON {
    /// Objects and arrays: the values a JSON pointer can step into.
    var isContainer: Bool {
        switch self {
        case .object, .array: true
        default: false
        }
    }

    /// The kind as Go's JSON decoder names it in "cannot unmarshal X into ..." errors.
    public var goKindName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

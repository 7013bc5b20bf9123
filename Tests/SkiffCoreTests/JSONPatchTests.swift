import Testing
@testable import SkiffCore

/// One JSON patch application that succeeds: document, patch and expected result.
struct JSONPatchCase: Sendable, CustomTestStringConvertible {
    let name: String
    let document: String
    let patch: String
    let expected: String
    var testDescription: String { name }

    init(_ name: String, _ document: String, _ patch: String, _ expected: String) {
        self.name = name
        self.document = document
        self.patch = patch
        self.expected = expected
    }
}

/// One JSON patch whose operations fail, with the detail upstream logs (not the response).
struct JSONPatchFailureCase: Sendable, CustomTestStringConvertible {
    let name: String
    let document: String
    let patch: String
    let detail: String
    var testDescription: String { name }

    init(_ name: String, _ document: String, _ patch: String, _ detail: String) {
        self.name = name
        self.document = document
        self.patch = patch
        self.detail = detail
    }
}

/// A patch the API server refuses before or while applying, with the status it answers.
struct JSONPatchRejectionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let patch: String
    let fieldValidation: String
    let code: Int
    let reason: String
    let message: String
    var testDescription: String { name }

    init(_ name: String, _ patch: String, fieldValidation: String = "Warn", _ code: Int, _ reason: String, _ message: String) {
        self.name = name
        self.patch = patch
        self.fieldValidation = fieldValidation
        self.code = code
        self.reason = reason
        self.message = message
    }
}

@Suite struct JSONPatchTests {
    static let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"},"finalizers":["a","b"],"resourceVersion":"42"},"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#

    /// RFC 6902 appendix A, what kubectl sends, and evanphx/json-patch v4's behaviour
    /// where it departs from the RFC.
    static let cases: [JSONPatchCase] = [
        .init("rfc A.1 add an object member", #"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz","value":"qux"}]"#, #"{"foo":"bar","baz":"qux"}"#),
        .init("rfc A.2 add an array element", #"{"foo":["bar","baz"]}"#, #"[{"op":"add","path":"/foo/1","value":"qux"}]"#, #"{"foo":["bar","qux","baz"]}"#),
        .init("rfc A.3 remove an object member", #"{"baz":"qux","foo":"bar"}"#, #"[{"op":"remove","path":"/baz"}]"#, #"{"foo":"bar"}"#),
        .init("rfc A.4 remove an array element", #"{"foo":["bar","qux","baz"]}"#, #"[{"op":"remove","path":"/foo/1"}]"#, #"{"foo":["bar","baz"]}"#),
        .init("rfc A.5 replace a value", #"{"baz":"qux","foo":"bar"}"#, #"[{"op":"replace","path":"/baz","value":"boo"}]"#, #"{"baz":"boo","foo":"bar"}"#),
        .init("rfc A.6 move a value", #"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#,
              #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#, #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#),
        .init("rfc A.7 move an array element", #"{"foo":["all","grass","cows","eat"]}"#,
              #"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, #"{"foo":["all","cows","eat","grass"]}"#),
        .init("rfc A.8 test success", #"{"baz":"qux","foo":["a",2,"c"]}"#,
              #"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#, #"{"baz":"qux","foo":["a",2,"c"]}"#),
        .init("rfc A.10 add a nested member object", #"{"foo":"bar"}"#, #"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#,
              #"{"foo":"bar","child":{"grandchild":{}}}"#),
        .init("rfc A.11 unrecognized members ignored", #"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#,
              #"{"foo":"bar","baz":"qux"}"#),
        .init("rfc A.14 ~ escape ordering", #"{"/":9,"~1":10}"#, #"[{"op":"test","path":"/~01","value":10}]"#, #"{"/":9,"~1":10}"#),
        .init("rfc A.16 add an array value", #"{"foo":["bar"]}"#, #"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#,
              #"{"foo":["bar",["abc","def"]]}"#),
        .init("rfc: test an object regardless of key order", #"{"a":{"x":1,"y":[1,{"z":null}]}}"#,
              #"[{"op":"test","path":"/a","value":{"y":[1,{"z":null}],"x":1}}]"#, #"{"a":{"x":1,"y":[1,{"z":null}]}}"#),
        .init("rfc: copy a subtree", #"{"a":{"b":[1,2]}}"#, #"[{"op":"copy","from":"/a","path":"/c"}]"#, #"{"a":{"b":[1,2]},"c":{"b":[1,2]}}"#),
        .init("rfc: copy into an array", #"{"a":[1,2],"b":3}"#, #"[{"op":"copy","from":"/b","path":"/a/0"}]"#, #"{"a":[3,1,2],"b":3}"#),
        .init("rfc: replace in an array", #"{"a":[1,2]}"#, #"[{"op":"replace","path":"/a/1","value":{"x":1}}]"#, #"{"a":[1,{"x":1}]}"#),
        .init("rfc: operations apply in sequence", #"{"a":1}"#,
              #"[{"op":"add","path":"/b","value":{}},{"op":"add","path":"/b/c","value":2},{"op":"move","from":"/a","path":"/b/a"},{"op":"test","path":"/b","value":{"c":2,"a":1}}]"#,
              #"{"b":{"c":2,"a":1}}"#),
        .init("rfc: empty key member", #"{"":1}"#, #"[{"op":"replace","path":"/","value":2}]"#, #"{"":2}"#),
        .init("null patch does nothing", #"{"a":1}"#, "null", #"{"a":1}"#),
        .init("empty patch does nothing", #"{"a":1}"#, "[]", #"{"a":1}"#),
        .init("kubectl replace replicas", #"{"spec":{"replicas":1}}"#, #"[{"op":"replace","path":"/spec/replicas","value":3}]"#, #"{"spec":{"replicas":3}}"#),
        .init("kubectl add a label with ~1 in its key", pod,
              #"[{"op":"add","path":"/metadata/labels/app.kubernetes.io~1name","value":"web"}]"#,
              #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web","app.kubernetes.io/name":"web"},"finalizers":["a","b"],"resourceVersion":"42"},"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl set the first container image guarded by resourceVersion", pod,
              #"[{"op":"test","path":"/metadata/resourceVersion","value":"42"},{"op":"replace","path":"/spec/containers/0/image","value":"nginx:1.27"}]"#,
              #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"},"finalizers":["a","b"],"resourceVersion":"42"},"spec":{"containers":[{"name":"main","image":"nginx:1.27"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl remove all finalizers", pod, #"[{"op":"remove","path":"/metadata/finalizers"}]"#,
              #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"},"resourceVersion":"42"},"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl remove one finalizer", pod, #"[{"op":"remove","path":"/metadata/finalizers/0"}]"#,
              #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"},"finalizers":["b"],"resourceVersion":"42"},"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}"#),
        .init("kubectl append a container", #"{"spec":{"containers":[{"name":"a"}]}}"#,
              #"[{"op":"add","path":"/spec/containers/-","value":{"name":"b","image":"busybox"}}]"#,
              #"{"spec":{"containers":[{"name":"a"},{"name":"b","image":"busybox"}]}}"#),
        .init("upstream: replace of a missing member adds it", #"{"a":1}"#, #"[{"op":"replace","path":"/b","value":2}]"#, #"{"a":1,"b":2}"#),
        .init("upstream: replace of the whole document", #"{"a":1}"#, #"[{"op":"replace","path":"","value":{"b":[2]}}]"#, #"{"b":[2]}"#),
        .init("upstream: test of the whole document", #"{"a":1}"#, #"[{"op":"test","path":"","value":{"a":1}}]"#, #"{"a":1}"#),
        .init("upstream: copy from a missing member copies null", #"{"a":1}"#, #"[{"op":"copy","from":"/nope","path":"/b"}]"#, #"{"a":1,"b":null}"#),
        .init("upstream: add without a value adds null", #"{"a":1}"#, #"[{"op":"add","path":"/b"}]"#, #"{"a":1,"b":null}"#),
        .init("upstream: test of a missing member with null passes", #"{"a":1}"#, #"[{"op":"test","path":"/b","value":null}]"#, #"{"a":1}"#),
        .init("upstream: test of a null member without value passes", #"{"a":null}"#, #"[{"op":"test","path":"/a"}]"#, #"{"a":null}"#),
        .init("upstream: negative index removes from the end", #"{"a":[1,2,3]}"#, #"[{"op":"remove","path":"/a/-1"}]"#, #"{"a":[1,2]}"#),
        .init("upstream: negative index adds before the end", #"{"a":[1,2,3]}"#, #"[{"op":"add","path":"/a/-2","value":9}]"#, #"{"a":[1,2,9,3]}"#),
        .init("upstream: add at -1 appends", #"{"a":[1,2]}"#, #"[{"op":"add","path":"/a/-1","value":9}]"#, #"{"a":[1,2,9]}"#),
        .init("upstream: negative index replaces from the end", #"{"a":[1,2]}"#, #"[{"op":"replace","path":"/a/-2","value":9}]"#, #"{"a":[9,2]}"#),
        .init("upstream: negative index in the middle of a path", #"{"a":[{"b":1},{"b":2}]}"#, #"[{"op":"replace","path":"/a/-1/b","value":9}]"#,
              #"{"a":[{"b":1},{"b":9}]}"#),
        .init("upstream: leading zeros and + in indices", #"{"a":[1,2,3]}"#,
              #"[{"op":"remove","path":"/a/01"},{"op":"replace","path":"/a/+1","value":9}]"#, #"{"a":[1,9]}"#),
        .init("upstream: add at the array length appends", #"{"a":[1]}"#, #"[{"op":"add","path":"/a/1","value":2}]"#, #"{"a":[1,2]}"#),
        .init("upstream: the first token is ignored", #"{"a":1}"#, #"[{"op":"add","path":"x/b","value":2}]"#, #"{"a":1,"b":2}"#),
        .init("upstream: move onto itself", #"{"a":1,"b":2}"#, #"[{"op":"move","from":"/a","path":"/a"}]"#, #"{"b":2,"a":1}"#),
        .init("upstream: move a null member", #"{"a":null}"#, #"[{"op":"move","from":"/a","path":"/b"}]"#, #"{"b":null}"#),
    ]

    @Test(arguments: cases)
    func applies(_ testCase: JSONPatchCase) throws {
        let result = try JSONPatch.apply(try JSON.parse(testCase.patch), to: try JSON.parse(testCase.document))
        #expect(result == (try JSON.parse(testCase.expected)))
    }

    static let failures: [JSONPatchFailureCase] = [
        .init("rfc A.9 test error", #"{"baz":"qux"}"#, #"[{"op":"test","path":"/baz","value":"bar"}]"#, "testing value /baz failed: test failed"),
        .init("rfc A.12 add to a nonexistent target", #"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz/bat","value":"qux"}]"#,
              #"add operation does not apply: doc is missing path: "/baz/bat": missing value"#),
        .init("rfc A.15 strings are not numbers", #"{"/":9,"~1":10}"#, #"[{"op":"test","path":"/~01","value":"10"}]"#, "testing value /~01 failed: test failed"),
        .init("rfc: numbers compare by their text", #"{"a":1}"#, #"[{"op":"test","path":"/a","value":1.0}]"#, "testing value /a failed: test failed"),
        .init("rfc: remove a missing member", #"{"a":1}"#, #"[{"op":"remove","path":"/b"}]"#,
              "error in remove for path: '/b': Unable to remove nonexistent key: b: missing value"),
        .init("rfc: remove past the end", #"{"a":[1]}"#, #"[{"op":"remove","path":"/a/1"}]"#,
              "error in remove for path: '/a/1': Unable to access invalid index: 1: invalid index referenced"),
        .init("rfc: add past the end", #"{"a":[1]}"#, #"[{"op":"add","path":"/a/2","value":3}]"#,
              "error in add for path: '/a/2': Unable to access invalid index: 2: invalid index referenced"),
        .init("rfc: add with a non-numeric index", #"{"a":[1]}"#, #"[{"op":"add","path":"/a/x","value":3}]"#,
              #"error in add for path: '/a/x': value was not a proper array index: 'x': strconv.Atoi: parsing "x": invalid syntax"#),
        .init("rfc: replace past the end", #"{"a":[1]}"#, #"[{"op":"replace","path":"/a/1","value":3}]"#,
              "replace operation does not apply: doc is missing key: /a/1: missing value"),
        .init("rfc: replace of the dash index", #"{"a":[1]}"#, #"[{"op":"replace","path":"/a/-","value":3}]"#,
              "replace operation does not apply: doc is missing key: /a/-: missing value"),
        .init("rfc: negative index too far", #"{"a":[1]}"#, #"[{"op":"remove","path":"/a/-2"}]"#,
              "error in remove for path: '/a/-2': Unable to access invalid index: -2: invalid index referenced"),
        .init("rfc: a path through a scalar", #"{"a":1}"#, #"[{"op":"add","path":"/a/b","value":3}]"#,
              #"add operation does not apply: doc is missing path: "/a/b": missing value"#),
        .init("rfc: a path through null", #"{"a":null}"#, #"[{"op":"replace","path":"/a/b","value":3}]"#,
              "replace operation does not apply: doc is missing path: /a/b: missing value"),
        .init("rfc: move into its own child", #"{"a":{"b":1}}"#, #"[{"op":"move","from":"/a","path":"/a/c"}]"#,
              "move operation does not apply: doc is missing destination path: /a/c: missing value"),
        .init("rfc: move from a missing member", #"{"a":1}"#, #"[{"op":"move","from":"/b","path":"/c"}]"#,
              "error in move for path: 'b': Unable to remove nonexistent key: b: missing value"),
        .init("rfc: test a missing member", #"{"a":1}"#, #"[{"op":"test","path":"/b","value":1}]"#, "testing value /b failed: test failed"),
        .init("rfc: test a present member without value", #"{"a":1}"#, #"[{"op":"test","path":"/a"}]"#, "testing value /a failed: test failed"),
        .init("rfc: a failed test undoes earlier operations", #"{"a":1}"#,
              #"[{"op":"replace","path":"/a","value":2},{"op":"test","path":"/a","value":3}]"#, "testing value /a failed: test failed"),
        .init("rfc: unknown operation", #"{"a":1}"#, #"[{"op":"merge","path":"/a","value":2}]"#, "Unexpected kind: merge"),
        .init("rfc: missing op", #"{"a":1}"#, #"[{"path":"/a","value":2}]"#, "Unexpected kind: unknown"),
        .init("rfc: null operation", #"{"a":1}"#, "[null]", "Unexpected kind: unknown"),
        .init("rfc: missing path", #"{"a":1}"#, #"[{"op":"add","value":2}]"#, "add operation failed to decode path: missing value"),
        .init("rfc: missing from", #"{"a":1}"#, #"[{"op":"copy","path":"/b"}]"#, "copy operation failed to decode from: missing value"),
        .init("kubectl test of a stale resourceVersion", pod, #"[{"op":"test","path":"/metadata/resourceVersion","value":"41"}]"#,
              "testing value /metadata/resourceVersion failed: test failed"),
        .init("upstream: add cannot replace the whole document", #"{"a":1}"#, #"[{"op":"add","path":"","value":{"b":1}}]"#,
              #"add operation does not apply: doc is missing path: "": missing value"#),
        .init("upstream: remove cannot remove the whole document", #"{"a":1}"#, #"[{"op":"remove","path":""}]"#,
              #"remove operation does not apply: doc is missing path: "": missing value"#),
        .init("upstream: the whole document must stay a container", #"{"a":1}"#, #"[{"op":"replace","path":"","value":"x"}]"#,
              "replace operation value must be object or array"),
        .init("upstream: a path without a slash", #"{"a":1}"#, #"[{"op":"remove","path":"a"}]"#,
              #"remove operation does not apply: doc is missing path: "a": missing value"#),
    ]

    @Test(arguments: failures)
    func failsAsUpstream(_ testCase: JSONPatchFailureCase) throws {
        let patch = try JSON.parse(testCase.patch)
        let document = try JSON.parse(testCase.document)
        #expect(throws: JSONPatch.Failure.operationFailed(testCase.detail)) {
            try JSONPatch.applyOperations(try JSONPatch.decode(patch), to: document)
        }
        // The response never says which operation failed.
        #expect(throws: APIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request")) {
            try JSONPatch.apply(patch, to: document)
        }
    }

    static let rejections: [JSONPatchRejectionCase] = [
        .init("an object instead of a list", #"{"op":"add"}"#, 400, "BadRequest",
              "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"),
        .init("an object instead of a list, fieldValidation=Ignore", #"{"op":"add"}"#, fieldValidation: "Ignore", 400, "BadRequest",
              "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        .init("a string operation", #"["add"]"#, 400, "BadRequest",
              "error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp"),
        .init("a string operation, fieldValidation=Ignore", #"["add"]"#, fieldValidation: "Ignore", 400, "BadRequest",
              "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
        .init("a numeric op", #"[{"op":1,"path":"/a"}]"#, 400, "BadRequest",
              "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string"),
        .init("a list as path", #"[{"op":"add","path":["a"]}]"#, fieldValidation: "Strict", 400, "BadRequest",
              "error decoding patch: json: cannot unmarshal array into Go struct field jsonPatchOp.path of type string"),
        .init("a numeric op, fieldValidation=Ignore", #"[{"op":1,"path":"/a"}]"#, fieldValidation: "Ignore", 422, "Invalid",
              "the server rejected our request due to an error in our request"),
        .init("a string patch", #""x""#, 400, "BadRequest",
              "error decoding patch: json: cannot unmarshal string into Go value of type []handlers.jsonPatchOp"),
        .init("replace of the whole document without a value", #"[{"op":"replace","path":""}]"#, 500, "InternalError",
              "This request caused apiserver to panic. Look in the logs for details."),
        .init("test of the whole document without a value", #"[{"op":"test","path":""}]"#, 500, "InternalError",
              "This request caused apiserver to panic. Look in the logs for details."),
    ]

    @Test(arguments: rejections)
    func rejects(_ testCase: JSONPatchRejectionCase) throws {
        let expected = APIError(code: testCase.code, reason: testCase.reason, message: testCase.message)
        #expect(throws: expected) {
            try JSONPatch.apply(try JSON.parse(testCase.patch), to: try JSON.parse(#"{"a":1}"#), fieldValidation: testCase.fieldValidation)
        }
    }

    @Test func refusesTooManyOperations() throws {
        let operation: JSON = ["op": "test", "path": "/a", "value": 1]
        let patch = JSON.array(Array(repeating: operation, count: JSONPatch.maxOperations + 1))
        #expect(throws: APIError(code: 413, reason: "RequestEntityTooLarge",
                                 message: "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001")) {
            try JSONPatch.apply(patch, to: ["a": 1])
        }
        let allowed = JSON.array(Array(repeating: operation, count: JSONPatch.maxOperations))
        #expect(try JSONPatch.apply(allowed, to: ["a": 1]) == ["a": 1])
    }

    /// Copies add up: a patch may not grow the document by more than 3 MiB through copies,
    /// counted as serialized JSON (a 1 MiB - 2 string is 1 MiB with its quotes).
    @Test func limitsCopiedBytes() throws {
        let big = JSON.string(String(repeating: "x", count: 1024 * 1024 - 2))
        let copies = (0..<3).map { i -> JSON in ["op": "copy", "from": "/big", "path": .string("/c\(i)")] }
        #expect(try JSONPatch.apply(.array(copies), to: ["big": big])["c2"] == big)
        let tooMany = (0..<4).map { i -> JSON in ["op": "copy", "from": "/big", "path": .string("/c\(i)")] }
        #expect(throws: JSONPatch.Failure.operationFailed(
            "Unable to complete the copy, the accumulated size increase of copy is 4194304, exceeding the limit 3145728")) {
            try JSONPatch.applyOperations(try JSONPatch.decode(.array(tooMany)), to: ["big": big])
        }
    }

    @Test func keepsKeyOrder() throws {
        let document = try JSON.parse(#"{"z":1,"m":{"b":1,"a":2},"a":3}"#)
        let patch = try JSON.parse(#"[{"op":"replace","path":"/m/b","value":5},{"op":"add","path":"/m/c","value":6},{"op":"add","path":"/b","value":7}]"#)
        #expect(try JSONPatch.apply(patch, to: document).serializedString() == #"{"z":1,"m":{"b":5,"a":2,"c":6},"a":3,"b":7}"#)
    }

    @Test func warnsAboutUnknownMembers() throws {
        let patch = try JSON.parse(#"[{"op":"add","path":"/a","value":1,"xyz":2},{"Op":"test"}]"#)
        #expect(JSONPatch.unknownFieldWarnings(in: patch) == [#"json patch unknown field "xyz""#, #"json patch unknown field "Op""#])
    }

    @Test(arguments: [("a~0b", "a~b"), ("a~1b", "a/b"), ("~01", "~1"), ("~10", "/0"), ("~", "~"), ("~2", "~2"), ("plain", "plain")])
    func unescapesPointerTokens(_ token: String, _ expected: String) {
        #expect(JSONPatch.unescape(token) == expected)
    }
}

import Testing
@testable import SkiffCore

/// One merge-patch application: target, patch and the expected document, as JSON text.
struct MergePatchCase: Sendable, CustomTestStringConvertible {
    let name: String
    let target: String
    let patch: String
    let expected: String
    var testDescription: String { name }

    init(_ name: String, _ target: String, _ patch: String, _ expected: String) {
        self.name = name
        self.target = target
        self.patch = patch
        self.expected = expected
    }
}

@Suite struct MergePatchTests {
    /// RFC 7386 appendix A, plus what kubectl sends and the evanphx/json-patch details
    /// kube-apiserver shows.
    static let cases: [MergePatchCase] = [
        .init("rfc: replace member", #"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        .init("rfc: add member", #"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        .init("rfc: null removes member", #"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        .init("rfc: null removes one of two", #"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        .init("rfc: string replaces array", #"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        .init("rfc: array replaces string", #"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        .init("rfc: nested merge with delete", #"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        .init("rfc: arrays are replaced whole", #"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        .init("rfc: array document replaced", #"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        .init("rfc: array patch replaces object", #"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        .init("rfc: null patch", #"{"a":"foo"}"#, "null", "null"),
        .init("rfc: string patch", #"{"a":"foo"}"#, #""bar""#, #""bar""#),
        .init("rfc: target nulls stay", #"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        .init("rfc: object patch on array target", "[1,2]", #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        .init("rfc: nested nulls pruned in new members", "{}", #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        .init("kubectl label removes a label with null",
              #"{"metadata":{"name":"web","labels":{"app":"web","tier":"fe"}}}"#,
              #"{"metadata":{"labels":{"tier":null}}}"#,
              #"{"metadata":{"name":"web","labels":{"app":"web"}}}"#),
        .init("kubectl annotate adds an annotation",
              #"{"metadata":{"name":"web"}}"#,
              #"{"metadata":{"annotations":{"note":"hi"}}}"#,
              #"{"metadata":{"name":"web","annotations":{"note":"hi"}}}"#),
        .init("kubectl scale through the scale subresource",
              #"{"spec":{"replicas":1},"status":{"replicas":1}}"#,
              #"{"spec":{"replicas":3}}"#,
              #"{"spec":{"replicas":3},"status":{"replicas":1}}"#),
        .init("containers replaced as a whole list",
              #"{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}"#,
              #"{"spec":{"containers":[{"name":"a","image":"z"}]}}"#,
              #"{"spec":{"containers":[{"name":"a","image":"z"}]}}"#),
        .init("finalizers cleared with null", #"{"metadata":{"finalizers":["a","b"]}}"#,
              #"{"metadata":{"finalizers":null}}"#, #"{"metadata":{}}"#),
        .init("deleting a missing member is a no-op", #"{"a":1}"#, #"{"b":null}"#, #"{"a":1}"#),
        .init("numbers keep their text", #"{"a":1}"#, #"{"b":1.50,"c":12345678901234567890}"#,
              #"{"a":1,"b":1.50,"c":12345678901234567890}"#),
        .init("upstream: null target member counts as absent", #"{"a":null}"#, #"{"a":{"b":null,"c":1}}"#, #"{"a":{"c":1}}"#),
        .init("upstream: new member pruned inside arrays", "{}", #"{"a":[{"k":null,"j":1},null]}"#, #"{"a":[{"j":1},null]}"#),
        .init("upstream: array over object is not pruned", #"{"a":{"x":1}}"#, #"{"a":[{"k":null}]}"#, #"{"a":[{"k":null}]}"#),
        .init("upstream: array over array is pruned", #"{"a":[1]}"#, #"{"a":[{"k":null}]}"#, #"{"a":[{}]}"#),
        .init("upstream: object over scalar is pruned", #"{"a":1}"#, #"{"a":{"b":null,"c":{"d":null}}}"#, #"{"a":{"c":{}}}"#),
        .init("upstream: top-level array patch is pruned", #"{"x":1}"#, #"[{"a":null}]"#, #"[{}]"#),
        .init("empty patch changes nothing", #"{"a":{"b":[1,2]}}"#, "{}", #"{"a":{"b":[1,2]}}"#),
    ]

    @Test(arguments: cases)
    func applies(_ testCase: MergePatchCase) throws {
        let result = MergePatch.apply(try JSON.parse(testCase.patch), to: try JSON.parse(testCase.target))
        #expect(result == (try JSON.parse(testCase.expected)))
    }

    @Test func keepsKeyOrderAndAppendsNewKeys() throws {
        let target = try JSON.parse(#"{"kind":"Pod","metadata":{"name":"a","labels":{"x":"1"}},"spec":{}}"#)
        let patch = try JSON.parse(#"{"zeta":1,"metadata":{"annotations":{"n":"v"},"labels":{"y":"2"}},"alpha":2}"#)
        let result = MergePatch.apply(patch, to: target)
        #expect(result.serializedString()
            == #"{"kind":"Pod","metadata":{"name":"a","labels":{"x":"1","y":"2"},"annotations":{"n":"v"}},"spec":{},"zeta":1,"alpha":2}"#)
    }

    /// kube-apiserver decodes a merge patch as an object first (unless fieldValidation is
    /// Ignore), then refuses a null one.
    @Test(arguments: [
        ("null", "Warn", "Invalid JSON Patch"),
        ("null", "Ignore", "Invalid JSON Patch"),
        (#""x""#, "Strict", "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}"),
        ("1", "Warn", "error decoding patch: json: cannot unmarshal number into Go value of type map[string]interface {}"),
        ("true", "", "error decoding patch: json: cannot unmarshal bool into Go value of type map[string]interface {}"),
        ("[]", "Warn", "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ("1", "Ignore", "Invalid JSON Patch"),
    ])
    func rejectsNonObjectPatches(_ text: String, _ fieldValidation: String, _ message: String) throws {
        #expect(throws: APIError.badRequest(message)) {
            try MergePatch.validate(try JSON.parse(text), fieldValidation: fieldValidation)
        }
    }

    @Test(arguments: [("{}", "Warn"), (#"{"a":null}"#, "Strict"), ("[]", "Ignore")])
    func acceptsObjects(_ text: String, _ fieldValidation: String) throws {
        try MergePatch.validate(try JSON.parse(text), fieldValidation: fieldValidation)
    }
}

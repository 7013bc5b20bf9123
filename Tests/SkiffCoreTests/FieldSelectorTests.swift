import Testing
@testable import SkiffCore

private func parse(_ s: String) -> Result<FieldSelector, APIError> {
    do throws(APIError) {
        return .success(try FieldSelector(parsing: s))
    } catch {
        return .failure(error)
    }
}

struct FieldSelectorParseTests {
    /// Valid selectors and upstream's String(): terms sorted by their raw text, `==`
    /// printed as `=`, values re-escaped, empty terms dropped.
    @Test(arguments: [
        ("", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        (#"x=a||y\=b"#, #"x=a||y\=b"#),
        (#"x=a\=\=b"#, #"x=a\=\=b"#),
        ("x==a", "x=a"),
        ("b=1,a=2", "a=2,b=1"),
        ("a=b,,c=d", "a=b,c=d"),
        (",a=b,", "a=b"),
        ("=", ""),
        ("!=", ""),
        ("==", ""),
        ("a=", "a="),
        ("=b", "=b"),
        ("metadata.name=foo", "metadata.name=foo"),
        ("status.phase!=Running,spec.nodeName=", "spec.nodeName=,status.phase!=Running"),
        (#"k=\,"#, #"k=\,"#),
        (#"k=\\"#, #"k=\\"#),
        (#"k=\\\,,k2=v2"#, #"k2=v2,k=\\\,"#),
        ("함=수,목=록", "목=록,함=수"),
        ("a=b c", "a=b c"),
        (" a = b ", " a = b "),
        ("x=!a", "x=!a"),
    ])
    func canonicalString(_ input: String, _ expected: String) throws {
        let selector = try parse(input).get()
        #expect(selector.description == expected)
        #expect(selector.isEmpty == expected.isEmpty)
        #expect(try parse(expected).get() == selector)
    }

    @Test(arguments: [
        ("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"),
        ("x", "invalid selector: 'x'; can't understand 'x'"),
        ("x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'"),
        ("x in (a,b,c)", "invalid selector: 'x in (a,b,c)'; can't understand 'b'"),
        ("z,y", "invalid selector: 'z,y'; can't understand 'y'"),
        ("b,a=1", "invalid selector: 'b,a=1'; can't understand 'b'"),
        ("a!b", "invalid selector: 'a!b'; can't understand 'a!b'"),
        ("x==a==b", "invalid field selector: unescaped character in value: 61"),
        ("x=a=b", "invalid field selector: unescaped character in value: 61"),
        ("x=a||y=b", "invalid field selector: unescaped character in value: 61"),
        ("x!==a", "invalid field selector: unescaped character in value: 61"),
        (#"x=\a"#, #"invalid field selector: invalid escape sequence: \a"#),
        (#"x=\!"#, #"invalid field selector: invalid escape sequence: \!"#),
        (#"x=a\"#, #"invalid field selector: invalid escape sequence: \"#),
        (#"x=\\\"#, #"invalid field selector: invalid escape sequence: \"#),
        (#"x=\수"#, #"invalid field selector: invalid escape sequence: \수"#),
    ])
    func badRequest(_ input: String, _ message: String) {
        switch parse(input) {
        case .success(let selector):
            Issue.record("\(input) parsed as \(selector)")
        case .failure(let error):
            #expect(error.code == 400)
            #expect(error.reason == "BadRequest")
            #expect(error.message == message)
        }
    }

    @Test func requirementsExposeFieldOperatorValue() throws {
        let selector = try FieldSelector(parsing: #"status.phase!=Running,metadata.name==a\,b,spec.nodeName="#)
        #expect(selector.requirements == [
            .init(field: "metadata.name", operator: .equals, value: "a,b"),
            .init(field: "spec.nodeName", operator: .equals, value: ""),
            .init(field: "status.phase", operator: .notEquals, value: "Running"),
        ])
    }

    @Test(arguments: [
        ("", "", ""),
        ("a", "a", "a"),
        ("=", #"\="#, "="),
        (",", #"\,"#, ","),
        (#"\"#, #"\\"#, #"\"#),
        (#"\=\,\"#, #"\\\=\\\,\\"#, #"\=\,\"#),
    ])
    func escaping(_ raw: String, _ escaped: String, _ roundTrip: String) throws {
        #expect(FieldSelector.escapeValue(raw) == escaped)
        #expect(try FieldSelector.unescapeValue(escaped) == roundTrip)
    }
}

struct FieldSelectorMatchTests {
    @Test(arguments: [
        ("", [("x", "y")], true),
        ("x=y", [("x", "y")], true),
        ("x=y,z=w", [("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", [("x", "z"), ("z", "a")], true),
        ("notin=in", [("notin", "in")], true),
        ("x=y", [("x", "z")], false),
        ("x=y,z=w", [("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", [("x", "z"), ("z", "w")], false),
        ("foo=bar,baz=blah", [("foo", "bar"), ("baz", "blah"), ("complex", #"=value\,\"#)], true),
        (#"foo=bar,baz=blah,complex=\=value\\\,\\"#, [("foo", "bar"), ("baz", "blah"), ("complex", #"=value\,\"#)], true),
        ("foo=blah", [("foo", "bar")], false),
        ("foo=bar,foobar=bar,baz=blah", [("foo", "bar"), ("baz", "blah")], false),
        ("spec.nodeName=", [], true),
        ("spec.nodeName!=", [], false),
        ("spec.nodeName!=", [("spec.nodeName", "n1")], true),
        ("spec.nodeName=n1", [], false),
        ("status.phase!=Running", [], true),
    ] as [(String, [(String, String)], Bool)])
    func matches(_ input: String, _ fields: [(String, String)], _ expected: Bool) throws {
        let selector = try FieldSelector(parsing: input)
        let dictionary = Dictionary(fields, uniquingKeysWith: { a, _ in a })
        #expect(selector.matches(dictionary) == expected)
        #expect(selector.matches { dictionary[$0] } == expected)
    }

    @Test func nothingMatchesNothing() throws {
        #expect(!FieldSelector.nothing.matches([String: String]()))
        #expect(!FieldSelector.nothing.isEmpty)
        #expect(FieldSelector.everything.isEmpty)
        #expect(FieldSelector.everything.matches([String: String]()))
        #expect(try FieldSelector.nothing.transformed { _ throws(APIError) in ("", "") } == .nothing)
    }

    @Test(arguments: [
        ("metadata.name=foo", "metadata.name", "foo"),
        ("metadata.name==foo,b=c", "metadata.name", "foo"),
        ("metadata.name=", "metadata.name", ""),
        ("metadata.name!=foo", "metadata.name", nil),
        ("a=b", "metadata.name", nil),
        ("", "metadata.name", nil),
    ] as [(String, String, String?)])
    func requiresExactMatch(_ input: String, _ field: String, _ expected: String?) throws {
        #expect(try FieldSelector(parsing: input).requiresExactMatch(field) == expected)
    }
}

struct FieldSelectorTransformTests {
    @Test(arguments: [
        ("", "", true),
        ("a=b,x=d", "a=b,x=d", false),
        ("a=b,c=d", "a=b", false),
        ("a=b", "", true),
        ("a=b,c=d,e=f", "a=b,e=f", false),
        ("c!=d", "", true),
    ])
    func dropsTermsTransformedToEmpty(_ input: String, _ expected: String, _ empty: Bool) throws {
        let result = try FieldSelector(parsing: input).transformed { requirement throws(APIError) in
            requirement.field == "c" || input == "a=b" ? ("", "") : (requirement.field, requirement.value)
        }
        #expect(result.description == expected)
        #expect(result.isEmpty == empty)
    }

    @Test func renamesFields() throws {
        let result = try FieldSelector(parsing: "a=b,c=d").transformed { requirement throws(APIError) in
            requirement.field == "a" ? ("e", "f") : (requirement.field, requirement.value)
        }
        #expect(result.description == "e=f,c=d")
    }

    @Test func defaultConversionRejectsUnknownFields() throws {
        let supported = try FieldSelector(parsing: "metadata.namespace=ns,metadata.name=a")
            .transformed(FieldSelector.defaultFieldLabelConversion)
        #expect(supported.description == "metadata.name=a,metadata.namespace=ns")
        #expect(throws: APIError.badRequest(#""spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace""#)) {
            try FieldSelector(parsing: "metadata.name=a,spec.nodeName=n").transformed(FieldSelector.defaultFieldLabelConversion)
        }
        #expect(FieldSelector.fieldLabelNotSupported("spec.foo") == .badRequest("field label not supported: spec.foo"))
    }
}

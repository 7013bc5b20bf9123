import Testing
@testable import SkiffCore

/// Upstream's messages, written out in full because clients compare them verbatim.
private let nameRegex = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
private let labelValueRegex = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
private let subdomainRegex = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

private func parse(_ s: String) -> Result<LabelSelector, APIError> {
    do throws(APIError) {
        return .success(try LabelSelector(parsing: s))
    } catch {
        return .failure(error)
    }
}

private func selector(_ json: String) -> Result<LabelSelector, APIError> {
    do throws(APIError) {
        let value = try? JSON.parse(json)
        return .success(try LabelSelector(value))
    } catch {
        return .failure(error)
    }
}

struct LabelSelectorParseTests {
    /// Valid selectors and the canonical string upstream prints for them (sorted by key,
    /// set values sorted and deduplicated, whitespace dropped).
    @Test(arguments: [
        ("", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("x<10", "x<10"),
        ("x=a,a=x", "a=x,x=a"),
        ("a=x,x=a", "a=x,x=a"),
        ("\rx", "x"),
        ("a ", "a"),
        ("  a  =  b  ", "a=b"),
        ("x==a", "x==a"),
        ("notin=in", "notin=in"),
        ("in", "in"),
        ("notin", "notin"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        ("this-is-another-dns.domain.com/key-with-dash in (so,what)", "this-is-another-dns.domain.com/key-with-dash in (so,what)"),
        ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x  notin\t\t(abc,def)", "x notin (abc,def)"),
        ("x in (abc,def)", "x in (abc,def)"),
        ("x in (def,abc)", "x in (abc,def)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in (abc,abc)", "x in (abc)"),
        ("x in ()", "x in ()"),
        ("x in (a,,)", "x in (,a)"),
        ("x in (a,,,,,,)", "x in (,a)"),
        ("x in (a,,a,,a,,a,,)", "x in (,a)"),
        ("x in (,a)", "x in (,a)"),
        ("x notin ( )", "x notin ()"),
        ("x notin (, a)", "x notin (,a)"),
        ("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"),
        ("x,y in (a)", "x,y in (a)"),
        ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
        ("x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"),
        ("b,a,!c", "a,b,!c"),
        ("x=a,x!=b", "x=a,x!=b"),
        ("x!=b,x=a", "x!=b,x=a"),
        ("example.com/app=web", "example.com/app=web"),
        ("Uppercase_Is_OK=Value_1", "Uppercase_Is_OK=Value_1"),
        ("a=b\u{0}", "a=b"),
        ("a=b,\u{0}c", "a=b,c"),
    ])
    func canonicalString(_ input: String, _ expected: String) throws {
        let selector = try parse(input).get()
        #expect(selector.description == expected)
        #expect(!selector.matchesNothing)
        // The canonical form parses back to the same selector.
        #expect(try parse(expected).get() == selector)
    }

    /// Malformed selectors and kube-apiserver's 400 message for them.
    @Test(arguments: [
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " + labelValueRegex),
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("x>-5", "unable to parse requirement: values[0][x]: Invalid value: \"-5\": " + labelValueRegex),
        ("x>a_", "unable to parse requirement: [values[0]: Invalid value: \"a_\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"a_\": " + labelValueRegex + "]"),
        ("x,,y", "found ',', expected: identifier after ','"),
        (",x,y", "found ',', expected: !, identifier, or 'end of string'"),
        ("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"),
        ("a in (xyz),", "found '', expected: identifier after ','"),
        ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"),
        ("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"),
        ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
        ("x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
        ("(", "found '(', expected: !, identifier, or 'end of string'"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("!!a", "unable to parse requirement: found '!', expected: identifier"),
        ("x=(b)", "unable to parse requirement: found '(', expected: identifier"),
        ("x=a b", "found 'b', expected: ',' or 'end of string'"),
        ("a=b\u{0}c", "found 'c', expected: ',' or 'end of string'"),
        ("a=b, \u{0}c", "found '', expected: identifier after ','"),
        ("app:monolith", "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name part " + nameRegex),
        ("*bar", "unable to parse requirement: <nil>: Invalid value: \"*bar\": name part " + nameRegex),
        ("app.kubernetes_io/name=x", "unable to parse requirement: <nil>: Invalid value: \"app.kubernetes_io/name\": prefix part " + subdomainRegex),
        ("/a=b", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty"),
        ("a/=b", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be non-empty; name part " + nameRegex),
        ("a/b/c ?=? def", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a valid label key " + nameRegex + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
        (String(repeating: "k", count: 64), "unable to parse requirement: <nil>: Invalid value: \"" + String(repeating: "k", count: 64) + "\": name part must be no more than 63 bytes"),
        ("a=" + String(repeating: "v", count: 64), "unable to parse requirement: values[0][a]: Invalid value: \"" + String(repeating: "v", count: 64) + "\": must be no more than 63 bytes"),
        ("a=\"q\"", "unable to parse requirement: values[0][a]: Invalid value: \"\\\"q\\\"\": " + labelValueRegex),
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

    @Test func emptySelectorIsEverything() throws {
        let empty = try LabelSelector(parsing: "")
        #expect(empty == .everything)
        #expect(empty.isEmpty)
        #expect(empty.matches(["x": "y"]))
        #expect(empty.matches([String: String]()))
    }

    @Test func nothingMatchesNothing() {
        let nothing = LabelSelector.nothing
        #expect(!nothing.isEmpty)
        #expect(nothing.matchesNothing)
        #expect(nothing.description == "")
        #expect(!nothing.matches([String: String]()))
        #expect(!nothing.matches(["x": "y"]))
        #expect(nothing.adding([LabelSelector.Requirement(unchecked: "a", .exists, [])]) == .nothing)
    }
}

struct LabelSelectorMatchTests {
    @Test(arguments: [
        ("", [("x", "y")], true),
        ("x=y", [("x", "y")], true),
        ("x=y,z=w", [("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", [("x", "z"), ("z", "a")], true),
        ("notin=in", [("notin", "in")], true),
        ("x", [("x", "z")], true),
        ("!x", [("y", "z")], true),
        ("x>1", [("x", "2")], true),
        ("x<1", [("x", "0")], true),
        ("x<1", [("x", "-5")], true),
        ("x>1", [("x", "+2")], true),
        ("x=z", [], false),
        ("x=y", [("x", "z")], false),
        ("x=y,z=w", [("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", [("x", "z"), ("z", "w")], false),
        ("x", [("y", "z")], false),
        ("!x", [("x", "z")], false),
        ("x>1", [("x", "0")], false),
        ("x<1", [("x", "2")], false),
        ("x>1", [("x", "v2")], false),
        ("x>1", [], false),
        ("x!=y", [], true),
        ("x==y", [("x", "y")], true),
        ("foo=bar,baz=blah", [("foo", "bar"), ("baz", "blah")], true),
        ("foo=bar,foobar=bar,baz=blah", [("foo", "bar"), ("baz", "blah")], false),
        ("x in (foo),y notin (alpha)", [("x", "foo"), ("y", "baz")], true),
        ("x in (foo),y in (alpha)", [("x", "foo"), ("y", "baz")], false),
        ("x notin (),y", [("y", "")], true),
        ("!x,y", [("y", "")], true),
        ("x notin (),!y", [("y", "")], false),
        ("x in ()", [("y", "baz")], false),
        ("x in ()", [("x", "")], true),
        ("x in (a,b)", [("x", "b")], true),
        ("x notin (a,b)", [("x", "b")], false),
        ("x notin (a,b)", [("x", "c")], true),
        ("x=", [("x", "")], true),
        ("x=", [], false),
    ] as [(String, [(String, String)], Bool)])
    func matches(_ input: String, _ labels: [(String, String)], _ expected: Bool) throws {
        let selector = try LabelSelector(parsing: input)
        let dictionary = Dictionary(labels, uniquingKeysWith: { a, _ in a })
        #expect(selector.matches(dictionary) == expected)
        // The same answer against metadata.labels as JSON.
        let json = JSON.object(JSONObject(labels.map { ($0.0, JSON.string($0.1)) }))
        #expect(selector.matches(json) == expected)
    }

    @Test func absentLabelsObject() throws {
        let doesNotExist = try LabelSelector(parsing: "!a")
        let exists = try LabelSelector(parsing: "a")
        #expect(doesNotExist.matches(nil as JSON?))
        #expect(!exists.matches(nil as JSON?))
    }

    @Test(arguments: [
        ("a=b", "a", "b"),
        ("a==b", "a", "b"),
        ("a in (b)", "a", "b"),
        ("a in (b,c)", "a", nil),
        ("a!=b", "a", nil),
        ("a", "a", nil),
        ("x=y,a=b", "a", "b"),
        ("x=y", "a", nil),
        ("", "a", nil),
    ] as [(String, String, String?)])
    func requiresExactMatch(_ input: String, _ key: String, _ expected: String?) throws {
        #expect(try LabelSelector(parsing: input).requiresExactMatch(key) == expected)
    }

    @Test func fromMatchLabelsIsSortedEquality() {
        let selector = LabelSelector(matchLabels: ["tier": "fe", "app": "web"])
        #expect(selector.description == "app=web,tier=fe")
        #expect(selector.matches(["app": "web", "tier": "fe", "extra": "x"]))
        #expect(!selector.matches(["app": "web"]))
        #expect(LabelSelector(matchLabels: [:]).isEmpty)
    }

    @Test func addingKeepsKeyOrder() throws {
        let base = try LabelSelector(parsing: "b=1")
        let more = base.adding([try LabelSelector.Requirement(key: "a", operator: .exists),
                                try LabelSelector.Requirement(key: "c", operator: .notIn, values: ["x"])])
        #expect(more.description == "a,b=1,c notin (x)")
    }
}

struct LabelSelectorRequirementTests {
    /// NewRequirement's checks; values are passed as given.
    @Test(arguments: [
        ("x1", LabelSelector.Operator.in, [], "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"),
        ("x2", .notIn, [], "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"),
        ("x5", .equals, ["bar", "foo"], "values: Invalid value: [\"bar\",\"foo\"]: exact-match compatibility requires one single value"),
        ("x5", .notEquals, [], "values: Invalid value: []: exact-match compatibility requires one single value"),
        ("x8", .exists, ["foo"], "values: Invalid value: [\"foo\"]: values set must be empty for exists and does not exist"),
        ("x8", .doesNotExist, ["<&>"], "[values: Invalid value: [\"\\u003c\\u0026\\u003e\"]: values set must be empty for exists and does not exist, values[0][x8]: Invalid value: \"<&>\": " + labelValueRegex + "]"),
        ("x13", .greaterThan, [], "values: Invalid value: []: for 'Gt', 'Lt' operators, exactly one value is required"),
        ("x14", .greaterThan, ["bar"], "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("x15", .lessThan, ["bar"], "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer"),
        (String(repeating: "a", count: 254), .exists, [], "key: Invalid value: \"" + String(repeating: "a", count: 254) + "\": name part must be no more than 63 bytes"),
        ("x16", .equals, [String(repeating: "a", count: 254)], "values[0][x16]: Invalid value: \"" + String(repeating: "a", count: 254) + "\": must be no more than 63 bytes"),
        ("x17", .equals, ["a b"], "values[0][x17]: Invalid value: \"a b\": " + labelValueRegex),
        ("x18", .in, ["ok", "tab\there"], "values[1][x18]: Invalid value: \"tab\\there\": " + labelValueRegex),
        ("bad key", .in, [], "[key: Invalid value: \"bad key\": name part " + nameRegex + ", values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty]"),
    ] as [(String, LabelSelector.Operator, [String], String)])
    func rejected(_ key: String, _ op: LabelSelector.Operator, _ values: [String], _ message: String) {
        #expect(throws: APIError.badRequest(message)) {
            try LabelSelector.Requirement(key: key, operator: op, values: values)
        }
    }

    @Test(arguments: [
        ("x3", LabelSelector.Operator.in, ["foo"], "x3 in (foo)"),
        ("x4", .notIn, ["foo"], "x4 notin (foo)"),
        ("x6", .exists, [], "x6"),
        ("x7", .doesNotExist, [], "!x7"),
        ("x9", .in, ["b", "a", "b"], "x9 in (a,b,b)"),
        ("x11", .greaterThan, ["1"], "x11>1"),
        ("x12", .lessThan, ["6"], "x12<6"),
        ("y", .doubleEquals, ["jkl"], "y==jkl"),
        ("z", .notEquals, ["a"], "z!=a"),
        ("z", .notIn, [""], "z notin ()"),
    ] as [(String, LabelSelector.Operator, [String], String)])
    func accepted(_ key: String, _ op: LabelSelector.Operator, _ values: [String], _ rendered: String) throws {
        let requirement = try LabelSelector.Requirement(key: key, operator: op, values: values)
        #expect(requirement.description == rendered)
        #expect(requirement.values == values)
    }
}

struct MetaLabelSelectorTests {
    /// metav1.LabelSelectorAsSelector and the canonical string (Scale.status.selector).
    @Test(arguments: [
        ("{}", ""),
        ("{\"matchLabels\":{}}", ""),
        ("{\"matchExpressions\":[]}", ""),
        ("{\"matchLabels\":null,\"matchExpressions\":null}", ""),
        ("{\"matchLabels\":{\"tier\":\"fe\",\"app\":\"web\"}}", "app=web,tier=fe"),
        ("{\"matchLabels\":{\"b\":\"1\"},\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"y\",\"x\"]}]}", "a in (x,y),b=1"),
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"b\",\"operator\":\"DoesNotExist\",\"values\":[]},{\"key\":\"c\",\"operator\":\"NotIn\",\"values\":[\"z\"]}]}", "a,!b,c notin (z)"),
        ("{\"matchLabels\":{\"a\":\"x\"},\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"y\"]}]}", "a=x,a notin (y)"),
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"b\",\"a\",\"b\"]}]}", "a in (a,b,b)"),
        ("{\"matchLabels\":{\"a\":null}}", "a="),
        ("{\"matchLabels\":{\"app\":\"web\"},\"unknownField\":1}", "app=web"),
    ])
    func converted(_ json: String, _ expected: String) throws {
        let converted = try selector(json).get()
        #expect(converted.description == expected)
        #expect(!converted.matchesNothing)
        #expect(converted.isEmpty == expected.isEmpty)
    }

    @Test func nullIsNothing() throws {
        #expect(try LabelSelector(JSON.null) == .nothing)
        #expect(try LabelSelector(nil as JSON?) == .nothing)
    }

    @Test(arguments: [
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\",\"values\":[\"x\"]}]}", "\"Foo\" is not a valid label selector operator"),
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"x\"]}]}", "\"in\" is not a valid label selector operator"),
        ("{\"matchExpressions\":[{\"key\":\"a\"}]}", "\"\" is not a valid label selector operator"),
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[]}]}", "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        ("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}", "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"),
        ("{\"matchExpressions\":[{\"key\":\"a b\",\"operator\":\"Exists\"}]}", "key: Invalid value: \"a b\": name part " + nameRegex),
        ("{\"matchLabels\":{\"app\":\"a b\"}}", "values[0][app]: Invalid value: \"a b\": " + labelValueRegex),
        ("{\"matchLabels\":{\"a b\":\"x\"}}", "key: Invalid value: \"a b\": name part " + nameRegex),
        ("{\"matchLabels\":\"app=web\"}", "json: cannot unmarshal string into Go struct field LabelSelector.matchLabels of type map[string]string"),
        ("{\"matchLabels\":{\"a\":1}}", "json: cannot unmarshal number into Go struct field LabelSelector.matchLabels of type string"),
        ("{\"matchExpressions\":{}}", "json: cannot unmarshal object into Go struct field LabelSelector.matchExpressions of type []v1.LabelSelectorRequirement"),
        ("\"app=web\"", "json: cannot unmarshal string into Go value of type v1.LabelSelector"),
    ])
    func rejected(_ json: String, _ message: String) {
        switch selector(json) {
        case .success(let s):
            Issue.record("\(json) converted to \(s)")
        case .failure(let error):
            #expect(error.code == 400)
            #expect(error.message == message)
        }
    }

    @Test func validationCauses() throws {
        let json = try JSON.parse("""
            {"matchLabels":{"a b":"x y"},"matchExpressions":[
              {"key":"k","operator":"In"},
              {"key":"k","operator":"Exists","values":["v"]},
              {"key":"k","operator":"Bogus"},
              {"key":"k/","operator":"In","values":["ok","-bad"]}
            ]}
            """)
        let causes = LabelSelector.validate(json, fieldPath: "spec.selector")
        let expected: [APIError.Cause] = [
            .init(type: "FieldValueInvalid", message: "Invalid value: \"a b\": name part " + nameRegex, field: "spec.selector.matchLabels"),
            .init(type: "FieldValueInvalid", message: "Invalid value: \"x y\": " + labelValueRegex, field: "spec.selector.matchLabels"),
            .init(type: "FieldValueRequired", message: "Required value: must be specified when `operator` is 'In' or 'NotIn'", field: "spec.selector.matchExpressions[0].values"),
            .init(type: "FieldValueForbidden", message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'", field: "spec.selector.matchExpressions[1].values"),
            .init(type: "FieldValueInvalid", message: "Invalid value: \"Bogus\": not a valid selector operator", field: "spec.selector.matchExpressions[2].operator"),
            .init(type: "FieldValueInvalid", message: "Invalid value: \"k/\": name part must be non-empty", field: "spec.selector.matchExpressions[3].key"),
            .init(type: "FieldValueInvalid", message: "Invalid value: \"k/\": name part " + nameRegex, field: "spec.selector.matchExpressions[3].key"),
            .init(type: "FieldValueInvalid", message: "Invalid value: \"-bad\": " + labelValueRegex, field: "spec.selector.matchExpressions[3].values[1]"),
        ]
        #expect(causes == expected)
        #expect(LabelSelector.validate(nil, fieldPath: "spec.selector").isEmpty)
        #expect(LabelSelector.validate(try JSON.parse("{\"matchLabels\":{\"app\":\"web\"}}"), fieldPath: "spec.selector").isEmpty)
    }
}

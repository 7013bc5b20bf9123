import Testing
@testable import SkiffCore

private let labelRegex = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
private let subdomainRegex = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
private let dns1035Regex = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
private let nameRegex = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
private let labelValueRegex = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

private func a(_ n: Int) -> String { String(repeating: "a", count: n) }

struct DNSNameTests {
    @Test(arguments: ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", a(63)])
    func validDNS1123Label(_ value: String) {
        #expect(Validation.isDNS1123Label(value).isEmpty)
    }

    @Test(arguments: [
        "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b", "1_", "_1", "1_2",
        ".", "a.", ".a", "1.", ".1", " ", "a ", " a", "a b", "1 ", " 1", "1 2", "ä", "a\n",
    ])
    func invalidDNS1123Label(_ value: String) {
        #expect(Validation.isDNS1123Label(value) == [labelRegex])
    }

    @Test(arguments: [
        ("a.b", ["must not contain dots"]),
        ("1.2", ["must not contain dots"]),
        (a(64), ["must be no more than 63 characters"]),
        (a(63) + ".b", ["must be no more than 63 characters", "must not contain dots"]),
        (a(64) + "-", ["must be no more than 63 characters", labelRegex]),
    ])
    func dns1123LabelMessages(_ value: String, _ expected: [String]) {
        #expect(Validation.isDNS1123Label(value) == expected)
    }

    @Test(arguments: [
        "a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
        "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1", "a-1.1",
        "a--1--2--b.1", "0.a", "01.a", "012.a", "1a.a", "1-a.a", "0.1", "01.1", "012.1", "1a.1", "1-a.1",
        "1--a--b--2.1", "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", a(253),
    ])
    func validDNS1123Subdomain(_ value: String) {
        #expect(Validation.isDNS1123Subdomain(value).isEmpty)
    }

    @Test(arguments: [
        "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b", "1_", "_1",
        "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ", "a ", " a", "a b", "1 ", " 1", "1 2", "A.a", "aB.a",
        "ab.A", "A1.a", "a1.A", "A.1", "aB.1", "A1.1", "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A", "A.B.C.D.E",
        "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee", "a@b", "a,b", "a;b", "a:b", "a%b", "a?b", "a$b", "a/b",
    ])
    func invalidDNS1123Subdomain(_ value: String) {
        #expect(Validation.isDNS1123Subdomain(value) == [subdomainRegex])
    }

    @Test func dns1123SubdomainLength() {
        #expect(Validation.isDNS1123Subdomain(a(254)) == ["must be no more than 253 characters"])
        #expect(Validation.isDNS1123Subdomain(a(254) + ".") == ["must be no more than 253 characters", subdomainRegex])
    }

    @Test(arguments: ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", a(63)])
    func validDNS1035Label(_ value: String) {
        #expect(Validation.isDNS1035Label(value).isEmpty)
    }

    @Test(arguments: [
        "0", "01", "012", "1a", "1-a", "1--a--b--2", "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-",
        "-1", "_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a",
        "a b", "1 ", " 1", "1 2",
    ])
    func invalidDNS1035Label(_ value: String) {
        #expect(Validation.isDNS1035Label(value) == [dns1035Regex])
    }

    @Test func dns1035LabelLength() {
        #expect(Validation.isDNS1035Label(a(64)) == ["must be no more than 63 characters"])
    }
}

struct LabelKeyAndValueTests {
    @Test(arguments: [
        "simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
        "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
        "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123",
        "requests.storage-foo", a(63), a(253) + "/" + String(repeating: "b", count: 63), "app.kubernetes.io/name",
    ])
    func validQualifiedName(_ value: String) {
        #expect(Validation.isQualifiedName(value).isEmpty)
    }

    @Test(arguments: [
        ("nospecialchars%^=@", ["name part " + nameRegex]),
        ("cantendwithadash-", ["name part " + nameRegex]),
        ("-cantstartwithadash-", ["name part " + nameRegex]),
        ("only/one/slash", ["a valid label key " + nameRegex + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
        ("Example.com/abc", ["prefix part " + subdomainRegex]),
        ("example_com/abc", ["prefix part " + subdomainRegex]),
        ("example.com/", ["name part must be non-empty", "name part " + nameRegex]),
        ("", ["name part must be non-empty", "name part " + nameRegex]),
        ("/simple", ["prefix part must be non-empty"]),
        ("/", ["prefix part must be non-empty", "name part must be non-empty", "name part " + nameRegex]),
        (a(64), ["name part must be no more than 63 bytes"]),
        (a(64) + "-", ["name part must be no more than 63 bytes", "name part " + nameRegex]),
        (a(254) + "/abc", ["prefix part must be no more than 253 bytes"]),
        ("Ex_ample/" + a(64), ["prefix part " + subdomainRegex, "name part must be no more than 63 bytes"]),
    ])
    func invalidQualifiedName(_ value: String, _ expected: [String]) {
        #expect(Validation.isQualifiedName(value) == expected)
    }

    @Test(arguments: ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", a(63), "", "A_b.C-d", "x"])
    func validLabelValue(_ value: String) {
        #expect(Validation.isValidLabelValue(value).isEmpty)
    }

    @Test(arguments: [
        ("nospecialchars%^=@", [labelValueRegex]),
        ("Tama-nui-te-rā.is.Māori.sun", [labelValueRegex]),
        ("\\backslashes\\are\\bad", [labelValueRegex]),
        ("-starts-with-dash", [labelValueRegex]),
        ("ends-with-dash-", [labelValueRegex]),
        (".starts.with.dot", [labelValueRegex]),
        ("ends.with.dot.", [labelValueRegex]),
        ("a b", [labelValueRegex]),
        (a(64), ["must be no more than 63 bytes"]),
        (a(64) + "_", ["must be no more than 63 bytes", labelValueRegex]),
        (String(repeating: "é", count: 32), ["must be no more than 63 bytes", labelValueRegex]),
    ])
    func invalidLabelValue(_ value: String, _ expected: [String]) {
        #expect(Validation.isValidLabelValue(value) == expected)
    }
}

struct ObjectNameTests {
    @Test(arguments: [
        (".", ["may not be '.'"]),
        ("..", ["may not be '..'"]),
        ("a/b", ["may not contain '/'"]),
        ("a%2Fb", ["may not contain '%'"]),
        ("a%b/c", ["may not contain '/'", "may not contain '%'"]),
        ("a..b", []),
        ("...", []),
        ("", []),
        ("Weird Name", []),
    ])
    func pathSegmentName(_ name: String, _ expected: [String]) {
        #expect(Validation.isPathSegmentName(name) == expected)
    }

    @Test(arguments: [("ab-", "aa"), ("a-", "a"), ("-", "-"), ("abc", "abc"), ("abc--", "abca"), ("", "")])
    func maskTrailingDash(_ name: String, _ masked: String) {
        #expect(Validation.maskTrailingDash(name) == masked)
    }

    @Test(arguments: [
        ("abc-", true, [String]()),
        ("abc-", false, [subdomainRegex]),
        ("-", true, [subdomainRegex]),
        ("web.", true, [subdomainRegex]),
        ("my-app", false, []),
    ])
    func subdomainNames(_ name: String, _ prefix: Bool, _ expected: [String]) {
        #expect(Validation.nameIsDNSSubdomain(name, prefix: prefix) == expected)
    }

    @Test func labelAndDNS1035Names() {
        #expect(Validation.nameIsDNSLabel("a-", prefix: true).isEmpty)
        #expect(Validation.nameIsDNSLabel("a.b", prefix: false) == ["must not contain dots"])
        #expect(Validation.nameIsDNS1035Label("svc-", prefix: true).isEmpty)
        #expect(Validation.nameIsDNS1035Label("1svc", prefix: false) == [dns1035Regex])
    }

    @Test func objectNameCauses() {
        #expect(Validation.validateObjectName(name: "") == [
            APIError.Cause(type: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name"),
        ])
        #expect(Validation.validateObjectName(name: "Foo") == [
            APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \"Foo\": " + subdomainRegex, field: "metadata.name"),
        ])
        #expect(Validation.validateObjectName(name: "x", generateName: "Bad-") == [
            APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \"Bad-\": " + subdomainRegex, field: "metadata.generateName"),
        ])
        #expect(Validation.validateObjectName(name: "web-1", generateName: "web-").isEmpty)
        #expect(Validation.validateObjectName(name: "a.b", fieldPath: "metadata", { Validation.nameIsDNSLabel($0, prefix: $1) }) == [
            APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \"a.b\": must not contain dots", field: "metadata.name"),
        ])
    }
}

struct MetadataMapTests {
    @Test func labels() {
        let causes = Validation.validateLabels(["ok": "-v", "a b": "c", "fine": "yes"], fieldPath: "metadata.labels")
        #expect(causes == [
            APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \"a b\": name part " + nameRegex, field: "metadata.labels"),
            APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \"-v\": " + labelValueRegex, field: "metadata.labels"),
        ])
        #expect(Validation.validateLabels([:], fieldPath: "metadata.labels").isEmpty)
    }

    @Test func annotationKeysIgnoreCase() {
        #expect(Validation.validateAnnotations(["Example.COM/Key": "anything at all: {}"], fieldPath: "metadata.annotations").isEmpty)
        #expect(Validation.validateAnnotations(["bad key": "v"], fieldPath: "metadata.annotations") == [
            APIError.Cause(type: "FieldValueInvalid", message: "Invalid value: \"bad key\": name part " + nameRegex, field: "metadata.annotations"),
        ])
    }

    @Test(arguments: [
        (262_143, false),
        (262_144, true),
        (300_000, true),
        (10, false),
    ])
    func annotationSizeLimit(_ valueLength: Int, _ tooLong: Bool) {
        let annotations = ["a": String(repeating: "x", count: valueLength)]
        #expect(Validation.annotationsSize(annotations) == valueLength + 1)
        let causes = Validation.validateAnnotations(annotations, fieldPath: "metadata.annotations")
        #expect(causes == (tooLong ? [APIError.Cause(type: "FieldValueTooLong", message: "Too long: may not be more than 262144 bytes", field: "metadata.annotations")] : []))
    }

    @Test func annotationSizeCountsBytes() {
        #expect(Validation.annotationsSize(["k": "é", "key": "v"]) == 7)
    }
}

struct GoTextTests {
    @Test(arguments: [
        ("abc", "\"abc\""),
        ("a\"b", "\"a\\\"b\""),
        ("back\\slash", "\"back\\\\slash\""),
        ("tab\t", "\"tab\\t\""),
        ("nl\n", "\"nl\\n\""),
        ("\u{0}", "\"\\x00\""),
        ("\u{1b}", "\"\\x1b\""),
        ("\u{7f}", "\"\\x7f\""),
        ("é", "\"é\""),
        ("rā", "\"rā\""),
        ("\u{a0}", "\"\\u00a0\""),
        ("\u{85}", "\"\\u0085\""),
        ("😀", "\"😀\""),
        ("\u{E000}", "\"\\ue000\""),
        ("\u{F0000}", "\"\\U000f0000\""),
    ])
    func quoted(_ value: String, _ expected: String) {
        #expect(GoText.quoted(value) == expected)
    }

    @Test(arguments: [
        (nil, "null"),
        ([], "[]"),
        (["a"], "[\"a\"]"),
        (["a", "b"], "[\"a\",\"b\"]"),
        (["<&>"], "[\"\\u003c\\u0026\\u003e\"]"),
        (["\u{1}", "q\"", "\n"], "[\"\\u0001\",\"q\\\"\",\"\\n\"]"),
    ] as [([String]?, String)])
    func json(_ values: [String]?, _ expected: String) {
        #expect(GoText.json(values) == expected)
    }
}

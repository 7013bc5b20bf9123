import Testing

@testable import SkiffCore

@Suite struct JSONTests {
    @Test(arguments: [
        #"{"b":1,"a":[true,false,null],"c":{"z":"x","y":1.50}}"#,
        #"{"big":9223372036854775807,"neg":-12,"exp":1e3,"frac":0.1000}"#,
        #"["é","\u0000","tab\tquote\"slash\\"]"#,
        #"{}"#,
        #"[]"#,
    ])
    func roundTripKeepsOrderAndNumberText(_ text: String) throws {
        let value = try JSON.parse(text)
        let again = try JSON.parse(value.serialized())
        #expect(again == value)
        // Compact input serializes back byte for byte (escapes aside).
        if !text.contains("\\") { #expect(value.serializedString() == text) }
    }

    @Test func keyOrderIsPreservedAndEqualityIgnoresIt() throws {
        let a = try JSON.parse(#"{"z":1,"a":2}"#)
        let b = try JSON.parse(#"{"a":2,"z":1}"#)
        #expect(a.objectValue?.keys == ["z", "a"])
        #expect(a == b)
        #expect(a.serializedString() == #"{"z":1,"a":2}"#)
    }

    @Test func int64PrecisionSurvives() throws {
        let v = try JSON.parse(#"{"n":9007199254740993}"#)
        #expect(v["n"]?.int64Value == 9_007_199_254_740_993)
        #expect(v.serializedString() == #"{"n":9007199254740993}"#)
    }

    @Test(arguments: ["", "{", "[1,]", #"{"a" 1}"#, "01", "1.", "-", "tru", #""\x""#, "[1] 2", #""\ud800x""#, "nul"])
    func malformedInputIsRejected(_ text: String) {
        if text == #""\ud800x""# {
            // A lone surrogate is replaced, as Go does, not rejected.
            #expect((try? JSON.parse(text))?.stringValue == "\u{FFFD}x")
            return
        }
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test func parsingCanLeaveOutOneMember() throws {
        let doc = #"{"metadata":{"name":"a","managedFields":[{"f":{"x":[1,"\"]"]}}],"uid":"u"},"spec":{"managedFields":1}}"#
        let parsed = try JSON.parse(Array(doc.utf8), omitting: ["metadata", "managedFields"])
        #expect(parsed == ["metadata": ["name": "a", "uid": "u"], "spec": ["managedFields": 1]])
        // What is left out is still checked.
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(#"{"metadata":{"managedFields":[1,]}}"#.utf8), omitting: ["metadata", "managedFields"]) }
    }

    @Test func rangeOfTopLevelMember() throws {
        let doc = Array(#"{"kind":"Pod", "metadata" : {"name":"a}","labels":{"x":"y"}},"spec":{}}"#.utf8)
        let range = try #require(JSON.rangeOfMember("metadata", in: doc))
        #expect(try JSON.parse(doc[range]) == ["name": "a}", "labels": ["x": "y"]])
        #expect(JSON.rangeOfMember("status", in: doc) == nil)
        #expect(JSON.rangeOfMember("metadata", in: Array("[1]".utf8)) == nil)
    }

    @Test func stringsWithAndWithoutEscapesSerialize() throws {
        for s in ["plain", "a longer plain string over fifteen bytes", "quote\"back\\slash", "tab\tnew\nline\u{1}", "ünïcødé"] {
            #expect(try JSON.parse(JSON.string(s).serialized()) == .string(s))
        }
        #expect(JSON.string("a\"b").serializedString() == #""a\"b""#)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSON.parse(deep) }
    }

    @Test func surrogatePairsAndEscapes() throws {
        let v = try JSON.parse(#""\ud83d\ude00 \n""#)
        #expect(v.stringValue == "😀 \n")
        #expect(JSON.string("a\u{01}b").serializedString() == #""a\u0001b""#)
    }

    @Test func pathAccessors() {
        var v: JSON = [:]
        v[path: ["metadata", "labels", "app"]] = "web"
        #expect(v.serializedString() == #"{"metadata":{"labels":{"app":"web"}}}"#)
        v[path: ["metadata", "labels", "app"]] = nil
        #expect(v.serializedString() == #"{"metadata":{"labels":{}}}"#)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0),
        ("2024-02-29T12:34:56Z", 1_709_210_096),
        ("2026-11-27T07:00:00+01:00", 1_795_759_200),
        ("1999-12-31T23:59:59.123456Z", 946_684_799),
    ])
    func parsesRFC3339(_ text: String, _ seconds: Int64) throws {
        let t = try #require(Timestamp(rfc3339: text))
        #expect(t.seconds == seconds)
    }

    @Test func formatsAsKubernetesDoes() {
        let t = Timestamp(seconds: 1_709_210_096, nanoseconds: 123_456_789)
        #expect(t.rfc3339 == "2024-02-29T12:34:56Z")
        #expect(t.rfc3339Micro == "2024-02-29T12:34:56.123456Z")
        #expect(Timestamp(rfc3339: "not a time") == nil)
        #expect(Timestamp(rfc3339: "2024-13-01T00:00:00Z") == nil)
    }

    @Test(arguments: [(5, "5s"), (119, "119s"), (120, "2m"), (150, "2m30s"), (600, "10m"), (7200, "120m"), (10800, "3h"),
                      (11100, "3h5m"), (90000, "25h"), (180000, "2d2h"), (864000, "10d"), (63_072_000, "2y"), (-10, "<invalid>")])
    func humanDurations(_ seconds: Int64, _ text: String) {
        #expect(Timestamp.humanDuration(seconds: seconds) == text)
    }
}

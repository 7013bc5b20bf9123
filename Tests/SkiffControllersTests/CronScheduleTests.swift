import Foundation
import SkiffAPI
import SkiffCore
import Testing

@Suite struct CronScheduleTests {
    static func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    /// (schedule, after, the next times) — in UTC unless the schedule names a zone.
    static let schedules: [(String, String, [String])] = [
        ("* * * * *", "2026-01-01T00:00:00Z", ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]),
        ("*/15 * * * *", "2026-01-01T00:07:30Z", ["2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"]),
        ("5/20 * * * *", "2026-01-01T00:00:00Z", ["2026-01-01T00:05:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:05:00Z"]),
        ("0 9-17/4 * * *", "2026-01-01T10:00:00Z", ["2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"]),
        ("0,30 8 * * *", "2026-01-01T08:10:00Z", ["2026-01-01T08:30:00Z", "2026-01-02T08:00:00Z"]),
        ("0 0 1 jan,JUL *", "2026-03-01T00:00:00Z", ["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"]),
        ("0 12 * * mon-fri", "2026-01-02T12:00:00Z", ["2026-01-05T12:00:00Z", "2026-01-06T12:00:00Z"]),  // Friday → Monday
        ("0 12 ? * SUN", "2026-01-01T00:00:00Z", ["2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"]),
        // Both day fields restricted: either matches (the 13th, or any Friday).
        ("0 0 13 * 5", "2026-02-01T00:00:00Z", ["2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z"]),
        ("0 0 29 2 *", "2026-01-01T00:00:00Z", ["2028-02-29T00:00:00Z"]),
        ("@hourly", "2026-01-01T10:59:59Z", ["2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"]),
        ("@daily", "2026-01-01T10:00:00Z", ["2026-01-02T00:00:00Z"]),
        ("@midnight", "2026-01-01T10:00:00Z", ["2026-01-02T00:00:00Z"]),
        ("@weekly", "2026-01-01T10:00:00Z", ["2026-01-04T00:00:00Z"]),
        ("@monthly", "2026-01-15T10:00:00Z", ["2026-02-01T00:00:00Z"]),
        ("@yearly", "2026-01-15T10:00:00Z", ["2027-01-01T00:00:00Z"]),
        ("@annually", "2026-01-15T10:00:00Z", ["2027-01-01T00:00:00Z"]),
        ("@every 90s", "2026-01-01T00:00:00Z", ["2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z"]),
        // Time zones: 09:00 in Tokyo is 00:00 UTC.
        ("TZ=Asia/Tokyo 0 9 * * *", "2026-01-01T01:00:00Z", ["2026-01-02T00:00:00Z"]),
        // New York springs forward on 2026-03-08 (02:00 → 03:00): 02:30 does not exist that day.
        ("TZ=America/New_York 30 2 * * *", "2026-03-07T08:00:00Z", ["2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"]),
        ("TZ=America/New_York 0 9 * * *", "2026-03-07T15:00:00Z", ["2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"]),
        // ...and falls back on 2026-11-01 (02:00 → 01:00): 01:30 happens twice, and fires twice.
        ("TZ=America/New_York 30 1 * * *", "2026-11-01T04:00:00Z", ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
        ("CRON_TZ=Europe/Berlin 0 0 * * *", "2026-06-01T00:00:00Z", ["2026-06-01T22:00:00Z"]),
    ]

    @Test(arguments: schedules)
    func nextTimes(_ spec: String, _ after: String, _ expected: [String]) throws {
        let schedule = try CronSchedule(parsing: spec)
        var t = Self.at(after)
        var got: [String] = []
        for _ in expected {
            guard let n = schedule.next(after: t) else { break }
            got.append(n.rfc3339)
            t = n
        }
        #expect(got == expected, "\(spec)")
    }

    @Test func anImpossibleDateHasNoNextTime() throws {
        #expect(try CronSchedule(parsing: "0 0 30 2 *").next(after: Self.at("2026-01-01T00:00:00Z")) == nil)
    }

    /// robfig/cron's messages, which upstream's validation returns.
    static let invalid: [(String, String)] = [
        ("", "empty spec string"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* 5-2 * * *", "beginning of range (5) beyond end of range (2): 5-2"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("* * * 13 *", "end of range (13) above maximum (12): 13"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("*/2/3 * * * *", "too many slashes: */2/3"),
        ("x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"),
        ("* * * foo *", "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
    ]

    @Test(arguments: invalid)
    func rejects(_ spec: String, _ message: String) {
        do {
            _ = try CronSchedule(parsing: spec)
            Issue.record("\(spec) parsed")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func timeZonesAreIANANames() {
        #expect(CronSchedule.zone("Europe/Paris") != nil)
        #expect(CronSchedule.zone("UTC") != nil)
        #expect(CronSchedule.zone("Etc/GMT+5") != nil)
        #expect(CronSchedule.zone("Mars/Olympus") == nil)
        #expect(CronSchedule.zone("../etc/passwd") == nil)
        #expect(CronSchedule.zone("-Europe") == nil)
    }

    @Test func formatsTimesInTheZoneAsGoDoes() throws {
        let t = Self.at("2026-07-01T10:00:00Z")
        #expect(CronSchedule.rfc3339(t, in: try #require(TimeZone(identifier: "UTC"))) == "2026-07-01T10:00:00Z")
        #expect(CronSchedule.rfc3339(t, in: try #require(TimeZone(identifier: "Europe/Paris"))) == "2026-07-01T12:00:00+02:00")
        #expect(CronSchedule.rfc3339(t, in: try #require(TimeZone(identifier: "America/St_Johns"))) == "2026-07-01T07:30:00-02:30")
    }
}

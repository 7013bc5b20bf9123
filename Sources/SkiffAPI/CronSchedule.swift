import Foundation
import SkiffCore

/// A CronJob schedule as upstream reads it (robfig/cron v3's standard parser, written
/// here because no Swift library matches its grammar and errors): five fields (minute,
/// hour, day of month, month, day of week) with lists, ranges, steps, month and weekday
/// names, `?` for `*`; the descriptors @yearly @annually @monthly @weekly @daily
/// @midnight @hourly and @every <duration>; an optional `TZ=` / `CRON_TZ=` prefix. The
/// API server validates with it and the CronJob controller schedules with it.
public struct CronSchedule: Sendable, Equatable {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    enum Spec: Equatable {
        case fields(minute: UInt64, hour: UInt64, dayOfMonth: UInt64, month: UInt64, dayOfWeek: UInt64)
        /// @every: a fixed delay in whole seconds.
        case every(Int64)
    }

    let spec: Spec
    /// The zone the fields are read in (the `TZ=` prefix, else UTC).
    public let timeZone: TimeZone

    /// Set when a field is `*` or `?` (robfig's starBit): decides the day-of-month /
    /// day-of-week rule.
    static let star: UInt64 = 1 << 63

    struct Bounds {
        let min: Int
        let max: Int
        var names: [String: Int] = [:]
    }

    static let minutes = Bounds(min: 0, max: 59)
    static let hours = Bounds(min: 0, max: 23)
    static let daysOfMonth = Bounds(min: 1, max: 31)
    static let months = Bounds(min: 1, max: 12, names: ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
                                                        "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12])
    static let daysOfWeek = Bounds(min: 0, max: 6, names: ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6])

    static let descriptors = ["@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
                              "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"]

    /// Parses as robfig/cron's ParseStandard, with its error messages.
    public init(parsing text: String) throws(ParseError) {
        var rest = text.trimmingCharacters(in: .whitespaces)
        guard !rest.isEmpty else { throw ParseError(description: "empty spec string") }
        var zone = TimeZone(identifier: "UTC") ?? TimeZone.current
        if rest.hasPrefix("TZ=") || rest.hasPrefix("CRON_TZ=") {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            let name = String(rest[..<end].drop { $0 != "=" }.dropFirst())
            guard let z = Self.zone(name) else { throw ParseError(description: "provided bad location \(name): unknown time zone \(name)") }
            zone = z
            rest = String(rest[end...]).trimmingCharacters(in: .whitespaces)
        }
        timeZone = zone
        if rest.hasPrefix("@every ") {
            let duration = String(rest.dropFirst("@every ".count))
            guard let seconds = Self.goDurationSeconds(duration) else {
                throw ParseError(description: "failed to parse duration @every \(duration): time: invalid duration \"\(duration)\"")
            }
            spec = .every(max(1, seconds))
            return
        }
        if rest.hasPrefix("@") {
            guard let expanded = Self.descriptors[rest.lowercased()] else { throw ParseError(description: "unrecognized descriptor: \(rest)") }
            rest = expanded
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(description: "expected exactly 5 fields, found \(fields.count): [\(fields.joined(separator: " "))]")
        }
        spec = .fields(minute: try Self.field(fields[0], Self.minutes), hour: try Self.field(fields[1], Self.hours),
                       dayOfMonth: try Self.field(fields[2], Self.daysOfMonth), month: try Self.field(fields[3], Self.months),
                       dayOfWeek: try Self.field(fields[4], Self.daysOfWeek))
    }

    /// An IANA zone name as Go's time.LoadLocation accepts it ("UTC" and "" are UTC).
    public static func zone(_ name: String) -> TimeZone? {
        if name.isEmpty || name == "UTC" { return TimeZone(identifier: "UTC") }
        let valid = name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part.count <= 14 && part != "." && part != ".." && !part.hasPrefix("-")
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_+".contains($0)) }
        }
        guard valid, let zone = TimeZone(identifier: name), zone.identifier == name else { return nil }
        return zone
    }

    static func field(_ text: String, _ bounds: Bounds) throws(ParseError) -> UInt64 {
        var bits: UInt64 = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) { bits |= try range(String(part), bounds) }
        return bits
    }

    static func range(_ expr: String, _ b: Bounds) throws(ParseError) -> UInt64 {
        let rangeAndStep = expr.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let lowAndHigh = rangeAndStep[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        var start: Int, end: Int, step = 1
        var extra: UInt64 = 0
        if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
            (start, end, extra) = (b.min, b.max, star)
        } else {
            start = try intOrName(lowAndHigh[0], b.names)
            switch lowAndHigh.count {
            case 1: end = start
            case 2: end = try intOrName(lowAndHigh[1], b.names)
            default: throw ParseError(description: "too many hyphens: \(expr)")
            }
        }
        switch rangeAndStep.count {
        case 1: break
        case 2:
            step = try int(rangeAndStep[1])
            // "N/step" means "N-max/step".
            if lowAndHigh.count == 1 { end = b.max }
            if step > 1 { extra = 0 }
        default: throw ParseError(description: "too many slashes: \(expr)")
        }
        if start < b.min { throw ParseError(description: "beginning of range (\(start)) below minimum (\(b.min)): \(expr)") }
        if end > b.max { throw ParseError(description: "end of range (\(end)) above maximum (\(b.max)): \(expr)") }
        if start > end { throw ParseError(description: "beginning of range (\(start)) beyond end of range (\(end)): \(expr)") }
        if step == 0 { throw ParseError(description: "step of range should be a positive number: \(expr)") }
        var bits = extra
        for v in stride(from: start, through: end, by: step) { bits |= 1 << UInt64(v) }
        return bits
    }

    static func intOrName(_ s: String, _ names: [String: Int]) throws(ParseError) -> Int {
        if let n = names[s.lowercased()] { return n }
        return try int(s)
    }

    static func int(_ s: String) throws(ParseError) -> Int {
        guard let n = Int(s) else { throw ParseError(description: "failed to parse int from \(s): strconv.Atoi: parsing \"\(s)\": invalid syntax") }
        if n < 0 { throw ParseError(description: "negative number (\(n)) not allowed: \(s)") }
        return n
    }

    /// Go's time.ParseDuration for whole units h, m, s (what @every is used with), in
    /// seconds, truncated as robfig does.
    static func goDurationSeconds(_ s: String) -> Int64? {
        var total = 0.0
        var number = ""
        var sawUnit = false
        var chars = Array(s)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c.isNumber || c == "." { number.append(c); continue }
            var unit = String(c)
            if c == "m", chars.first == "s" { unit = "ms"; chars = chars.dropFirst() }
            guard let v = Double(number), let scale = ["h": 3600.0, "m": 60, "s": 1, "ms": 0.001][unit] else { return nil }
            total += v * scale
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { return nil }
        return Int64(total)
    }

    /// The first activation strictly after `t` (robfig's SpecSchedule.Next: wall-clock
    /// fields in the zone, so a time skipped by a DST change does not fire that day and
    /// one repeated by it fires twice), or nil when none comes within five years.
    public func next(after t: Timestamp) -> Timestamp? {
        guard case let .fields(minute, hour, dayOfMonth, month, dayOfWeek) = spec else {
            if case let .every(seconds) = spec { return Timestamp(seconds: t.seconds + seconds) }
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        func wall(_ t: Timestamp) -> DateComponents {
            calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: Date(timeIntervalSince1970: TimeInterval(t.seconds)))
        }
        func date(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int) -> Timestamp {
            var (y, mo, d) = (y, mo, d)
            if mo > 12 { (y, mo) = (y + 1, mo - 12) }
            if d > Self.daysIn(y, mo) { (d, mo) = (1, mo + 1) }
            if mo > 12 { (y, mo) = (y + 1, 1) }
            let date = calendar.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi)) ?? Date(timeIntervalSince1970: 0)
            return Timestamp(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        }
        func has(_ bits: UInt64, _ v: Int?) -> Bool { bits & (1 << UInt64(v ?? 0)) != 0 }
        func dayMatches(_ w: DateComponents) -> Bool {
            let dom = has(dayOfMonth, w.day), dow = has(dayOfWeek, (w.weekday ?? 1) - 1)
            // Both restricted: either may match (cron's OR rule).
            return (dayOfMonth & Self.star != 0 || dayOfWeek & Self.star != 0) ? dom && dow : dom || dow
        }

        var t = Timestamp(seconds: t.seconds + 1)
        var added = false
        let yearLimit = (wall(t).year ?? 0) + 5
        wrap: while true {
            var w = wall(t)
            if (w.year ?? 0) > yearLimit { return nil }
            while !has(month, w.month) {
                if !added {
                    added = true
                    t = date(w.year!, w.month!, 1, 0, 0)
                    w = wall(t)
                }
                t = date(w.year!, w.month! + 1, w.day!, w.hour!, w.minute!)
                w = wall(t)
                if w.month == 1 { continue wrap }
            }
            while !dayMatches(w) {
                if !added {
                    added = true
                    t = date(w.year!, w.month!, w.day!, 0, 0)
                    w = wall(t)
                }
                t = date(w.year!, w.month!, w.day! + 1, w.hour!, w.minute!)
                w = wall(t)
                // Midnight may have moved by a DST change: back to the day's start.
                if let h = w.hour, h != 0 {
                    t = t.adding(seconds: Int64(h > 12 ? 24 - h : -h) * 3600)
                    w = wall(t)
                }
                if w.day == 1 { continue wrap }
            }
            while !has(hour, w.hour) {
                if !added {
                    added = true
                    t = date(w.year!, w.month!, w.day!, w.hour!, 0)
                }
                t = t.adding(seconds: 3600)
                w = wall(t)
                if w.hour == 0 { continue wrap }
            }
            while !has(minute, w.minute) {
                if !added {
                    added = true
                    t = Timestamp(seconds: t.seconds - ((t.seconds % 60) + 60) % 60)
                }
                t = t.adding(seconds: 60)
                w = wall(t)
                if w.minute == 0 { continue wrap }
            }
            if w.second != 0 {
                added = true
                t = Timestamp(seconds: t.seconds - ((t.seconds % 60) + 60) % 60 + 60)
                continue wrap
            }
            return t
        }
    }

    static func daysIn(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `t` in RFC 3339 with the zone's offset ("Z" when it is zero), as Go formats a
    /// time in a location.
    public static func rfc3339(_ t: Timestamp, in zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.seconds)))
        let local = Timestamp(seconds: t.seconds + Int64(offset)).rfc3339
        guard offset != 0 else { return local }
        let sign = offset < 0 ? "-" : "+"
        let h = abs(offset) / 3600, m = abs(offset) % 3600 / 60
        return String(local.dropLast()) + sign + (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }
}

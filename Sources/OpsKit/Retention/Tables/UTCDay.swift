/// A UTC calendar day as a count of days since 1970-01-01, converted by arithmetic (Howard
/// Hinnant's civil-from-days): planning 100,000 partitions must not pay for a `DateFormatter` or
/// a `Calendar` per partition.
package struct UTCDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var daysSinceEpoch: Int

    package init(daysSinceEpoch: Int) { self.daysSinceEpoch = daysSinceEpoch }

    /// Nil for a date that does not exist (2026-02-30, month 13).
    package init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(year: year, month: month) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        daysSinceEpoch = era * 146_097 + dayOfEra - 719_468
    }

    /// The day holding `seconds` since the epoch.
    package init(containing seconds: Double) {
        daysSinceEpoch = Int((seconds / 86400).rounded(.down))
    }

    package var civil: (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Midnight UTC starting the day, in seconds since the epoch.
    package var start: Double { Double(daysSinceEpoch) * 86400 }

    package func adding(days: Int) -> UTCDay { UTCDay(daysSinceEpoch: daysSinceEpoch + days) }

    /// The last day of this day's month.
    package var lastOfMonth: UTCDay {
        let (y, m, d) = civil
        return adding(days: Self.daysIn(year: y, month: m) - d)
    }

    /// `2026-11-26`.
    package var description: String {
        let (y, m, d) = civil
        return Self.digits(y, 4) + "-" + Self.digits(m, 2) + "-" + Self.digits(d, 2)
    }

    package static func < (lhs: UTCDay, rhs: UTCDay) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    package static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `2026-11-30T10:00Z`, with `:SS` only when the seconds are not zero.
    package static func timestamp(_ seconds: Double) -> String {
        let day = UTCDay(containing: seconds)
        let inDay = Int(seconds - day.start)
        var out = day.description + "T" + digits(inDay / 3600, 2) + ":" + digits(inDay / 60 % 60, 2)
        if inDay % 60 != 0 { out += ":" + digits(inDay % 60, 2) }
        return out + "Z"
    }

    private static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

extension UTCDay {
    /// `2026-11-26` as ClickHouse prints a Date; nil for its zero `0000-00-00` (no date known)
    /// and anything else. Read byte by byte: 100,000 parts are parsed per plan.
    package init?(clickHouse text: String) {
        guard let (y, m, d, _) = Self.fields(text, time: false) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// `2026-11-26 10:00:00` as ClickHouse prints a DateTime (in UTC), in seconds since the epoch;
    /// nil for its zero `0000-00-00 00:00:00` and anything else.
    package static func seconds(clickHouse text: String) -> Double? {
        guard let (y, m, d, s) = fields(text, time: true), let day = UTCDay(year: y, month: m, day: d) else { return nil }
        return day.start + Double(s)
    }

    private static func fields(_ text: String, time: Bool) -> (Int, Int, Int, Int)? {
        let bytes = Array(text.utf8)
        guard bytes.count == (time ? 19 : 10) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[from..<from + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let y = number(0, 4), let m = number(5, 2), let d = number(8, 2), y > 0 else { return nil }
        guard time else { return (y, m, d, 0) }
        guard bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let h = number(11, 2), let mi = number(14, 2), let s = number(17, 2), h < 24, mi < 60, s < 60 else { return nil }
        return (y, m, d, h * 3600 + mi * 60 + s)
    }
}

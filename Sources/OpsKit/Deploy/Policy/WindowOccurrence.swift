import Foundation

/// One opening of a maintenance window: the weekly window on Saturday 2026-12-05 from 02:00 to
/// 04:00 UTC. The start is inside it, the end is not: 03:59:59 is in, 04:00:00 is out.
package struct WindowOccurrence: Sendable, Equatable, CustomStringConvertible {
    package var window: MaintenanceWindow
    package var start: Date
    package var end: Date

    package init(window: MaintenanceWindow, start: Date, end: Date) {
        self.window = window
        self.start = start
        self.end = end
    }

    package func contains(_ instant: Date) -> Bool { start <= instant && instant < end }

    /// `weekly, Saturday 2026-12-05 02:00–04:00 UTC`; a window crossing midnight names both
    /// days: `nightly, Saturday 2026-12-05 22:00 – Sunday 2026-12-06 02:00 UTC`.
    package var description: String { "\(window.name), \(span)" }

    /// `Saturday 2026-12-05 02:00–04:00 UTC`.
    package var span: String {
        let from = UTCInstant(start), to = UTCInstant(end)
        if from.day == to.day {
            return "\(from.weekdayName) \(from.date) \(from.time)–\(to.time) UTC"
        }
        return "\(from.weekdayName) \(from.date) \(from.time) – \(to.weekdayName) \(to.date) \(to.time) UTC"
    }

    /// `2d 12h`, `1h 30m`, `45m`, `20s`: how long from `instant` until `date`, in its two largest
    /// units, rounded down (a window 2d 12h 59m away opens "in 2d 12h").
    package static func wait(from instant: Date, until date: Date) -> String {
        let total = max(0, Int(date.timeIntervalSince(instant).rounded(.down)))
        let (d, h, m, s) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
        if d > 0 { return h > 0 ? "\(d)d \(h)h" : "\(d)d" }
        if h > 0 { return m > 0 ? "\(h)h \(m)m" : "\(h)h" }
        return m > 0 ? "\(m)m" : "\(s)s"
    }

    /// For the journal and `-o json`: name, ISO 8601 start and end, and what it admits.
    package var json: JSONValue {
        [
            "name": .string(window.name),
            "start": .string(UTCInstant(start).iso8601),
            "end": .string(UTCInstant(end).iso8601),
            "admits": .string(window.admits.rawValue),
        ]
    }
}

/// An instant taken apart in UTC: the day number since 1970-01-01 (a Thursday), which makes
/// weekdays plain arithmetic, and the civil date from a UTC Gregorian calendar, so window
/// arithmetic never depends on the host's time zone.
struct UTCInstant {
    /// Days since 1970-01-01.
    var day: Int
    /// Seconds since that day's midnight.
    var secondOfDay: Int
    var year: Int
    var month: Int
    var dayOfMonth: Int

    init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        day = Int((Double(seconds) / 86400).rounded(.down))
        secondOfDay = seconds - day * 86400
        let c = Self.calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(day * 86400)))
        (year, month, dayOfMonth) = (c.year!, c.month!, c.day!)
    }

    /// 1 = Sunday … 7 = Saturday, as `MaintenanceWindow` numbers weekdays.
    static func weekday(day: Int) -> Int { ((day + 4) % 7 + 7) % 7 + 1 }

    static func dayOfMonth(day: Int) -> Int {
        calendar.component(.day, from: Date(timeIntervalSince1970: Double(day * 86400)))
    }

    var weekdayName: String { MaintenanceWindow.weekdays[Self.weekday(day: day) - 1].capitalized }
    /// `2026-12-05`.
    var date: String { String(format: "%04d-%02d-%02d", year, month, dayOfMonth) }
    /// `02:00`, or `02:00:30` when not on a whole minute.
    var time: String {
        let (h, m, s) = (secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
        return s == 0 ? String(format: "%02d:%02d", h, m) : String(format: "%02d:%02d:%02d", h, m, s)
    }

    /// `2026-12-05T02:00:00Z`.
    var iso8601: String {
        date + String(format: "T%02d:%02d:%02dZ", secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

import Foundation

/// A CronJob schedule (five fields, names, ranges, steps, lists, and the `@hourly`-style
/// macros), read to answer one question: what is the longest time between two runs? That is the
/// most data a backup schedule can lose, to compare with the RPO.
package struct CronSchedule: Sendable, Equatable {
    package var minutes: Set<Int>
    package var hours: Set<Int>
    package var daysOfMonth: Set<Int>
    package var months: Set<Int>
    package var daysOfWeek: Set<Int>
    /// Cron's rule: when both day fields are restricted, a day matches either one.
    package var dayOfMonthRestricted: Bool
    package var dayOfWeekRestricted: Bool

    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses a schedule; nil when it is not one (the message says why).
    package static func parse(_ text: String) -> Result<CronSchedule, CronError> {
        var fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if let first = fields.first, first.hasPrefix("CRON_TZ=") || first.hasPrefix("TZ=") { fields.removeFirst() }
        if fields.count == 1 {
            switch fields[0].lowercased() {
            case "@yearly", "@annually": fields = ["0", "0", "1", "1", "*"]
            case "@monthly": fields = ["0", "0", "1", "*", "*"]
            case "@weekly": fields = ["0", "0", "*", "*", "0"]
            case "@daily", "@midnight": fields = ["0", "0", "*", "*", "*"]
            case "@hourly": fields = ["0", "*", "*", "*", "*"]
            default: return .failure(CronError("unknown schedule '\(text)'"))
            }
        }
        guard fields.count == 5 else { return .failure(CronError("'\(text)' has \(fields.count) fields; a schedule has 5 (minute hour day month weekday)")) }
        do {
            var dow = try field(fields[4], 0...7, names: dayNames, what: "weekday")
            if dow.remove(7) != nil { dow.insert(0) }
            return .success(CronSchedule(
                minutes: try field(fields[0], 0...59, what: "minute"),
                hours: try field(fields[1], 0...23, what: "hour"),
                daysOfMonth: try field(fields[2], 1...31, what: "day of month"),
                months: try field(fields[3], 1...12, names: monthNames, what: "month"),
                daysOfWeek: dow,
                dayOfMonthRestricted: !["*", "?"].contains(fields[2]),
                dayOfWeekRestricted: !["*", "?"].contains(fields[4])))
        } catch let error as CronError {
            return .failure(error)
        } catch {
            return .failure(CronError("\(error)"))
        }
    }

    private static func field(_ text: String, _ range: ClosedRange<Int>, names: [String] = [], what: String) throws -> Set<Int> {
        var values = Set<Int>()
        func number(_ token: Substring) throws -> Int {
            if let value = Int(token) { return value }
            if let index = names.firstIndex(of: token.lowercased()) { return index + range.lowerBound }
            throw CronError("'\(token)' is not a \(what)")
        }
        for part in text.split(separator: ",") {
            var body = part
            var step = 1
            if let slash = part.firstIndex(of: "/") {
                guard let value = Int(part[part.index(after: slash)...]), value > 0 else { throw CronError("bad step in '\(part)'") }
                step = value
                body = part[..<slash]
            }
            var low = range.lowerBound, high = range.upperBound
            if body == "*" || body == "?" {
                // the whole range
            } else if let dash = body.firstIndex(of: "-") {
                low = try number(body[..<dash])
                high = try number(body[body.index(after: dash)...])
            } else {
                low = try number(body)
                if step == 1 { high = low }
            }
            guard range.contains(low), range.contains(high), low <= high else { throw CronError("'\(part)' is outside \(what)s \(range.lowerBound)-\(range.upperBound)") }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    /// The longest time between two consecutive runs, in seconds, over two years (long enough
    /// for monthly and weekday rules to repeat). Nil if it never runs.
    package var longestGap: Double? {
        // 2024-01-01 was a Monday; months of 2024 (a leap year) and 2025, without a Calendar
        // (this runs for every backup CronJob, and a day at a time).
        let monthLengths = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var calendarDays: [(month: Int, day: Int, weekday: Int)] = []
        for (index, length) in monthLengths.enumerated() {
            for day in 1...length { calendarDays.append((index % 12 + 1, day, (calendarDays.count + 1) % 7)) }
        }
        let sortedHours = hours.sorted(), sortedMinutes = minutes.sorted()
        var previous: Int?
        var first: Int?
        var longest = 0
        let days = calendarDays.count
        for (day, parts) in calendarDays.enumerated() {
            guard months.contains(parts.month) else { continue }
            let domMatch = daysOfMonth.contains(parts.day)
            let dowMatch = daysOfWeek.contains(parts.weekday)
            let matches = dayOfMonthRestricted && dayOfWeekRestricted ? (domMatch || dowMatch) : (domMatch && dowMatch)
            guard matches else { continue }
            for hour in sortedHours {
                for minute in sortedMinutes {
                    let offset = day * 1440 + hour * 60 + minute
                    if let previous { longest = max(longest, offset - previous) }
                    if first == nil { first = offset }
                    previous = offset
                }
            }
        }
        guard let first, let previous else { return nil }
        // Two years hold every gap of a schedule that repeats within a year; one that fires
        // once in two years (29 February) is as good as never for an RPO.
        if first == previous { longest = days * 1440 }
        return Double(longest) * 60
    }
}

/// A schedule that cannot be read.
package struct CronError: Error, Equatable, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

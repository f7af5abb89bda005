import Foundation

/// The sentence a restore prints before it starts: where the data will stand, and for
/// `--to-time` how far short of the requested time that is and why nothing closes the gap.
/// Times are UTC to the minute, with seconds only when they are not zero; the gap is exact to the
/// second.
enum RestoreStatement {
    /// `restores to 2026-11-30 14:05 UTC (backup 20261130T140500Z, full)`, or
    /// `(backup ..., incremental on 20261130T130000Z, chain of 3)`.
    static func backup(_ manifest: BackupManifest, chain: [BackupManifest]) -> String {
        let kind = switch manifest.type {
        case .full: "full"
        case .incremental: "incremental on \(manifest.base ?? "?"), chain of \(chain.count)"
        }
        return "restores to \(time(manifest.snapshotAt)) UTC (backup \(manifest.id), \(kind))"
    }

    /// `restores to 2026-11-30 14:05 UTC, 47 minutes before the requested 14:52; ClickHouse ...`.
    static func toTime(_ snapshot: Date, requested: Date) -> String {
        let snapshotFields = fields(snapshot), requestedFields = fields(requested)
        let gap = requestedFields.seconds - snapshotFields.seconds
        guard gap > 0 else { return "restores to \(time(snapshot)) UTC, exactly the requested time" }
        let requestedText = requestedFields.day == snapshotFields.day ? requestedFields.clock : time(requested)
        return "restores to \(time(snapshot)) UTC, \(duration(gap)) before the requested \(requestedText); "
            + "ClickHouse keeps no log to replay, so data written in between is not recoverable from backups"
    }

    /// `2026-11-30 14:05`, `2026-11-30 14:05:30`.
    static func time(_ date: Date) -> String {
        let f = fields(date)
        return f.day + " " + f.clock
    }

    /// `47 minutes`, `1 hour 3 minutes`, `2 minutes 5 seconds`, `2 days 1 second`.
    static func duration(_ seconds: Int) -> String {
        var rest = seconds
        var parts: [String] = []
        for (unit, size) in [("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)] where rest >= size {
            let count = rest / size
            parts.append("\(count) \(unit)\(count == 1 ? "" : "s")")
            rest %= size
        }
        return parts.isEmpty ? "0 seconds" : parts.joined(separator: " ")
    }

    /// The UTC day and clock of `date`, its fraction of a second dropped.
    private static func fields(_ date: Date) -> (day: String, clock: String, seconds: Int) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
        func pad(_ value: Int?, _ width: Int = 2) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let clock = pad(c.hour) + ":" + pad(c.minute) + (c.second == 0 ? "" : ":" + pad(c.second))
        return (pad(c.year, 4) + "-" + pad(c.month) + "-" + pad(c.day), clock, seconds)
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

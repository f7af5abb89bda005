import Foundation

/// The time `restore --to-time` asks for, as an operator types it during an incident: RFC 3339
/// (`2026-11-30T14:52:00Z`, `2026-11-30T14:52:00.5+01:00`), a UTC wall-clock time
/// (`2026-11-30 14:52`, `2026-11-30 14:52:30`), a time ago (`2h ago`, `1h30m ago`, `3d ago`) or
/// `now`. A time after `now` is refused: no backup can hold it, and it is usually a typo in the
/// date or the offset that would otherwise silently pick the newest backup.
package enum PointInTime {
    static let flag = "--to-time"
    static let forms = "RFC 3339 (2026-11-30T14:52:00Z, 2026-11-30T14:52:00.5+01:00), "
        + "a UTC time (2026-11-30 14:52 or 2026-11-30 14:52:30), a time ago (45s ago, 90m ago, 2h ago, 1h30m ago, 3d ago), or now"

    package static func parse(_ text: String, now: Date) throws -> Date {
        guard let date = read(text.trimmingCharacters(in: .whitespaces), now: now) else {
            throw ValidationError("\(flag) must be a time like 2026-11-30T14:52:00Z, 2026-11-30 14:52 (UTC) or 2h ago, not '\(text)'",
                                  hint: "accepted forms: \(forms)")
        }
        guard date <= now else {
            throw ValidationError("\(flag) '\(text)' is in the future (\(Timestamp.format(date)), now is \(Timestamp.format(now)))",
                                  hint: "a restore can only reach a time that has passed; accepted forms: \(forms)")
        }
        return date
    }

    private static func read(_ text: String, now: Date) -> Date? {
        let lowered = text.lowercased()
        if lowered == "now" { return now }
        let words = lowered.split(whereSeparator: \.isWhitespace)
        if words.count >= 2, words.last == "ago" {
            // `1h 30m ago` reads as `1h30m ago`; DurationParser refuses signs, so no time ahead.
            return DurationParser.seconds(words.dropLast().joined()).map { now.addingTimeInterval(-$0) }
        }
        guard let wallClock = wallClockDigits(text) else { return nil }
        // BackupID's calendar check (month lengths, leap years, hour < 24): LockTime.parse would
        // quietly read 2026-11-31 as 1 December.
        guard BackupID(wallClock) != nil else { return nil }
        if text.wholeMatch(of: #/\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?/#) != nil {
            return LockTime.parse(text + (text.count == 16 ? ":00Z" : "Z"))
        }
        return LockTime.parse(text)
    }

    /// `20261130T145200Z` from the fields at the start of `2026-11-30T14:52[:00]...`.
    private static func wallClockDigits(_ text: String) -> String? {
        let c = Array(text)
        guard c.count >= 16 else { return nil }
        let seconds = c.count >= 19 && c[16] == ":" ? String(c[17..<19]) : "00"
        return String(c[0..<4]) + String(c[5..<7]) + String(c[8..<10]) + "T" + String(c[11..<13]) + String(c[14..<16]) + seconds + "Z"
    }
}

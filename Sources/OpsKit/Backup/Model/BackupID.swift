import Foundation

/// A backup's identity: its UTC start time to the second, `20261130T140500Z`. Ids sort as times
/// do, so the store's own key order is the catalogue's order, and an id says when without a
/// lookup. It is also the folder of the backup in the store (`<root>/<id>/`).
package struct BackupID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package let text: String
    package let time: Date

    package init(time: Date) {
        let seconds = time.timeIntervalSince1970.rounded(.down)
        self.time = Date(timeIntervalSince1970: seconds)
        self.text = Self.formatter.string(from: self.time)
    }

    /// Parses `20261130T140500Z`; nil for anything else (store folders that are not backups).
    /// By hand, not with a DateFormatter: `backup list` parses every folder of the store, and an
    /// ICU formatter per id was a quarter of the instructions of listing 1,000 backups.
    package init?(_ text: String) {
        let c = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in c[range] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard c.count == 16, c[8] == UInt8(ascii: "T"), c[15] == UInt8(ascii: "Z"),
              let year = digits(0..<4), let month = digits(4..<6), let day = digits(6..<8),
              let hour = digits(9..<11), let minute = digits(11..<13), let second = digits(13..<15),
              year >= 1, (1...12).contains(month), hour < 24, minute < 60, second < 60 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        guard day >= 1, day <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        self.text = text
        self.time = Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second))
    }

    package var description: String { text }

    package static func < (lhs: BackupID, rhs: BackupID) -> Bool { lhs.text < rhs.text }

    private static var formatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }
}

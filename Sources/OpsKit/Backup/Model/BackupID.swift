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
    package init?(_ text: String) {
        guard text.count == 16, text.range(of: #"^\d{8}T\d{6}Z$"#, options: .regularExpression) != nil,
              let time = Self.formatter.date(from: text) else { return nil }
        self.text = text
        self.time = time
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

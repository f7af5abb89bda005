import Foundation

/// Dates in attestations, waivers and runbook front matter: `2026-11-20` (a whole UTC day) or an
/// RFC 3339 time. An expiry written as a day lasts to the end of that day: "expires 2026-12-01"
/// is still valid on 1 December, as a person reading it would expect.
package enum EvidenceDate {
    package static func parse(_ text: String) -> (date: Date, dayOnly: Bool)? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.count == 10, let day = dayFormatter.date(from: trimmed) { return (day, true) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let time = formatter.date(from: trimmed) { return (time, false) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let time = formatter.date(from: trimmed) { return (time, false) }
        return nil
    }

    /// The instant an expiry written as `text` passes: the end of the day for a day.
    package static func expiry(_ text: String) -> Date? {
        guard let (date, dayOnly) = parse(text) else { return nil }
        return dayOnly ? date.addingTimeInterval(86400) : date
    }

    /// `2026-11-20`
    package static func day(_ date: Date) -> String { dayFormatter.string(from: date) }

    /// Whole days from `from` to `to`, rounded down (negative when `to` is earlier).
    package static func days(from: Date, to: Date) -> Int {
        Int((to.timeIntervalSince(from) / 86400).rounded(.down))
    }

    private static var dayFormatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.isLenient = false
        return formatter
    }
}

extension ConfigReader {
    /// A date (`2026-11-20` or an RFC 3339 time), with the text as written.
    func date(_ node: YAMLNode, _ path: String) throws -> (date: Date, text: String) {
        guard let text = node.scalar, !node.isNull, let (date, _) = EvidenceDate.parse(text) else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected a date like 2026-11-20 (or an RFC 3339 time), found \(node.scalar.map { "'\($0)'" } ?? node.kindName)")
        }
        return (date, text)
    }

    /// The node under `key`, or an error naming the missing key.
    func required(_ fields: [String: YAMLNode], _ key: String, in node: YAMLNode, _ path: String) throws -> YAMLNode {
        guard let value = fields[key] else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "missing key '\(key)'")
        }
        return value
    }
}

import Foundation

/// A retention tier: keep-last N of a calendar period, each period counted in UTC, so a plan
/// made on a laptop in another timezone keeps exactly what the cluster's job would.
package enum BackupTier: String, Sendable, Hashable, CaseIterable, Comparable {
    /// UTC clock hours (`14:00`-`14:59:59`).
    case hourly
    /// UTC days.
    case daily
    /// ISO 8601 weeks: Monday 00:00 UTC to Sunday 23:59:59 UTC.
    case weekly
    /// UTC calendar months.
    case monthly

    /// How many periods this tier keeps under `policy`.
    package func count(in policy: RetentionPolicy) -> Int {
        switch self {
        case .hourly: policy.hourlyBackups
        case .daily: policy.dailyBackups
        case .weekly: policy.weeklyBackups
        case .monthly: policy.monthlyBackups
        }
    }

    /// The period of this tier that holds `time`.
    package func period(of time: Date) -> BackupPeriod {
        let seconds = Int(time.timeIntervalSince1970.rounded(.down))
        let days = seconds.floorDivided(by: 86_400)
        switch self {
        case .hourly:
            return BackupPeriod(tier: self, index: seconds.floorDivided(by: 3_600))
        case .daily:
            return BackupPeriod(tier: self, index: days)
        case .weekly:
            // 1970-01-01 was a Thursday: shifting by 3 days puts Monday 1969-12-29 at index 0.
            return BackupPeriod(tier: self, index: (days + 3).floorDivided(by: 7))
        case .monthly:
            let date = CivilDate(daysSince1970: days)
            return BackupPeriod(tier: self, index: date.year * 12 + date.month - 1)
        }
    }

    private var order: Int { Self.allCases.firstIndex(of: self)! }
    package static func < (lhs: BackupTier, rhs: BackupTier) -> Bool { lhs.order < rhs.order }
}

/// One hour, day, ISO week or month, in UTC. Periods of a tier are numbered consecutively, so
/// the later period has the larger index.
package struct BackupPeriod: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var tier: BackupTier
    /// Hours, days or weeks since the Unix epoch; months since year 0.
    package var index: Int

    package static func < (lhs: BackupPeriod, rhs: BackupPeriod) -> Bool {
        (lhs.tier, lhs.index) < (rhs.tier, rhs.index)
    }

    /// What an operator reads: `2026-11-30 14:00`, `2026-11-30`, `2026-W49`, `2026-11`.
    package var description: String {
        switch tier {
        case .hourly:
            let date = CivilDate(daysSince1970: index.floorDivided(by: 24))
            return "\(date.text) \(Self.two(index - index.floorDivided(by: 24) * 24)):00"
        case .daily:
            return CivilDate(daysSince1970: index).text
        case .weekly:
            // Week `index` starts on day `index * 7 - 3`, a Monday, so its Thursday is day
            // `index * 7`; the ISO week-numbering year is the year of that Thursday.
            let thursday = index * 7
            let year = CivilDate(daysSince1970: thursday).year
            let week = (thursday - CivilDate(year: year, month: 1, day: 1).daysSince1970) / 7 + 1
            return "\(Self.four(year))-W\(Self.two(week))"
        case .monthly:
            return "\(Self.four(index.floorDivided(by: 12)))-\(Self.two(index - index.floorDivided(by: 12) * 12 + 1))"
        }
    }

    fileprivate static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    fileprivate static func four(_ value: Int) -> String { String(repeating: "0", count: max(0, 4 - String(value).count)) + String(value) }
}

/// A proleptic Gregorian date, converted to and from days since 1970-01-01 by arithmetic
/// (H. Hinnant's civil algorithms), not by Calendar: a plan over a thousand backups asks for
/// four periods each, and Calendar's answer would depend on the process's default calendar.
struct CivilDate: Equatable {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(daysSince1970 days: Int) {
        let shifted = days + 719_468
        let era = shifted.floorDivided(by: 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    var daysSince1970: Int {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDivided(by: 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `2026-11-30`.
    var text: String { "\(BackupPeriod.four(year))-\(BackupPeriod.two(month))-\(BackupPeriod.two(day))" }
}

extension Int {
    /// Division rounding towards minus infinity: times before 1970 fall into the right period.
    fileprivate func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

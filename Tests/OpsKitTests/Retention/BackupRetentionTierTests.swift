import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class BackupRetentionTierTests: XCTestCase {
    typealias F = RetentionFixtures

    /// 400 hourly backups at five past the hour, 2026-12-16 12:05 to 2027-01-02 03:05 UTC, under
    /// the guide's policy: across a month, an ISO week 53 and a year boundary.
    func testFourHundredHourlyBackupsUnderTheGuidesPolicy() {
        let first = F.time("2026-12-16T12:05:00Z")
        let entries = (0..<400).map { F.complete(BackupID(time: first.addingTimeInterval(Double($0) * 3600)).text) }
        let clock = ManualClock("2027-01-02T03:30:00Z")
        let plan = BackupRetentionPlanner(policy: RetentionPolicy()).plan(entries, now: clock.now())

        func kept(by tier: BackupTier) -> [String] {
            plan.decisions.filter { $0.tiers.contains(tier) }.map(\.id.text)
        }
        XCTAssertEqual(kept(by: .hourly), (0..<24).map { BackupID(time: first.addingTimeInterval(Double(399 - $0) * 3600)).text },
                       "the last 24 hours, one backup each")
        XCTAssertEqual(kept(by: .daily), [
            "20270102T000500Z", "20270101T000500Z", "20261231T000500Z", "20261230T000500Z", "20261229T000500Z",
            "20261228T000500Z", "20261227T000500Z",
        ], "the first backup of each of the last 7 UTC days")
        XCTAssertEqual(kept(by: .weekly), ["20261228T000500Z", "20261221T000500Z", "20261216T120500Z"],
                       "Mondays, and the first backup of a week the history starts in; only 3 weeks hold a backup")
        XCTAssertEqual(kept(by: .monthly), ["20270101T000500Z", "20261216T120500Z"])
        XCTAssertEqual(plan.decision("20261228T000500Z")?.keptBecause.map(\.description), ["daily 2026-12-28", "weekly 2026-W53"])
        XCTAssertEqual(plan.decision("20270101T000500Z")?.keptBecause.map(\.description), ["daily 2027-01-01", "monthly 2027-01"])
        XCTAssertEqual(plan.decision("20270102T030500Z")?.keptBecause.map(\.description), ["hourly 2027-01-02 03:00", "newest"])
        XCTAssertEqual(plan.kept.count, 24 + 6 + 2, "daily adds 6 beyond the hourly ones, weekly 2, monthly none")
        XCTAssertEqual(plan.deletionOrder.count, 400 - 32)
        XCTAssertEqual(plan.deletionOrder.first?.text, "20270101T030500Z", "the newest backup no tier keeps")

        // A day later with 24 more hourly backups, the window has moved on by a day.
        clock.advance(by: 86400)
        let later = entries + (400..<424).map { F.complete(BackupID(time: first.addingTimeInterval(Double($0) * 3600)).text) }
        let next = BackupRetentionPlanner(policy: RetentionPolicy()).plan(later, now: clock.now())
        XCTAssertEqual(next.decisions.filter { $0.tiers.contains(.daily) }.last?.id.text, "20261228T000500Z")
        XCTAssertEqual(next.decisions.filter { $0.tiers.contains(.weekly) }.first?.id.text, "20261228T000500Z",
                       "Sunday 2027-01-03 is still in week 2026-W53")
    }

    func testOldestOfPeriodIsBySnapshotTimeNotByID() {
        // The id is when luminatectl started; the snapshot can be a little later (the freeze).
        var early = BackupFixtures.manifest("20261130T100000Z")
        early.snapshotAt = F.time("2026-11-30T10:40:00Z")
        let late = BackupFixtures.manifest("20261130T103000Z")
        let entries = [early, late].map { CatalogueEntry(id: BackupID($0.id)!, state: .complete($0)) }
        let plan = BackupRetentionPlanner(policy: F.policy(hourly: 1, daily: 0, weekly: 0, monthly: 0))
            .plan(entries, now: F.time("2026-11-30T11:00:00Z"))
        XCTAssertEqual(plan.decision("20261130T103000Z")?.keptBecause, [.tier(BackupTier.hourly.period(of: late.snapshotAt))])
        XCTAssertEqual(plan.decision("20261130T100000Z")?.keptBecause, [.newest])
    }

    func testPeriodBoundariesInUTC() {
        func label(_ tier: BackupTier, _ time: String) -> String { tier.period(of: F.time(time)).description }
        XCTAssertEqual(label(.hourly, "2026-12-31T23:59:59Z"), "2026-12-31 23:00")
        XCTAssertEqual(label(.daily, "2026-12-31T23:59:59Z"), "2026-12-31")
        XCTAssertEqual(label(.daily, "2027-01-01T00:00:00Z"), "2027-01-01")
        XCTAssertEqual(label(.weekly, "2027-01-03T23:59:59Z"), "2026-W53", "Sunday ends the week")
        XCTAssertEqual(label(.weekly, "2027-01-04T00:00:00Z"), "2027-W01", "Monday starts one")
        XCTAssertEqual(label(.weekly, "2024-12-30T00:00:00Z"), "2025-W01", "a week belongs to the year of its Thursday")
        XCTAssertEqual(label(.monthly, "2026-12-31T23:59:59Z"), "2026-12")
        XCTAssertEqual(label(.monthly, "2024-02-29T12:00:00Z"), "2024-02")
        XCTAssertEqual(label(.daily, "1969-12-31T23:00:00Z"), "1969-12-31", "before the epoch, rounded down")
        XCTAssertLessThan(BackupTier.weekly.period(of: F.time("2027-01-03T23:59:59Z")),
                          BackupTier.weekly.period(of: F.time("2027-01-04T00:00:00Z")))
    }

    /// The arithmetic against Foundation's ISO 8601 calendar in UTC, over times from 1971 to 2100.
    func testPeriodsAgreeWithTheISOCalendar() {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = SplitMix64(seed: 20261130)
        for _ in 0..<3000 {
            let time = Date(timeIntervalSince1970: Double(random.next(below: 4_102_444_800 - 31_536_000) + 31_536_000))
            let c = calendar.dateComponents([.year, .month, .day, .hour, .weekOfYear, .yearForWeekOfYear], from: time)
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            XCTAssertEqual(BackupTier.hourly.period(of: time).description, "\(c.year!)-\(two(c.month!))-\(two(c.day!)) \(two(c.hour!)):00")
            XCTAssertEqual(BackupTier.daily.period(of: time).description, "\(c.year!)-\(two(c.month!))-\(two(c.day!))")
            XCTAssertEqual(BackupTier.weekly.period(of: time).description, "\(c.yearForWeekOfYear!)-W\(two(c.weekOfYear!))", "\(time)")
            XCTAssertEqual(BackupTier.monthly.period(of: time).description, "\(c.year!)-\(two(c.month!))")
        }
    }
}

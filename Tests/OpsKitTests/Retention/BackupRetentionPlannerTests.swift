import XCTest
@testable import OpsKit

final class BackupRetentionPlannerTests: XCTestCase {
    typealias F = RetentionFixtures

    /// Monday 2026-11-30 15:30 UTC over a small policy: every rule applies at least once.
    func testAHandBuiltHistory() {
        let entries = [
            F.complete("20261015T020000Z"),
            F.complete("20261120T010000Z"),
            F.complete("20261128T000000Z"),
            F.incomplete("20261128T120000Z"),
            F.complete("20261129T100000Z", base: "20261128T000000Z"),
            F.complete("20261130T000000Z"),
            F.complete("20261130T140000Z", base: "20261130T000000Z"),
            F.complete("20261130T141500Z", base: "20261130T140000Z"),
            F.complete("20261130T150000Z", base: "20261130T141500Z"),
            F.incomplete("20261130T152000Z"),
        ]
        let planner = BackupRetentionPlanner(policy: F.policy(hourly: 2, daily: 2, weekly: 1, monthly: 1))
        let plan = planner.plan(entries.shuffled(), now: F.time("2026-11-30T15:30:00Z"))

        XCTAssertEqual(plan.decisions.map(\.id.text), entries.map(\.id.text).reversed(), "newest first")
        XCTAssertEqual(F.reasons(plan, "20261130T152000Z"), ["incomplete, may still be running"])
        XCTAssertEqual(F.reasons(plan, "20261130T150000Z"), ["hourly 2026-11-30 15:00", "newest"])
        XCTAssertEqual(F.reasons(plan, "20261130T141500Z"), ["base of 20261130T150000Z"])
        XCTAssertEqual(F.reasons(plan, "20261130T140000Z"), ["hourly 2026-11-30 14:00", "base of 20261130T141500Z"],
                       "the oldest of the 14:00 hour")
        XCTAssertEqual(F.reasons(plan, "20261130T000000Z"), ["daily 2026-11-30", "weekly 2026-W49", "base of 20261130T140000Z"])
        XCTAssertEqual(F.reasons(plan, "20261129T100000Z"), ["daily 2026-11-29"])
        XCTAssertEqual(F.reasons(plan, "20261128T120000Z"), ["delete: incomplete for 2d 3h, longer than 1d"])
        XCTAssertEqual(F.reasons(plan, "20261128T000000Z"), ["base of 20261129T100000Z"])
        XCTAssertEqual(F.reasons(plan, "20261120T010000Z"), ["monthly 2026-11"], "the oldest of November")
        XCTAssertEqual(F.reasons(plan, "20261015T020000Z"), ["delete: no tier keeps it"])

        XCTAssertEqual(plan.deletionOrder.map(\.text), ["20261128T120000Z", "20261015T020000Z"])
        XCTAssertEqual(plan.decisions.filter(\.isKeptOnlyAsBase).map(\.id.text), ["20261130T141500Z", "20261128T000000Z"])
        XCTAssertEqual(plan.decision("20261130T000000Z")?.tiers, [.daily, .weekly])
    }

    func testTheTextAndJSONOfAPlan() {
        let entries = [
            F.complete("20261129T100000Z"),
            F.complete("20261130T140000Z"),
            F.complete("20261130T141500Z", base: "20261130T140000Z"),
            F.incomplete("20261128T120000Z"),
        ]
        let plan = BackupRetentionPlanner(policy: F.policy(hourly: 1, daily: 0, weekly: 0, monthly: 0))
            .plan(entries, now: F.time("2026-11-30T15:30:00Z"))
        XCTAssertEqual(plan.textLines, [
            "Backups: keep 2, delete 2 (hourly 1, daily 0, weekly 0, monthly 0; incomplete after 1d)",
            "  keep    20261130T141500Z  incremental  newest",
            "  keep    20261130T140000Z  full         hourly 2026-11-30 14:00, base of 20261130T141500Z",
            "  delete  20261129T100000Z  full         no tier keeps it",
            "  delete  20261128T120000Z  incomplete   incomplete for 2d 3h, longer than 1d",
            "Deletion order (incrementals before their bases): 20261129T100000Z, 20261128T120000Z",
        ])
        let json = plan.json
        XCTAssertEqual(json["kept"], 2)
        XCTAssertEqual(json["deleted"], 2)
        XCTAssertEqual(json[path: "policy.hourly"], 1)
        XCTAssertEqual(json[path: "policy.incompleteMaxAgeSeconds"], 86400)
        XCTAssertEqual(json["deletionOrder"], ["20261129T100000Z", "20261128T120000Z"])
        XCTAssertEqual(json["backups"]?[1], [
            "id": "20261130T140000Z", "state": "complete", "type": "full", "base": nil, "action": "keep",
            "tiers": ["hourly"], "keptOnlyAsBase": false,
            "reasons": [
                ["reason": "tier", "tier": "hourly", "period": "2026-11-30 14:00", "text": "hourly 2026-11-30 14:00"],
                ["reason": "baseOf", "dependent": "20261130T141500Z", "text": "base of 20261130T141500Z"],
            ],
        ])
        XCTAssertEqual(json["backups"]?[3]?["reasons"]?[0], [
            "reason": "incompleteTooOld", "ageSeconds": 185_400, "limitSeconds": 86400,
            "text": "incomplete for 2d 3h, longer than 1d",
        ])
    }

    func testAKeptIncrementalKeepsItsWholeChain() {
        // A weekly full and daily incrementals, each on the one before: keeping the newest keeps all.
        var entries = [F.complete("20261123T000000Z")]
        for day in 24...29 { entries.append(F.complete("202611\(day)T000000Z", base: "202611\(day - 1)T000000Z")) }
        let plan = BackupRetentionPlanner(policy: F.policy(hourly: 0, daily: 0, weekly: 0, monthly: 0))
            .plan(entries, now: F.time("2026-11-29T01:00:00Z"))
        XCTAssertEqual(plan.deletionOrder, [])
        XCTAssertEqual(F.reasons(plan, "20261129T000000Z"), ["newest"])
        for day in 23...28 {
            XCTAssertEqual(F.reasons(plan, "202611\(day)T000000Z"), ["base of 202611\(day + 1)T000000Z"])
        }
    }

    func testDeletionRemovesIncrementalsBeforeTheirBases() {
        // Two chains no tier wants, and a newer full backup that is kept as the newest. One
        // incremental was (oddly) taken on a base newer than itself: order follows the bases, not
        // the times.
        let entries = [
            F.complete("20261101T000000Z"),
            F.complete("20261102T000000Z", base: "20261101T000000Z"),
            F.complete("20261103T000000Z", base: "20261102T000000Z"),
            F.complete("20261104T000000Z", base: "20261101T000000Z"),
            F.complete("20261105T090000Z", base: "20261105T100000Z"),
            F.complete("20261105T100000Z"),
            F.complete("20261110T000000Z"),
        ]
        let plan = BackupRetentionPlanner(policy: F.policy(hourly: 0, daily: 0, weekly: 0, monthly: 0))
            .plan(entries, now: F.time("2026-11-10T01:00:00Z"))
        XCTAssertEqual(plan.deletionOrder.map(\.text), [
            "20261105T090000Z", "20261105T100000Z", "20261104T000000Z", "20261103T000000Z", "20261102T000000Z", "20261101T000000Z",
        ])
    }

    func testAnIncrementalWithoutItsBaseIsKeptFlaggedAndFillsNoTier() {
        let entries = [
            F.complete("20261130T100000Z"),
            F.complete("20261130T110000Z", base: "20261101T000000Z"),
            F.complete("20261130T120000Z", base: "20261130T110000Z"),
            F.incomplete("20261130T125000Z"),
            F.complete("20261130T130000Z", base: "20261130T125000Z"),
        ]
        let plan = BackupRetentionPlanner(policy: F.policy(hourly: 1, daily: 1, weekly: 0, monthly: 0))
            .plan(entries, now: F.time("2026-11-30T13:30:00Z"))
        XCTAssertEqual(F.reasons(plan, "20261130T110000Z"), [
            "unrestorable: base 20261101T000000Z missing", "base of 20261130T120000Z",
        ])
        XCTAssertEqual(F.reasons(plan, "20261130T120000Z"), [
            "unrestorable: base 20261130T110000Z is unrestorable (base 20261101T000000Z missing)",
        ])
        XCTAssertEqual(F.reasons(plan, "20261130T130000Z"), ["unrestorable: base 20261130T125000Z is incomplete"])
        XCTAssertEqual(F.reasons(plan, "20261130T125000Z"), ["incomplete, may still be running", "base of 20261130T130000Z"])
        XCTAssertEqual(F.reasons(plan, "20261130T100000Z"), ["hourly 2026-11-30 10:00", "daily 2026-11-30", "newest"],
                       "the newest backup that can be restored, and the only one that fills a tier")
        XCTAssertEqual(plan.deletionOrder, [])
    }

    func testABaseChainThatLoopsIsUnrestorable() {
        let entries = [
            F.complete("20261130T100000Z", base: "20261130T110000Z"),
            F.complete("20261130T110000Z", base: "20261130T100000Z"),
            F.complete("20261130T120000Z", base: "20261130T120000Z"),
        ]
        let plan = BackupRetentionPlanner(policy: RetentionPolicy()).plan(entries, now: F.time("2026-11-30T13:00:00Z"))
        XCTAssertTrue(plan.decisions.allSatisfy { $0.tiers.isEmpty && $0.isKept })
        XCTAssertEqual(F.reasons(plan, "20261130T120000Z"), ["unrestorable: its base chain loops back to 20261130T120000Z"])
    }

    func testIncompleteBackupsAreDeletedOnlyPastTheirAge() {
        let now = F.time("2026-11-30T12:00:00Z")
        let entries = [
            F.complete("20261130T110000Z"),
            F.incomplete("20261129T120100Z"),  // 23h59m
            F.incomplete("20261129T120000Z"),  // exactly 24h: not older than the limit
            F.incomplete("20261129T115900Z"),  // 24h01m
        ]
        let plan = BackupRetentionPlanner(policy: RetentionPolicy()).plan(entries, now: now)
        XCTAssertEqual(F.reasons(plan, "20261129T120100Z"), ["incomplete, may still be running"])
        XCTAssertEqual(F.reasons(plan, "20261129T120000Z"), ["incomplete, may still be running"])
        XCTAssertEqual(F.reasons(plan, "20261129T115900Z"), ["delete: incomplete for 1d 1m, longer than 1d"])

        let hour = BackupRetentionPlanner(policy: RetentionPolicy(), incompleteMaxAge: 3600).plan(entries, now: now)
        XCTAssertEqual(hour.deletionOrder.map(\.text), ["20261129T120100Z", "20261129T120000Z", "20261129T115900Z"])
    }

    func testARunningIncrementalKeepsItsBase() {
        let entries = [
            F.complete("20261120T000000Z"),
            F.complete("20261130T110000Z"),
            F.incomplete("20261130T115500Z", base: "20261120T000000Z"),
        ]
        let plan = BackupRetentionPlanner(policy: F.policy(hourly: 1, daily: 0, weekly: 0, monthly: 0))
            .plan(entries, now: F.time("2026-11-30T12:00:00Z"))
        XCTAssertEqual(F.reasons(plan, "20261120T000000Z"), ["base of 20261130T115500Z"])
    }

    func testAnEmptyStoreAndNoCompleteBackup() {
        let planner = BackupRetentionPlanner(policy: RetentionPolicy())
        XCTAssertEqual(planner.plan([], now: F.time("2026-11-30T12:00:00Z")).decisions, [])
        XCTAssertEqual(planner.plan([], now: F.time("2026-11-30T12:00:00Z")).textLines,
                       ["Backups: keep 0, delete 0 (hourly 24, daily 7, weekly 4, monthly 3; incomplete after 1d)"])
        let plan = planner.plan([F.incomplete("20261128T000000Z")], now: F.time("2026-11-30T12:00:00Z"))
        XCTAssertEqual(plan.deletionOrder.map(\.text), ["20261128T000000Z"])
    }
}

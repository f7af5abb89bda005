import XCTest
@testable import OpsKit

final class RecoveryPointStatusTests: XCTestCase {
    private func entries(_ ids: [String]) -> [CatalogueEntry] {
        ids.map { CatalogueEntry(id: BackupID($0)!, state: .complete(BackupFixtures.manifest($0))) }
    }

    func testWithinAndBreachedAgainstTheRPO() {
        let backups = entries(["20261130T120000Z", "20261130T130000Z"])
        let fresh = RecoveryPointStatus(entries: backups, now: Timestamp.parse("2026-11-30T13:40:00Z")!, rpo: 3600)
        XCTAssertEqual(fresh.verdict, .ok)
        XCTAssertEqual(fresh.newest?.id, "20261130T130000Z")
        XCTAssertEqual(fresh.age, 2400)

        // The same store two hours later: the hourly job stopped.
        let late = RecoveryPointStatus(entries: backups, now: Timestamp.parse("2026-11-30T15:40:00Z")!, rpo: 3600)
        XCTAssertEqual(late.verdict, .breached)
        XCTAssertEqual(late.longestGap, 2 * 3600 + 40 * 60, "from the newest backup to now")
        XCTAssertTrue(BackupText.status(late).hasPrefix("RPO 1h: BREACHED: the newest complete backup, 20261130T130000Z, is 2h 40m old"))
    }

    func testIncompleteBackupsNeverCount() {
        var all = entries(["20261130T120000Z"])
        all.append(CatalogueEntry(id: BackupID("20261130T130000Z")!, state: .incomplete(
            IncompleteBackup(marker: nil, objects: 3, bytes: 10, problem: nil))))
        let status = RecoveryPointStatus(entries: all, now: Timestamp.parse("2026-11-30T13:30:00Z")!, rpo: 3600)
        XCTAssertEqual(status.verdict, .breached, "the 13:00 backup never finished")
        XCTAssertEqual(status.incomplete.map(\.id.text), ["20261130T130000Z"])
        XCTAssertEqual(RecoveryPointStatus(entries: [], now: Date(), rpo: 3600).verdict, .noBackup)
    }

    func testTheWeekStripHasOneCellPerHourOfSevenUTCDays() {
        let now = Timestamp.parse("2026-11-30T13:30:00Z")!
        let status = RecoveryPointStatus(entries: entries(["20261130T130500Z", "20261130T110000Z", "20261124T140000Z", "20261101T000000Z"]),
                                         now: now, rpo: 3600)
        XCTAssertEqual(status.hours.count, 168)
        XCTAssertEqual(status.hoursStart, Timestamp.parse("2026-11-24T00:00:00Z")!)
        XCTAssertEqual(status.hours.enumerated().filter { $0.element == true }.map(\.offset), [14, 155, 157])
        XCTAssertEqual(status.hours.filter { $0 == nil }.count, 10, "14:00 to 23:00 of today are still to come")
        let strip = Array(status.strip)
        XCTAssertEqual(strip.count, 168)
        XCTAssertEqual(String(strip[144..<168]), "···········▇·▇          ")
        // From the 24th 14:00 to the 30th 11:00 nothing was taken.
        XCTAssertEqual(status.longestGap, Timestamp.parse("2026-11-30T11:00:00Z")!.timeIntervalSince(Timestamp.parse("2026-11-24T14:00:00Z")!))
        XCTAssertEqual(status.longestGapStart, Timestamp.parse("2026-11-24T14:00:00Z")!)
        let json = BackupJSON.status(status)
        XCTAssertEqual(json["verdict"]?.string, "ok")
        XCTAssertEqual(json["timeline"]?["hourly"]?.array?.count, 168)
        XCTAssertEqual(json["timeline"]?["hourly"]?[167], .null)
        XCTAssertTrue(BackupText.status(status).contains("  2026-11-30  ···········▇·▇          \n"), BackupText.status(status))
    }
}

import XCTest
@testable import OpsKit

final class RestorePointTests: XCTestCase {
    func complete(_ id: String, base: String? = nil) -> CatalogueEntry {
        CatalogueEntry(id: BackupID(id)!, state: .complete(BackupFixtures.manifest(id, base: base)))
    }

    func incomplete(_ id: String) -> CatalogueEntry {
        CatalogueEntry(id: BackupID(id)!, state: .incomplete(IncompleteBackup(marker: nil, objects: 3, bytes: 300, problem: nil)))
    }

    func time(_ text: String) -> Date { Timestamp.parse(text)! }

    func select(_ selector: RestoreSelector, _ entries: [CatalogueEntry]) throws -> RestorePoint {
        try RestorePointSelection.select(selector, entries: entries, location: "s3://backups/luminate/")
    }

    func failure(_ selector: RestoreSelector, _ entries: [CatalogueEntry]) -> Error? {
        do {
            _ = try select(selector, entries)
            return nil
        } catch {
            return error
        }
    }

    /// Newest first, as the catalogue lists them: a full at 12:00 with incrementals at 13:00 and
    /// 14:05, an incremental at 15:00 on a base that never finished, and one still running.
    var store: [CatalogueEntry] {
        [
            incomplete("20261130T160000Z"),
            complete("20261130T150000Z", base: "20261130T143000Z"),
            incomplete("20261130T143000Z"),
            complete("20261130T140500Z", base: "20261130T130000Z"),
            complete("20261130T130000Z", base: "20261130T120000Z"),
            complete("20261130T120000Z"),
        ]
    }

    func testLatestIsTheNewestBackupWithAWholeChain() throws {
        let point = try select(.latest, store)
        XCTAssertEqual(point.manifest.id, "20261130T140500Z")
        XCTAssertEqual(point.chain.map(\.id), ["20261130T140500Z", "20261130T130000Z", "20261130T120000Z"])
        XCTAssertNil(point.requested)
        XCTAssertNil(point.gapSeconds)
        XCTAssertEqual(point.statement, "restores to 2026-11-30 14:05 UTC (backup 20261130T140500Z, incremental on 20261130T130000Z, chain of 3)")
    }

    func testAFullBackupIsAChainOfOne() throws {
        let point = try select(.id(BackupID("20261130T120000Z")!), store)
        XCTAssertEqual(point.chain.map(\.id), ["20261130T120000Z"])
        XCTAssertEqual(point.statement, "restores to 2026-11-30 12:00 UTC (backup 20261130T120000Z, full)")
        let seconds = try select(.latest, [complete("20261130T140530Z")])
        XCTAssertEqual(seconds.statement, "restores to 2026-11-30 14:05:30 UTC (backup 20261130T140530Z, full)")
    }

    func testLatestWithNothingUsable() {
        XCTAssertEqual(failure(.latest, []) as? NoRestorableBackup, NoRestorableBackup(location: "s3://backups/luminate/"))
        let error = failure(.latest, [complete("20261130T150000Z", base: "20261130T143000Z"), incomplete("20261130T143000Z")])
        XCTAssertEqual("\(error!)", "no complete backup in s3://backups/luminate/ to restore from")
        XCTAssertEqual((error as? OperatorError)?.hint, "luminatectl backup list shows what the store holds; luminatectl backup create takes one")
    }

    func testByIDRefusesUnknownIncompleteAndBrokenChains() {
        XCTAssertEqual(failure(.id(BackupID("20261201T000000Z")!), store) as? BackupNotFound,
                       BackupNotFound(id: "20261201T000000Z", location: "s3://backups/luminate/"))
        XCTAssertEqual(failure(.id(BackupID("20261130T160000Z")!), store) as? BackupIncomplete, BackupIncomplete(id: "20261130T160000Z"))

        let incompleteBase = failure(.id(BackupID("20261130T150000Z")!), store)
        XCTAssertEqual(incompleteBase as? BrokenBackupChain, BrokenBackupChain(id: "20261130T150000Z", base: "20261130T143000Z", problem: .incomplete))
        XCTAssertEqual("\(incompleteBase!)", "backup 20261130T150000Z cannot be restored: it is built on 20261130T143000Z, which is incomplete")

        // The full backup at the bottom of the chain was deleted: two levels down.
        let missing = failure(.id(BackupID("20261130T140500Z")!), Array(store.dropLast()))
        XCTAssertEqual("\(missing!)", "backup 20261130T140500Z cannot be restored: it is built on 20261130T120000Z, which is not in the store")
        XCTAssertEqual((missing as? OperatorError)?.hint, "luminatectl backup list shows the backups; restore a full backup or one whose bases are all complete")
    }

    func testDamagedChainsAreNeverFollowed() {
        var noBase = BackupFixtures.manifest("20261130T130000Z")
        noBase.type = .incremental
        let entries = [CatalogueEntry(id: BackupID("20261130T130000Z")!, state: .complete(noBase))]
        XCTAssertEqual("\(failure(.id(BackupID("20261130T130000Z")!), entries)!)",
                       "backup 20261130T130000Z cannot be restored: 20261130T130000Z is incremental but its manifest names no base")

        let loop = [complete("20261130T130000Z", base: "20261130T140000Z"), complete("20261130T140000Z", base: "20261130T130000Z")]
        XCTAssertEqual(failure(.id(BackupID("20261130T140000Z")!), loop) as? BrokenBackupChain,
                       BrokenBackupChain(id: "20261130T140000Z", base: "20261130T140000Z", problem: .notOlder))
        XCTAssertEqual("\(failure(.id(BackupID("20261130T140000Z")!), loop)!)",
                       "backup 20261130T140000Z cannot be restored: its chain is damaged, base 20261130T140000Z is not older than the backup built on it")
        XCTAssertEqual(failure(.latest, loop) as? NoRestorableBackup, NoRestorableBackup(location: "s3://backups/luminate/"))
    }

    func testToTimeTakesTheNewestUsableBackupAtOrBeforeIt() throws {
        let point = try select(.toTime(time("2026-11-30T14:52:00Z")), store)
        XCTAssertEqual(point.manifest.id, "20261130T140500Z")
        XCTAssertEqual(point.chain.count, 3)
        XCTAssertEqual(point.requested, time("2026-11-30T14:52:00Z"))
        XCTAssertEqual(point.gapSeconds, 47 * 60)
        XCTAssertEqual(point.statement, "restores to 2026-11-30 14:05 UTC, 47 minutes before the requested 14:52; "
            + "ClickHouse keeps no log to replay, so data written in between is not recoverable from backups")

        // 15:00 is after the requested time only through its broken chain: it is passed over.
        XCTAssertEqual(try select(.toTime(time("2026-11-30T15:30:00Z")), store).manifest.id, "20261130T140500Z")
        XCTAssertEqual(try select(.toTime(time("2026-11-30T14:04:59Z")), store).manifest.id, "20261130T130000Z")
    }

    func testTheGapIsExactAndSaidToTheSecond() throws {
        func point(_ requested: String) throws -> RestorePoint { try select(.toTime(time(requested)), store) }
        let hour = try point("2026-11-30T15:08:00Z")
        XCTAssertEqual(hour.gapSeconds, 3780)
        XCTAssertTrue(hour.statement.hasPrefix("restores to 2026-11-30 14:05 UTC, 1 hour 3 minutes before the requested 15:08; "), hour.statement)

        let seconds = try point("2026-11-30T14:07:05Z")
        XCTAssertEqual(seconds.gapSeconds, 125)
        XCTAssertTrue(seconds.statement.hasPrefix("restores to 2026-11-30 14:05 UTC, 2 minutes 5 seconds before the requested 14:07:05; "), seconds.statement)

        let oneEach = try point("2026-12-01T15:06:01Z")
        XCTAssertEqual(oneEach.gapSeconds, 86_400 + 3_600 + 60 + 1)
        XCTAssertTrue(oneEach.statement.hasPrefix("restores to 2026-11-30 14:05 UTC, 1 day 1 hour 1 minute 1 second before the requested 2026-12-01 15:06:01; "),
                      oneEach.statement)

        let fraction = try select(.toTime(time("2026-11-30T14:05:30Z").addingTimeInterval(0.25)), store)
        XCTAssertEqual(fraction.gapSeconds, 30.25)
        XCTAssertTrue(fraction.statement.hasPrefix("restores to 2026-11-30 14:05 UTC, 30 seconds before the requested 14:05:30; "), fraction.statement)

        let exact = try point("2026-11-30T14:05:00Z")
        XCTAssertEqual(exact.gapSeconds, 0)
        XCTAssertEqual(exact.statement, "restores to 2026-11-30 14:05 UTC, exactly the requested time")
    }

    func testARequestedTimeOnAnotherDayCarriesItsDate() throws {
        let point = try select(.toTime(time("2026-12-01T09:00:00Z")), store)
        XCTAssertEqual(point.gapSeconds, 18 * 3600 + 55 * 60)
        XCTAssertEqual(point.statement, "restores to 2026-11-30 14:05 UTC, 18 hours 55 minutes before the requested 2026-12-01 09:00; "
            + "ClickHouse keeps no log to replay, so data written in between is not recoverable from backups")
    }

    func testToTimeBeforeTheOldestBackupNamesBoth() throws {
        let error = try XCTUnwrap(failure(.toTime(time("2026-11-30T11:59:30Z")), store) as? ValidationError)
        XCTAssertEqual(error.message, "--to-time 2026-11-30 11:59:30 UTC is before the oldest usable backup, taken at 2026-11-30 12:00 UTC (20261130T120000Z)")
        XCTAssertEqual(error.hint, "luminatectl backup list shows the backups; a restore can reach 2026-11-30 12:00 UTC at the earliest")
        XCTAssertEqual(failure(.toTime(time("2026-11-30T11:59:30Z")), [incomplete("20261130T110000Z")]) as? NoRestorableBackup,
                       NoRestorableBackup(location: "s3://backups/luminate/"))
    }
}

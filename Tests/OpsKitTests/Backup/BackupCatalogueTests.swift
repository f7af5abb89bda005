import XCTest
@testable import OpsKit

final class BackupCatalogueTests: XCTestCase {
    func testCompleteAndIncompleteBackupsNewestFirst() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        try BackupFixtures.storeComplete(BackupFixtures.manifest("20261129T020000Z"), in: store)
        try BackupFixtures.storeComplete(BackupFixtures.manifest("20261130T020000Z", base: "20261129T020000Z"), in: store)
        // Killed half-way: a start marker and one data file, no manifest.
        let marker = BackupStartMarker(id: "20261130T030000Z", engine: .freeze, base: nil,
                                       startedAt: BackupID("20261130T030000Z")!.time, operationID: "op-killed", actor: "cron@pod")
        try store.write(BackupLayout.startMarkerKey(marker.id), data: try marker.encoded())
        try store.write("20261130T030000Z/shard1/part.bin", data: Data(count: 64))
        // Not a backup folder at all: ignored.
        try store.write("notes/readme.txt", data: Data("x".utf8))

        let entries = try BackupCatalogue(store: store).entries()
        XCTAssertEqual(entries.map(\.id.text), ["20261130T030000Z", "20261130T020000Z", "20261129T020000Z"])
        guard case .incomplete(let details) = entries[0].state else { return XCTFail("a backup without a manifest must be incomplete") }
        XCTAssertEqual(details.marker, marker)
        XCTAssertEqual(details.objects, 2)
        XCTAssertEqual(details.bytes, UInt64(64 + (try marker.encoded()).count))
        XCTAssertEqual(entries[1].manifest?.base, "20261129T020000Z")
        XCTAssertEqual(entries[2].manifest?.rows, 3500)
    }

    func testABrokenOrForeignManifestIsNeverComplete() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        try store.write(BackupLayout.manifestKey("20261130T020000Z"), data: Data("{\"id\": \"20261130T0".utf8))
        try store.write(BackupLayout.manifestKey("20261130T030000Z"), data: try BackupFixtures.manifest("20261129T020000Z").encoded())
        var newer = BackupFixtures.manifest("20261130T040000Z")
        newer.format = BackupManifest.currentFormat + 1
        try store.write(BackupLayout.manifestKey(newer.id), data: try newer.encoded())

        let entries = try BackupCatalogue(store: store).entries()
        XCTAssertEqual(entries.compactMap(\.manifest), [])
        let problems = entries.map { entry -> String in
            if case .incomplete(let details) = entry.state { return details.problem ?? "" }
            return ""
        }
        XCTAssertTrue(problems[0].contains("newer than this luminatectl reads"), problems[0])
        XCTAssertTrue(problems[1].contains("manifest names another id (20261129T020000Z)"), problems[1])
        XCTAssertTrue(problems[2].hasPrefix("manifest unreadable"), problems[2])
    }

    func testCompleteManifestRefusesUnknownAndIncompleteIDs() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        try store.write("20261130T030000Z/part.bin", data: Data(count: 1))
        let catalogue = BackupCatalogue(store: store)
        XCTAssertThrowsError(try catalogue.completeManifest(BackupID("20261130T030000Z")!)) { error in
            XCTAssertEqual(error as? BackupIncomplete, BackupIncomplete(id: "20261130T030000Z"))
        }
        XCTAssertThrowsError(try catalogue.completeManifest(BackupID("20261201T000000Z")!)) { error in
            XCTAssertEqual("\(error)", "no backup 20261201T000000Z in \(scratch.path)/")
        }
    }

    func testBackupIDsSortAsTimes() {
        let id = BackupID(time: Timestamp.parse("2026-11-30T14:05:09Z")!.addingTimeInterval(0.7))
        XCTAssertEqual(id.text, "20261130T140509Z")
        XCTAssertEqual(BackupID("20261130T140509Z"), id)
        XCTAssertNil(BackupID("2026-11-30"))
        XCTAssertNil(BackupID("20261130T140509"))
        XCTAssertNil(BackupID("20261399T140509Z"))
        XCTAssertLessThan(BackupID("20261130T235959Z")!, BackupID("20261201T000000Z")!)
    }
}

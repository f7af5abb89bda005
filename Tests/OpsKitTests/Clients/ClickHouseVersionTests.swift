import XCTest
@testable import OpsKit

/// `ClickHouseVersion`: parsing what `version()` returns, ordering, and the feature gates.
final class ClickHouseVersionTests: XCTestCase {
    func testParsesWhatVersionReturns() throws {
        XCTAssertEqual(ClickHouseVersion("18.16.1")?.components, [18, 16, 1])
        XCTAssertEqual(ClickHouseVersion("23.8.2.7")?.components, [23, 8, 2, 7])
        XCTAssertEqual(ClickHouseVersion(" 21.8.15.7-lts\n")?.components, [21, 8, 15, 7])
        XCTAssertEqual(ClickHouseVersion("22.3.2.1 (official build)")?.components, [22, 3, 2, 1])
        XCTAssertEqual(ClickHouseVersion("24.3")?.description, "24.3")
        let version = try XCTUnwrap(ClickHouseVersion("23.8.2.7"))
        XCTAssertEqual([version.major, version.minor, version.patch, version.build], [23, 8, 2, 7])
        XCTAssertEqual(ClickHouseVersion("18.16.1")?.build, 0)
    }

    func testRejectsWhatIsNotAVersion() {
        for text in ["", "18", "v18.16.1", "Ok.", ".18.16", "18..16", "1234567890.1", "١٨.١٦", "1\u{301}8.16"] {
            XCTAssertNil(ClickHouseVersion(text), text.debugDescription)
        }
    }

    func testOrdersComponentByComponent() throws {
        let ordered = ["18.16.1", "19.5.9", "19.6", "20.3.1.2", "21.10", "22.3.2.1", "22.8", "22.8.0.1", "23.8.2.7", "24.1"]
        let versions = try ordered.map { try XCTUnwrap(ClickHouseVersion($0)) }
        XCTAssertEqual(versions.sorted(), versions)
        XCTAssertEqual(ClickHouseVersion("22.8"), ClickHouseVersion("22.8.0.0"))
        XCTAssertEqual(Set([ClickHouseVersion(22, 8), ClickHouseVersion("22.8.0")!]).count, 1)
        XCTAssertLessThan(ClickHouseVersion(18, 16, 1), ClickHouseVersion(18, 16, 1, 1))
        XCTAssertGreaterThan(ClickHouseVersion("18.16.10")!, ClickHouseVersion("18.16.9")!)
    }

    func testFeatureGates() throws {
        let old = try XCTUnwrap(ClickHouseVersion("18.16.1"))
        XCTAssertFalse(old.supportsTTL)
        XCTAssertFalse(old.supportsBackupRestore)
        XCTAssertFalse(old.supportsExceptionCodeHeader)

        XCTAssertFalse(ClickHouseVersion("19.5.9")!.supportsTTL)
        XCTAssertTrue(ClickHouseVersion("19.6.2.11")!.supportsTTL)
        XCTAssertFalse(ClickHouseVersion("20.1.16")!.supportsExceptionCodeHeader)
        XCTAssertTrue(ClickHouseVersion("20.3.2.1")!.supportsExceptionCodeHeader)
        XCTAssertFalse(ClickHouseVersion("21.10.1")!.supportsBackupRestore)
        XCTAssertFalse(ClickHouseVersion("22.7.7")!.supportsBackupRestore)
        XCTAssertTrue(ClickHouseVersion("22.8.5.29")!.supportsBackupRestore)

        let modern = try XCTUnwrap(ClickHouseVersion("23.8.2.7"))
        XCTAssertTrue(modern.supportsTTL && modern.supportsBackupRestore && modern.supportsExceptionCodeHeader)
    }

    /// Every gate against the sandbox's two servers: 18.16.1 (the cluster) has none of them,
    /// 26.9.2.1 (the modern node) has all.
    func testEveryGateOn1816AndOn2692() throws {
        let gates: [(String, KeyPath<ClickHouseVersion, Bool>)] = [
            ("BACKUP/RESTORE", \.supportsBackupRestore), ("TTL", \.supportsTTL),
            ("X-ClickHouse-Exception-Code", \.supportsExceptionCodeHeader), ("system.backups", \.supportsSystemBackups),
            ("system.disks", \.supportsSystemDisks), ("system.detached_parts", \.supportsSystemDetachedParts),
        ]
        let old = try XCTUnwrap(ClickHouseVersion("18.16.1"))
        let modern = try XCTUnwrap(ClickHouseVersion("26.9.2.1"))
        for (name, gate) in gates {
            XCTAssertFalse(old[keyPath: gate], "\(name) on 18.16.1")
            XCTAssertTrue(modern[keyPath: gate], "\(name) on 26.9.2.1")
        }
    }

    func testNewGatesAtTheirFirstRelease() throws {
        XCTAssertFalse(ClickHouseVersion("19.7.5.29")!.supportsSystemDetachedParts)
        XCTAssertTrue(ClickHouseVersion("19.8.3.8")!.supportsSystemDetachedParts)
        XCTAssertFalse(ClickHouseVersion("19.14.7.15")!.supportsSystemDisks)
        XCTAssertTrue(ClickHouseVersion("19.15.2.2")!.supportsSystemDisks)
        // 22.8 has BACKUP but system.backups without total_size.
        let lts = try XCTUnwrap(ClickHouseVersion("22.8.5.29"))
        XCTAssertTrue(lts.supportsBackupRestore)
        XCTAssertFalse(lts.supportsSystemBackups)
        XCTAssertFalse(ClickHouseVersion("23.1.3.5")!.supportsSystemBackups)
        XCTAssertTrue(ClickHouseVersion("23.2.1.2537")!.supportsSystemBackups)
    }

    func testNeverTrapsOnJunk() {
        var random = ClickHouseTestRandom(seed: 7)
        for _ in 0..<3000 {
            let text = Bool.random(using: &random)
                ? random.sqlishString(maxLength: 12)
                : String((0..<Int.random(in: 0...14, using: &random)).map { _ in "0123456789..-x ".randomElement(using: &random)! })
            if let version = ClickHouseVersion(text) {
                XCTAssertGreaterThanOrEqual(version.components.count, 2)
                XCTAssertEqual(ClickHouseVersion(version.description), version)
            }
        }
    }
}

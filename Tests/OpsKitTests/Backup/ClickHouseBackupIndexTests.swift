import Foundation
import XCTest
@testable import OpsKit

/// `ClickHouseBackupIndex` reads the `.backup` file ClickHouse writes at a native backup's root.
final class ClickHouseBackupIndexTests: XCTestCase {
    func testReadsFilesBaseSharesAndDuplicates() throws {
        let index = try ClickHouseBackupIndex.parse(Data("""
            <?xml version="1.0"?>
            <config>
                <version>1</version>
                <deduplicate_files>1</deduplicate_files>
                <timestamp>2026-11-30 14:05:00</timestamp>
                <uuid>7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f</uuid>
                <contents>
                    <file>
                        <name>metadata/luminate/events.sql</name>
                        <size>512</size>
                        <checksum>0f1e2d3c4b5a69788796a5b4c3d2e1f0</checksum>
                    </file>
                    <file>
                        <name>data/luminate/events/all_1_1_0/data.bin</name>
                        <size>1048576</size>
                        <checksum>aa</checksum>
                        <use_base>true</use_base>
                        <base_size>1000000</base_size>
                        <base_checksum>bb</base_checksum>
                    </file>
                    <file>
                        <name>data/luminate/events/all_2_2_0/checksums.txt</name>
                        <size>300</size>
                        <checksum>cc</checksum>
                        <use_base>1</use_base>
                    </file>
                    <file>
                        <name>data/luminate/events_copy/all_1_1_0/data.bin</name>
                        <size>1048576</size>
                        <checksum>aa</checksum>
                        <data_file>data/luminate/events/all_1_1_0/data.bin</data_file>
                    </file>
                    <file><name>empty.txt</name><size>0</size></file>
                </contents>
            </config>
            """.utf8))
        XCTAssertEqual(index.version, 1)
        XCTAssertEqual(index.timestamp, "2026-11-30 14:05:00")
        XCTAssertEqual(index.files.map(\.name), [
            "metadata/luminate/events.sql", "data/luminate/events/all_1_1_0/data.bin",
            "data/luminate/events/all_2_2_0/checksums.txt", "data/luminate/events_copy/all_1_1_0/data.bin", "empty.txt",
        ])
        XCTAssertEqual(index.files.map(\.storedSize), [512, 48576, 0, 1048576, 0])
        XCTAssertEqual(index.files.map(\.storedHere), [true, true, false, false, false])
        XCTAssertEqual(index.files[2].baseSize, 300, "use_base without base_size: all of it is in the base")
        XCTAssertEqual(index.files[3].dataFile, "data/luminate/events/all_1_1_0/data.bin")
        XCTAssertNil(index.files[4].checksum)
        XCTAssertEqual(try ClickHouseBackupIndex.parse(Data("<config/>".utf8)).files, [])
    }

    func testWhatIsNotAnIndex() {
        XCTAssertThrowsError(try ClickHouseBackupIndex.parse(Data("<other><version>1</version></other>".utf8))) { error in
            XCTAssertEqual("\(error)", "no <config> element")
        }
        XCTAssertThrowsError(try ClickHouseBackupIndex.parse(Data("<config><contents></config>".utf8))) { error in
            XCTAssertTrue("\(error)".hasPrefix("XML error: "), "\(error)")
        }
    }
}

import XCTest
@testable import OpsKit

final class LocalDirectoryStoreTests: XCTestCase {
    func testWriteReadStatListDelete() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        try store.write("20261130T140500Z/a/b.bin", data: Data("hello".utf8))
        try store.write("20261130T140500Z/c.json", data: Data("{}".utf8))
        try store.write("20261201T000000Z/d", data: Data())

        XCTAssertEqual(try store.read("20261130T140500Z/a/b.bin"), Data("hello".utf8))
        XCTAssertNil(try store.read("20261130T140500Z/missing"))
        XCTAssertEqual(try store.stat("20261130T140500Z/a/b.bin"), StoredObject(key: "20261130T140500Z/a/b.bin", size: 5))
        XCTAssertNil(try store.stat("nope"))

        let all = try store.list(prefix: "", delimiter: nil)
        XCTAssertEqual(all.objects.map(\.key), ["20261130T140500Z/a/b.bin", "20261130T140500Z/c.json", "20261201T000000Z/d"])
        let folders = try store.list(prefix: "", delimiter: "/")
        XCTAssertEqual(folders.folders, ["20261130T140500Z/", "20261201T000000Z/"])
        XCTAssertEqual(folders.objects, [])
        let one = try store.list(prefix: "20261130T140500Z/", delimiter: "/")
        XCTAssertEqual(one.objects.map(\.key), ["20261130T140500Z/c.json"])
        XCTAssertEqual(one.folders, ["20261130T140500Z/a/"])

        try store.delete("20261130T140500Z/a/b.bin")
        XCTAssertNil(try store.stat("20261130T140500Z/a/b.bin"))
        // The emptied folder goes too: it would otherwise list as a backup folder.
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/20261130T140500Z/a"))
        try store.delete("20261130T140500Z/c.json")
        XCTAssertEqual(try store.list(prefix: "", delimiter: "/").folders, ["20261201T000000Z/"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path), "the root itself stays")
    }

    func testUploadDownloadAndChecksumHashWhatTheyMove() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path + "/store")
        let source = scratch.path + "/source.bin"
        let content = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        _ = FileManager.default.createFile(atPath: source, contents: content)

        let uploaded = try store.upload("x/part/data.bin", fromFile: source)
        XCTAssertEqual(uploaded, StoredFile(size: UInt64(content.count), sha256: SHA256.hex(content)))
        XCTAssertEqual(try store.checksum("x/part/data.bin"), uploaded)
        let copy = scratch.path + "/copy.bin"
        XCTAssertEqual(try store.download("x/part/data.bin", toFile: copy), uploaded)
        XCTAssertEqual(FileManager.default.contents(atPath: copy), content)
        XCTAssertEqual(try store.list(prefix: "", delimiter: nil).objects.map(\.key), ["x/part/data.bin"],
                       "no temporary file is left or listed")
    }

    func testKeysCannotLeaveTheRoot() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        for key in ["../escape", "a/../../b", "/abs", "a//b", ""] {
            XCTAssertThrowsError(try store.write(key, data: Data()), key) { error in
                XCTAssertTrue("\(error)".contains("not a valid key"), "\(error)")
            }
        }
    }

    func testAMissingRootIsAClearError() {
        let store = LocalDirectoryStore(root: "/nonexistent/luminatectl-backups")
        XCTAssertThrowsError(try store.list(prefix: "", delimiter: "/")) { error in
            let error = error as? BackupStoreError
            XCTAssertEqual(error?.reason, "the directory does not exist")
            XCTAssertEqual(error?.hint, "create it, or check backup.store.path / LUMINATECTL_BACKUP_PATH")
        }
    }
}

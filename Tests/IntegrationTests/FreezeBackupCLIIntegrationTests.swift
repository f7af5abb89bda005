import Foundation
import XCTest
@testable import OpsKit

/// `backup create` on the 18.16 cluster (the freeze engine) through the built binary: the
/// operator's view of a good run, and of a run stopped with Ctrl-C half-way through its uploads.
final class FreezeBackupCLIIntegrationTests: XCTestCase {
    /// Every node's shadow directory: the freeze engine must leave none of its own behind.
    func shadowLeftovers() throws -> [String] {
        let sandbox = try Sandbox.require(["LUMINATECTL_SANDBOX_JSON"])
        let state = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: sandbox["LUMINATECTL_SANDBOX_JSON"]!)))
        let nodes = state["clickhouse"]?["nodes"]?.array ?? []
        XCTAssertEqual(nodes.count, 4)
        return nodes.flatMap { node -> [String] in
            let shadow = (node["dir"]?.string ?? "") + "/data/shadow"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: shadow)) ?? []
            return names.filter { $0.hasPrefix("luminatectl_") }.map { "\(shadow)/\($0)" }
        }
    }

    func testAFreezeBackupOfTheClusterListsVerifiesAndCleansUp() throws {
        let h = try BackupHarness.cluster()
        let result = h.run(["backup", "create", "-o", "json"])
        XCTAssertEqual(result.code, .success, result.err)
        let manifest = try BackupManifest.decode(Data(result.out.utf8))
        XCTAssertEqual(manifest.engine, .freeze)
        XCTAssertEqual(manifest.cluster?.shards.map(\.shard), [1, 2], "one replica of each shard")
        XCTAssertEqual(manifest.tables.first { $0.table == "metrics_local" }?.rows, 120_000)
        XCTAssertFalse(manifest.files.isEmpty)
        XCTAssertEqual(h.run(["backup", "verify", manifest.id]).code, .success)
        XCTAssertEqual(try shadowLeftovers(), [])

        // A file changed behind luminatectl's back: verify reads it through and names it.
        let store = try h.store()
        let victim = try XCTUnwrap(manifest.files.first { $0.size > 0 })
        let key = "\(manifest.id)/\(victim.key)"
        var bytes = try XCTUnwrap(store.read(key))
        bytes[0] ^= 0xff
        try store.write(key, data: bytes)
        let damaged = h.run(["backup", "verify", manifest.id])
        XCTAssertEqual(damaged.code, .failure)
        XCTAssertTrue(damaged.out.contains("wrong-checksum: \(key)"), damaged.out)
    }

    func testCtrlCDuringTheUploadsLeavesAnIncompleteBackupNoShadowAndAFreeLock() throws {
        let h = try BackupHarness.cluster()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BackupHarness.binaryPath)
        process.arguments = ["backup", "create"]
        process.environment = h.environment
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()

        // The journal is the clock: Ctrl-C once the freeze is done and the uploads have begun.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !(try h.journal()).contains("\"step\":\"freeze"), process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(process.isRunning, "the backup finished before it could be interrupted")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 130, stderr)

        XCTAssertTrue(try h.journal().contains("\"event\":\"interrupted\""))
        let list = h.run(["backup", "list", "-o", "json"])
        let entries = try JSONValue.parse(Data(list.out.utf8))["backups"]?.array ?? []
        XCTAssertEqual(entries.compactMap { $0["status"]?.string }, ["incomplete"], list.out)
        XCTAssertEqual(try shadowLeftovers(), [], "the shadow directory is removed on Ctrl-C too")
        let lock = h.run(["lock", "status", "-o", "json"])
        XCTAssertEqual(try JSONValue.parse(Data(lock.out.utf8))["free"], .bool(true), lock.out)

        // The next run completes; the incomplete one is deleted like any other.
        XCTAssertEqual(h.run(["backup", "create"]).code, .success)
        XCTAssertEqual(h.run(["backup", "delete", entries[0]["id"]!.string!]).code, .success)
        XCTAssertEqual(h.run(["backup", "list", "-o", "json"]).out.components(separatedBy: "\"complete\"").count - 1, 1)
    }

    func testTheStoreGoingDownMidwayFailsCleanlyNamingIt() throws {
        let moto = try PrivateMoto()
        defer { moto.stop() }
        let h = try BackupHarness.cluster()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BackupHarness.binaryPath)
        process.arguments = ["backup", "create"]
        process.environment = h.environment.merging(["LUMINATECTL_S3_ENDPOINT": moto.url]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !(try h.journal()).contains("\"step\":\"freeze"), process.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(process.isRunning, "the backup finished before the store could go down")
        moto.stop()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains(moto.host), "the error names the store's host: \(stderr)")
        XCTAssertTrue(try h.journal().contains("\"event\":\"failed\""))
        XCTAssertEqual(try shadowLeftovers(), [], "the shadow directory is removed when the store fails too")
        let lock = h.run(["lock", "status", "-o", "json"])
        XCTAssertEqual(try JSONValue.parse(Data(lock.out.utf8))["free"], .bool(true), lock.out)
    }
}

/// A moto S3 of one test's own, so it can be stopped without taking the sandbox's store down.
final class PrivateMoto {
    let process = Process()
    let port: Int
    var host: String { "127.0.0.1:\(port)" }
    var url: String { "http://\(host)" }

    init() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = try PosixProcessRunner().run(ProcessRequest("python3", [repo.appendingPathComponent("scripts/localenv/pyvenv.py").path, "path"]),
                                                 interrupt: Interrupt()).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        port = Int.random(in: 41000..<48000)
        process.executableURL = URL(fileURLWithPath: venv + "/bin/moto_server")
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            // Any answer means it is up; then the bucket the sandbox's configuration names.
            if let response = try? CurlTransport().send(HTTPRequest(method: "PUT", url: url + "/luminate-backups-local", timeout: 2), interrupt: Interrupt()),
               response.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw Sandbox.Missing(description: "a private moto_server on \(host) did not start within 20 s")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// A ClickHouse server killed in the middle of a staged restore: a throwaway 18.16 server of the
/// test's own (the shared sandbox must stay up) with a ReplicatedMergeTree table, as production
/// has, on the sandbox's ZooKeeper; a freeze backup to a directory store; and after a restart
/// every partition is either as it was or fully restored. (A plain MergeTree on 18.16 does not
/// survive this: parts a REPLACE PARTITION made outdated come back at the restart if the server
/// dies before it deletes them, see docs/backup-restore.md.)
final class RestoreKilledServerIntegrationTests: XCTestCase {
    func testServerKilledMidRestoreLeavesEveryPartitionWhole() throws {
        let sandbox = try Sandbox.require(["LUMINATECTL_SANDBOX_JSON"])
        let zookeeper = try XCTUnwrap(JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: sandbox["LUMINATECTL_SANDBOX_JSON"]!)))["components"]?["zookeeper"]?["port"]?.int)
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("luminatectl-restore-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = "/clickhouse/tables/restore-kill-\(UUID().uuidString.prefix(8))/metrics"
        let extra = "<interserver_http_port>\(try PrivateMoto.freePort())</interserver_http_port><zookeeper><node><host>127.0.0.1</host><port>\(zookeeper)</port></node><session_timeout_ms>6000</session_timeout_ms></zookeeper>"
        var server = try ThrowawayClickHouse.start(in: directory, extraConfig: extra)
        defer { server.stop() }
        let client = { (server: ThrowawayClickHouse) in
            ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: server.url, user: "default"), transport: CurlTransport(), interrupt: Interrupt())
        }
        try client(server).execute("CREATE DATABASE rit")
        try client(server).execute("CREATE TABLE rit.metrics (\(RestoreFixture.columns)) ENGINE = ReplicatedMergeTree('\(path)', 'r1') PARTITION BY toYYYYMMDD(timestamp) ORDER BY (tenant, metric_name, timestamp)")
        try client(server).execute("INSERT INTO rit.metrics SELECT toDateTime('2026-11-01 00:00:00', 'UTC') + intDiv(number, 2000) * 86400 + (number % 2000) * 30, 'acme', 'm', '{}', toFloat64(number) FROM system.numbers LIMIT 16000")
        struct Row: Decodable { var partition: String; var rows: FlexibleUInt64; var checksum: FlexibleUInt64 }
        let partitions = { (server: ThrowawayClickHouse) throws -> [String: [UInt64]] in
            let rows = try client(server).query("SELECT toString(toYYYYMMDD(timestamp)) AS partition, count() AS rows, sum(cityHash64(*)) AS checksum FROM rit.metrics GROUP BY partition", as: Row.self)
            return Dictionary(uniqueKeysWithValues: rows.map { ($0.partition, [$0.rows.value, $0.checksum.value]) })
        }
        let original = try partitions(server)
        XCTAssertEqual(original.count, 8)

        let state = directory.appendingPathComponent("state").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.path + "/store", withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("luminatectl.yaml").path
        try """
            defaultEnvironment: throwaway
            environments:
              throwaway:
                clickhouse: {url: "\(server.url)", native: "127.0.0.1:\(server.tcpPort)", user: default, cluster: "", database: rit}
                backup: {store: {path: "\(directory.path)/store"}, engine: freeze}
                journal: {path: "\(state)/journal.jsonl"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LUMINATECTL_") && !$0.key.hasPrefix("KUBE") }
        environment["LUMINATECTL_CONFIG"] = config
        environment["XDG_STATE_HOME"] = state
        let run = { (argv: [String]) in BackupHarness.run(argv, environment: environment, workingDirectory: directory.path) }

        let backup = run(["backup", "create", "-o", "json"])
        XCTAssertEqual(backup.code, .success, backup.err)
        let id = try BackupManifest.decode(Data(backup.out.utf8)).id
        // The damage: every day dropped and a quarter of it written back with other values.
        for day in 1...8 {
            try client(server).execute("ALTER TABLE rit.metrics DROP PARTITION ID '2026110\(day)'")
            try client(server).execute("INSERT INTO rit.metrics SELECT toDateTime('2026-11-0\(day) 00:00:00', 'UTC') + number * 60, 'damaged', 'm', '{}', toFloat64(number) FROM system.numbers LIMIT 500")
        }
        let damaged = try partitions(server)
        XCTAssertNotEqual(damaged, original)

        // Kill the server as soon as the first partition is in place.
        let journal = "\(state)/journal.jsonl"
        let killer = server
        let watcher = Thread {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: journal, encoding: .utf8), text.contains("replace partition 20261101 of rit.metrics") {
                    killer.kill()
                    return
                }
                usleep(5_000)
            }
        }
        watcher.start()
        let restore = run(["restore", id])
        XCTAssertEqual(restore.code, .failure, restore.out + restore.err)
        XCTAssertTrue(restore.err.contains(RestoreMode.stagingDatabase(id)), restore.err)
        XCTAssertTrue(restore.err.contains("every other live partition is as it was"), restore.err)

        server.stop()
        // Let ZooKeeper expire the killed server's session (6 s) first: a restart that finds its
        // replica still "active" retries for a minute before it serves.
        sleep(8)
        server = try ThrowawayClickHouse.start(in: directory, extraConfig: extra)
        // The replica finishes the log entries it had taken (a REPLACE in flight) before it is read.
        try client(server).execute("SYSTEM SYNC REPLICA rit.metrics", options: .init(timeout: 120))
        let after = try partitions(server)
        XCTAssertEqual(after["20261101"], original["20261101"])
        for id in original.keys {
            XCTAssertTrue(after[id] == original[id] || after[id] == damaged[id], "partition \(id) is either as it was or fully restored: \(after[id] ?? []), was \(damaged[id] ?? []), backup \(original[id] ?? [])")
        }
        XCTAssertTrue(original.keys.contains { after[$0] == damaged[$0] && damaged[$0] != original[$0] }, "killed before the end")
        try? client(server).execute("DROP DATABASE rit")
    }
}

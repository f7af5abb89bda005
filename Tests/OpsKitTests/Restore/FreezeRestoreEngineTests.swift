import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The primary replica of one shard, faked: it answers exactly the statements the freeze restore
/// sends (anything else fails the test), names a scratch directory as the target's `data_path`,
/// and `ATTACH PARTITION ID` moves that partition's parts out of `detached/`, as the server does.
final class FakeRestoreServer: RestoreSQL, @unchecked Sendable {
    let address: String
    let dataPath: String
    let target: QualifiedTable
    /// What `system.columns` lists for `system.tables`: 18.16 has only `data_path`.
    var columns = ["data_path"]
    private let lock = NSLock()
    private var calls: [String] = []

    init(port: Int, dataPath: String, target: QualifiedTable) {
        address = "127.0.0.1:\(port)"
        self.dataPath = dataPath
        self.target = target
        try! FileManager.default.createDirectory(atPath: dataPath + "detached", withIntermediateDirectories: true)
    }

    /// Every statement received, in order.
    var received: [String] { lock.withLock { calls } }
    var attaches: [String] { received.filter { $0.contains(" ATTACH ") } }

    func query<Row: Decodable>(_ sql: SQLFragment, as type: Row.Type, options: ClickHouseQueryOptions) throws -> [Row] {
        lock.withLock { calls.append(sql.sql) }
        let rows: [[String: Any]]
        switch sql.sql {
        case FreezeRestoreStatements.dataPathColumns.sql:
            rows = columns.map { ["name": $0] }
        case FreezeRestoreStatements.dataPaths(of: target, array: columns.contains("data_paths")).sql:
            rows = [["paths": [dataPath]]]
        default:
            throw UnexpectedCall(description: "unexpected query on \(address): \(sql.sql)")
        }
        let body = try JSONSerialization.data(withJSONObject: rows)
        return try JSONDecoder().decode([Row].self, from: body)
    }

    func uninterruptible() -> any RestoreSQL { self }

    func execute(_ sql: SQLFragment, options: ClickHouseQueryOptions) throws {
        lock.withLock { calls.append(sql.sql) }
        let prefix = "ALTER TABLE \(try target.sql.sql) ATTACH PARTITION ID '"
        guard sql.sql.hasPrefix(prefix), sql.sql.hasSuffix("'") else {
            throw UnexpectedCall(description: "unexpected statement on \(address): \(sql.sql)")
        }
        let partition = String(sql.sql.dropFirst(prefix.count).dropLast())
        for part in detached where FreezeLayout.partitionID(ofPart: part) == partition {
            try FileManager.default.moveItem(atPath: dataPath + "detached/" + part, toPath: dataPath + part)
        }
    }

    /// What `detached/` holds now.
    var detached: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dataPath + "detached")) ?? []).sorted() }
}

/// A freeze backup of `luminate.metrics_local` written by hand into a local store, two fake
/// shards, a session, and the staging table as the target.
struct FreezeRestoreFixture {
    let scratch = ScratchDirectory()
    let output = CapturedOutput()
    let journal = InMemoryJournal()
    let context: Context
    let session: OperationSession
    let id = "20261130T140500Z"
    let target = QualifiedTable("luminate", "metrics_local_restore")
    let servers: [FakeRestoreServer]
    let manifest: BackupManifest

    /// Parts per shard: shard 1 holds two days, shard 2 only the first; 20261128 is in the
    /// backup but never asked for.
    static let parts: [Int: [String]] = [
        1: ["20261126_0_0_0", "20261126_1_1_0", "20261127_0_0_0", "20261128_0_0_0"],
        2: ["20261126_0_0_0", "20261128_0_0_0"],
    ]

    init() throws {
        context = Context.fake(output: output)
        session = try SessionFixtures.session(context: context, journal: journal, kind: "restore")
        let store = LocalDirectoryStore(root: scratch.path + "/store")
        var files: [BackupFile] = []
        var partitions: [PartitionBackup] = []
        for shard in Self.parts.keys.sorted() {
            for part in Self.parts[shard]! {
                for (name, data) in Self.files(part: part, shard: shard) {
                    let key = "shard\(shard)/luminate/metrics_local/\(part)/\(name)"
                    try store.write("\(id)/\(key)", data: data)
                    files.append(BackupFile(key: key, size: UInt64(data.count), sha256: SHA256.hex(data)))
                }
                let partition = FreezeLayout.partitionID(ofPart: part)
                if let index = partitions.firstIndex(where: { $0.shard == shard && $0.id == partition }) {
                    partitions[index].rows += 10
                } else {
                    partitions.append(PartitionBackup(shard: shard, id: partition, rows: 10, bytes: 100))
                }
            }
        }
        var manifest = BackupFixtures.manifest(id, engine: .freeze, tables: [TableBackup(
            database: "luminate", table: "metrics_local", engine: "ReplicatedMergeTree",
            createStatement: "CREATE TABLE luminate.metrics_local (timestamp DateTime) ENGINE = ReplicatedMergeTree('/t', '{replica}') PARTITION BY toYYYYMMDD(timestamp) ORDER BY timestamp",
            partitions: partitions)])
        manifest.cluster = BackupClusterLayout(name: "luminate", shards: [ShardSource(shard: 1, replica: "127.0.0.1:9011", replicas: 2),
                                                                          ShardSource(shard: 2, replica: "127.0.0.1:9021", replicas: 2)])
        manifest.files = files
        self.manifest = manifest
        let (scratchPath, target) = (scratch.path, self.target)
        servers = [1, 2].map { FakeRestoreServer(port: 9001 + 10 * $0, dataPath: "\(scratchPath)/ch-s\($0)/data/luminate/\(target.table)/", target: target) }
    }

    /// Three files a part, one of them below a sub-directory (as a projection's are).
    static func files(part: String, shard: Int) -> [(String, Data)] {
        [("checksums.txt", Data("checksums of \(part) on \(shard)\n".utf8)),
         ("count.txt", Data("10".utf8)),
         ("skp/timestamp.bin", Data((0..<(300 + shard)).map { UInt8(truncatingIfNeeded: $0 &* 7) }))]
    }

    var storeRoot: String { scratch.path + "/store" }

    func load(partitions: [String] = ["20261126", "20261127"], shards: [Int] = [1, 2]) -> RestoreLoad {
        let restoreShards = shards.map { shard in
            RestoreShard(shard: shard, primary: servers[shard - 1], replicas: [servers[shard - 1]])
        }
        return RestoreLoad(manifest: manifest, source: manifest.tables[0], partitions: partitions, target: target,
                           servers: RestoreServers(cluster: "luminate", shards: restoreShards))
    }

    var steps: [String] { journal.events.compactMap(\.step) }
}

final class FreezeRestoreEngineTests: XCTestCase {
    private final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [RestoreProgress] = []
        var all: [RestoreProgress] { lock.withLock { list } }
        func add(_ report: RestoreProgress) { lock.withLock { list.append(report) } }
    }

    func testLoadsEveryFileOfTheChosenPartitionsAndAttachesExactlyThem() throws {
        let fixture = try FreezeRestoreFixture()
        let reports = Reports()
        try FreezeRestoreEngine(context: fixture.context, transfers: 3)
            .load(fixture.load(), store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: reports.add)

        let (one, two) = (fixture.servers[0], fixture.servers[1])
        XCTAssertEqual(one.attaches, ["ALTER TABLE `luminate`.`metrics_local_restore` ATTACH PARTITION ID '20261126'",
                                      "ALTER TABLE `luminate`.`metrics_local_restore` ATTACH PARTITION ID '20261127'"])
        // Shard 2 holds nothing of 20261127: that partition is skipped there.
        XCTAssertEqual(two.attaches, ["ALTER TABLE `luminate`.`metrics_local_restore` ATTACH PARTITION ID '20261126'"])
        XCTAssertEqual(one.detached, [])
        XCTAssertEqual(two.detached, [])
        // Every file arrived byte for byte (the fake's ATTACH moved the parts into the table's directory).
        for (index, server) in fixture.servers.enumerated() {
            let shard = index + 1
            for part in FreezeRestoreFixture.parts[shard]! where !part.hasPrefix("20261128") {
                for (name, data) in FreezeRestoreFixture.files(part: part, shard: shard) {
                    XCTAssertEqual(FileManager.default.contents(atPath: server.dataPath + part + "/" + name), data, "\(shard) \(part)/\(name)")
                    XCTAssertFalse(FileManager.default.fileExists(atPath: server.dataPath + part + "/" + name + ".luminatectl-tmp"))
                }
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: server.dataPath + "20261128_0_0_0"), "not asked for")
        }

        XCTAssertEqual(fixture.steps, [
            "find luminate.metrics_local_restore on disk on shard 1 (127.0.0.1:9011)",
            "find luminate.metrics_local_restore on disk on shard 2 (127.0.0.1:9021)",
            "download and check 9 files (1008 B) to shard 1 (127.0.0.1:9011)",
            "download and check 3 files (337 B) to shard 2 (127.0.0.1:9021)",
            "attach partitions on shard 1 (127.0.0.1:9011)",
            "attach partitions on shard 2 (127.0.0.1:9021)",
        ])
        let events = fixture.journal.events
        let found = try XCTUnwrap(events.first { $0.step?.hasPrefix("find") == true })
        XCTAssertEqual(found.evidence["directory"], .string(one.dataPath))
        XCTAssertEqual(found.evidence["partitions"], ["20261126", "20261127"])
        let downloaded = try XCTUnwrap(events.first { $0.step?.hasPrefix("download and check 3 files") == true })
        XCTAssertEqual(downloaded.evidence["shard"], 2)
        XCTAssertEqual(downloaded.evidence["directory"], .string(two.dataPath + "detached/"))
        XCTAssertEqual(downloaded.evidence["files"], 3)
        XCTAssertEqual(downloaded.evidence["bytes"], 337)
        XCTAssertEqual(downloaded.evidence["partitions"], ["20261126"])
        let attached = try XCTUnwrap(events.first { $0.step == "attach partitions on shard 2 (127.0.0.1:9021)" })
        XCTAssertEqual(attached.evidence["statements"], .array(two.attaches.map { .string($0) }))

        let downloads = reports.all.filter { $0.phase == "downloading" }
        XCTAssertEqual(downloads.count, 12)
        XCTAssertEqual(downloads.last, RestoreProgress(phase: "downloading", files: 12, bytes: 1008 + 337, totalBytes: 1008 + 337))
        XCTAssertEqual(reports.all.last?.phase, "attaching")
    }

    func testADamagedFileIsNamedNothingIsAttachedAndDetachedIsEmptied() throws {
        let fixture = try FreezeRestoreFixture()
        let key = "shard2/luminate/metrics_local/20261126_0_0_0/skp/timestamp.bin"
        let expected = try XCTUnwrap(fixture.manifest.files.first { $0.key == key })
        let damaged = Data(repeating: 0, count: Int(expected.size))
        try LocalDirectoryStore(root: fixture.storeRoot).write("\(fixture.id)/\(key)", data: damaged)

        XCTAssertThrowsError(try FreezeRestoreEngine(context: fixture.context)
            .load(fixture.load(), store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? RestoreIntegrityError, RestoreIntegrityError(
                backup: fixture.id, file: key, problem: "SHA-256 is \(SHA256.hex(damaged)), the manifest says \(expected.sha256)"))
        }
        for server in fixture.servers {
            XCTAssertEqual(server.attaches, [], "nothing attached on \(server.address)")
            XCTAssertEqual(server.detached, [], "detached/ of \(server.address)")
        }
        XCTAssertFalse(fixture.steps.contains { $0.hasPrefix("attach") })
    }

    func testAMissingFileIsNamedAsMissing() throws {
        let fixture = try FreezeRestoreFixture()
        let key = "shard1/luminate/metrics_local/20261127_0_0_0/count.txt"
        try FileManager.default.removeItem(atPath: "\(fixture.storeRoot)/\(fixture.id)/\(key)")

        XCTAssertThrowsError(try FreezeRestoreEngine(context: fixture.context)
            .load(fixture.load(), store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? RestoreIntegrityError, RestoreIntegrityError(backup: fixture.id, file: key, problem: "missing"))
        }
        for server in fixture.servers {
            XCTAssertEqual(server.attaches, [])
            XCTAssertEqual(server.detached, [])
        }
    }

    func testAShardOfTheBackupWithoutAServerIsRefusedBeforeAnythingIsAsked() throws {
        let fixture = try FreezeRestoreFixture()
        let load = fixture.load(shards: [1])
        XCTAssertThrowsError(try FreezeRestoreEngine(context: fixture.context)
            .load(load, store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeRestoreError, .shardsMissing(
                backup: fixture.id, missing: [2],
                backupLayout: "cluster luminate: shard 1 from 127.0.0.1:9011, shard 2 from 127.0.0.1:9021",
                servers: "cluster luminate: shard 1 via 127.0.0.1:9011 (1 replicas)"))
        }
        XCTAssertEqual(fixture.servers[0].received, [])
        XCTAssertEqual(fixture.servers[0].detached, [])
        XCTAssertEqual(fixture.steps, [])
        XCTAssertEqual(FreezeRestoreEngine(context: fixture.context).describe(load).count, 1)
        XCTAssertTrue(FreezeRestoreEngine(context: fixture.context).describe(load)[0].hasPrefix("refused: backup \(fixture.id) holds data of shard 2"))
    }

    func testCtrlCDuringTheDownloadStopsAndEmptiesDetached() throws {
        let fixture = try FreezeRestoreFixture()
        let interrupt = fixture.context.interrupt
        let store = ScriptedStore(root: fixture.storeRoot, beforeDownload: { number in if number == 4 { interrupt.raise(SIGINT) } })

        XCTAssertThrowsError(try FreezeRestoreEngine(context: fixture.context, transfers: 1)
            .load(fixture.load(), store: store, session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual((error as? OperationInterrupted)?.signal, SIGINT)
        }
        XCTAssertEqual(store.downloads, 4, "no download starts after Ctrl-C")
        for server in fixture.servers {
            XCTAssertEqual(server.attaches, [])
            XCTAssertEqual(server.detached, [])
        }
    }

    func testPartsAlreadyInDetachedOfThosePartitionsAreNotTouched() throws {
        let fixture = try FreezeRestoreFixture()
        let stray = fixture.servers[1].dataPath + "detached/20261126_7_7_0"
        try FileManager.default.createDirectory(atPath: stray, withIntermediateDirectories: true)

        XCTAssertThrowsError(try FreezeRestoreEngine(context: fixture.context)
            .load(fixture.load(), store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeRestoreError, .detachedInTheWay(
                server: "127.0.0.1:9021", directory: fixture.servers[1].dataPath + "detached/", entries: ["20261126_7_7_0"]))
        }
        XCTAssertEqual(fixture.servers[0].detached, [], "nothing downloaded anywhere")
        XCTAssertEqual(fixture.servers[1].detached, ["20261126_7_7_0"])
    }

    func testDataPathsIsPreferredAndADirectoryElsewhereIsRefused() throws {
        let fixture = try FreezeRestoreFixture()
        let elsewhere = FakeRestoreServer(port: 9011, dataPath: fixture.scratch.path + "/other/", target: fixture.target)
        elsewhere.columns = ["data_path", "data_paths"]
        try FileManager.default.removeItem(atPath: elsewhere.dataPath)
        var load = fixture.load(partitions: ["20261127"])
        load.servers = RestoreServers(cluster: "luminate", shards: [RestoreShard(shard: 1, primary: elsewhere, replicas: [elsewhere])])

        XCTAssertThrowsError(try FreezeRestoreEngine(context: fixture.context)
            .load(load, store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeRestoreError, .dataNotLocal(server: "127.0.0.1:9011", table: "luminate.metrics_local_restore",
                                                                       path: elsewhere.dataPath))
        }
        XCTAssertEqual(elsewhere.received, [
            FreezeRestoreStatements.dataPathColumns.sql,
            "SELECT data_paths AS paths FROM system.tables WHERE database = 'luminate' AND name = 'metrics_local_restore'",
        ])
    }

    func testDescribeNamesEveryTransferAndStatementWithoutAskingAServer() throws {
        let fixture = try FreezeRestoreFixture()
        let lines = FreezeRestoreEngine(context: fixture.context, transfers: 4).describe(fixture.load())
        XCTAssertEqual(lines.dropFirst(2), [
            "download 9 files (1008 B) of 2 partitions from \(fixture.id)/shard1/luminate/metrics_local/ into <data_path of luminate.metrics_local_restore>/detached/ on shard 1 (127.0.0.1:9011), checking each SHA-256 against the manifest, 4 at a time, owned like <data_path of luminate.metrics_local_restore>/",
            "download 3 files (337 B) of partition 20261126 from \(fixture.id)/shard2/luminate/metrics_local/ into <data_path of luminate.metrics_local_restore>/detached/ on shard 2 (127.0.0.1:9021), checking each SHA-256 against the manifest, 4 at a time, owned like <data_path of luminate.metrics_local_restore>/",
            "on shard 1 (127.0.0.1:9011): ALTER TABLE `luminate`.`metrics_local_restore` ATTACH PARTITION ID '20261126'",
            "on shard 1 (127.0.0.1:9011): ALTER TABLE `luminate`.`metrics_local_restore` ATTACH PARTITION ID '20261127'",
            "on shard 2 (127.0.0.1:9021): ALTER TABLE `luminate`.`metrics_local_restore` ATTACH PARTITION ID '20261126'",
            "nothing is attached before every file of every shard is checked; after a damaged file, a failure or Ctrl-C, the part directories this load made under detached/ are removed on every shard",
        ])
        XCTAssertTrue(lines[0].hasPrefix("on shard 1 (127.0.0.1:9011): SELECT name FROM system.columns"), lines[0])
        for server in fixture.servers { XCTAssertEqual(server.received, []) }
    }

    func testAKeyThatLeavesThePartIsDamageNotAPath() throws {
        let fixture = try FreezeRestoreFixture()
        var load = fixture.load()
        load.manifest.files.append(BackupFile(key: "shard1/luminate/metrics_local/20261126_0_0_0/../../escape", size: 1, sha256: "00"))
        XCTAssertThrowsError(try FreezeRestoreLayout.shards(of: load)) { error in
            XCTAssertEqual((error as? RestoreIntegrityError)?.file, "shard1/luminate/metrics_local/20261126_0_0_0/../../escape")
        }
    }
}

import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The freeze restore against the sandbox's 2x2 ClickHouse 18.16 cluster: a database of the
/// test's own (`frestore_<random>`, a ReplicatedMergeTree table with its own ZooKeeper path) is
/// backed up with the freeze engine into a `LocalDirectoryStore` in a temporary directory, then
/// loaded into a plain MergeTree staging table on replica 1 of each shard. The shared
/// `luminate` tables are never touched; the database is dropped on every node at the end.
final class FreezeRestoreIntegrationTests: XCTestCase {
    /// One ClickHouse node of the sandbox, from `system.clusters`.
    private struct Node {
        var replica: ClusterReplica
        var client: ClickHouseNative
    }

    private var context = Context.fake()
    private var nodes: [Node] = []
    private var cluster = ""
    private var database = ""
    private var storeRoot = ""

    override func setUpWithError() throws {
        let environment = try Sandbox.require([
            "LUMINATECTL_CLICKHOUSE_USER", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE", "LUMINATECTL_CLICKHOUSE_NATIVE",
            "LUMINATECTL_CLICKHOUSE_CLUSTER",
        ])
        let (host, port) = try ClickHouseNativeEndpoint.parseAddress(environment["LUMINATECTL_CLICKHOUSE_NATIVE"]!)
        let user = environment["LUMINATECTL_CLICKHOUSE_USER"]!
        let password = try Sandbox.password(fromFile: environment["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]!)
        Redactor.register(secret: password)
        cluster = environment["LUMINATECTL_CLICKHOUSE_CLUSTER"]!
        context = Context(processes: PosixProcessRunner(), http: CurlTransport(), clock: SystemClock(),
                          console: CapturedOutput().console(), environment: [:], workingDirectory: "/nonexistent-luminatectl-it")
        let context = self.context
        let configured = ClickHouseNative(endpoint: ClickHouseNativeEndpoint(host: host, port: port, user: user, password: password),
                                          context: context)
        nodes = try configured.query(ClusterReplicas.query(cluster: cluster), as: ClusterReplica.self).map { replica in
            Node(replica: replica, client: ClickHouseNative(
                endpoint: ClickHouseNativeEndpoint(host: replica.host, port: replica.port, user: user, password: password), context: context))
        }
        XCTAssertEqual(nodes.count, 4, "the sandbox's cluster is 2 shards x 2 replicas")
        database = "frestore_" + UUID().uuidString.prefix(8).lowercased()
        storeRoot = NSTemporaryDirectory() + "luminatectl-frestore-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: storeRoot, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if !database.isEmpty {
            for node in nodes { try? node.client.execute(try "DROP DATABASE IF EXISTS \(identifier: database)") }
            removeZooKeeperPath()
        }
        if !storeRoot.isEmpty { try? FileManager.default.removeItem(atPath: storeRoot) }
    }

    /// DROP TABLE removes a replicated table's znodes but not the parents its path created
    /// (`/clickhouse/tables/<database>/<shard>`); 18.16 cannot delete znodes by SQL, so the
    /// sandbox's own ZooKeeper client does it, for this test's path only.
    private func removeZooKeeperPath() {
        let client = "/usr/share/zookeeper/bin/zkCli.sh"
        guard let path = ProcessInfo.processInfo.environment["LUMINATECTL_SANDBOX_JSON"],
              let data = FileManager.default.contents(atPath: path), let json = try? JSONValue.parse(data),
              let port = json["components"]?["zookeeper"]?["port"]?.int, FileManager.default.isExecutableFile(atPath: client)
        else { return print("note: left /clickhouse/tables/\(database) in ZooKeeper (no zookeeper port in sandbox.json or no \(client))") }
        let request = ProcessRequest(client, ["-server", "127.0.0.1:\(port)", "deleteall", "/clickhouse/tables/\(database)"], timeout: 30)
        let result = try? PosixProcessRunner().run(request, interrupt: Interrupt())
        if result?.succeeded != true { print("note: could not remove /clickhouse/tables/\(database) from ZooKeeper: \(String(describing: result))") }
    }

    private var primaries: [Node] { nodes.filter { $0.replica.replica == 1 }.sorted { $0.replica.shard < $1.replica.shard } }

    private func session(_ journal: InMemoryJournal, kind: String) throws -> OperationSession {
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        let template = JournalEvent(operationID: "op-it", event: .started, time: Date(), actor: Actor(user: "it", host: "localhost"),
                                    environment: "default", commandLine: "luminatectl \(kind)", operation: kind, targets: [])
        return OperationSession(id: "op-it", spec: OperationSpec(kind: kind, targets: []), context: context,
                                configuration: configuration, template: template, journal: journal)
    }

    /// Rows per partition of a table on one server, from its active parts.
    private func rowsPerPartition(_ table: String, on node: Node) throws -> [String: UInt64] {
        struct Row: Decodable { var partition_id: String; var rows: FlexibleUInt64 }
        let rows = try node.client.query(
            "SELECT partition_id, sum(rows) AS rows FROM system.parts WHERE active AND database = \(literal: database) AND table = \(literal: table) GROUP BY partition_id ORDER BY partition_id",
            as: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.partition_id, $0.rows.value) })
    }

    private func count(_ table: String, on node: Node) throws -> UInt64 {
        struct Row: Decodable { var rows: FlexibleUInt64 }
        return try node.client.query("SELECT count() AS rows FROM \(table: database, table)", as: Row.self).first?.rows.value ?? 0
    }

    private func dataPath(_ table: String, on node: Node) throws -> String {
        struct Row: Decodable { var data_path: String }
        return try XCTUnwrap(try node.client.query(
            "SELECT data_path FROM system.tables WHERE database = \(literal: database) AND name = \(literal: table)", as: Row.self).first?.data_path)
    }

    private func createStaging(_ table: String) throws {
        for node in primaries {
            try node.client.execute(try "CREATE TABLE \(table: database, table) (ts DateTime, value UInt64) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts")
        }
    }

    private func servers() -> RestoreServers {
        let shards = Dictionary(grouping: nodes, by: \.replica.shard)
        return RestoreServers(cluster: cluster, shards: shards.keys.sorted().map { shard in
            let replicas = shards[shard]!.sorted { $0.replica.replica < $1.replica.replica }.map(\.client)
            return RestoreShard(shard: shard, primary: replicas[0], replicas: replicas)
        })
    }

    // MARK: - The test

    func testRestoresABackupRowForRowAndRefusesADamagedOne() throws {
        // The source: its own database and ReplicatedMergeTree table on all four nodes.
        let zookeeperPath = "/clickhouse/tables/\(database)/{shard}/events"
        for node in nodes {
            try node.client.execute(try "CREATE DATABASE \(identifier: database)")
            try node.client.execute(try "CREATE TABLE \(table: database, "events") (ts DateTime, value UInt64) ENGINE = ReplicatedMergeTree(\(literal: zookeeperPath), '{replica}') PARTITION BY toYYYYMMDD(ts) ORDER BY ts")
        }
        // 2026-11-20 12:00 UTC onwards; shard 1 gets three days in two inserts each, shard 2 two days.
        let noon: Int = 1_795_176_000
        let days: [Int: [Int]] = [1: [0, 1, 2], 2: [0, 2]]
        for node in primaries {
            for day in days[node.replica.shard]! {
                for batch in 0..<2 {
                    let start = noon + day * 86_400 + batch * 5_000
                    let rows = 300 + 100 * node.replica.shard + 10 * day + batch
                    try node.client.execute(try "INSERT INTO \(table: database, "events") SELECT toDateTime(\(start) + number), number FROM numbers(\(rows))")
                }
            }
        }
        let source = try primaries.map { try rowsPerPartition("events", on: $0) }
        XCTAssertEqual(source.map(\.count), [3, 2])

        // The backup, with the freeze engine, into a private store.
        let store = LocalDirectoryStore(root: storeRoot)
        let request = BackupRequest(id: BackupID(time: Date()), database: database, cluster: cluster)
        let started = Date()
        let outcome = try FreezeEngine(server: primaries[0].client, context: context)
            .run(request, store: store, session: try session(InMemoryJournal(), kind: "backup"), progress: { _ in })
        let manifest = BackupManifest(
            id: request.id.text, engine: .freeze, type: .full, base: nil, status: .complete, serverVersion: outcome.serverVersion,
            cluster: outcome.cluster, tables: outcome.tables, snapshotAt: outcome.snapshotAt, startedAt: started, finishedAt: Date(),
            durationSeconds: 1, operationID: "op-it", native: nil, files: outcome.files, sizeBytes: outcome.sizeBytes)
        let table = try XCTUnwrap(manifest.tables.first { $0.table == "events" })
        for (index, node) in primaries.enumerated() {
            let backedUp = Dictionary(uniqueKeysWithValues: table.partitions.filter { $0.shard == node.replica.shard }.map { ($0.id, $0.rows) })
            XCTAssertEqual(backedUp, source[index], "the backup's rows of shard \(node.replica.shard)")
        }
        let partitions = Array(Set(table.partitions.map(\.id))).sorted()
        XCTAssertEqual(partitions.count, 3)

        // The restore into an empty staging table on replica 1 of each shard.
        try createStaging("staging")
        let journal = InMemoryJournal()
        let engine = FreezeRestoreEngine(context: context, transfers: 4)
        let load = RestoreLoad(manifest: manifest, source: table, partitions: partitions,
                               target: QualifiedTable(database, "staging"), servers: servers())
        XCTAssertFalse(engine.describe(load).contains { $0.hasPrefix("refused") }, "\(engine.describe(load))")
        try engine.load(load, store: store, session: try session(journal, kind: "restore"), progress: { _ in })
        for (index, node) in primaries.enumerated() {
            XCTAssertEqual(try rowsPerPartition("staging", on: node), source[index], "rows per partition on shard \(node.replica.shard)")
            let detached = try dataPath("staging", on: node) + "detached"
            XCTAssertEqual(try ShadowDirectory.entries(detached), [], "ATTACH took every part out of \(detached)")
        }
        let attached = journal.events.filter { $0.step?.hasPrefix("attach partitions on ") == true }
        XCTAssertEqual(attached.map { $0.evidence["statements"]?.array?.count }, [3, 2])

        // A damaged file in the store: refused by name, nothing attached, detached/ left empty.
        let damaged = try XCTUnwrap(manifest.files.first { $0.key.hasPrefix("shard2/\(database)/events/") && $0.key.hasSuffix(".bin") })
        let path = "\(storeRoot)/\(request.id.text)/\(damaged.key)"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        bytes[0] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        try createStaging("staging_damaged")
        var refused = load
        refused.target = QualifiedTable(database, "staging_damaged")
        XCTAssertThrowsError(try engine.load(refused, store: store, session: try session(InMemoryJournal(), kind: "restore"), progress: { _ in })) { error in
            let integrity = error as? RestoreIntegrityError
            XCTAssertEqual(integrity?.file, damaged.key, "\(error)")
            XCTAssertEqual(integrity?.problem.hasPrefix("SHA-256 is "), true, "\(error)")
        }
        for node in primaries {
            XCTAssertEqual(try count("staging_damaged", on: node), 0, "nothing attached on shard \(node.replica.shard)")
            XCTAssertEqual(try ShadowDirectory.entries(try dataPath("staging_damaged", on: node) + "detached"), [])
        }
    }
}

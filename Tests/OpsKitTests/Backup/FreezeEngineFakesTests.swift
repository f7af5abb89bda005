import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// ClickHouse servers behind `clickhouse-client`, simulated: each node answers exactly the
/// statements the freeze engine sends (anything else fails the test), and FREEZE writes a
/// shadow directory into the node's data root in a scratch directory, as the server would.
final class FakeClickHouseNodes: ProcessRunning, @unchecked Sendable {
    struct Part: Sendable {
        var table: String
        var name: String
        var partition: String
        var rows: UInt64
    }

    final class Node: @unchecked Sendable {
        let shard: Int
        let replica: Int
        let port: Int
        /// The server's `<path>`, ending in `/`.
        var root: String
        var reachable = true
        var tables: [(name: String, engine: String)] = [("metrics", "Distributed"), ("metrics_local", "ReplicatedMergeTree")]
        var parts: [Part] = []
        /// Parts `system.parts` no longer lists (merged away and deleted since the freeze).
        var forgotten: Set<String> = []

        init(shard: Int, replica: Int, port: Int, root: String) {
            self.shard = shard
            self.replica = replica
            self.port = port
            self.root = root
        }

        var address: String { "127.0.0.1:\(port)" }

        /// Makes the live part directories `system.parts` points at.
        func materialize() throws {
            for part in parts {
                try FileManager.default.createDirectory(atPath: partDirectory(part), withIntermediateDirectories: true)
                try writeFile(partDirectory(part) + "count.txt", Data("\(part.rows)".utf8))
            }
        }

        func partDirectory(_ part: Part) -> String { "\(root)data/luminate/\(part.table)/\(part.name)/" }

        /// What FREEZE links: three files a part, the count and some deterministic bytes.
        static func files(of part: Part) -> [(String, Data)] {
            [("checksums.txt", Data("checksums of \(part.name)\n".utf8)),
             ("count.txt", Data("\(part.rows)".utf8)),
             ("value.bin", Data((0..<Int(part.rows % 251 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))]
        }

        static func bytes(of part: Part) -> UInt64 { files(of: part).reduce(0) { $0 + UInt64($1.1.count) } }
    }

    private let lock = NSLock()
    let nodes: [Node]
    private var calls: [(port: Int, sql: String)] = []
    /// Called with each statement as it arrives, before the answer.
    var onStatement: @Sendable (_ port: Int, _ sql: String) -> Void = { _, _ in }

    init(nodes: [Node]) { self.nodes = nodes }

    /// A 2x2 cluster under `scratch`, `days` daily partitions of `metrics_local` on each shard.
    static func cluster(in scratch: String, days: Int = 3) -> FakeClickHouseNodes {
        var nodes: [Node] = []
        for shard in 1...2 {
            for replica in 1...2 {
                let node = Node(shard: shard, replica: replica, port: 9000 + shard * 10 + replica,
                                root: "\(scratch)/ch-s\(shard)-r\(replica)/data/")
                node.parts = (0..<days).map { day in
                    Part(table: "metrics_local", name: "2026112\(day)_0_0_0", partition: "2026112\(day)", rows: UInt64(1000 + 10 * shard + day))
                }
                try! node.materialize()
                nodes.append(node)
            }
        }
        return FakeClickHouseNodes(nodes: nodes)
    }

    func node(shard: Int, replica: Int) -> Node { nodes.first { $0.shard == shard && $0.replica == replica }! }

    /// `port: sql` of every statement received, in order.
    var received: [String] { lock.withLock { calls.map { "\($0.port): \($0.sql)" } } }
    var statements: [String] { lock.withLock { calls.map(\.sql) } }

    func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult {
        guard request.executable == "clickhouse-client",
              let port = value(after: "--port", in: request.arguments).flatMap(Int.init),
              let sql = value(after: "--query", in: request.arguments)
        else { throw UnexpectedCall(description: "unexpected subprocess: \(request.commandLine)") }
        lock.withLock { calls.append((port, sql)) }
        onStatement(port, sql)
        guard let node = nodes.first(where: { $0.port == port }) else {
            throw UnexpectedCall(description: "no fake server on port \(port): \(sql)")
        }
        guard node.reachable else {
            return ProcessResult(status: .exited(210), stderr: Data("Code: 210. DB::NetException: Connection refused (127.0.0.1:\(port))\n".utf8))
        }
        return ProcessResult(status: .exited(0), stdout: Data(try answer(sql, on: node).utf8))
    }

    private func answer(_ sql: String, on node: Node) throws -> String {
        if sql == "SELECT version() AS version" { return Self.json([["version": "18.16.1"]]) }
        if sql.hasPrefix("SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = ") {
            guard sql.contains("'luminate'") else { return Self.json([]) }
            return Self.json(nodes.map { ["shard_num": $0.shard, "replica_num": $0.replica, "host_name": "127.0.0.1", "port": $0.port] })
        }
        if sql == "SELECT name, engine FROM system.tables WHERE database = 'luminate' ORDER BY name" {
            return Self.json(node.tables.map { ["name": $0.name, "engine": $0.engine] })
        }
        if sql.hasPrefix("SHOW CREATE TABLE `luminate`.`"), let table = Self.table(in: sql) {
            let engine = node.tables.first { $0.name == table }?.engine ?? "?"
            return Self.json([["statement": "CREATE TABLE luminate.\(table) (timestamp DateTime) ENGINE = \(engine)"]])
        }
        if sql.hasPrefix("SELECT table, groupUniqArray(") {
            let tables = Set(node.parts.map(\.table)).sorted().filter { sql.contains("'\($0)'") }
            return Self.json(tables.map { table in
                let first = node.parts.first { $0.table == table }!
                return ["table": table, "directories": ["\(node.root)data/luminate/\(table)/"], "part": node.partDirectory(first)]
            })
        }
        if sql.hasPrefix("ALTER TABLE `luminate`.`"), let table = Self.table(in: sql),
           let name = Self.quoted(after: "WITH NAME ", in: sql) {
            guard node.tables.contains(where: { $0.name == table && $0.engine.hasSuffix("MergeTree") }) else {
                throw UnexpectedCall(description: "FREEZE of \(table), which is no MergeTree table")
            }
            let partition = Self.quoted(after: "PARTITION ID ", in: sql)
            for part in node.parts where part.table == table && (partition == nil || part.partition == partition) {
                let directory = "\(node.root)shadow/\(name)/data/luminate/\(table)/\(part.name)/"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for (file, data) in Node.files(of: part) { try writeFile(directory + file, data) }
            }
            return ""
        }
        if sql.hasPrefix("SELECT name, partition_id, rows, bytes_on_disk FROM system.parts WHERE database = 'luminate' AND table = "),
           let table = Self.quoted(after: "AND table = ", in: sql) {
            let listed = node.parts.filter { $0.table == table && sql.contains("'\($0.name)'") && !node.forgotten.contains($0.name) }
            return Self.json(listed.map { ["name": $0.name, "partition_id": $0.partition, "rows": $0.rows, "bytes_on_disk": Node.bytes(of: $0)] })
        }
        throw UnexpectedCall(description: "unexpected statement on \(node.address): \(sql)")
    }

    private func value(after flag: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    private static func table(in sql: String) -> String? {
        guard let start = sql.range(of: "`luminate`.`") else { return nil }
        return String(sql[start.upperBound...].prefix { $0 != "`" })
    }

    private static func quoted(after marker: String, in sql: String) -> String? {
        guard let start = sql.range(of: marker + "'") else { return nil }
        return String(sql[start.upperBound...].prefix { $0 != "'" })
    }

    private static func json(_ rows: [[String: Any]]) -> String {
        let body: [String: Any] = ["meta": [] as [Any], "data": rows, "rows": rows.count]
        return String(decoding: try! JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }
}

/// A local store whose uploads (or downloads) can be made to fail, or to raise Ctrl-C, at the Nth one.
final class ScriptedStore: BackupStore, @unchecked Sendable {
    let inner: LocalDirectoryStore
    private let lock = NSLock()
    private var count = 0
    private let beforeUpload: @Sendable (Int) throws -> Void
    private let afterUpload: @Sendable (Int) -> Void
    private var downloadCount = 0
    private let beforeDownload: @Sendable (Int) throws -> Void

    init(root: String, beforeUpload: @escaping @Sendable (Int) throws -> Void = { _ in },
         afterUpload: @escaping @Sendable (Int) -> Void = { _ in },
         beforeDownload: @escaping @Sendable (Int) throws -> Void = { _ in }) {
        inner = LocalDirectoryStore(root: root)
        self.beforeUpload = beforeUpload
        self.afterUpload = afterUpload
        self.beforeDownload = beforeDownload
    }

    var uploads: Int { lock.withLock { count } }
    var downloads: Int { lock.withLock { downloadCount } }

    var location: String { inner.location }
    func list(prefix: String, delimiter: String?) throws -> StoreListing { try inner.list(prefix: prefix, delimiter: delimiter) }
    func stat(_ key: String) throws -> StoredObject? { try inner.stat(key) }
    func read(_ key: String) throws -> Data? { try inner.read(key) }
    func write(_ key: String, data: Data) throws { try inner.write(key, data: data) }

    func download(_ key: String, toFile path: String) throws -> StoredFile {
        let number = lock.withLock {
            downloadCount += 1
            return downloadCount
        }
        try beforeDownload(number)
        return try inner.download(key, toFile: path)
    }

    func checksum(_ key: String) throws -> StoredFile { try inner.checksum(key) }
    func delete(_ key: String) throws { try inner.delete(key) }

    func upload(_ key: String, fromFile path: String) throws -> StoredFile {
        let number = lock.withLock {
            count += 1
            return count
        }
        try beforeUpload(number)
        let stored = try inner.upload(key, fromFile: path)
        afterUpload(number)
        return stored
    }
}

/// The pieces every freeze engine test needs: a scratch directory, a fake cluster, a session.
struct FreezeFixture {
    let scratch = ScratchDirectory()
    let nodes: FakeClickHouseNodes
    let clock = ManualClock("2026-11-30T14:05:00Z")
    let output = CapturedOutput()
    let journal = InMemoryJournal()
    let context: Context
    let session: OperationSession
    let id = BackupID("20261130T140500Z")!

    init(days: Int = 3, configure: (FakeClickHouseNodes) -> Void = { _ in }) throws {
        nodes = FakeClickHouseNodes.cluster(in: scratch.path, days: days)
        configure(nodes)
        var context = Context.fake(clock: clock, output: output)
        context.processes = nodes
        self.context = context
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        let template = JournalEvent(operationID: "op-1", event: .started, time: clock.now(), actor: Actor(user: "alice", host: "ops-1"),
                                    environment: "default", commandLine: "luminatectl backup create", operation: "backup", targets: [])
        session = OperationSession(id: "op-1", spec: OperationSpec(kind: "backup", targets: ["clickhouse/luminate"]), context: context,
                                   configuration: configuration, template: template, journal: journal)
    }

    var storeRoot: String { scratch.path + "/store" }

    func client(port: Int) -> ClickHouseNative {
        ClickHouseNative(endpoint: ClickHouseNativeEndpoint(host: "127.0.0.1", port: port, user: "ops", password: "s3cret"),
                         processes: nodes, interrupt: context.interrupt, temporaryDirectory: scratch.path)
    }

    /// The engine as the live wiring builds it, on the fakes: the configured server is shard 1's replica 1.
    func engine(width: Int = 4) -> FreezeEngine {
        let (nodes, interrupt, temporary) = (self.nodes, context.interrupt, scratch.path)
        return FreezeEngine(server: client(port: nodes.node(shard: 1, replica: 1).port), replicaClient: { host, port in
            ClickHouseNative(endpoint: ClickHouseNativeEndpoint(host: host, port: port, user: "ops", password: "s3cret"),
                             processes: nodes, interrupt: interrupt, temporaryDirectory: temporary)
        }, uploadWidth: width)
    }

    func request(cluster: String? = "luminate", tables: [String] = [], partitions: [String] = [], base: BackupManifest? = nil) -> BackupRequest {
        BackupRequest(id: id, database: "luminate", tables: tables, partitions: partitions, base: base, cluster: cluster)
    }

    /// `luminatectl_*` entries left under a node's `shadow/`.
    func shadowLeft(_ node: FakeClickHouseNodes.Node) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: node.root + "shadow")) ?? []).filter { $0.hasPrefix("luminatectl_") }.sorted()
    }

    var steps: [String] { journal.events.compactMap(\.step) }
}

/// Creates (or replaces) a file, failing loudly.
func writeFile(_ path: String, _ data: Data) throws {
    guard FileManager.default.createFile(atPath: path, contents: data) else {
        throw UnexpectedCall(description: "cannot create \(path)")
    }
}

import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The freeze engine against the sandbox's 2x2 ClickHouse 18.16 cluster, inside a real
/// `OperationRunner` (in-memory journal, fake lock), with a `LocalDirectoryStore` in a
/// temporary directory: what it backs up, that the files in the store are the frozen parts, and
/// that no shadow directory is left on success, after a failed upload, or after Ctrl-C.
final class FreezeBackupIntegrationTests: XCTestCase {
    /// One ClickHouse node of the sandbox.
    private struct Node {
        var shard: Int
        var replica: Int
        var tcpPort: Int
        /// The server's `<path>`: `<node dir>/data/`.
        var dataRoot: String
    }

    private var nativeHost = ""
    private var nativePort = 0
    private var user = ""
    private var password = ""
    private var url = ""
    private var cluster = ""
    private var nodes: [Node] = []
    private var storeRoot = ""

    override func setUpWithError() throws {
        let environment = try Sandbox.require([
            "LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_CLICKHOUSE_USER", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE",
            "LUMINATECTL_CLICKHOUSE_NATIVE", "LUMINATECTL_CLICKHOUSE_CLUSTER", "LUMINATECTL_SANDBOX_JSON",
        ])
        (nativeHost, nativePort) = try ClickHouseNativeEndpoint.parseAddress(environment["LUMINATECTL_CLICKHOUSE_NATIVE"]!)
        user = environment["LUMINATECTL_CLICKHOUSE_USER"]!
        password = try Sandbox.password(fromFile: environment["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]!)
        Redactor.register(secret: password)
        url = environment["LUMINATECTL_CLICKHOUSE_URL"]!
        cluster = environment["LUMINATECTL_CLICKHOUSE_CLUSTER"]!
        let json = try XCTUnwrap(FileManager.default.contents(atPath: environment["LUMINATECTL_SANDBOX_JSON"]!))
        let sandbox = try XCTUnwrap(JSONValue.parse(json)["clickhouse"]?["nodes"]?.array, "sandbox.json has no clickhouse nodes")
        nodes = try sandbox.map { node in
            Node(shard: try XCTUnwrap(node["shard"]?.int), replica: try XCTUnwrap(node["replica"]?.int),
                 tcpPort: try XCTUnwrap(node["tcp_port"]?.int), dataRoot: try XCTUnwrap(node["dir"]?.string) + "/data/")
        }
        XCTAssertEqual(nodes.count, 4)
        storeRoot = NSTemporaryDirectory() + "luminatectl-freeze-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: storeRoot, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if !storeRoot.isEmpty { try? FileManager.default.removeItem(atPath: storeRoot) }
    }

    // MARK: - Running the engine as `backup create` will

    /// A plan that runs the engine, as the backup command's plan does between its own steps.
    private struct EnginePlan: OperationPlan {
        var engine: FreezeEngine
        var request: BackupRequest
        var store: any BackupStore
        var result: Box<BackupOutcome>

        var spec: OperationSpec { OperationSpec(kind: "backup", targets: ["clickhouse/\(request.database)"]) }
        func describe() -> String { engine.describe(request).map { "  \($0)\n" }.joined() }
        func describeJSON() -> JSONValue { .array(engine.describe(request).map { .string($0) }) }
        func execute(in session: OperationSession) throws -> ExitCode {
            result.value = try engine.run(request, store: store, session: session, progress: { _ in })
            return .success
        }
    }

    private final class Box<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: T?
        var value: T? {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }
    }

    private struct Run {
        var request: BackupRequest
        var outcome: BackupOutcome?
        var error: (any Error)?
        var journal: InMemoryJournal
    }

    private func backup(to store: any BackupStore, interrupt: Interrupt = Interrupt()) -> Run {
        let context = Context(processes: PosixProcessRunner(), http: CurlTransport(), clock: SystemClock(),
                              console: CapturedOutput().console(), environment: [:], workingDirectory: "/nonexistent-luminatectl-it",
                              interrupt: interrupt)
        let server = ClickHouseNative(endpoint: ClickHouseNativeEndpoint(host: nativeHost, port: nativePort, user: user, password: password),
                                      context: context)
        let request = BackupRequest(id: BackupID(time: Date()), database: "luminate", cluster: cluster)
        let journal = InMemoryJournal()
        let result = Box<BackupOutcome>()
        do {
            let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
            let runner = OperationRunner(context: context, configuration: configuration, journal: journal, lock: FakeLock(),
                                         actor: Actor(user: "it", host: "localhost"))
            let plan = EnginePlan(engine: FreezeEngine(server: server, context: context), request: request, store: store, result: result)
            _ = try runner.run(plan, invocation: Invocation(path: ["backup", "create"], argv: ["backup", "create"]))
            return Run(request: request, outcome: result.value, journal: journal)
        } catch {
            return Run(request: request, error: error, journal: journal)
        }
    }

    private var firstReplicas: [Node] { nodes.filter { $0.replica == 1 }.sorted { $0.shard < $1.shard } }

    /// Whatever is left under a node's `shadow/` (ClickHouse creates it at the first FREEZE).
    private func shadowEntries(_ node: Node) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: node.dataRoot + "shadow")) ?? []).sorted()
    }

    private func assertNoShadowLeft(file: StaticString = #filePath, line: UInt = #line) {
        for node in firstReplicas {
            XCTAssertEqual(shadowEntries(node), [], "shadow directory of shard \(node.shard) replica 1", file: file, line: line)
        }
        for node in nodes where node.replica != 1 {
            XCTAssertFalse(shadowEntries(node).contains { $0.hasPrefix(FreezeLayout.shadowPrefix) }, "replica 2 was not frozen", file: file, line: line)
        }
    }

    /// SHA-256 of a file, read here in pieces, independently of the store's own hashing.
    private func sha256(ofFile path: String) throws -> StoredFile {
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: path), "cannot open \(path)")
        defer { try? handle.close() }
        let hasher = SHA256Stream()
        while let piece = try handle.read(upToCount: 1 << 16), !piece.isEmpty { hasher.update(piece) }
        return StoredFile(size: hasher.byteCount, sha256: hasher.finish())
    }

    // MARK: - Tests

    func testBacksUpOneReplicaPerShardAndEveryFileMatchesTheStore() throws {
        let run = backup(to: LocalDirectoryStore(root: storeRoot))
        if let error = run.error { return XCTFail("the backup failed: \(error)") }
        let outcome = try XCTUnwrap(run.outcome)
        let id = run.request.id.text

        XCTAssertEqual(outcome.serverVersion, "18.16.1")
        XCTAssertEqual(outcome.cluster, BackupClusterLayout(name: cluster, shards: firstReplicas.map {
            ShardSource(shard: $0.shard, replica: "127.0.0.1:\($0.tcpPort)", replicas: 2)
        }))
        XCTAssertEqual(outcome.tables.map { "\($0.qualifiedName) \($0.engine)" }, ["luminate.metrics Distributed", "luminate.metrics_local ReplicatedMergeTree"])
        XCTAssertEqual(outcome.tables[0].partitions, [])
        XCTAssertTrue(outcome.tables[1].createStatement.hasPrefix("CREATE TABLE luminate.metrics_local"), outcome.tables[1].createStatement)

        // Every file as the store holds it, hashed again here; nothing else in the store.
        XCTAssertGreaterThan(outcome.files.count, 2 * 60)
        for file in outcome.files {
            XCTAssertEqual(try sha256(ofFile: "\(storeRoot)/\(id)/\(file.key)"), StoredFile(size: file.size, sha256: file.sha256), file.key)
        }
        let stored = try LocalDirectoryStore(root: storeRoot).list(prefix: "\(id)/", delimiter: nil).objects.map(\.key)
        XCTAssertEqual(stored, outcome.files.map { "\(id)/\($0.key)" }.sorted())
        XCTAssertEqual(outcome.sizeBytes, outcome.files.reduce(0) { $0 + $1.size })

        // They are the live parts of replica 1 of each shard (hard links until the shadow went).
        for node in firstReplicas {
            let prefix = "shard\(node.shard)/luminate/metrics_local/"
            let files = outcome.files.filter { $0.key.hasPrefix(prefix) }
            XCTAssertEqual(Set(files.map { $0.key.dropFirst(prefix.count).split(separator: "/")[0] }).count, 60, "60 parts on shard \(node.shard)")
            for file in files where file.key.hasSuffix("/checksums.txt") {
                let live = node.dataRoot + "data/luminate/metrics_local/" + file.key.dropFirst(prefix.count)
                XCTAssertEqual(try sha256(ofFile: live).sha256, file.sha256, live)
            }
        }

        // Rows per partition over both shards, as the Distributed table counts them.
        struct Row: Decodable { var partition: String; var rows: FlexibleUInt64 }
        let http = ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: url, user: user, password: password), transport: CurlTransport(),
                                  interrupt: Interrupt())
        let counted = try http.query(
            "SELECT toString(toYYYYMMDD(timestamp)) AS partition, count() AS rows FROM luminate.metrics GROUP BY partition ORDER BY partition",
            as: Row.self)
        XCTAssertEqual(counted.count, 60)
        var backedUp: [String: UInt64] = [:]
        for partition in outcome.tables[1].partitions { backedUp[partition.id, default: 0] += partition.rows }
        XCTAssertEqual(backedUp, Dictionary(uniqueKeysWithValues: counted.map { ($0.partition, $0.rows.value) }))
        XCTAssertEqual(outcome.tables[1].rows, 120_000)
        XCTAssertEqual(Set(outcome.tables[1].partitions.map(\.shard)), [1, 2])

        assertNoShadowLeft()

        let events = run.journal.events
        XCTAssertEqual(events.first?.event, .started)
        XCTAssertEqual(events.last?.event, .finished)
        for node in firstReplicas {
            let label = "shard \(node.shard) (127.0.0.1:\(node.tcpPort))"
            let located = events.first { $0.step == "locate the data of \(label)" }
            XCTAssertEqual(located?.evidence["dataDirectory"], .string(node.dataRoot), "the data root derived from system.parts")
            let frozen = events.first { $0.step == "freeze luminate.metrics_local on \(label)" }
            XCTAssertEqual(frozen?.evidence["parts"], 60)
            XCTAssertEqual(frozen?.evidence["rows"], 60_000)
            XCTAssertNotNil(events.first { $0.step == "remove shadow directory luminatectl_\(run.request.id.text) on \(label)" })
        }
    }

    func testAFailedUploadLeavesNoShadowDirectory() throws {
        let store = CountingStore(root: storeRoot, failAt: 25)
        let run = backup(to: store)
        XCTAssertEqual(run.error as? BackupStoreError, BackupStoreError(location: "test", key: nil, reason: "upload 25 refused"))
        XCTAssertNil(run.outcome)
        XCTAssertLessThan(store.uploads, 40, "the other transfers stopped")
        assertNoShadowLeft()

        let failed = try XCTUnwrap(run.journal.events.last)
        XCTAssertEqual(failed.event, .failed)
        let cleanup = failed.evidence["shadowCleanup"]?.array ?? []
        XCTAssertEqual(cleanup.compactMap { $0["replica"]?.string }, firstReplicas.map { "shard \($0.shard) (127.0.0.1:\($0.tcpPort))" })
        XCTAssertTrue(cleanup.allSatisfy { ($0["files"]?.int ?? 0) > 60 }, "\(cleanup)")
    }

    func testCtrlCAfterAFewUploadsLeavesNoShadowDirectory() throws {
        let interrupt = Interrupt()
        let store = CountingStore(root: storeRoot, delay: 0.002)
        // Ctrl-C from another thread, as the signal handler raises it, once a few files are up.
        let watcher = Thread {
            let deadline = Date().addingTimeInterval(60)
            while store.uploads < 10, Date() < deadline { usleep(500) }
            interrupt.raise(SIGINT)
        }
        watcher.start()
        let run = backup(to: store, interrupt: interrupt)
        let error = try XCTUnwrap(run.error as? OperationInterrupted, "\(String(describing: run.error))")
        XCTAssertTrue(error.step.hasPrefix("upload shard 1 "), error.step)
        XCTAssertLessThan(store.uploads, 100, "uploads stopped at Ctrl-C")
        assertNoShadowLeft()
        XCTAssertEqual(run.journal.events.last?.event, .interrupted)
        XCTAssertEqual(run.journal.events.last?.evidence["shadowCleanup"]?.array?.count, 2)
    }
}

/// A local store that counts uploads, and can refuse the Nth or slow each one down.
private final class CountingStore: BackupStore, @unchecked Sendable {
    private let inner: LocalDirectoryStore
    private let failAt: Int?
    private let delay: Double
    private let count = Mutex(0)

    init(root: String, failAt: Int? = nil, delay: Double = 0) {
        inner = LocalDirectoryStore(root: root)
        self.failAt = failAt
        self.delay = delay
    }

    var uploads: Int { count.withLock { $0 } }

    var location: String { inner.location }
    func list(prefix: String, delimiter: String?) throws -> StoreListing { try inner.list(prefix: prefix, delimiter: delimiter) }
    func stat(_ key: String) throws -> StoredObject? { try inner.stat(key) }
    func read(_ key: String) throws -> Data? { try inner.read(key) }
    func write(_ key: String, data: Data) throws { try inner.write(key, data: data) }
    func download(_ key: String, toFile path: String) throws -> StoredFile { try inner.download(key, toFile: path) }
    func checksum(_ key: String) throws -> StoredFile { try inner.checksum(key) }
    func delete(_ key: String) throws { try inner.delete(key) }

    func upload(_ key: String, fromFile path: String) throws -> StoredFile {
        let number = count.withLock { value in
            value += 1
            return value
        }
        if number == failAt { throw BackupStoreError(location: "test", key: nil, reason: "upload \(number) refused") }
        if delay > 0 { usleep(UInt32(delay * 1_000_000)) }
        return try inner.upload(key, fromFile: path)
    }
}

import Foundation
@testable import OpsKit
import OpsKitTestSupport

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "luminatectl-backup-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum BackupFixtures {
    static func manifest(
        _ id: String, engine: BackupEngineKind = .native, base: String? = nil,
        tables: [TableBackup]? = nil, size: UInt64 = 1000
    ) -> BackupManifest {
        let time = BackupID(id)!.time
        return BackupManifest(
            id: id, engine: engine, type: base == nil ? .full : .incremental, base: base, status: .complete,
            serverVersion: "26.9.2.1", cluster: nil,
            tables: tables ?? [TableBackup(
                database: "luminate", table: "metrics", engine: "MergeTree",
                createStatement: "CREATE TABLE luminate.metrics (ts DateTime) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts",
                partitions: [PartitionBackup(shard: 1, id: "20261126", rows: 2000, bytes: 500),
                             PartitionBackup(shard: 1, id: "20261127", rows: 1500, bytes: 400)])],
            snapshotAt: time, startedAt: time, finishedAt: time.addingTimeInterval(12), durationSeconds: 12,
            operationID: "op-\(id)", native: nil, files: [], sizeBytes: size)
    }

    /// Writes a complete backup (its manifest and one data file) into `store`.
    static func storeComplete(_ manifest: BackupManifest, in store: any BackupStore) throws {
        try store.write("\(manifest.id)/data/part.bin", data: Data(repeating: 7, count: 100))
        try store.write(BackupLayout.manifestKey(manifest.id), data: try manifest.encoded())
    }
}

/// A ClickHouse HTTP endpoint faked by SQL: each expectation names a fragment the next query
/// must contain and the JSON (or error) it gets back; any other query fails the test.
final class ScriptedClickHouse: @unchecked Sendable {
    let http = FakeHTTPTransport()
    private(set) var statements: [String] = []
    private let lock = NSLock()

    static let url = "http://ch.test:8123"

    func expect(_ fragment: String, rows: [String], status: Int = 200, headers: [String: String] = [:]) {
        let body = rows.isEmpty && status != 200 ? "" : #"{"meta": [], "data": [\#(rows.joined(separator: ","))], "rows": \#(rows.count)}"#
        expect(fragment, status: status, body: body, headers: headers)
    }

    func expect(_ fragment: String, status: Int, body: String, headers: [String: String] = [:]) {
        http.expect("POST", urlPrefix: Self.url + "/?") { [self] request in
            let sql = String(decoding: request.body ?? Data(), as: UTF8.self)
            lock.lock(); statements.append(sql); lock.unlock()
            guard sql.contains(fragment) else {
                throw UnexpectedCall(description: "expected a query containing \(fragment)\nreceived: \(sql)")
            }
            return HTTPResponse(status: status, headers: headers, body: Data(body.utf8))
        }
    }

    func client(context: Context) -> ClickHouseHTTP {
        ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: Self.url, user: "ops", password: "s3cret-pw", passwordSource: "test", database: "luminate"),
                       transport: http, interrupt: context.interrupt)
    }
}

enum SessionFixtures {
    /// A session over an in-memory journal, as the runner would hand a plan.
    static func session(context: Context, journal: InMemoryJournal = InMemoryJournal(), kind: String = "backup") throws -> OperationSession {
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        let actor = Actor(user: "test", host: "host", ci: nil)
        let template = JournalEvent(operationID: "op-test", event: .started, time: context.clock.now(), actor: actor,
                                    environment: "default", commandLine: "luminatectl \(kind)", operation: kind, targets: [])
        return OperationSession(id: "op-test", spec: OperationSpec(kind: kind, targets: []), context: context,
                                configuration: configuration, template: template, journal: journal)
    }
}

import Foundation
import Synchronization
@testable import OpsKit
import OpsKitTestSupport

/// A ClickHouse server for restore plans: each expectation names a fragment the next statement
/// must contain and the rows it answers (JSON objects); anything else fails.
final class ScriptedServer: RestoreSQL, @unchecked Sendable {
    let address: String
    private let state = Mutex<(expected: [(String, String)], sent: [String])>(([], []))
    /// Called before each statement is answered (to press Ctrl-C at a chosen moment).
    var onStatement: (@Sendable (String) -> Void)?

    init(_ address: String) { self.address = address }

    func expect(_ fragment: String, rows: String = "[]") { state.withLock { $0.expected.append((fragment, rows)) } }

    var sent: [String] { state.withLock { $0.sent } }
    var pending: [String] { state.withLock { $0.expected.map(\.0) } }

    private func next(_ sql: String) throws -> String {
        onStatement?(sql)
        return try state.withLock { state in
            state.sent.append(sql)
            guard !state.expected.isEmpty else { throw UnexpectedCall(description: "\(address): unexpected statement \(sql)") }
            let (fragment, rows) = state.expected.removeFirst()
            guard sql.contains(fragment) else {
                throw UnexpectedCall(description: "\(address): expected a statement containing \(fragment)\nreceived: \(sql)")
            }
            return rows
        }
    }

    func query<Row: Decodable>(_ sql: SQLFragment, as type: Row.Type, options: ClickHouseQueryOptions) throws -> [Row] {
        try JSONDecoder().decode([Row].self, from: Data(try next(sql.sql).utf8))
    }

    func execute(_ sql: SQLFragment, options: ClickHouseQueryOptions) throws { _ = try next(sql.sql) }

    func uninterruptible() -> any RestoreSQL { self }
}

/// An engine that records what it was asked to load and runs `body` (to fake what the server
/// then holds).
final class RecordingRestoreEngine: RestoreEngine, @unchecked Sendable {
    let kind: BackupEngineKind
    private let state = Mutex<[RestoreLoad]>([])
    var failure: (any Error)?
    /// Runs during each load (to move a manual clock, as a slow restore would).
    var during: (@Sendable () -> Void)?

    init(kind: BackupEngineKind = .native) { self.kind = kind }

    var loads: [RestoreLoad] { state.withLock { $0 } }

    func describe(_ load: RestoreLoad) -> [String] { ["load \(load.partitions.joined(separator: ",")) into \(load.target)"] }

    func load(_ load: RestoreLoad, store: any BackupStore, session: OperationSession,
              progress: @escaping @Sendable (RestoreProgress) -> Void) throws {
        state.withLock { $0.append(load) }
        during?()
        if let failure { throw failure }
    }
}

enum RestoreFixtures {
    static let create = "CREATE TABLE luminate.metrics (`ts` DateTime, `v` Float64) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts"

    /// A backup of `luminate.metrics` holding 20261126 (2,000 rows) and 20261127 (1,500 rows).
    static func manifest(_ id: String = "20261130T140500Z") -> BackupManifest {
        BackupFixtures.manifest(id, tables: [TableBackup(
            database: "luminate", table: "metrics", engine: "MergeTree", createStatement: create,
            partitions: [PartitionBackup(shard: 1, id: "20261126", rows: 2000, bytes: 500),
                         PartitionBackup(shard: 1, id: "20261127", rows: 1500, bytes: 400)])])
    }

    static func point(_ manifest: BackupManifest) -> RestorePoint {
        RestorePoint(manifest: manifest, chain: [manifest], requested: nil, gapSeconds: nil,
                     statement: "restores to 2026-11-30 14:05 UTC (backup \(manifest.id), full)")
    }

    /// Rows of `system.parts` counts.
    static func counts(_ pairs: [(String, Int)]) -> String {
        "[" + pairs.map { #"{"partition_id":"\#($0.0)","rows":"\#($0.1)"}"# }.joined(separator: ",") + "]"
    }

    /// The planner's reads of a live `luminate.metrics`: no staging database, the table exists
    /// with `create`, and these counts.
    static func expectLive(_ server: ScriptedServer, counts pairs: [(String, Int)], staging: String = "luminate_restore_20261130T140500Z",
                           create statement: String = create) {
        server.expect("FROM system.databases WHERE name = '\(staging)'")
        server.expect("FROM system.tables WHERE database = 'luminate' AND name = 'metrics'", rows: #"[{"name":"metrics"}]"#)
        let escaped = statement.replacingOccurrences(of: "\"", with: "\\\"")
        server.expect("SHOW CREATE TABLE `luminate`.`metrics`", rows: #"[{"statement":"\#(escaped)"}]"#)
        server.expect("FROM system.parts", rows: counts(pairs))
    }
}

import Foundation
import Synchronization

/// A copy of journal records in a ClickHouse table, so a team reads one history whichever
/// machine ran the operation. The local file stays the record of truth: it is written (and
/// fsynced) first, and a mirror that cannot be reached costs a warning, never the record.
///
/// The table is a plain MergeTree on the configured endpoint (created if missing), with the
/// record's fields as columns and the line itself in `record`, so a record's hash can be checked
/// from the table alone. `journal sync` sends what is missing.
package final class JournalMirror: Sendable {
    package let client: ClickHouseHTTP
    package let database: String
    package let table: String
    /// Whether the table is known to exist, and the first failure of this run (after which
    /// records are not sent again in this run: each attempt at a dead server would delay the
    /// operation by the connect timeout).
    private let state = Mutex<(ready: Bool, failure: String?)>((false, nil))

    package init(client: ClickHouseHTTP, database: String, table: String) {
        self.client = client
        self.database = database
        self.table = table
    }

    /// `clickhouse 127.0.0.1:8123 (luminate_ops.journal)`, as warnings name it.
    package var target: String { "clickhouse \(client.host) (\(database).\(table))" }

    // MARK: - SQL

    /// `CREATE DATABASE` and `CREATE TABLE ... IF NOT EXISTS`, in the syntax ClickHouse 18.16
    /// takes (`MergeTree()` with `PARTITION BY`; no TTL before 19.6).
    package static func createStatements(database: String, table: String) throws -> [SQLFragment] {
        [
            try "CREATE DATABASE IF NOT EXISTS \(identifier: database)",
            try """
                CREATE TABLE IF NOT EXISTS \(table: database, table) (
                    time DateTime('UTC'),
                    id String,
                    seq UInt64,
                    operation String,
                    event String,
                    kind String,
                    environment String,
                    actor_user String,
                    actor_host String,
                    actor_ci Nullable(String),
                    command_line String,
                    targets Array(String),
                    inputs String,
                    step Nullable(String),
                    evidence String,
                    outcome Nullable(String),
                    message Nullable(String),
                    reason Nullable(String),
                    duration_seconds Nullable(Float64),
                    luminatectl String,
                    prev String,
                    hash String,
                    record String
                ) ENGINE = MergeTree() PARTITION BY toYYYYMM(time) ORDER BY (time, id)
                """,
        ]
    }

    /// One `JSONEachRow` row. `time` is written `YYYY-MM-DD hh:mm:ss` into a `DateTime('UTC')`
    /// column: without the column's zone the server would read it in its own time zone.
    package static func row(_ record: JournalRecord) -> JSONValue {
        let e = record.event
        func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
        let time = JournalTime.format(e.time)
        return .object([
            ("time", .string(String(time.prefix(10)) + " " + String(time.dropFirst(11).prefix(8)))),
            ("id", .string(record.id)),
            ("seq", .number(Double(record.seq))),
            ("operation", .string(e.operationID)),
            ("event", .string(e.event.rawValue)),
            ("kind", .string(e.operation)),
            ("environment", .string(e.environment)),
            ("actor_user", .string(e.actor.user)),
            ("actor_host", .string(e.actor.host)),
            ("actor_ci", optional(e.actor.ci)),
            ("command_line", .string(e.commandLine)),
            ("targets", .array(e.targets.map { .string($0) })),
            ("inputs", .string(e.inputs.rendered())),
            ("step", optional(e.step)),
            ("evidence", .string(e.evidence.rendered())),
            ("outcome", optional(e.outcome)),
            ("message", optional(e.message)),
            ("reason", optional(e.reason)),
            ("duration_seconds", e.durationSeconds.map { .number($0) } ?? .null),
            ("luminatectl", .string(record.version)),
            ("prev", .string(record.prev)),
            ("hash", .string(record.hash)),
            ("record", .string(record.line)),
        ])
    }

    // MARK: - Requests

    /// Creates the database and table unless this run already did.
    package func createTableIfMissing() throws {
        if state.withLock({ $0.ready }) { return }
        for statement in try Self.createStatements(database: database, table: table) {
            try client.execute(statement)
        }
        state.withLock { $0.ready = true }
    }

    /// Inserts `records` in one request.
    package func insert(_ records: [JournalRecord]) throws {
        guard !records.isEmpty else { return }
        try createTableIfMissing()
        let insert: SQLFragment = try "INSERT INTO \(table: database, table) FORMAT JSONEachRow"
        try client.execute(insert.sql + "\n" + records.map { Self.row($0).rendered() }.joined(separator: "\n"))
    }

    /// The hashes the mirror holds for `ids` (ids it does not have are absent).
    package func hashes(of ids: [String]) throws -> [String: String] {
        struct Row: Decodable { var id: String; var hash: String }
        try createTableIfMissing()
        var found: [String: String] = [:]
        var start = 0
        while start < ids.count {
            let batch = ids[start..<min(ids.count, start + 500)].map { SQL.string($0) }
            let sql: SQLFragment = try "SELECT id, hash FROM \(table: database, table) WHERE id IN (\(list: batch))"
            for row in try client.query(sql, as: Row.self) { found[row.id] = row.hash }
            start += 500
        }
        return found
    }

    /// Sends one record as it is journaled. A failure is reported through `warn`, naming the
    /// server and the record, and later records of this run are not sent (`journal sync` sends
    /// them when the server is back).
    package func mirror(_ record: JournalRecord, path: String, warn: (String) -> Void) {
        if let failure = state.withLock({ $0.failure }) {
            warn("journal record \(record.id) was not mirrored to \(target): the mirror failed earlier in this run (\(failure)); it is kept in \(path)")
            return
        }
        do {
            try insert([record])
        } catch {
            let reason = Redactor.redact(String(describing: error))
            state.withLock { $0.failure = "at record \(record.id)" }
            warn("journal record \(record.id) was not mirrored to \(target): \(reason); it is kept in \(path), run 'luminatectl journal sync' when the server is back")
        }
    }
}

/// The live journal with a ClickHouse mirror: the local record is written first (and its
/// failure stops the operation); the mirror's failure is only reported.
package struct MirroredJournal: OperationJournal {
    package let file: JournalFile
    package let mirror: JournalMirror
    package let warn: @Sendable (String) -> Void

    package init(file: JournalFile, mirror: JournalMirror, warn: @escaping @Sendable (String) -> Void) {
        self.file = file
        self.mirror = mirror
        self.warn = warn
    }

    package func append(_ event: JournalEvent) throws {
        let record = try file.write(event)
        mirror.mirror(record, path: file.path, warn: warn)
    }
}

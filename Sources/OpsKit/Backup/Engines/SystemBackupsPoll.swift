import Foundation

/// How a `BACKUP ... ASYNC` or `RESTORE ... ASYNC` is followed: its row in `system.backups`,
/// read every `interval` until its status is one of `done` or `failed`. Both native engines use
/// this loop and turn its outcome into their own errors.
struct SystemBackupsPoll: Sendable {
    enum Outcome {
        case done(BackupRow)
        case failed(BackupRow)
        /// The row left `system.backups`, which lives in memory: the server restarted.
        case vanished
        /// Ctrl-C between two looks; `killed` says whether the server confirmed stopping it.
        case interrupted(signal: Int32, killed: Bool)
    }

    var clickhouse: ClickHouseHTTP
    var interval: Double

    func wait(_ id: String, done: Set<String>, failed: Set<String>, context: Context,
                      each row: (BackupRow) -> Void) throws -> Outcome {
        while true {
            let sql: SQLFragment = "SELECT id, status, error, num_files, total_size, query_id FROM system.backups WHERE id = \(literal: id)"
            guard let current = try clickhouse.query(sql, as: BackupRow.self).first else { return .vanished }
            row(current)
            if done.contains(current.status) { return .done(current) }
            if failed.contains(current.status) { return .failed(current) }
            context.clock.sleep(seconds: interval, interrupt: context.interrupt)
            if let signal = context.interrupt.signal {
                // The server goes on unless told otherwise. The work runs under the query id
                // system.backups names, not under the backup's or restore's own id.
                let killed = (try? clickhouse.kill(queryID: current.queryID ?? id)).map { !$0.isEmpty } ?? false
                return .interrupted(signal: signal, killed: killed)
            }
        }
    }
}

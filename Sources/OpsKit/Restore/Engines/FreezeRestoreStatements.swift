import Foundation

/// Every statement the freeze restore sends, built in one place so `describe` prints exactly
/// what `load` sends.
package enum FreezeRestoreStatements {
    /// Which way this server's `system.tables` names a table's directory: 18.16 has the string
    /// `data_path`; 19.15+ has the array `data_paths` (one entry per disk) and later drops
    /// `data_path`. Asking `system.columns` first keeps one code path for both.
    package static let dataPathColumns: SQLFragment =
        "SELECT name FROM system.columns WHERE database = 'system' AND table = 'tables' AND name IN ('data_path', 'data_paths') ORDER BY name"

    /// The table's data directories as an array, whichever column the server has.
    package static func dataPaths(of table: QualifiedTable, array: Bool) -> SQLFragment {
        if array {
            return "SELECT data_paths AS paths FROM system.tables WHERE database = \(literal: table.database) AND name = \(literal: table.table)"
        }
        return "SELECT [data_path] AS paths FROM system.tables WHERE database = \(literal: table.database) AND name = \(literal: table.table)"
    }

    /// `ALTER TABLE db.t ATTACH PARTITION ID '20261126'`: takes every part of the partition from
    /// `detached/` (and moves it out of there). By id, as the backup's FREEZE went: a numeric key
    /// given as `PARTITION '20261126'` fails on 18.16.
    package static func attach(_ table: QualifiedTable, partition: String) throws -> SQLFragment {
        let name = try table.sql
        return "ALTER TABLE \(name) ATTACH PARTITION ID \(literal: partition)"
    }

    /// Limit for one ATTACH: it renames directories and, on a replicated table, writes the log
    /// entry; thousands of parts take a while.
    package static let attachTimeout: Double = 600
}

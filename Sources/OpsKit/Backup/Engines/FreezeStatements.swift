import Foundation

/// Every statement the freeze engine sends, built in one place so `describe` prints exactly
/// what `run` sends.
package enum FreezeStatements {
    /// The tables of the database, with their engines.
    package static func tables(database: String) -> SQLFragment {
        "SELECT name, engine FROM system.tables WHERE database = \(literal: database) ORDER BY name"
    }

    /// 18.16 has `system.tables.create_table_query` too, but `SHOW CREATE TABLE` is what every
    /// version answers the same way, and what an operator would type.
    package static func showCreate(database: String, table: String) throws -> SQLFragment {
        try "SHOW CREATE TABLE \(table: database, table)"
    }

    /// Per table, the directories of its active parts (a part's `path` without its own name)
    /// and one part's path, to check that the data is on this machine.
    package static func dataDirectories(database: String, tables: [String]) -> SQLFragment {
        """
        SELECT table, groupUniqArray(replaceRegexpOne(path, '[^/]+/$', '')) AS directories, any(path) AS part \
        FROM system.parts WHERE active AND database = \(literal: database) AND table IN (\(list: tables.map(SQL.string))) \
        GROUP BY table ORDER BY table
        """
    }

    /// `ALTER TABLE db.t FREEZE [PARTITION ID 'id'] WITH NAME 'luminatectl_<id>'`. The partition
    /// goes by id (`PARTITION ID '20261126'`): a numeric key given as `PARTITION '20261126'`
    /// fails on 18.16. A partition the table lacks freezes nothing, without an error.
    package static func freeze(database: String, table: String, partition: String?, name: String) throws -> SQLFragment {
        if let partition {
            return try "ALTER TABLE \(table: database, table) FREEZE PARTITION ID \(literal: partition) WITH NAME \(literal: name)"
        }
        return try "ALTER TABLE \(table: database, table) FREEZE WITH NAME \(literal: name)"
    }

    /// Rows and bytes of the frozen parts, active or not: a part merged away since the freeze is
    /// still listed (inactive) until the server deletes it, minutes later.
    package static func frozenParts(database: String, table: String, names: [String]) -> SQLFragment {
        """
        SELECT name, partition_id, rows, bytes_on_disk FROM system.parts \
        WHERE database = \(literal: database) AND table = \(literal: table) AND name IN (\(list: names.map(SQL.string))) \
        ORDER BY name
        """
    }

    /// Part names per `frozenParts` query: keeps each well below `max_query_size` (256 KiB).
    package static let partNamesPerQuery = 1000
}

import Foundation

/// Where the freeze engine finds things on a ClickHouse server's disk and where it puts them in
/// the store. Pure functions of names and paths, so `describe` and `run` agree by construction.
///
/// On the server (`<root>` is the `<path>` of its config, ending in `/`):
///
///     <root>data/<db>/<table>/<part>/                        a live part
///     <root>shadow/luminatectl_<id>/data/<db>/<table>/<part>/ the same part, hard-linked by FREEZE
///
/// In the store, below the backup's folder:
///
///     <id>/shard<N>/<db>/<table>/<part>/<file>   every file of every frozen part, per shard
///     <id>/schema/<db>/<table>.sql               `SHOW CREATE TABLE`, for every table
package enum FreezeLayout {
    /// Every shadow directory luminatectl makes starts with this; only those are ever removed.
    package static let shadowPrefix = "luminatectl_"

    /// `luminatectl_20261130T140500Z`: the `WITH NAME` of every FREEZE of one backup.
    package static func shadowName(_ id: BackupID) -> String { shadowPrefix + id.text }

    /// `<root>shadow/`, which ClickHouse creates at the first FREEZE.
    package static func shadowRoot(dataRoot: String) -> String { dataRoot + "shadow/" }

    /// `<root>shadow/<name>/`: everything one backup froze on one server.
    package static func shadowDirectory(dataRoot: String, name: String) -> String { shadowRoot(dataRoot: dataRoot) + name + "/" }

    /// Where FREEZE puts a table's parts: the table's directory relative to the data root, under
    /// the shadow directory.
    package static func frozenTableDirectory(dataRoot: String, name: String, relativeTableDirectory: String) -> String {
        shadowDirectory(dataRoot: dataRoot, name: name) + relativeTableDirectory
    }

    /// `data/<db>/<table>/`: a table's directory below the root in an Ordinary database, the only
    /// kind 18.16 has. The server escapes names for the file system, but names within
    /// `SQL.identifierRule` come out unchanged.
    package static func ordinaryTableDirectory(database: String, table: String) -> String { "data/\(database)/\(table)/" }

    /// Splits a table's directory as `system.parts` shows it (the `path` of a part without the
    /// part's own name) into the server's data root and the rest. Both layouts ClickHouse uses
    /// put a table three levels below the root: `data/<db>/<table>/` (Ordinary databases) and
    /// `store/<3 hex>/<uuid>/` (Atomic, 20.5+). Nil for a path too short to be either.
    package static func splitTableDirectory(_ directory: String) -> (dataRoot: String, relative: String)? {
        guard directory.hasPrefix("/") else { return nil }
        let parts = directory.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 3, !parts.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        let root = parts.dropLast(3).map { "/" + $0 }.joined() + "/"
        let relative = parts.suffix(3).joined(separator: "/") + "/"
        return (root, relative)
    }

    /// A part's name starts with its partition id, then the block numbers and the level:
    /// `20261126_3_3_0` is in partition `20261126`. Only for parts `system.parts` no longer lists.
    package static func partitionID(ofPart name: String) -> String {
        String(name.prefix { $0 != "_" })
    }

    // MARK: - The store

    /// `<id>/shard<N>/<db>/<table>/<part>/<file>` (`file` may hold a sub-path).
    package static func dataKey(_ id: BackupID, shard: Int, database: String, table: String, part: String, file: String) -> String {
        dataKey(id.text, shard: String(shard), database: database, table: table, part: part, file: file)
    }

    /// The same with any text in each place, for `--dry-run`'s `shard<N>/<table>/...`.
    static func dataKey(_ id: String, shard: String, database: String, table: String, part: String, file: String) -> String {
        "\(id)/shard\(shard)/\(database)/\(table)/\(part)/\(file)"
    }

    /// `<id>/schema/<db>/<table>.sql`.
    package static func schemaKey(_ id: BackupID, database: String, table: String) -> String {
        "\(id.text)/schema/\(database)/\(table).sql"
    }

    /// What a schema file holds: the statement, runnable as it stands with `clickhouse-client`.
    package static func schemaFile(_ createStatement: String) -> Data { Data((createStatement + ";\n").utf8) }

    /// A key relative to the backup's folder, as the manifest lists files.
    package static func relativeKey(_ key: String, id: BackupID) -> String {
        let folder = BackupLayout.folder(id.text)
        return key.hasPrefix(folder) ? String(key.dropFirst(folder.count)) : key
    }
}

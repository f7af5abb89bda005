import Foundation

extension FreezeEngine {
    /// `--dry-run`: every statement in the order `run` sends it, on which server, and where each
    /// file goes. Which replicas answer and which tables exist is only known when it runs, so
    /// those appear as `<table>`, `<root>` and `shard<N>`; named tables and partitions appear as
    /// they will be sent.
    package func describe(_ request: BackupRequest) -> [String] {
        let selection: Selection
        do {
            selection = try Self.validate(request)
        } catch {
            return ["refused: \(error)"]
        }
        let database = request.database
        let name = FreezeLayout.shadowName(request.id)
        let address = server.endpoint.address
        let first = request.cluster == nil ? "on \(address)" : "on the replica of shard 1"
        let each = request.cluster == nil ? "on \(address)" : "on the replica of each shard"
        let tables = selection.tables.isEmpty ? [Self.placeholderTable] : selection.tables
        let partitions = selection.partitions.isEmpty ? [nil] : selection.partitions.map { Optional($0) }

        var lines: [String] = []
        if let cluster = request.cluster {
            lines.append("on \(address): \(ClusterReplicas.query(cluster: cluster))")
            lines.append("on each replica of each shard, replica 1 first, until one answers: SELECT version() AS version")
        } else {
            lines.append("on \(address) (shard 1): SELECT version() AS version")
        }
        lines.append("\(first): \(FreezeStatements.tables(database: database))")
        for table in tables {
            lines.append("\(first): \(Self.shown { try FreezeStatements.showCreate(database: database, table: table) })")
        }
        lines.append("\(each): \(Self.shown { FreezeStatements.dataDirectories(database: database, tables: tables) }) "
            + "(the data directory <root> must be on this machine)")
        lines.append("\(each): remove <root>/shadow/\(FreezeLayout.shadowPrefix)* (left by runs that were killed)")
        for table in tables {
            for partition in partitions {
                lines.append("\(each): \(Self.shown { try FreezeStatements.freeze(database: database, table: table, partition: partition, name: name) })")
            }
            lines.append("\(each): \(Self.shown { FreezeStatements.frozenParts(database: database, table: table, names: [Self.placeholderParts]) })")
        }
        let source = FreezeLayout.frozenTableDirectory(dataRoot: "<root>/", name: name,
                                                       relativeTableDirectory: FreezeLayout.ordinaryTableDirectory(database: database, table: "<table>"))
        let target = FreezeLayout.dataKey(request.id.text, shard: "<N>", database: database, table: "<table>", part: "<part>", file: "<file>")
        lines.append("upload \(source)<part>/<file> to \(target), \(uploadWidth) at a time, SHA-256 while reading")
        lines.append("\(each): remove <root>/shadow/\(name)/ (after a failure or Ctrl-C too)")
        lines.append("write each table's SHOW CREATE TABLE to \(FreezeLayout.schemaKey(request.id, database: database, table: "<table>"))")
        lines.append("tables that are not MergeTree (Distributed, views): the schema only")
        return lines
    }

    /// Stand-ins that pass the identifier rule, replaced for display.
    private static let placeholderTable = "luminatectl_each_table"
    private static let placeholderParts = "luminatectl_frozen_parts"

    private static func shown(_ build: () throws -> SQLFragment) -> String {
        guard let sql = try? build().sql else { return "(not valid sql)" }
        return sql
            .replacingOccurrences(of: "`\(placeholderTable)`", with: "<table>")
            .replacingOccurrences(of: "'\(placeholderTable)'", with: "'<table>'")
            .replacingOccurrences(of: "'\(placeholderParts)'", with: "<frozen parts>")
    }
}

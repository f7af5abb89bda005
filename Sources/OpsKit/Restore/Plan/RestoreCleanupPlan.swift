import Foundation

/// `restore cleanup ID`: drops what a restore or drill of a backup left behind when it stopped:
/// its staging database `luminate_restore_<id>` and its scratch database `luminate_drill_<id>`,
/// on every server that has them. Only those two names are ever dropped.
struct RestoreCleanupPlan: OperationPlan {
    var backup: String
    var servers: RestoreServers
    /// Database → the servers that hold it.
    var found: [(database: String, servers: [String])]
    var json: Bool

    static func build(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        let id = try BackupCommand.backupID(invocation.arguments[0], invocation: invocation)
        let setup = RestoreSetup(configuration: configuration, context: context)
        let engine = (try? setup.backup.catalogue().completeManifest(id))?.engine ?? .native
        let servers = try setup.servers(engine: engine)
        var found: [(String, [String])] = []
        struct Row: Decodable { var name: String }
        for database in [RestoreMode.stagingDatabase(id.text), RestoreMode.scratchDatabase(id.text)] {
            let holders = try servers.everyReplica.filter { server in
                !(try server.query("SELECT name FROM system.databases WHERE name = \(literal: database)", as: Row.self)).isEmpty
            }.map(\.address)
            if !holders.isEmpty { found.append((database, holders)) }
        }
        return RestoreCleanupPlan(backup: id.text, servers: servers, found: found, json: invocation.json)
    }

    var spec: OperationSpec {
        OperationSpec(kind: "restore.cleanup", targets: found.map { "clickhouse/\($0.database)" }, inputs: ["backup": .string(backup)])
    }

    func describe() -> String {
        guard !found.isEmpty else { return "  nothing to remove: no server of \(servers.summary) has a staging or scratch database of \(backup)\n" }
        return found.map { "  DROP DATABASE \($0.database) on \($0.servers.joined(separator: ", "))\n" }.joined()
    }

    func describeJSON() -> JSONValue {
        .object([("backup", .string(backup)), ("drop", .array(found.map { .object([("database", .string($0.database)), ("servers", .array($0.servers.map { .string($0) }))]) }))])
    }

    func execute(in session: OperationSession) throws -> ExitCode {
        for (database, holders) in found {
            try session.step("drop database \(database)") {
                let sql: SQLFragment = try "DROP DATABASE IF EXISTS \(identifier: database)"
                for server in servers.everyReplica where holders.contains(server.address) {
                    try server.execute(sql, options: .init(timeout: RestoreWork.longTimeout))
                }
                session.record("servers", .array(holders.map { .string($0) }))
            }
        }
        if json {
            session.context.console.line(describeJSON().rendered(pretty: true))
        } else {
            session.context.console.line(found.isEmpty ? "Nothing to remove for backup \(backup)." : "Removed \(found.map(\.database).joined(separator: ", ")).")
        }
        return .success
    }
}

import Foundation

/// `backup create`'s flags turned into a plan: what to back up, by which engine, on top of what.
enum BackupCreateRequest {
    static func plan(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        let setup = BackupSetup(configuration: configuration, context: context)
        let tables = try list(invocation, "tables", rule: BackupRules.tableRule, valid: BackupRules.isValidTable)
            ?? configuration.backup.tables?.value ?? []
        let partitions = try list(invocation, "partitions", rule: "a partition ID as in system.parts (e.g. 20261126)", valid: PartitionID.isValid) ?? []
        if !partitions.isEmpty, tables.isEmpty {
            throw ValidationError("--partitions needs --tables (or backup.tables): partitions belong to tables")
        }
        let store = try setup.store()
        let clickhouse = try setup.connections.clickhouse()
        let kind = try setup.engineKind(flag: invocation.value("engine"), clickhouse: clickhouse)

        var base: BackupManifest?
        if let from = invocation.value("incremental-from") {
            guard kind == .native else {
                throw ValidationError("--incremental-from needs the native engine: the freeze engine takes full backups only",
                                      hint: "drop --incremental-from, or use a server with BACKUP (22.8+)")
            }
            let catalogue = BackupCatalogue(store: store)
            base = try BackupCommand.completeManifest(from, catalogue: catalogue, invocation: invocation)
            guard base?.engine == .native else {
                throw ValidationError("\(base!.id) is a \(base!.engine.rawValue) backup: an incremental builds on a native one")
            }
        }
        let request = BackupRequest(
            id: BackupID(time: context.clock.now()), database: configuration.clickhouseDatabase.value,
            tables: tables, partitions: partitions, base: base, cluster: configuration.clickhouseCluster.value)
        return BackupCreatePlan(request: request, engine: try setup.engine(kind, clickhouse: clickhouse), store: store,
                                metrics: try setup.metrics(), namespace: configuration.namespace.value, json: invocation.json)
    }

    /// A comma-separated flag, each item checked.
    static func list(_ invocation: Invocation, _ long: String, rule: String, valid: (String) -> Bool) throws -> [String]? {
        guard let text = invocation.value(long) else { return nil }
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw ValidationError("--\(long) needs at least one value") }
        if let bad = items.first(where: { !valid($0) }) { throw ValidationError("--\(long): '\(bad)' \(rule)") }
        return items
    }
}

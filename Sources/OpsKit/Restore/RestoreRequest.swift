import Foundation

/// `restore`'s and `restore drill`'s flags turned into a plan: which backup (an id, `latest`, or
/// the newest at or before `--to-time`), which tables and partitions, and where the data goes.
enum RestoreRequest {
    static func plan(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        let mode = try mode(invocation)
        let selector = try selector(argument: invocation.arguments.first, invocation: invocation, context: context)
        return try build(selector: selector, mode: mode, invocation: invocation, configuration: configuration, context: context)
    }

    /// Reads the store and the destination and decides everything; shared with the drill.
    static func build(selector: RestoreSelector, mode: RestoreMode, invocation: Invocation,
                      configuration: Configuration, context: Context) throws -> RestorePlan {
        let setup = RestoreSetup(configuration: configuration, context: context)
        let selection = RestoreSelection(
            tables: try BackupCreateRequest.list(invocation, "tables", rule: BackupRules.tableRule, valid: BackupRules.isValidTable) ?? [],
            partitions: try BackupCreateRequest.list(invocation, "partitions", rule: "a partition ID as in system.parts (e.g. 20261126)", valid: PartitionID.isValid) ?? [])
        let catalogue = try setup.backup.catalogue()
        let point = try RestorePointSelection.select(selector, entries: try catalogue.entries(), location: catalogue.store.location)
        let servers = try setup.servers(for: point.manifest)
        let planner = RestorePlanner(point: point, mode: mode, selection: selection, servers: servers,
                                     database: configuration.clickhouseDatabase.value)
        return RestorePlan(point: point, mode: mode, selection: selection, tables: try planner.tables(),
                           engine: try setup.engine(for: point.manifest), store: catalogue.store, servers: servers,
                           json: invocation.json)
    }

    static func mode(_ invocation: Invocation) throws -> RestoreMode {
        let inPlace = invocation.flag("in-place")
        let into = invocation.value("into-database")
        if inPlace, into != nil {
            throw UsageError("--in-place and --into-database exclude each other: one replaces live data, the other restores beside it", commandPath: invocation.path)
        }
        if invocation.flag("allow-non-empty"), !inPlace {
            throw UsageError("--allow-non-empty only goes with --in-place", commandPath: invocation.path)
        }
        if inPlace {
            guard invocation.flag("yes") else {
                throw UsageError("--in-place loads straight into the live tables without a staging copy: confirm it with --yes", commandPath: invocation.path)
            }
            return .inPlace(allowNonEmpty: invocation.flag("allow-non-empty"))
        }
        if let into {
            guard SQL.isValidIdentifier(into) else {
                throw ValidationError("--into-database must be a database name (letters, digits, _), not '\(into)'")
            }
            return .beside(database: into)
        }
        return .staged
    }

    /// `ID`, `latest`, or `--to-time T`: exactly one of them.
    static func selector(argument: String?, invocation: Invocation, context: Context) throws -> RestoreSelector {
        let toTime = invocation.value("to-time")
        switch (argument, toTime) {
        case (nil, nil):
            throw UsageError("name the backup to restore (an id from 'luminatectl backup list', or latest), or give --to-time", commandPath: invocation.path)
        case (.some, .some):
            throw UsageError("give a backup or --to-time, not both", commandPath: invocation.path)
        case (nil, .some(let text)):
            return .toTime(try PointInTime.parse(text, now: context.clock.now()))
        case (.some(let text), nil):
            if text == "latest" { return .latest }
            return .id(try BackupCommand.backupID(text, invocation: invocation))
        }
    }
}

import Foundation

/// `luminatectl restore ...`: a backup read back into ClickHouse, staged and verified before any
/// live partition is replaced; point-in-time selection; timed restore drills against the RTO.
enum RestoreCommand {
    static let selectionOptions = [
        OptionSpec("tables", .value(placeholder: "db.table,..."), help: "Only these tables of the backup (default: all it holds)."),
        OptionSpec("partitions", .value(placeholder: "id,..."), help: "Only these partitions, as system.parts names them (20261126)."),
    ]

    static let group: Command = {
        let planned = Command(
            "restore",
            abstract: "Restore backups: staged and verified; drills.",
            discussion: """
                By default the backup is loaded into the staging database luminate_restore_<id> (on
                every shard), each partition's rows are checked against the backup's manifest (freeze
                backups: every file's SHA-256 before anything is attached), and only then is each
                verified partition moved into the live table with ALTER TABLE ... REPLACE PARTITION:
                atomic per partition, so a restore that stops leaves every partition either as it was
                or fully restored, never half. Partitions the backup does not hold are left alone.
                Missing tables are created from the backup's definition; a table whose structure
                differs is refused with a diff. The plan, printed first, lists per table the
                partitions replaced, added and left alone with their row counts.
                Runs under the operations lock, so the backup and retention CronJobs wait.
                ClickHouse keeps no log to replay: --to-time restores the newest backup at or before
                the time and says how much earlier that is.
                """,
            arguments: [ArgumentSpec("backup", help: "A backup id (luminatectl backup list), or latest; or give --to-time.", optional: true)],
            options: selectionOptions + [
                OptionSpec("to-time", .value(placeholder: "time"), help: "The newest complete backup at or before this time: RFC 3339 (2026-11-30T14:52:00Z) or relative (2h ago)."),
                OptionSpec("into-database", .value(placeholder: "db"), help: "Restore beside the live data into this database; nothing live is changed."),
                OptionSpec("in-place", help: "Load straight into the live tables (an empty, rebuilt cluster); needs --yes."),
                OptionSpec("yes", help: "Confirm --in-place."),
                OptionSpec("allow-non-empty", help: "With --in-place: load even into tables that hold rows (duplicates where they overlap)."),
            ],
            subcommands: [drill, cleanup],
            examples: [
                "luminatectl restore latest --dry-run",
                "luminatectl restore 20261130T140500Z --tables luminate.metrics_local --partitions 20261126,20261127",
                "luminatectl restore --to-time '2h ago' --partitions 20261130 --into-database luminate_investigation",
                "luminatectl restore latest --in-place --yes           # a rebuilt, empty cluster",
            ],
            plan: { invocation, configuration, context in try RestoreRequest.plan(invocation, configuration, context) }
        )
        return planned
    }()

    static let drill: Command = {
        var command = Command(
            "drill",
            abstract: "Prove a backup restores: scratch restore, verify, time it against the RTO.",
            discussion: """
                Restores into the scratch database luminate_drill_<id>, verifies every partition's rows
                against the manifest (and its sum(cityHash64(*)) against the live table's where the
                live partition is unchanged since the backup), measures the wall time and projects it
                to the whole backup (bytes per second of the drill × the backup's bytes), compares
                that with policy.recovery.rto, journals the evidence (kind restore.drill) and drops
                the scratch database. Exit 1 when verification fails or the projection exceeds the
                RTO. The checklist's DP-3 reads the newest drill from the journal.
                """,
            options: selectionOptions + [
                OptionSpec("backup", .value(placeholder: "id|latest"), help: "The backup to drill (default: latest)."),
                OptionSpec("list", help: "List past drills from the journal: date, backup, verdict, measured and projected times."),
            ],
            examples: [
                "luminatectl restore drill",
                "luminatectl restore drill --backup 20261130T140500Z --partitions 20261126",
                "luminatectl restore drill --list",
            ],
            plan: { invocation, configuration, context in
                let selector = try RestoreRequest.selector(argument: invocation.value("backup") ?? "latest", invocation: invocation, context: context)
                let restore = try RestoreRequest.build(selector: selector, mode: .drill, invocation: invocation,
                                                       configuration: configuration, context: context)
                return RestoreDrillPlan(restore: restore, rto: configuration.policy.recovery.rto)
            }
        )
        let run = command.action!
        command.action = { invocation, context in
            guard invocation.flag("list") else { return try run(invocation, context) }
            let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
            let path = try LiveOperations.journalPath(configuration)
            let drills = try DrillRecords.read(path: path)
            if invocation.json {
                context.console.line(DrillText.listJSON(drills, journal: path).rendered(pretty: true))
            } else {
                context.console.write(DrillText.list(drills, journal: path))
            }
            return .success
        }
        return command
    }()

    static let cleanup = Command(
        "cleanup",
        abstract: "Drop the staging or scratch database a stopped restore or drill left.",
        arguments: [ArgumentSpec("backup", help: "The backup id the restore or drill was of.")],
        examples: ["luminatectl restore cleanup 20261130T140500Z --dry-run"],
        plan: { invocation, configuration, context in try RestoreCleanupPlan.build(invocation, configuration, context) }
    )
}

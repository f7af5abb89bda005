import Foundation

/// `luminatectl backup ...`: ClickHouse backups to the environment's store (S3 or a mounted
/// directory), a catalogue read from the store alone, verification, and RPO accounting.
enum BackupCommand {
    static let group = Command(
        "backup",
        abstract: "Back up ClickHouse to object storage; list, verify, delete; RPO status.",
        discussion: """
            Backups go to the environment's store (backup.store: an S3 bucket and prefix, or a
            directory), each in a folder named by its UTC start time. luminatectl writes its own
            manifest into the folder last: a backup without one is incomplete, whatever else it
            holds, and is never listed as good, offered to restore or counted towards the RPO.
            The native engine runs ClickHouse's BACKUP (22.8+) to its backup disk; the freeze
            engine (older servers) freezes parts beside the server and uploads them itself.
            """,
        subcommands: [create, list, show, verify, delete, status]
    )

    static let create = Command(
        "create",
        abstract: "Take a backup: full, or incremental on an earlier native one.",
        discussion: """
            Prints the backup's id, progress while it runs (one line every 10 s off a terminal),
            and rows and bytes per table at the end. On success it reports
            luminate_backup_last_success_timestamp_seconds, _duration_seconds and _size_bytes to
            the Pushgateway (LUMINATECTL_PUSHGATEWAY_URL); on failure
            luminate_backup_last_failure_timestamp_seconds. A Pushgateway that does not answer
            is a warning, never a failed backup.
            """,
        options: [
            OptionSpec("tables", .value(placeholder: "db.table,..."), help: "Only these tables (default: backup.tables, else every table of the database)."),
            OptionSpec("partitions", .value(placeholder: "id,..."), help: "Only these partitions, as system.parts names them (20261126)."),
            OptionSpec("incremental-from", .value(placeholder: "id|latest"), help: "Incremental on this complete native backup (latest: the newest)."),
            OptionSpec("engine", .value(placeholder: "engine"), help: "native, freeze or auto (default: backup.engine, else auto by server version).",
                       allowed: BackupEngineChoice.allCases.map(\.rawValue)),
        ],
        examples: [
            "luminatectl backup create --dry-run",
            "luminatectl backup create --wait-lock 10m            # what the hourly CronJob runs",
            "luminatectl backup create --incremental-from latest --reason 'before the 2.0 upgrade'",
            "luminatectl backup create --tables luminate.metrics_local --partitions 20261126,20261127",
        ],
        plan: { invocation, configuration, context in try BackupCreateRequest.plan(invocation, configuration, context) }
    )

    static let list = Command(
        "list",
        abstract: "List the store's backups, newest first, complete and incomplete.",
        examples: ["luminatectl backup list", "luminatectl backup list -o json"],
        action: { invocation, context in
            let setup = try setup(invocation, context)
            let catalogue = try setup.catalogue()
            let entries = try catalogue.entries()
            let now = context.clock.now()
            if invocation.json {
                context.console.line(BackupJSON.list(entries, now: now, location: catalogue.store.location).rendered(pretty: true))
            } else {
                context.console.write(BackupText.list(entries, now: now))
            }
            return .success
        }
    )

    static let show = Command(
        "show",
        abstract: "Show one backup's manifest: tables, partitions, rows, sizes, files.",
        arguments: [ArgumentSpec("id", help: "A backup id (see 'luminatectl backup list'), or latest.")],
        examples: ["luminatectl backup show latest", "luminatectl backup show 20261130T140500Z -o json"],
        action: { invocation, context in
            let catalogue = try setup(invocation, context).catalogue()
            let manifest = try completeManifest(invocation.arguments[0], catalogue: catalogue, invocation: invocation)
            if invocation.json {
                context.console.line(try BackupJSON.show(manifest).rendered(pretty: true))
            } else {
                context.console.write(BackupText.show(manifest, location: catalogue.store.location))
            }
            return .success
        }
    )

    static let verify = Command(
        "verify",
        abstract: "Check that the store still holds every file of a backup, intact.",
        discussion: """
            Freeze backups: every file the manifest names, with its size and SHA-256 (read
            through). Native backups: ClickHouse's .backup index is present and parses, and every
            file it stores in this backup is present with its size. Exit 1 naming each missing
            or damaged file. To prove the backup restores (rows per partition, checksums, time
            against the RTO), run luminatectl restore drill --backup <id>.
            """,
        arguments: [ArgumentSpec("id", help: "A backup id, or latest.")],
        examples: ["luminatectl backup verify latest", "luminatectl backup verify 20261130T140500Z -o json"],
        action: { invocation, context in
            let catalogue = try setup(invocation, context).catalogue()
            let manifest = try completeManifest(invocation.arguments[0], catalogue: catalogue, invocation: invocation)
            let progress = context.console.progress("verify \(manifest.id)", clock: context.clock)
            let report = try BackupVerification(store: catalogue.store).verify(manifest) { done, total in
                progress.update("\(done)/\(total) files")
            }
            if invocation.json {
                context.console.line(BackupJSON.verification(report).rendered(pretty: true))
            } else {
                context.console.write(BackupText.verification(report))
            }
            return report.passed ? .success : .failure
        }
    )

    static let delete = Command(
        "delete",
        abstract: "Delete a backup from the store (refused while it is another's base).",
        arguments: [ArgumentSpec("id", help: "A backup id, complete or incomplete.")],
        options: [OptionSpec("force", help: "Delete it even when it is the newest complete backup.")],
        examples: ["luminatectl backup delete 20261130T030000Z --dry-run", "luminatectl backup delete 20261130T030000Z"],
        plan: { invocation, configuration, context in
            let id = try backupID(invocation.arguments[0], invocation: invocation)
            let catalogue = try BackupSetup(configuration: configuration, context: context).catalogue()
            return try BackupDeletePlan.make(id: id, catalogue: catalogue, force: invocation.flag("force"), json: invocation.json)
        }
    )

    static let status = Command(
        "status",
        abstract: "The recovery point: the newest backup's age against the RPO, a week's timeline.",
        discussion: """
            Exit 1 when the newest complete backup is older than policy.recovery.rpo (the guide's
            1 hour) or there is none. The timeline has one cell per hour of the last 7 days: a
            complete backup's snapshot in that hour, or none.
            """,
        examples: ["luminatectl backup status", "luminatectl backup status -o json"],
        action: { invocation, context in
            let setup = try setup(invocation, context)
            let status = RecoveryPointStatus(entries: try setup.catalogue().entries(), now: context.clock.now(),
                                             rpo: setup.configuration.policy.recovery.rpo)
            if invocation.json {
                context.console.line(BackupJSON.status(status).rendered(pretty: true))
            } else {
                context.console.write(BackupText.status(status))
            }
            return status.verdict == .ok ? .success : .failure
        }
    )

    // MARK: - Shared

    static func setup(_ invocation: Invocation, _ context: Context) throws -> BackupSetup {
        BackupSetup(configuration: try ConfigurationLoader(context: context).load(invocation.globals), context: context)
    }

    static func backupID(_ text: String, invocation: Invocation) throws -> BackupID {
        guard let id = BackupID(text) else {
            throw UsageError("'\(text)' is not a backup id (like 20261130T140500Z, as backup list shows)", commandPath: invocation.path)
        }
        return id
    }

    /// The manifest of `text` (an id or `latest`), refusing unknown and incomplete backups.
    static func completeManifest(_ text: String, catalogue: BackupCatalogue, invocation: Invocation) throws -> BackupManifest {
        if text == "latest" {
            guard let newest = try catalogue.entries().newestComplete else {
                throw ValidationError("the store \(catalogue.store.location) holds no complete backup", hint: "luminatectl backup create takes one")
            }
            return newest
        }
        return try catalogue.completeManifest(try backupID(text, invocation: invocation))
    }
}

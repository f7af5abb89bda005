import Foundation

/// The journal and lock real runs use, built from an environment's effective configuration.
/// `LiveRuntime` hands these to the context's `makeOperations`; the lock is in
/// `LiveOperations+Lock.swift`.
package enum LiveOperations {
    /// The JSON Lines journal at the configured path, mirrored to ClickHouse when
    /// `journal.mirror` is set. The file is opened here, so an unwritable journal stops the
    /// command before the lock is taken.
    package static func journal(configuration: Configuration, context: Context) throws -> any OperationJournal {
        let file = JournalFile(path: try journalPath(configuration))
        try file.prepare()
        guard let mirror = try journalMirror(configuration: configuration, context: context) else { return file }
        let console = context.console
        return MirroredJournal(file: file, mirror: mirror, warn: { console.warning($0) })
    }

    /// The journal file of the configured environment.
    package static func journalPath(_ configuration: Configuration) throws -> String {
        guard let path = configuration.journalPath?.value else {
            throw JournalError.noPath(environment: configuration.environmentName.value)
        }
        return path
    }

    /// The mirror, when configured: the environment's ClickHouse endpoint and `journal.mirror`'s
    /// table. Its requests get their own interrupt, because the record of an interrupted
    /// operation must still be sent, and short timeouts, because it runs between steps.
    package static func journalMirror(configuration: Configuration, context: Context) throws -> JournalMirror? {
        guard let settings = configuration.journalMirror else { return nil }
        guard configuration.clickhouseURL != nil else {
            throw ValidationError(
                "journal.mirror is set for environment '\(configuration.environmentName.value)' (\(settings.source)) but no ClickHouse endpoint is configured",
                hint: "set clickhouse.url, --clickhouse-url or LUMINATECTL_CLICKHOUSE_URL, or remove journal.mirror")
        }
        // The mirror's database is its own (journal.mirror.database), so the endpoint's default
        // database is left out; short timeouts because it runs between steps.
        let connections = Connections(configuration: configuration, context: context)
        var endpoint = try connections.clickhouseEndpoint(connectTimeout: 3, timeout: 10)
        endpoint.database = nil
        let client = ClickHouseHTTP(endpoint: endpoint, transport: connections.transport, interrupt: Interrupt())
        return JournalMirror(client: client, database: settings.value.database, table: settings.value.table)
    }
}

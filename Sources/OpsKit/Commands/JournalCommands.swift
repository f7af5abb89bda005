import Foundation

/// `luminatectl journal ...`: read the journal of operations, check its hash chain, and fill
/// in its ClickHouse mirror. All of them read the selected environment's journal
/// (`LUMINATECTL_JOURNAL`, `journal.path`, or `$XDG_STATE_HOME/luminatectl/journal-<env>.jsonl`).
enum JournalCommands {
    static let group = Command(
        "journal",
        abstract: "Read and check the journal of operations.",
        discussion: """
            Every mutating operation appends tamper-evident records (started, each step,
            finished, failed or interrupted) to a JSON Lines file, one per environment, and to
            a ClickHouse table when journal.mirror is configured. See docs/journal.md.
            """,
        subcommands: [list, show, verify, sync]
    )

    static let list = Command(
        "list",
        abstract: "List journaled operations, oldest first.",
        options: [
            OptionSpec("since", .value(placeholder: "duration|time"),
                       help: "Only operations that started within this long (24h, 7d) or since this RFC 3339 time."),
            OptionSpec("kind", .value(placeholder: "kind"), help: "Only operations of this kind (deploy, backup, restore, ...)."),
            OptionSpec("operation", .value(placeholder: "id"), help: "Only this operation (its id or the id's beginning)."),
            OptionSpec("events", help: "One line per record (started, each step, the end) instead of one per operation."),
        ],
        examples: ["luminatectl journal list --since 24h", "luminatectl journal list --kind backup --events -o json"],
        action: { invocation, context in
            let (configuration, path) = try journal(invocation, context)
            let filter = JournalFilter(since: try since(invocation, now: context.clock.now()), kind: invocation.value("kind"),
                                       operation: invocation.value("operation"))
            let events = invocation.flag("events")
            let history: JournalHistory
            do {
                history = try JournalHistory.read(path: path, filter: filter) { record in
                    events && filter.matches(operationID: record.event.operationID, kind: record.event.operation, time: record.event.time)
                }
            } catch JournalError.missing {
                if invocation.json {
                    context.console.line(JSONValue.object([("journal", .string(path)), (events ? "records" : "operations", []), ("warnings", [])])
                        .rendered(pretty: true))
                } else {
                    context.console.line("No journal at \(path) yet: no operation has been journaled for environment '\(configuration.environmentName.value)' here.")
                }
                return .success
            }
            for warning in history.warnings { context.console.warning(warning) }
            if invocation.json {
                let items: JSONValue = events ? .array(history.records.map(\.record.json)) : .array(history.operations.map(\.json))
                context.console.line(JSONValue.object([
                    ("journal", .string(path)), (events ? "records" : "operations", items),
                    ("warnings", .array(history.warnings.map { .string($0) })),
                ]).rendered(pretty: true))
            } else if events ? history.records.isEmpty : history.operations.isEmpty {
                let filtered = filter != JournalFilter()
                context.console.line(filtered ? "No journaled operations in \(path) match." : "No operations in \(path).")
            } else {
                context.console.write(events ? JournalText.events(history.records) : JournalText.operations(history.operations))
            }
            return .success
        }
    )

    static let show = Command(
        "show",
        abstract: "Show every record of one operation, with its evidence.",
        arguments: [ArgumentSpec("id", help: "The operation id, or its beginning, as 'journal list' shows it.")],
        examples: ["luminatectl journal show op-0193a4c2e1f", "luminatectl journal show op-0193a4c2e1f-5a2b3c4d5e -o json"],
        action: { invocation, context in
            let (_, path) = try journal(invocation, context)
            // A record id (`op-...#3`) names its operation.
            let wanted = String(invocation.arguments[0].split(separator: "#", maxSplits: 1).first ?? "")
            let history = try JournalHistory.read(path: path, filter: JournalFilter(operation: wanted)) {
                $0.event.operationID.hasPrefix(wanted)
            }
            for warning in history.warnings { context.console.warning(warning) }
            let operation: JournalOperation
            if let exact = history.operations.first(where: { $0.id == wanted }) {
                operation = exact
            } else if history.operations.count == 1, !wanted.isEmpty {
                operation = history.operations[0]
            } else if history.operations.isEmpty || wanted.isEmpty {
                throw ValidationError("no operation '\(wanted)' in the journal \(path)",
                                      hint: "'luminatectl journal list' shows the operations journaled for this environment")
            } else {
                let ids = history.operations.prefix(5).map(\.id).joined(separator: ", ")
                throw ValidationError("'\(wanted)' matches \(history.operations.count) operations (\(ids)\(history.operations.count > 5 ? ", ..." : ""))",
                                      hint: "give more of the id")
            }
            let records = history.records.filter { $0.record.event.operationID == operation.id }
            if invocation.json {
                context.console.line(JSONValue.object([
                    ("journal", .string(path)), ("operation", operation.json), ("records", .array(records.map(\.record.json))),
                ]).rendered(pretty: true))
            } else {
                context.console.write(JournalText.operation(operation, records: records, path: path))
            }
            return .success
        }
    )

    static let verify = Command(
        "verify",
        abstract: "Check the journal's hash chain and name any edited, removed or reordered record.",
        discussion: """
            Each record carries the SHA-256 of its own content and of the line before it. An
            edited record fails its own hash; a removed or reordered one breaks the next
            record's link; a last line cut short is reported. Exits 1 when anything is wrong.
            Records cut off the end leave no trace in the file itself: compare the last record
            printed here with the mirror or an earlier run.
            """,
        examples: ["luminatectl journal verify", "luminatectl journal verify --env production -o json"],
        action: { invocation, context in
            let (_, path) = try journal(invocation, context)
            let result = try JournalVerifier.verify(path: path)
            if invocation.json {
                context.console.line(JournalText.verificationJSON(result).rendered(pretty: true))
            } else {
                context.console.write(JournalText.verification(result))
            }
            guard result.intact else { throw JournalVerificationFailed(path: path, problems: result.problems) }
            return .success
        }
    )

    static let sync = Command(
        "sync",
        abstract: "Send the records the ClickHouse mirror is missing, and check the ones it has.",
        discussion: """
            For an environment with journal.mirror: records that could not be mirrored when
            they were written (the server was down) are sent now. A record the mirror holds
            with a different hash is reported, and the command exits 1.
            """,
        examples: ["luminatectl journal sync --env staging"],
        action: { invocation, context in
            let (configuration, path) = try journal(invocation, context)
            guard let mirror = try LiveOperations.journalMirror(configuration: configuration, context: context) else {
                throw ValidationError(
                    "no journal mirror is configured for environment '\(configuration.environmentName.value)'",
                    hint: "add 'journal: {mirror: {database: luminate_ops, table: journal}}' to the environment in the configuration file")
            }
            let history: JournalHistory
            do {
                history = try JournalHistory.read(path: path, filter: JournalFilter()) { _ in true }
            } catch JournalError.missing {
                context.console.line("No journal at \(path) yet: nothing to send.")
                return .success
            }
            for warning in history.warnings { context.console.warning(warning) }
            let result = try JournalSync.run(history.records, mirror: mirror)
            if invocation.json {
                context.console.line(result.json(path: path, mirror: mirror).rendered(pretty: true))
            } else {
                context.console.write(result.text(path: path, mirror: mirror))
            }
            guard result.differing.isEmpty else {
                throw JournalMirrorDisagrees(count: result.differing.count, mirror: mirror.target)
            }
            return .success
        }
    )

    /// The configuration and the journal path it names.
    private static func journal(_ invocation: Invocation, _ context: Context) throws -> (Configuration, String) {
        let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
        return (configuration, try LiveOperations.journalPath(configuration))
    }

    /// `--since`: a duration back from now (the context's clock), an RFC 3339 time, or a date.
    static func since(_ invocation: Invocation, now: Date) throws -> Date? {
        guard let text = invocation.value("since") else { return nil }
        if let seconds = DurationParser.seconds(text), seconds > 0 { return now.addingTimeInterval(-seconds) }
        if let time = JournalTime.parse(text) ?? JournalTime.parse(text + "T00:00:00Z") { return time }
        throw ValidationError("--since must be a duration like 24h or 7d, or an RFC 3339 time like 2026-11-29T02:00:00Z, not '\(text)'")
    }
}

import Foundation

/// One operation as the journal tells it: when it started and ended, who ran it, how it went.
package struct JournalOperation: Sendable, Equatable {
    package var id: String
    package var kind: String
    package var environment: String
    package var actor: Actor
    package var commandLine: String
    package var targets: [String]
    package var reason: String?
    package var started: Date
    package var ended: Date?
    /// `success`, `failure`, `interrupted`, `refused`; nil while there is no end record (still
    /// running, or the process was killed).
    package var outcome: String?
    package var durationSeconds: Double?
    /// Lines of the file that hold its records.
    package var lines: [Int]

    /// `outcome`, or `incomplete` without an end record.
    package var outcomeText: String { outcome ?? "incomplete" }

    package var json: JSONValue {
        .object([
            ("operation", .string(id)),
            ("kind", .string(kind)),
            ("environment", .string(environment)),
            ("actor", .object([("user", .string(actor.user)), ("host", .string(actor.host)), ("ci", actor.ci.map { .string($0) } ?? .null)])),
            ("started", .string(JournalTime.format(started))),
            ("ended", ended.map { .string(JournalTime.format($0)) } ?? .null),
            ("outcome", outcome.map { .string($0) } ?? .null),
            ("durationSeconds", durationSeconds.map { .number($0) } ?? .null),
            ("records", .number(Double(lines.count))),
            ("commandLine", .string(commandLine)),
            ("targets", .array(targets.map { .string($0) })),
            ("reason", reason.map { .string($0) } ?? .null),
        ])
    }

    mutating func add(_ record: JournalRecord, line: Int) {
        lines.append(line)
        if reason == nil { reason = record.event.reason }
        switch record.event.event {
        case .finished, .failed, .interrupted:
            ended = record.event.time
            outcome = record.event.outcome ?? record.event.event.rawValue
            durationSeconds = record.event.durationSeconds
        case .started, .step:
            break
        }
    }

    init(_ record: JournalRecord, line: Int) {
        let e = record.event
        self.init(id: e.operationID, kind: e.operation, environment: e.environment, actor: e.actor, commandLine: e.commandLine,
                  targets: e.targets, reason: nil, started: e.time, ended: nil, outcome: nil, durationSeconds: nil, lines: [])
        add(record, line: line)
    }

    package init(id: String, kind: String, environment: String, actor: Actor, commandLine: String, targets: [String],
                 reason: String?, started: Date, ended: Date?, outcome: String?, durationSeconds: Double?, lines: [Int]) {
        self.id = id
        self.kind = kind
        self.environment = environment
        self.actor = actor
        self.commandLine = commandLine
        self.targets = targets
        self.reason = reason
        self.started = started
        self.ended = ended
        self.outcome = outcome
        self.durationSeconds = durationSeconds
        self.lines = lines
    }
}

/// Which records `journal list` shows.
package struct JournalFilter: Sendable, Equatable {
    /// Operations that started (records written) at or after this time.
    package var since: Date?
    package var kind: String?
    /// An operation id or its beginning.
    package var operation: String?

    package init(since: Date? = nil, kind: String? = nil, operation: String? = nil) {
        self.since = since
        self.kind = kind
        self.operation = operation
    }

    func matches(operationID: String, kind: String, time: Date) -> Bool {
        if let since, time < since { return false }
        if let wanted = self.kind, wanted != kind { return false }
        if let wanted = operation, !operationID.hasPrefix(wanted) { return false }
        return true
    }
}

/// A journal read for `list` and `show`: its operations in the order they started, the records
/// asked for, and warnings about lines that are not records (left out, never fatal).
package struct JournalHistory: Sendable {
    package var path: String
    package var operations: [JournalOperation] = []
    package var records: [(record: JournalRecord, line: Int)] = []
    package var warnings: [String] = []

    /// Reads `path` once. Operations are summarised from all their records and filtered by when
    /// they started; records are kept only when `keepRecords` accepts them.
    package static func read(path: String, filter: JournalFilter, keepRecords: (JournalRecord) -> Bool = { _ in false }) throws -> JournalHistory {
        var history = JournalHistory(path: path)
        var index: [String: Int] = [:]
        var all: [JournalOperation] = []
        var unreadable: [Int] = []
        try JournalReader(path: path).forEachEntry { entry in
            switch entry {
            case .record(let record, let line):
                let id = record.event.operationID
                if let position = index[id] {
                    all[position].add(record, line: line)
                } else {
                    index[id] = all.count
                    all.append(JournalOperation(record, line: line))
                }
                if keepRecords(record) { history.records.append((record, line)) }
            case .unreadable(let line, _, let complete):
                if complete {
                    unreadable.append(line)
                } else {
                    history.warnings.append("the last line (\(line)) of \(path) is incomplete, a write was cut short; it is left out")
                }
            }
        }
        if !unreadable.isEmpty {
            let shown = unreadable.prefix(5).map(String.init).joined(separator: ", ") + (unreadable.count > 5 ? " and \(unreadable.count - 5) more" : "")
            history.warnings.insert(
                "line\(unreadable.count == 1 ? "" : "s") \(shown) of \(path) \(unreadable.count == 1 ? "is not a journal record" : "are not journal records") and left out; run 'luminatectl journal verify'",
                at: 0)
        }
        history.operations = all.filter { filter.matches(operationID: $0.id, kind: $0.kind, time: $0.started) }
        return history
    }
}

import Foundation

/// How the `journal` commands print: aligned tables for lists, a header and one block per record
/// for `show`, a verdict and the problems for `verify`.
enum JournalText {
    /// One line per operation.
    static func operations(_ operations: [JournalOperation]) -> String {
        table(["OPERATION", "STARTED", "KIND", "ENVIRONMENT", "ACTOR", "OUTCOME", "DURATION"], operations.map { op in
            [op.id, JournalTime.formatWholeSeconds(op.started), op.kind, op.environment, "\(op.actor.user)@\(op.actor.host)",
             op.outcomeText, op.durationSeconds.map(formatSeconds) ?? "-"]
        })
    }

    /// One line per record.
    static func events(_ records: [(record: JournalRecord, line: Int)]) -> String {
        table(["TIME", "RECORD", "EVENT", "KIND", "DETAIL"], records.map { record, _ in
            [JournalTime.format(record.event.time), record.id, record.event.event.rawValue, record.event.operation, detail(record.event)]
        })
    }

    /// `journal show`: the operation, then each of its records with its evidence.
    static func operation(_ op: JournalOperation, records: [(record: JournalRecord, line: Int)], path: String) -> String {
        var rows: [(String, String)] = [
            ("kind", op.kind),
            ("environment", op.environment),
            ("actor", op.actor.description),
            ("command line", op.commandLine),
            ("targets", op.targets.isEmpty ? "-" : op.targets.joined(separator: ", ")),
        ]
        if let inputs = records.first?.record.event.inputs, inputs != .object([]) { rows.append(("inputs", inputs.rendered())) }
        if let reason = op.reason { rows.append(("reason", reason)) }
        rows.append(("started", JournalTime.format(op.started)))
        let outcome = op.outcome.map { outcome in op.durationSeconds.map { "\(outcome) after \(formatSeconds($0))" } ?? outcome }
            ?? "incomplete: no end record (still running, or the process was killed)"
        rows.append(("outcome", outcome))

        var out = "Operation \(op.id)\n"
        for (key, value) in rows { out += "  " + key.padding(toLength: 14, withPad: " ", startingAt: 0) + value + "\n" }
        out += "\nRecords in \(path):\n"
        for (record, line) in records {
            let e = record.event
            let number = record.id.split(separator: "#").last.map { "#\($0)" } ?? record.id
            out += "  \(number)  \(JournalTime.format(e.time))  \(headline(e))  [line \(line)]\n"
            if e.evidence != .object([]) { out += "      evidence  \(e.evidence.rendered())\n" }
        }
        return out
    }

    /// What one record says after its event column: `by alice@ops-1`, `step freeze (1.5 s)`,
    /// `failure: step b broke (3 s)`.
    static func detail(_ e: JournalEvent) -> String {
        let duration = e.durationSeconds.map { " (\(formatSeconds($0)))" } ?? ""
        switch e.event {
        case .started:
            return "by \(e.actor)" + (e.reason.map { ", reason: \($0)" } ?? "")
        case .step:
            return "step \(e.step ?? "?")\(duration)"
        case .finished, .failed, .interrupted:
            return (e.outcome ?? e.event.rawValue) + (e.message.map { ": \($0)" } ?? "") + duration
        }
    }

    /// One record as `show` heads it: `started`, `step freeze (1.5 s)`, `finished: success (3 s)`,
    /// `failed (refused): the operations lock ...`, `interrupted: interrupted before step 'wait' (10 s)`.
    static func headline(_ e: JournalEvent) -> String {
        let duration = e.durationSeconds.map { " (\(formatSeconds($0)))" } ?? ""
        switch e.event {
        case .started:
            return "started"
        case .step:
            return "step \(e.step ?? "?")\(duration)"
        case .finished:
            return "finished: \(e.outcome ?? "success")\(duration)"
        case .failed, .interrupted:
            let implied = e.event == .failed ? "failure" : "interrupted"
            let outcome = e.outcome.flatMap { $0 == implied ? nil : " (\($0))" } ?? ""
            return e.event.rawValue + outcome + (e.message.map { ": \($0)" } ?? "") + duration
        }
    }

    /// `journal verify`'s verdict and problems.
    static func verification(_ result: JournalVerification) -> String {
        let records = "\(result.records) record\(result.records == 1 ? "" : "s")"
        if result.intact {
            var out = "Journal \(result.path): \(records), hash chain intact.\n"
            if let seq = result.lastSeq, let id = result.lastID, let hash = result.lastHash {
                out += "Last record: seq \(seq), \(id), hash \(hash)\n"
            }
            return out
        }
        let lines = result.lines == result.records ? "" : " in \(result.lines) lines"
        let count = result.problems.count == 1 ? "1 problem" : "\(result.problems.count) problems"
        var out = "Journal \(result.path): \(records)\(lines), \(count):\n"
        for problem in result.problems { out += "  \(problem.description)\n" }
        return out
    }

    static func verificationJSON(_ result: JournalVerification) -> JSONValue {
        var last: JSONValue = .null
        if let seq = result.lastSeq, let id = result.lastID, let hash = result.lastHash {
            last = .object([("seq", .number(Double(seq))), ("id", .string(id)), ("hash", .string(hash))])
        }
        return .object([
            ("journal", .string(result.path)),
            ("intact", .bool(result.intact)),
            ("lines", .number(Double(result.lines))),
            ("records", .number(Double(result.records))),
            ("last", last),
            ("problems", .array(result.problems.map { problem in
                .object([("line", .number(Double(problem.line))), ("id", problem.id.map { .string($0) } ?? .null),
                         ("kind", .string(problem.kind.rawValue)), ("detail", .string(problem.detail))])
            })),
        ])
    }

    /// Columns two spaces apart, each as wide as its widest cell; the last is not padded.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

import Foundation

/// One past drill, as its journal records tell it.
package struct DrillRecord: Sendable, Equatable {
    package var operationID: String
    package var finishedAt: Date
    package var backup: String
    /// `pass`, `fail` (verification or the RTO), or the operation's outcome when it stopped early.
    package var verdict: String
    package var measuredSeconds: Double?
    package var projectedSeconds: Double?
    package var problems: [String]

    package var passed: Bool { verdict == "pass" }
}

/// Reads the drills (`kind: restore.drill`) out of the environment's journal: the evidence a
/// drill records on its end record. This is what `restore drill --list` shows and what the
/// checklist's DP-3 judges.
package enum DrillRecords {
    package static let kind = "restore.drill"

    package static func read(path: String) throws -> [DrillRecord] {
        let history: JournalHistory
        do {
            history = try JournalHistory.read(path: path, filter: JournalFilter(kind: kind)) { record in
                record.event.operation == kind && [.finished, .failed, .interrupted].contains(record.event.event)
            }
        } catch JournalError.missing {
            return []
        }
        return history.records.map { entry in
            let event = entry.record.event
            let evidence = event.evidence
            return DrillRecord(
                operationID: event.operationID, finishedAt: event.time,
                backup: evidence["backup"]?.string ?? event.inputs["backup"]?.string ?? "?",
                verdict: event.event == .finished ? (evidence["verdict"]?.string ?? "fail") : (event.outcome ?? event.event.rawValue),
                measuredSeconds: evidence["measuredSeconds"]?.number, projectedSeconds: evidence["projectedSeconds"]?.number,
                problems: evidence["problems"]?.array?.compactMap(\.string) ?? (event.message.map { [$0] } ?? []))
        }.sorted { $0.finishedAt > $1.finishedAt }
    }

    /// For the checklist: a drill succeeded when it passed, and what counts against the RTO is
    /// the projected time of the full restore.
    package static func checklistDrills(path: String) throws -> [RestoreDrill] {
        try read(path: path).map {
            RestoreDrill(id: $0.operationID, finishedAt: $0.finishedAt, succeeded: $0.passed,
                         durationSeconds: $0.projectedSeconds ?? $0.measuredSeconds ?? 0)
        }
    }
}

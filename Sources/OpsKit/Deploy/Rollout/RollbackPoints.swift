import Foundation

/// Rollback points as deploys journaled them: what `rollback` returns to and what a deploy's
/// interrupted-watch message names by operation id.
package enum RollbackPoints {
    package static let step = "record the rollback point"

    /// The point of deploy `operation` (an id or its beginning), or of the latest deploy that
    /// recorded one; nil when the journal holds none.
    package static func find(path: String, operation: String?) throws -> (operationID: String, time: Date, point: RollbackPoint)? {
        let history: JournalHistory
        do {
            history = try JournalHistory.read(path: path, filter: JournalFilter(kind: "deploy", operation: operation)) { record in
                record.event.operation == "deploy" && record.event.step == step
            }
        } catch JournalError.missing {
            return nil
        }
        return history.records.compactMap { entry -> (String, Date, RollbackPoint)? in
            let event = entry.record.event
            guard let json = event.evidence["rollbackPoint"], let point = RollbackPoint(json: json) else { return nil }
            return (event.operationID, event.time, point)
        }.max { $0.1 < $1.1 }
    }
}

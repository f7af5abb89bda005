import Foundation

/// The shadow directories this run made, so that each is removed exactly once, whichever way
/// the run ends.
struct ShadowCleanup {
    struct Shadow: Sendable, Equatable {
        var path: String
        var replica: String
    }

    private(set) var pending: [Shadow] = []

    /// Called before the FREEZE that may create `path`.
    mutating func register(_ path: String, on replica: ChosenReplica) {
        let shadow = Shadow(path: path, replica: replica.label)
        if !pending.contains(shadow) { pending.append(shadow) }
    }

    /// The success path: a directory that cannot be removed does not fail a backup that is in
    /// the store; it is journaled, warned about, and removed as stale by the next run.
    mutating func remove(_ shadow: Shadow, session: OperationSession) {
        pending.removeAll { $0 == shadow }
        do {
            session.record("removed", try ShadowDirectory.remove(shadow.path).evidence)
        } catch {
            session.record("failure", .string(String(describing: error)))
            session.context.console.warning("\(error); the next backup removes it")
        }
    }

    /// After a failure or Ctrl-C: everything still there, each attempt recorded.
    mutating func removeAfterFailure(session: OperationSession) {
        var evidence: [JSONValue] = []
        for shadow in pending {
            do {
                var entry = try ShadowDirectory.remove(shadow.path).evidence
                entry.set("replica", .string(shadow.replica))
                evidence.append(entry)
            } catch {
                evidence.append(["path": .string(shadow.path), "replica": .string(shadow.replica), "failure": .string(String(describing: error))])
                session.context.console.warning("\(error); the next backup removes it")
            }
        }
        pending.removeAll()
        if !evidence.isEmpty { session.record("shadowCleanup", .array(evidence)) }
    }
}

import Foundation

/// Who holds the operations lock, and for what. Written into the Lease (or the lock file) so a
/// refused operator sees who to talk to.
package struct LockHolder: Sendable, Equatable, CustomStringConvertible {
    package var actor: Actor
    package var operationID: String
    package var operation: String
    package var environment: String
    package var since: Date

    package init(actor: Actor, operationID: String, operation: String, environment: String, since: Date) {
        self.actor = actor
        self.operationID = operationID
        self.operation = operation
        self.environment = environment
        self.since = since
    }

    package var description: String {
        "\(actor) (\(operation), operation \(operationID)) since \(ISO8601DateFormatter().string(from: since))"
    }
}

/// The lock is held by someone else (and did not come free within `--wait-lock`). Exit 75
/// (EX_TEMPFAIL): nothing was done, try again later.
package struct LockHeldError: OperatorError, Equatable {
    package var holder: LockHolder?
    /// Where the lock lives: `Lease luminate/luminatectl`, `lock file /home/alice/.local/state/...`.
    package var lock: String
    package var waited: Double
    /// More about the holding: `maintenance hold until 2026-11-29T04:00:00Z: schema migration`.
    package var detail: String?

    package init(holder: LockHolder?, lock: String, waited: Double, detail: String? = nil) {
        self.holder = holder
        self.lock = lock
        self.waited = waited
        self.detail = detail
    }

    package var description: String {
        let who = holder.map { "held by \($0)" } ?? "held"
        return "the operations lock (\(lock)) is \(who)" + (detail.map { "; \($0)" } ?? "")
            + (waited > 0 ? "; waited \(formatSeconds(waited))" : "")
    }

    package var hint: String? {
        "wait for it with --wait-lock 30m, or see who holds it with 'luminatectl lock status'"
    }

    package var exitCode: ExitCode { .lockHeld }
}

/// A lock taken; released exactly once, on success, failure or interruption.
package protocol HeldLock: Sendable {
    /// Where the lock lives, for the journal's evidence.
    var name: String { get }
    /// Why the lock is no longer ours while the operation still runs (taken over after renewals
    /// failed, broken with `lock release --force`), or nil while it holds. Sessions check it
    /// before every step.
    var lostReason: String? { get }
    /// Keeps the lock after this process ends, for `seconds`, without renewal (a maintenance
    /// hold); `release()` then leaves it. Throws when this kind of lock cannot outlive its process.
    func keep(for seconds: Double, reason: String) throws
    /// Idempotent and quick: the runner calls it on every path, Ctrl-C included.
    func release() throws
}

extension HeldLock {
    package var lostReason: String? { nil }

    package func keep(for seconds: Double, reason: String) throws {
        throw LockCannotBeKept(lock: name)
    }
}

/// The one lock all mutating operations take, so that a deploy cannot run during a restore and
/// two backups cannot overlap.
package protocol OperationLock: Sendable {
    /// Takes the lock for `holder`, waiting up to `wait` seconds while someone else holds it;
    /// throws `LockHeldError` if it did not come free, or another error if it could not be checked.
    func acquire(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> any HeldLock
}

import Foundation

/// Several locks taken as one, in order, and released in reverse: the lock file first (cheap,
/// local; operations on this machine queue there without polling the API server), then the
/// Lease. `--wait-lock` is one budget across all of them.
package struct CompositeLock: OperationLock {
    package var parts: [any OperationLock]
    package var clock: any TimeSource

    package init(_ parts: [any OperationLock], clock: any TimeSource) {
        self.parts = parts
        self.clock = clock
    }

    package func acquire(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> any HeldLock {
        let start = clock.now()
        var held: [any HeldLock] = []
        do {
            for part in parts {
                let remaining = max(0, wait - clock.now().timeIntervalSince(start))
                held.append(try part.acquire(holder, wait: remaining, interrupt: interrupt))
            }
        } catch {
            // Whatever was taken goes back: a refused operation holds nothing.
            for lock in held.reversed() { try? lock.release() }
            throw error
        }
        return HeldLocks(held)
    }
}

/// The locks a `CompositeLock` took.
package struct HeldLocks: HeldLock {
    package let parts: [any HeldLock]

    init(_ parts: [any HeldLock]) { self.parts = parts }

    package var name: String { parts.map(\.name).joined(separator: " and ") }

    package var lostReason: String? { parts.lazy.compactMap(\.lostReason).first }

    /// Keeps the parts that can outlive the process (the Lease); the others are released then.
    package func keep(for seconds: Double, reason: String) throws {
        var kept = 0
        for part in parts {
            do {
                try part.keep(for: seconds, reason: reason)
                kept += 1
            } catch is LockCannotBeKept {
                continue
            }
        }
        if kept == 0 { throw LockCannotBeKept(lock: name) }
    }

    /// Releases every part, in reverse, even when one fails; throws the first failure.
    package func release() throws {
        var failure: (any Error)?
        for part in parts.reversed() {
            do { try part.release() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }
}

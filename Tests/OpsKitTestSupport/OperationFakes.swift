import Foundation
import OpsKit
import Synchronization

/// A journal in memory; `failing` makes every append throw, as a read-only journal would.
package final class InMemoryJournal: OperationJournal {
    private let state = Mutex<[JournalEvent]>([])
    private let failing: Bool

    package init(failing: Bool = false) { self.failing = failing }

    package var events: [JournalEvent] { state.withLock { $0 } }

    package func append(_ event: JournalEvent) throws {
        if failing { throw ValidationError("cannot write the journal: read-only file system") }
        state.withLock { $0.append(event) }
    }
}

/// A lock that is free, or held by `heldBy`; records acquisitions and releases.
package final class FakeLock: OperationLock {
    private let state = Mutex<(heldBy: LockHolder?, acquired: [LockHolder], released: Int)>((nil, [], 0))

    package init(heldBy: LockHolder? = nil) {
        state.withLock { $0.heldBy = heldBy }
    }

    package var acquired: [LockHolder] { state.withLock { $0.acquired } }
    package var releases: Int { state.withLock { $0.released } }
    package var isHeld: Bool { state.withLock { $0.heldBy != nil } }

    package func acquire(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> any HeldLock {
        try state.withLock { state in
            if let other = state.heldBy {
                throw LockHeldError(holder: other, lock: "fake lock", waited: wait)
            }
            state.heldBy = holder
            state.acquired.append(holder)
        }
        return Held(lock: self)
    }

    fileprivate func release() {
        state.withLock {
            $0.heldBy = nil
            $0.released += 1
        }
    }

    private struct Held: HeldLock {
        let lock: FakeLock
        var name: String { "fake lock" }
        func release() throws { lock.release() }
    }
}

extension Context {
    /// A fake context whose mutating operations use the given journal and lock.
    package func withOperations(journal: any OperationJournal, lock: any OperationLock) -> Context {
        var context = self
        context.makeOperations = { _, _ in OperationServices(journal: journal, lock: lock) }
        return context
    }
}

import Foundation
import Synchronization

/// One running operation. A plan performs its steps through `step`, which journals each as it
/// ends (with its duration and any evidence recorded meanwhile), so the trail shows how far a
/// failed or interrupted operation got.
package final class OperationSession: Sendable {
    package let id: String
    package let spec: OperationSpec
    package let context: Context
    package let configuration: Configuration
    /// The base of every journal event of this operation.
    private let template: JournalEvent
    private let journal: any OperationJournal
    /// The operations lock this operation holds (nil in tests that build a session alone).
    package let lock: (any HeldLock)?
    private let pendingEvidence = Mutex<[(String, JSONValue)]>([])
    private let completed = Mutex<[String]>([])

    init(id: String, spec: OperationSpec, context: Context, configuration: Configuration,
         template: JournalEvent, journal: any OperationJournal, lock: (any HeldLock)? = nil) {
        self.id = id
        self.spec = spec
        self.context = context
        self.configuration = configuration
        self.template = template
        self.journal = journal
        self.lock = lock
    }

    /// Adds evidence (a query result, a threshold, a measurement) to the next journal record.
    package func record(_ key: String, _ value: JSONValue) {
        pendingEvidence.withLock { $0.append((key, value)) }
    }

    /// Runs one named step and journals it: `step` on success, and the runner journals the
    /// failure. Stops before starting when Ctrl-C was pressed, or when the lock was lost.
    @discardableResult
    package func step<T>(_ name: String, _ body: () throws -> T) throws -> T {
        if let signal = context.interrupt.signal {
            throw OperationInterrupted(signal: signal, step: name)
        }
        if let lock, let lost = lock.lostReason {
            throw LockLostError(lock: lock.name, reason: lost, step: name)
        }
        let start = context.clock.now()
        let value = try body()
        var event = template
        event.event = .step
        event.time = context.clock.now()
        event.step = name
        event.evidence = takeEvidence()
        event.durationSeconds = event.time.timeIntervalSince(start)
        try journal.append(event)
        completed.withLock { $0.append(name) }
        return value
    }

    /// The names of the steps done so far.
    package var completedSteps: [String] { completed.withLock { $0 } }

    func takeEvidence() -> JSONValue {
        .object(pendingEvidence.withLock { evidence in
            defer { evidence.removeAll() }
            return evidence
        })
    }
}

/// Ctrl-C arrived between steps: the operation stops before the next one.
package struct OperationInterrupted: OperatorError, Equatable {
    package var signal: Int32
    package var step: String

    package var description: String { "interrupted before step '\(step)'" }
    package var exitCode: ExitCode { .interrupted }
}

import Foundation

/// Runs mutating plans, and is the only thing that does: it takes the operations lock, journals
/// `started`, performs the plan, journals `finished`, `failed` or `interrupted`, and releases the
/// lock on every path. A change that cannot be journaled does not start.
package struct OperationRunner: Sendable {
    package let context: Context
    package let configuration: Configuration
    package let journal: any OperationJournal
    package let lock: any OperationLock
    package let actor: Actor

    package init(context: Context, configuration: Configuration, journal: any OperationJournal, lock: any OperationLock, actor: Actor) {
        self.context = context
        self.configuration = configuration
        self.journal = journal
        self.lock = lock
        self.actor = actor
    }

    /// A new operation id: sortable by time, unique across machines.
    package static func newID(at time: Date) -> String {
        let millis = UInt64(max(0, time.timeIntervalSince1970 * 1000))
        let random = UInt64.random(in: 0..<(1 << 40))
        return String(format: "op-%011llx-%010llx", millis, random)
    }

    /// Performs `plan` under the lock and the journal. `wait` is `--wait-lock` in seconds.
    package func run(_ plan: any OperationPlan, invocation: Invocation, wait: Double = 0) throws -> ExitCode {
        let spec = plan.spec
        let id = Self.newID(at: context.clock.now())
        let template = JournalEvent(
            operationID: id, event: .started, time: context.clock.now(), actor: actor,
            environment: configuration.environmentName.value,
            commandLine: Redactor.redact((["luminatectl"] + invocation.argv).map(shellQuoted).joined(separator: " ")),
            operation: spec.kind, targets: spec.targets, inputs: spec.inputs, reason: spec.reason)

        let holder = LockHolder(actor: actor, operationID: id, operation: spec.kind,
                                environment: configuration.environmentName.value, since: context.clock.now())
        let held: any HeldLock
        do {
            held = spec.takesLock ? try lock.acquire(holder, wait: wait, interrupt: context.interrupt) : LockNotTaken()
        } catch {
            // A refused operation is part of the audit trail too; if even that cannot be
            // written, the lock error is what the operator needs to see.
            var refused = template
            refused.event = .failed
            refused.time = context.clock.now()
            refused.outcome = context.interrupt.isSet ? "interrupted" : "refused"
            refused.message = Redactor.redact(String(describing: error))
            try? journal.append(refused)
            throw error
        }

        var released = false
        func release() {
            guard !released else { return }
            released = true
            do {
                try held.release()
            } catch {
                context.console.warning("could not release the operations lock (\(held.name)): \(Redactor.redact(String(describing: error))); it expires on its own")
            }
        }
        defer { release() }

        let start = context.clock.now()
        var started = template
        started.time = start
        started.evidence = ["lock": .string(held.name)]
        try journal.append(started)

        let session = OperationSession(
            id: id, spec: spec, context: context, configuration: configuration, template: template, journal: journal,
            lock: held)
        do {
            let code = try plan.execute(in: session)
            var finished = template
            finished.event = .finished
            finished.time = context.clock.now()
            finished.outcome = code == .success ? "success" : "failure"
            finished.evidence = session.takeEvidence()
            finished.durationSeconds = finished.time.timeIntervalSince(start)
            release()
            try journal.append(finished)
            return code
        } catch {
            var failed = template
            failed.event = context.interrupt.isSet ? .interrupted : .failed
            failed.time = context.clock.now()
            failed.outcome = context.interrupt.isSet ? "interrupted" : "failure"
            failed.message = Redactor.redact(String(describing: error))
            failed.evidence = session.takeEvidence()
            failed.durationSeconds = failed.time.timeIntervalSince(start)
            if !session.completedSteps.isEmpty {
                failed.evidence.set("completedSteps", .array(session.completedSteps.map { .string($0) }))
            }
            release()
            do {
                try journal.append(failed)
            } catch let journalError {
                context.console.warning("could not journal the failure: \(Redactor.redact(String(describing: journalError)))")
            }
            throw error
        }
    }
}

/// What an operation on the lock itself (`spec.takesLock == false`) holds: nothing.
private struct LockNotTaken: HeldLock {
    var name: String { "none: this operation works on the lock itself" }
    func release() {}
}

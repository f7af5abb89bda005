import Foundation

/// What a mutating operation is about, declared before it runs: the journal records it, the lock
/// names it, `--dry-run` prints it.
package struct OperationSpec: Sendable, Equatable {
    /// The operation type in the operator's words: `deploy`, `rollback`, `backup`, `restore`,
    /// `retention`, `scale`, `runbook`, `lock.hold`.
    package var kind: String
    /// What it changes: `deployment/luminate`, `clickhouse/luminate.metrics_local`.
    package var targets: [String]
    /// Its parameters as given (no secrets: they are redacted again when written).
    package var inputs: JSONValue
    /// Why, for emergency changes outside a window or without a change request.
    package var reason: String?
    /// False only for operations on the lock itself (`lock release`), which must run while
    /// another operation holds it; the runner then journals them without taking the lock.
    package var takesLock: Bool

    package init(kind: String, targets: [String], inputs: JSONValue = .object([]), reason: String? = nil, takesLock: Bool = true) {
        self.kind = kind
        self.targets = targets
        self.inputs = inputs
        self.reason = reason
        self.takesLock = takesLock
    }
}

/// A mutating command, decided but not run. The command builds it from its flags (a pure value
/// tests can compare); `--dry-run` prints it; only `OperationRunner` executes it, inside the lock
/// and the journal. There is no other way to run a plan.
package protocol OperationPlan: Sendable {
    var spec: OperationSpec { get }
    /// The exact steps, for `--dry-run` in text: argv, SQL, PromQL.
    func describe() -> String
    /// The same for `--dry-run -o json`.
    func describeJSON() -> JSONValue
    /// Performs the plan. Each step goes through `session.step`, which journals it; evidence
    /// (query results, thresholds, durations) goes through `session.record`.
    func execute(in session: OperationSession) throws -> ExitCode
}

/// Builds the plan of a mutating command from its invocation and the effective configuration.
package typealias PlanBuilder = @Sendable (Invocation, Configuration, Context) throws -> any OperationPlan

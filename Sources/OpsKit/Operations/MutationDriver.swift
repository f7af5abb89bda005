import Foundation

/// The journal and lock an environment's mutating operations use.
package struct OperationServices: Sendable {
    package var journal: any OperationJournal
    package var lock: any OperationLock

    package init(journal: any OperationJournal, lock: any OperationLock) {
        self.journal = journal
        self.lock = lock
    }
}

/// How the CLI runs a mutating command: configuration → plan → `--dry-run` prints it, otherwise
/// the `OperationRunner` performs it under the lock and the journal.
enum MutationDriver {
    static func run(_ invocation: Invocation, context: Context, plan build: PlanBuilder) throws -> ExitCode {
        let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
        let wait = try invocation.duration("wait-lock") ?? 0
        var plan = try build(invocation, configuration, context)
        if invocation.flag("dry-run") {
            if invocation.json {
                context.console.line(JSONValue.object([
                    ("dryRun", true),
                    ("operation", .string(plan.spec.kind)),
                    ("environment", .string(configuration.environmentName.value)),
                    ("targets", .array(plan.spec.targets.map { .string($0) })),
                    ("plan", plan.describeJSON()),
                ]).rendered(pretty: true))
            } else {
                context.console.line("Plan for \(plan.spec.kind) in environment \(configuration.environmentName.value) (dry run: nothing is changed):")
                context.console.write(plan.describe())
            }
            return .success
        }
        if let reason = invocation.value("reason") {
            plan = ReasonedPlan(base: plan, reason: reason)
        }
        guard let makeOperations = context.makeOperations else {
            throw ValidationError("mutating operations are not available in this build: no journal or lock is configured")
        }
        let services = try makeOperations(configuration, context)
        let runner = OperationRunner(
            context: context, configuration: configuration, journal: services.journal, lock: services.lock,
            actor: Actor.current(environment: context.environment))
        return try runner.run(plan, invocation: invocation, wait: wait)
    }
}

/// A plan with the operator's `--reason` attached to its spec.
private struct ReasonedPlan: OperationPlan {
    let base: any OperationPlan
    let reason: String

    var spec: OperationSpec {
        var spec = base.spec
        spec.reason = reason
        return spec
    }

    func describe() -> String { base.describe() }
    func describeJSON() -> JSONValue { base.describeJSON() }
    func execute(in session: OperationSession) throws -> ExitCode { try base.execute(in: session) }
}

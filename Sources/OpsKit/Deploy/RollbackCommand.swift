import Foundation

/// `luminatectl rollback`: a deploy rolled back by hand through the deploy's own path (lock,
/// journal, the recorded rollback point, the rollout waited for, a decision report), and
/// `rollback check`, the guide's rollback criteria evaluated on demand.
enum RollbackCommand {
    static let group = Command(
        "rollback",
        abstract: "Roll back a deploy; check the rollback criteria.",
        discussion: """
            The operations guide rolls a change back when the error rate stays above 5 % for 5
            minutes, the p95 latency above 500 ms for 10 minutes, data corruption is detected, or a
            security vulnerability is introduced (policy.rollback). deploy watches these during its
            bake and rolls back by itself; rollback check evaluates them on demand.

            rollback on its own returns to the rollback point the latest deploy journaled (or
            --deploy ID's): each Deployment undone to its recorded revision (kubectl rollout undo
            --to-revision), each recorded StatefulSet or other object re-applied as it was. It
            waits for the rollout and prints the decision report (criterion: manual). With
            --to-revision N the Deployments go to that revision instead.
            """,
        options: RollbackPlan.options,
        subcommands: [RollbackCheckCommand.command],
        examples: [
            "luminatectl rollback --dry-run",
            "luminatectl rollback --reason 'errors in the ingest path since 14:02'",
            "luminatectl rollback --deploy op-0193a1b2c3d-4e5f6a7b8c --reason 'post-incident'",
            "luminatectl rollback --to-revision 7 --reason 'back to 2.4.1'",
            "luminatectl rollback check --at 2026-11-20T00:37:00Z -o json",
        ],
        plan: { invocation, configuration, context in try RollbackPlan.build(invocation, configuration, context) }
    )
}

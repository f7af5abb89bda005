import Foundation

/// `luminatectl rollback ...`: the guide's automatic-rollback criteria, checked on demand. The
/// group itself will roll a deploy back by hand; until then it only groups `check`.
enum RollbackCommand {
    static let group = Command(
        "rollback",
        abstract: "Roll back a deploy; check the rollback criteria.",
        discussion: """
            The operations guide rolls a change back when the error rate stays above 5 % for 5
            minutes, the p95 latency above 500 ms for 10 minutes, data corruption is detected, or a
            security vulnerability is introduced (policy.rollback). deploy watches these during its
            bake; rollback check evaluates them on demand.
            """,
        subcommands: [RollbackCheckCommand.command]
    )
}

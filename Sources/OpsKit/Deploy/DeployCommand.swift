import Foundation

/// `luminatectl deploy`: the guide's change management as one command. The policy gate
/// (maintenance windows, major vs minor, emergencies, change requests), the pre-flight (the
/// checklist's static checks, the RPO guard, the diff), the rollout with a rollback point, a
/// bake watched on the rollback criteria, and an automatic rollback with a decision report.
enum DeployCommand {
    static let group = Command(
        "deploy",
        abstract: "Deploy inside the change policy; watch; roll back automatically.",
        discussion: """
            Pre-flight, before anything changes: the policy gate (a minor change inside a window
            that admits it, by default Saturday 02:00-04:00 UTC; a major version update of any
            image inside the monthly window, the first Sunday 02:00-06:00 UTC; --emergency
            admits a change outside its window with --approved-by and --reason; production needs
            --change-request), the checklist's static checks over the objects to apply, the RPO
            guard (the newest complete backup must be younger than policy.recovery.rpo), and
            kubectl diff. Then, under the operations lock: the rollback point is journaled (each
            changed Deployment's revision; StatefulSets and other objects as they were), the
            manifests are applied, each changed Deployment and StatefulSet must roll out within
            its progress deadline, and the change is watched for --bake: every --interval the
            error rate and p95 latency (Prometheus, at explicit times), the data-corruption
            probes (ClickHouse) and the security check are evaluated. A criterion triggers when
            every evaluation in its window is above its threshold, the window lying entirely
            after the rollout finished; missing data is inconclusive, and
            policy.rollback.maxInconclusive inconclusive evaluations in a row count as a
            failure. On a trigger the deploy rolls back to the recorded point, waits for that
            rollout, prints the decision report and exits 1. Ctrl-C while watching leaves the
            deployment as it is and prints the rollback command.
            """,
        options: DeployOptions.options,
        subcommands: [planCommand],
        examples: [
            "luminatectl deploy --overlay production --image luminate=ghcr.io/luminate/luminate:2.5.0 --change-request CHG-1042 --dry-run",
            "luminatectl deploy --overlay production --image ghcr.io/luminate/luminate:2.5.0 --change-request CHG-1042",
            "luminatectl deploy --overlay production --image luminate=ghcr.io/luminate/luminate:2.4.2 --change-request CHG-1050 \\\n      --emergency --approved-by 'J. Smith' --reason 'CVE-2026-1234 fix'",
            "luminatectl deploy plan --overlay production --image ghcr.io/luminate/luminate:2.5.0 --change-request CHG-1042 -o markdown",
        ],
        plan: { invocation, configuration, context in try DeployRequest.plan(invocation, configuration, context) }
    )

    static let planCommand = Command(
        "plan",
        abstract: "Write the change-request document for a deploy (what, why, rollback plan, testing, window).",
        discussion: """
            Runs the deploy's pre-flight (read-only) and writes what the operations guide asks a
            change request to state: what changes (the diff per object, the images), why
            (--reason), the rollback plan (the exact revisions and recorded objects to return to,
            and the command), the testing performed (the checklist result, the last restore
            drill), and the maintenance window. Paste it into the ticket.
            """,
        options: DeployOptions.options.filter { $0.long != "no-auto-rollback" } + [
            OptionSpec("reason", .value(placeholder: "text"), help: "Why the change is made (the document's 'why')."),
        ],
        outputFormats: ["markdown", "json"],
        examples: ["luminatectl deploy plan --overlay production --image ghcr.io/luminate/luminate:2.5.0 --change-request CHG-1042 --reason 'faster ingest' -o markdown"],
        action: { invocation, context in try ChangeRequestDocument.run(invocation, context: context) }
    )
}

import Foundation

/// `luminatectl lock ...`: the one lock every mutating operation takes, so a deploy cannot run
/// during a restore and two backups cannot overlap. See who holds it, freeze operations for a
/// maintenance, and end a hold or break a stale lock.
enum LockCommands {
    static let group = Command(
        "lock",
        abstract: "See, hold and release the operations lock.",
        discussion: """
            Every mutating operation takes the environment's lock: a lock file on this machine,
            then, when the environment has Kubernetes, the Lease 'luminatectl' in its namespace
            (renewed while the operation runs, taken over by another operation only after it
            expires). An operation that finds it held exits 75 and names the holder, or waits
            with --wait-lock.
            """,
        subcommands: [status, hold, release]
    )

    static let status = Command(
        "status",
        abstract: "Show who holds the operations lock, for what, since and until when.",
        discussion: """
            Reads the Lease and the lock file without taking either. A held Lease shows its
            holder, operation, start, last renewal and expiry; an expired one is taken over by
            the next operation. Exit 0 whether the lock is free or held; -o json says which.
            """,
        examples: ["luminatectl lock status --env production", "luminatectl lock status -o json"],
        action: { invocation, context in
            let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
            let lock = try EnvironmentLock(configuration: configuration, context: context)
            let status = try LockStatus.read(lock, now: context.clock.now(), interrupt: context.interrupt)
            if invocation.json {
                context.console.line(status.json.rendered(pretty: true))
            } else {
                context.console.write(status.text)
            }
            return .success
        }
    )

    static let hold = Command(
        "hold",
        abstract: "Hold the operations lock for a while: a maintenance freeze.",
        discussion: """
            Takes the lock like any operation, then keeps the Lease for --duration after
            luminatectl exits, without renewal. Until it expires or 'luminatectl lock release'
            ends it, deploys, restores, backups and the retention CronJob wait (--wait-lock) or
            exit 75 naming the hold and its reason. Journaled. Needs Kubernetes: a lock file
            ends with its process.
            """,
        options: [
            OptionSpec("duration", .value(placeholder: "duration"), help: "How long to hold it, e.g. 2h (at most 30d)."),
        ],
        examples: ["luminatectl lock hold --duration 2h --reason 'ClickHouse upgrade, CHG-1234'"],
        plan: LockHoldPlan.build
    )

    static let release: Command = {
        var command = releaseCommand
        // It takes no lock, so there is nothing to wait for.
        command.options.removeAll { $0.long == "wait-lock" }
        return command
    }()

    private static let releaseCommand = Command(
        "release",
        abstract: "End your maintenance hold, or break a stale lock with --force.",
        discussion: """
            Without --force, ends a 'lock hold' of your own (same user and host). With --force
            and --reason, clears the Lease whoever holds it: for an operation that crashed or
            hangs. A running operation whose lock is broken notices at its next renewal and
            stops before its next step. Journaled; it runs without taking the lock itself.
            """,
        options: [
            OptionSpec("force", help: "Release the lock whoever holds it (needs --reason)."),
        ],
        examples: [
            "luminatectl lock release",
            "luminatectl lock release --force --reason 'restore op-0192... crashed with its runner, INC-881'",
        ],
        plan: LockReleasePlan.build
    )
}

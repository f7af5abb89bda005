import Foundation

/// `lock hold`: a maintenance freeze. The runner takes the lock as for any operation; the plan
/// then keeps the Lease for the duration without renewal, so it outlives this process and every
/// other operation (the backup and retention CronJobs included) waits or exits 75 meanwhile.
struct LockHoldPlan: OperationPlan {
    var lockName: String
    var duration: Double
    var reason: String
    /// `-o json`: the result as a JSON document.
    var json = false

    /// The longest hold: a holiday freeze, not a way to disable the lock.
    static let longest: Double = 30 * 86400

    static func build(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        guard let duration = try invocation.duration("duration") else {
            throw UsageError("Missing required option '--duration <duration>'", commandPath: invocation.path)
        }
        guard duration >= 1, duration <= longest else {
            throw ValidationError("--duration must be between 1s and 30d, not '\(invocation.value("duration") ?? "")'")
        }
        guard let reason = invocation.value("reason"), !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw UsageError("Missing required option '--reason <text>': say why operations are frozen", commandPath: invocation.path)
        }
        let lock = try EnvironmentLock(configuration: configuration, context: context)
        guard let lease = lock.lease else {
            throw ValidationError(
                "lock hold needs the Kubernetes Lease, and environment '\(lock.environment)' has no Kubernetes context or kubeconfig",
                hint: "a lock file ends with the process holding it; configure kubernetes.context or --kubeconfig for this environment")
        }
        return LockHoldPlan(lockName: lease.lockName, duration: duration, reason: reason, json: invocation.json)
    }

    var spec: OperationSpec {
        OperationSpec(kind: "lock.hold", targets: [lockName], inputs: ["duration": .string(DurationParser.format(duration))])
    }

    func describe() -> String {
        """
          take the operations lock (\(lockName)), waiting as --wait-lock allows
          keep the Lease for \(DurationParser.format(duration)) without renewal: \(reason)
          until then every other operation waits (--wait-lock) or exits 75; 'luminatectl lock release' ends it early

        """
    }

    func describeJSON() -> JSONValue {
        ["lock": .string(lockName), "duration": .string(DurationParser.format(duration)), "reason": .string(reason)]
    }

    func execute(in session: OperationSession) throws -> ExitCode {
        let until = session.context.clock.now().addingTimeInterval(duration)
        try session.step("keep the lock until \(LockTime.iso(until))") {
            guard let lock = session.lock else { throw LockCannotBeKept(lock: lockName) }
            try lock.keep(for: duration, reason: reason)
            session.record("until", .string(LockTime.iso(until)))
        }
        let console = session.context.console
        if json {
            console.line(JSONValue.object([
                ("held", true), ("lock", .string(lockName)), ("until", .string(LockTime.iso(until))),
                ("reason", .string(reason)), ("operationID", .string(session.id)),
            ]).rendered(pretty: true))
        } else {
            console.line("The operations lock (\(lockName)) is held until \(LockTime.iso(until)) (\(DurationParser.format(duration))): \(reason)")
            console.line("Other operations wait or exit 75 until then. End it early with: luminatectl lock release")
        }
        return .success
    }
}

/// `lock release`: ends a maintenance hold of one's own, or with `--force` breaks a lock another
/// operation holds (one that crashed, or hangs). It must run while someone else holds the lock,
/// so its spec says `takesLock: false`: the runner journals it like any change but takes no lock.
/// The Lease is written with the resourceVersion it was read at, so a lock that changed hands in
/// between is never broken by mistake.
struct LockReleasePlan: OperationPlan {
    var lockName: String
    var force: Bool
    var reason: String?
    var json = false

    static func build(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        let force = invocation.flag("force")
        let reason = invocation.value("reason")
        if force, reason?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
            throw UsageError("--force needs --reason <text>: the journal records why a lock was broken", commandPath: invocation.path)
        }
        let lock = try EnvironmentLock(configuration: configuration, context: context)
        return LockReleasePlan(lockName: lock.lease?.lockName ?? lock.file.lockName, force: force, reason: reason, json: invocation.json)
    }

    var spec: OperationSpec {
        OperationSpec(kind: "lock.release", targets: [lockName], inputs: ["force": .bool(force)], takesLock: false)
    }

    func describe() -> String {
        let whom = force
            ? "whoever holds it (--force), recording who it was and why"
            : "if it is a maintenance hold (lock hold) of yours"
        return """
              read the operations lock (\(lockName))
              clear its holder \(whom)
              the write carries the version read: a lock that changed hands meanwhile is left alone

            """
    }

    func describeJSON() -> JSONValue {
        ["lock": .string(lockName), "force": .bool(force), "reason": reason.map(JSONValue.string) ?? .null]
    }

    func execute(in session: OperationSession) throws -> ExitCode {
        let context = session.context
        let environment = try EnvironmentLock(configuration: session.configuration, context: context)
        guard let lease = environment.lease else { return try releaseFileLock(environment.file, session: session) }

        let record = try session.step("read \(lease.lockName)") { () throws -> LeaseRecord? in
            let record = try lease.read(interrupt: context.interrupt)
            session.record("holder", record?.holder?.json ?? .null)
            return record
        }
        let now = context.clock.now()
        guard let record, let holder = record.holderIdentity, record.state(at: now) == .held else {
            let why = record?.state(at: now) == .expired ? "its last holder's lease expired" : "nobody holds it"
            report(session, released: nil, message: "The operations lock (\(lease.lockName)) is free (\(why)): nothing to release.")
            return .success
        }
        let me = Actor.current(environment: context.environment)
        let ownHold = record.holdUntil != nil && record.holder?.actor.isSamePerson(as: me) == true
        let who = record.holder?.description ?? holder
        guard ownHold || force else {
            throw LockReleaseRefused(lock: lease.lockName, holder: who, detail: record.detail)
        }
        try session.step("release the lock held by \(who)") {
            try lease.clear(record, by: me, reason: reason, interrupt: context.interrupt)
        }
        var message = "Released the operations lock (\(lease.lockName)), held by \(who)."
        if !ownHold, record.holdUntil == nil {
            message += "\nIf that operation is still running, it notices within \(formatSeconds(lease.renewInterval)) and stops before its next step."
        }
        report(session, released: record.holder?.json ?? .string(holder), message: message)
        return .success
    }

    /// Without Kubernetes the lock is the file, which only its process can release.
    private func releaseFileLock(_ file: FileLock, session: OperationSession) throws -> ExitCode {
        let state = try session.step("read \(file.lockName)") { () throws -> FileLockState in
            let state = try file.inspect()
            session.record("holder", state.held ? (state.holder?.json ?? .null) : .null)
            return state
        }
        guard state.held else {
            report(session, released: nil, message: "The operations lock (\(file.lockName)) is free: nothing to release.")
            return .success
        }
        throw LockReleaseRefused(
            lock: file.lockName, holder: state.holder?.description ?? "a process on this machine",
            detail: state.pid.map { "process \($0) on this machine" }, isFile: true, pid: state.pid)
    }

    private func report(_ session: OperationSession, released: JSONValue?, message: String) {
        if json {
            session.context.console.line(JSONValue.object([
                ("released", .bool(released != nil)), ("lock", .string(lockName)), ("holder", released ?? .null),
                ("operationID", .string(session.id)),
            ]).rendered(pretty: true))
        } else {
            session.context.console.line(message)
        }
    }
}

/// `lock release` without `--force` on a lock that is not one's own maintenance hold, or on a
/// lock file (which ends only with its process). Exit 75, as for any lock held by someone else.
struct LockReleaseRefused: OperatorError {
    var lock: String
    var holder: String
    var detail: String?
    /// A lock file: only its process's end releases it.
    var isFile = false
    var pid: Int32?

    var description: String {
        "the operations lock (\(lock)) is held by \(holder)" + (detail.map { "; \($0)" } ?? "") + "; nothing was released"
    }

    var hint: String? {
        if isFile {
            return "a lock file is released when its process ends" + (pid.map { "; if that process is stuck, stop it: kill \($0)" } ?? "")
        }
        return "only its owner ends a maintenance hold; if the holder crashed or hangs, break it with: luminatectl lock release --force --reason '...'"
    }

    var exitCode: ExitCode { .lockHeld }
}

import Foundation

/// The deploy's RPO guard: a change that goes wrong may need a restore, and a restore can only
/// return to the newest complete backup. A deploy is refused while that backup is older than
/// the RPO (`backup status`'s verdict), unless `--backup-first` takes one under the same lock
/// or `--skip-rpo-guard --reason` records why it goes ahead anyway.
package struct RPOGuard: Sendable {
    package enum Verdict: Sendable, Equatable {
        case fresh
        /// A backup is taken first, under the deploy's lock.
        case backupFirst
        case skipped(reason: String)
    }

    package var status: RecoveryPointStatus?
    /// Why there is no status (no store configured, the store unreadable).
    package var unavailable: String?
    package var verdict: Verdict?
    /// Why the deploy must not go ahead, when it must not.
    package var refusal: DeployRefused?

    /// Reads `backup status` and judges it against the deploy's flags.
    package static func check(configuration: Configuration, context: Context, options: DeployOptions) -> RPOGuard {
        var guardResult = RPOGuard()
        if options.skipRPOGuard {
            guardResult.verdict = .skipped(reason: options.reason ?? "")
        }
        do {
            guard configuration.backup.store != nil else {
                throw ValidationError("no backup store is configured for environment '\(configuration.environmentName.value)' (backup.store)")
            }
            let entries = try BackupSetup(configuration: configuration, context: context).catalogue().entries()
            guardResult.status = RecoveryPointStatus(entries: entries, now: context.clock.now(), rpo: configuration.policy.recovery.rpo)
        } catch {
            guardResult.unavailable = Redactor.redact(String(describing: error))
        }
        guard guardResult.verdict == nil else { return guardResult }
        if let status = guardResult.status, status.verdict == .ok {
            guardResult.verdict = .fresh
        } else if options.backupFirst, guardResult.status != nil {
            guardResult.verdict = .backupFirst
        } else {
            let rpo = DurationParser.format(configuration.policy.recovery.rpo)
            let why: String
            if let status = guardResult.status {
                why = status.newest.map { "the newest complete backup (\($0.id)) is \(DurationParser.format(status.age ?? 0)) old, older than the RPO of \(rpo)" }
                    ?? "the backup store holds no complete backup"
            } else {
                why = "the backups cannot be read (\(guardResult.unavailable ?? "?"))"
            }
            guardResult.refusal = DeployRefused(
                "RPO guard: \(why): a deploy that needs a restore would lose more than the RPO allows",
                hint: guardResult.status == nil
                    ? "fix the backup store, or deploy with --skip-rpo-guard --reason TEXT"
                    : "take a backup first with --backup-first, or deploy anyway with --skip-rpo-guard --reason TEXT")
        }
        return guardResult
    }

    package var line: String {
        let state: String
        if let status {
            state = status.newest.map { "newest complete backup \($0.id), \(DurationParser.format(status.age ?? 0)) old (RPO \(DurationParser.format(status.rpo)))" }
                ?? "no complete backup"
        } else {
            state = "backups not readable: \(unavailable ?? "?")"
        }
        switch verdict {
        case .fresh?: return "RPO guard: pass: \(state)"
        case .backupFirst?: return "RPO guard: \(state): a backup is taken first (--backup-first)"
        case .skipped(let reason)?: return "RPO guard: skipped (--skip-rpo-guard: \(reason)); \(state)"
        case nil: return "RPO guard: REFUSED: \(state)"
        }
    }

    package var json: JSONValue {
        let word: String
        switch verdict {
        case .fresh?: word = "pass"
        case .backupFirst?: word = "backup-first"
        case .skipped?: word = "skipped"
        case nil: word = "refused"
        }
        return .object([
            ("verdict", .string(word)),
            ("newest", status?.newest.map { .string($0.id) } ?? .null),
            ("ageSeconds", status?.age.map { .number($0.rounded()) } ?? .null),
            ("rpoSeconds", status.map { .number($0.rpo) } ?? .null),
            ("unavailable", unavailable.map(JSONValue.string) ?? .null),
        ])
    }
}

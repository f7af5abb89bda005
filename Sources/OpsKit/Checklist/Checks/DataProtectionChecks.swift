import Foundation

/// Data protection (DP-1 ... DP-4): backups, their retention, restore drills and the disaster
/// recovery plan.
enum DataProtectionChecks {
    static let all = [automatedBackups, retentionPolicy, restoreTested, recoveryPlan]

    /// The guide: a restore drill at least every 90 days.
    static let drillIntervalDays = 90

    static let automatedBackups = ChecklistCheck(
        "DP-1", "Automated backups configured", section: .dataProtection,
        explanation: CheckExplanation(
            what: "Backups of ClickHouse run on a schedule at least as often as the recovery point objective (RPO, 1 hour by default), and the newest one is recent.",
            why: "The RPO is the most data the business accepts to lose: a backup taken less often than that cannot meet it, and a schedule that silently stopped cannot either.",
            how: "Static: a CronJob named or labelled as a backup, not suspended, whose schedule never leaves more than policy.recovery.rpo between two runs. Live: the newest complete backup in the environment's backup store (backup.store; the same catalogue `luminatectl backup status` reads) is younger than the RPO; the part skips, saying so, when no store is configured.",
            fix: "Schedule the backup CronJob at least hourly (e.g. \"0 * * * *\"), unsuspend it, and find out why the last backups did not complete."),
        staticRule: { scope in try backupSchedule(scope.manifests(), rpo: scope.settings.policy.recovery.rpo) },
        liveProbe: { scope in try newestBackup(scope) })

    static let retentionPolicy = ChecklistCheck(
        "DP-2", "Backup retention policy set", section: .dataProtection,
        explanation: CheckExplanation(
            what: "The environment's configuration says how many hourly, daily, weekly and monthly backups to keep.",
            why: "Without a stated policy, backups either fill the bucket or get pruned by whoever needs space, and a restore from last month finds nothing.",
            how: "Config: policy.retention.backups is set in luminatectl.yaml for the environment (a warning when only the guide's defaults apply) and is sane: at least 24 hourly, 7 daily, 4 weekly and 1 monthly backups.",
            fix: "Set policy.retention.backups: {hourly: 24, daily: 7, weekly: 4, monthly: 3} (or stricter) for the environment in luminatectl.yaml."),
        configRule: { scope in retention(scope.settings) })

    static let restoreTested = ChecklistCheck(
        "DP-3", "Restore procedure tested", section: .dataProtection,
        explanation: CheckExplanation(
            what: "A restore drill succeeded within the last 90 days, and it took no longer than the recovery time objective (RTO, 4 hours by default).",
            why: "A backup that has never been restored is a hope, not a backup; the drill is also the only measurement of the real recovery time.",
            how: "Live: the newest successful restore drill in luminatectl's journal (`luminatectl restore drill`, kind restore.drill) is at most 90 days old and its restore time, projected from the drill to the whole backup, is within policy.recovery.rto.",
            fix: "Run a restore drill into a scratch environment (luminatectl restore drill), and if it took longer than the RTO, shorten the procedure or revise the RTO with the business."),
        liveProbe: { scope in try restoreDrills(scope) })

    static let recoveryPlan = ChecklistCheck(
        "DP-4", "Disaster recovery plan documented", section: .dataProtection,
        explanation: CheckExplanation(
            what: "A disaster recovery runbook covers node failure, cluster failure, data-centre failure and data corruption.",
            why: "In a disaster nobody improvises well; each scenario needs its own steps, decided in advance.",
            how: "Static: in the runbooks directory (--runbooks, checklist.runbooks, or runbooks/ at the repository root), a runbook named or titled disaster recovery whose text covers each of the four scenarios.",
            fix: "Write runbooks/disaster-recovery.md with a section for each scenario: node failure, cluster failure, data-centre failure, data corruption."),
        staticRule: { scope in try disasterRecovery(scope.runbooks()) })

    // MARK: - Rules

    static func isBackup(_ object: ManifestObject) -> Bool {
        object.name.lowercased().contains("backup")
            || object.labels.contains { ($0.key.hasSuffix("component") || $0.key.hasSuffix("name") || $0.key == "app") && $0.value.lowercased().contains("backup") }
    }

    static func backupSchedule(_ index: ManifestIndex, rpo: Double) -> Finding {
        let jobs = index.objects("CronJob").filter(isBackup)
        guard !jobs.isEmpty else {
            return Finding(.static, .fail, "no backup CronJob in the manifests (no CronJob named or labelled backup)")
        }
        var good: [String] = []
        var problems: [String] = []
        for job in jobs {
            let schedule = job[path: "spec.schedule"]?.string ?? ""
            if job[path: "spec.suspend"]?.bool == true {
                problems.append("\(job.reference): suspended")
                continue
            }
            switch CronSchedule.parse(schedule) {
            case .failure(let error):
                problems.append("\(job.reference): schedule \(error)")
            case .success(let cron):
                guard let gap = cron.longestGap else {
                    problems.append("\(job.reference): schedule '\(schedule)' never runs")
                    continue
                }
                let line = "\(job.reference): '\(schedule)', at most \(DurationParser.format(gap)) between backups"
                if gap <= rpo { good.append(line) } else { problems.append(line + ", longer than the RPO of \(DurationParser.format(rpo))") }
            }
        }
        if good.isEmpty {
            return Finding(.static, .fail, "no backup CronJob runs at least every \(DurationParser.format(rpo)) (the RPO)", evidence: problems,
                           fix: "schedule the backup at least every \(DurationParser.format(rpo)), e.g. \"0 * * * *\", and unsuspend it")
        }
        return Finding(.static, .pass, "backups run at least every \(DurationParser.format(rpo)) (the RPO)", evidence: good + problems)
    }

    static func newestBackup(_ scope: LiveScope) throws -> Finding {
        let rpo = scope.settings.policy.recovery.rpo
        guard let backup = try scope.records.newestCompleteBackup() else {
            return Finding(.live, .fail, "no complete backup recorded", fix: "run luminatectl backup and check the backup CronJob's jobs")
        }
        let age = scope.settings.now.timeIntervalSince(backup.completedAt)
        let line = "backup \(backup.id) completed \(ReportJSON.timestamp(backup.completedAt)) at \(backup.location)"
        if age > rpo {
            return Finding(.live, .fail, "the newest complete backup is \(DurationParser.format(age)) old, older than the RPO of \(DurationParser.format(rpo))", evidence: [line])
        }
        return Finding(.live, .pass, "the newest complete backup is \(DurationParser.format(max(age, 0))) old (RPO \(DurationParser.format(rpo)))", evidence: [line])
    }

    /// The guide's floor for a sane backup retention.
    static let minimumRetention = (hourly: 24, daily: 7, weekly: 4, monthly: 1)

    static func retention(_ settings: ChecklistSettings) -> Finding {
        let r = settings.policy.retention
        let stated = "hourly \(r.hourlyBackups), daily \(r.dailyBackups), weekly \(r.weeklyBackups), monthly \(r.monthlyBackups)"
        guard let mark = settings.policySources["retention.backups"] else {
            return Finding(.config, .warn, "environment \(settings.environment) states no backup retention; the guide's defaults apply (\(stated))",
                           evidence: ["policy.retention.backups: not set in the configuration"])
        }
        let floor = minimumRetention
        var short: [String] = []
        if r.hourlyBackups < floor.hourly { short.append("hourly \(r.hourlyBackups) < \(floor.hourly) (less than a day of hourly restore points)") }
        if r.dailyBackups < floor.daily { short.append("daily \(r.dailyBackups) < \(floor.daily)") }
        if r.weeklyBackups < floor.weekly { short.append("weekly \(r.weeklyBackups) < \(floor.weekly)") }
        if r.monthlyBackups < floor.monthly { short.append("monthly \(r.monthlyBackups) < \(floor.monthly)") }
        let evidence = ["policy.retention.backups at \(mark): \(stated)"]
        if !short.isEmpty {
            return Finding(.config, .fail, "the backup retention keeps too little: \(short.joined(separator: "; "))", evidence: evidence)
        }
        return Finding(.config, .pass, "backup retention: \(stated)", evidence: evidence)
    }

    static func restoreDrills(_ scope: LiveScope) throws -> Finding {
        let drills = try scope.records.restoreDrills()
        let now = scope.settings.now
        let rto = scope.settings.policy.recovery.rto
        let recent = drills.filter { $0.succeeded && EvidenceDate.days(from: $0.finishedAt, to: now) <= drillIntervalDays }
            .sorted { $0.finishedAt > $1.finishedAt }
        let lines = drills.sorted { $0.finishedAt > $1.finishedAt }.prefix(5).map {
            "drill \($0.id) \(ReportJSON.timestamp($0.finishedAt)): \($0.succeeded ? "succeeded" : "failed") in \(DurationParser.format($0.durationSeconds))"
        }
        guard let newest = recent.first else {
            return Finding(.live, .fail, "no successful restore drill in the last \(drillIntervalDays) days", evidence: Array(lines))
        }
        if newest.durationSeconds > rto {
            return Finding(.live, .fail, "the last drill took \(DurationParser.format(newest.durationSeconds)), more than the RTO of \(DurationParser.format(rto))", evidence: Array(lines))
        }
        return Finding(.live, .pass, "restore drill \(newest.id) succeeded: \(DurationParser.format(newest.durationSeconds)) projected for the whole backup (RTO \(DurationParser.format(rto)))", evidence: Array(lines))
    }

    /// The four scenarios and the phrases that show a runbook covers each.
    static let scenarios: [(name: String, pattern: String)] = [
        ("node failure", #"node (failure|loss|outage|down)|(failed|lost|dead) node"#),
        ("cluster failure", #"cluster (failure|loss|outage|down)|(failed|lost) cluster"#),
        ("data-centre failure", #"data[- ]?cent(re|er) (failure|loss|outage)|(region|regional|site|zone) (failure|loss|outage)"#),
        ("data corruption", #"corrupt"#),
    ]

    static func disasterRecovery(_ library: RunbookLibrary) -> Finding {
        guard let plan = library.runbooks.first(where: \.isDisasterRecoveryPlan) else {
            return Finding(.static, .fail, "no disaster recovery runbook in \(library.directory) (a file named disaster-recovery.md, or titled Disaster recovery)",
                           evidence: library.runbooks.map(\.path))
        }
        let text = plan.body.lowercased()
        let missing = scenarios.filter { text.range(of: $0.pattern, options: .regularExpression) == nil }.map(\.name)
        let covered = scenarios.map(\.name).filter { !missing.contains($0) }
        let evidence = ["\(plan.path): covers \(covered.isEmpty ? "none of the scenarios" : covered.joined(separator: ", "))"]
        if !missing.isEmpty {
            return Finding(.static, .fail, "the disaster recovery plan does not cover \(missing.joined(separator: ", "))", evidence: evidence,
                           fix: "add a section to \(plan.path) for each of: \(missing.joined(separator: ", "))")
        }
        return Finding(.static, .pass, "the disaster recovery plan covers node, cluster and data-centre failure and data corruption", evidence: evidence)
    }
}

import Foundation

/// Operations (OPS-1 ... OPS-4): runbooks, on-call, incident and change management.
enum OperationsChecks {
    static let all = [runbooksReviewed, onCall, incidentManagement, changeManagement]

    /// The guide: every runbook reviewed at least every 6 months.
    static let reviewIntervalDays = 180

    static let runbooksReviewed = ChecklistCheck(
        "OPS-1", "Runbooks reviewed by team", section: .operations,
        explanation: CheckExplanation(
            what: "Every runbook was reviewed by the team within the last 180 days, and says by whom.",
            why: "A runbook that drifted from the system sends on-call down the wrong path at 3 a.m.; a named reviewer and a date make drift visible.",
            how: "Static: each runbooks/*.md (README.md excepted) has YAML front matter with reviewed-by (a name or a list) and reviewed-on (a date) no more than 180 days before the run. Malformed front matter is an error with file:line:column.",
            fix: "Review the runbooks named in the evidence with the team and update their front matter: reviewed-by and reviewed-on."),
        staticRule: { scope in try reviewedRunbooks(scope.runbooks(), now: scope.settings.now) })

    static let onCall = ChecklistCheck(
        "OPS-2", "On-call rotation established", section: .operations,
        explanation: CheckExplanation(
            what: "An on-call rotation covers Luminate around the clock, with an escalation path.",
            why: "Pages need someone to answer them; the guide's response times assume a named person on call.",
            how: "Attest: the rotation exists (link to the schedule in PagerDuty or Opsgenie).",
            fix: "Set up the rotation and its escalation policy, then attest OPS-2 with a link to the schedule."),
        attestation: AttestationRule("an on-call rotation with escalation covers Luminate"))

    static let incidentManagement = ChecklistCheck(
        "OPS-3", "Incident management process defined", section: .operations,
        explanation: CheckExplanation(
            what: "There is a written incident management process: severities, roles, communication, post-incident review.",
            why: "In an incident the process decides who leads, who talks to users and when it is over; writing it down in advance is what makes it happen.",
            how: "Static: the document at checklist.incidentProcess exists (or, without one, docs/incident-management.md, docs/incident-response.md or runbooks/incident-management.md at the repository root). Or attest: the process is defined elsewhere. Either suffices.",
            fix: "Write docs/incident-management.md (or point checklist.incidentProcess at the document), or attest OPS-3 with a link to it."),
        combination: .any,
        staticRule: { scope in try incidentDocument(scope.settings) },
        attestation: AttestationRule("an incident management process is defined and known to on-call"))

    static let changeManagement = ChecklistCheck(
        "OPS-4", "Change management process in place", section: .operations,
        explanation: CheckExplanation(
            what: "Production changes go through change management: every deploy names an approved change request.",
            why: "Changes cause most incidents; a change request makes each one reviewed, scheduled in a maintenance window, and traceable afterwards.",
            how: "Config: the production environment's policy.changeRequestRequired is true (the default for an environment named production; a run for another environment reads the configuration's production environment), so luminatectl refuses a deploy without --change-request. Attest: the change process itself (approvals, windows) is in place.",
            fix: "Set policy.changeRequestRequired: true for the production environment in luminatectl.yaml, and attest OPS-4 with a link to the change process."),
        configRule: { scope in changeRequests(scope.settings) },
        attestation: AttestationRule("production changes are approved through the change management process"))

    // MARK: - Rules

    static func reviewedRunbooks(_ library: RunbookLibrary, now: Date) -> Finding {
        guard !library.runbooks.isEmpty else {
            return Finding(.static, .fail, "no runbooks (*.md) in \(library.directory)")
        }
        let malformed = library.runbooks.compactMap(\.malformed)
        if !malformed.isEmpty {
            return Finding(.static, .error, "\(malformed.count) runbook(s) have malformed front matter", evidence: malformed,
                           fix: "fix the YAML front matter at the positions shown")
        }
        var stale: [String] = []
        var good: [String] = []
        for runbook in library.runbooks {
            guard runbook.hasFrontMatter else {
                stale.append("\(runbook.path): no front matter (reviewed-by, reviewed-on)")
                continue
            }
            var issues: [String] = []
            if runbook.reviewedBy.isEmpty { issues.append("no reviewed-by") }
            if let reviewed = runbook.reviewedOn {
                let age = EvidenceDate.days(from: reviewed, to: now)
                if age > reviewIntervalDays { issues.append("reviewed \(age) days ago (\(runbook.reviewedOnText!)), more than \(reviewIntervalDays)") }
                if reviewed > now { issues.append("reviewed-on \(runbook.reviewedOnText!) is in the future") }
            } else {
                issues.append("no reviewed-on")
            }
            if issues.isEmpty {
                good.append("\(runbook.path): reviewed by \(runbook.reviewedBy.joined(separator: ", ")) on \(runbook.reviewedOnText!)")
            } else {
                stale.append("\(runbook.path): \(issues.joined(separator: ", "))")
            }
        }
        if !stale.isEmpty {
            return Finding(.static, .fail, "\(stale.count) of \(library.runbooks.count) runbooks not reviewed within \(reviewIntervalDays) days", evidence: stale + good)
        }
        return Finding(.static, .pass, "all \(library.runbooks.count) runbooks reviewed within \(reviewIntervalDays) days", evidence: good)
    }

    static let incidentCandidates = ["docs/incident-management.md", "docs/incident-response.md", "runbooks/incident-management.md"]

    static func incidentDocument(_ settings: ChecklistSettings) throws -> Finding {
        if let configured = settings.incidentProcess {
            if FileManager.default.fileExists(atPath: configured) {
                return Finding(.static, .pass, "the incident process is written down", evidence: ["\(settings.display(configured)): exists"])
            }
            return Finding(.static, .fail, "checklist.incidentProcess names \(settings.display(configured)), which does not exist")
        }
        guard let root = settings.repositoryRoot else {
            throw CheckSkipped("no repository to look for an incident process document in (set checklist.incidentProcess)")
        }
        for candidate in incidentCandidates where FileManager.default.fileExists(atPath: root + "/" + candidate) {
            return Finding(.static, .pass, "the incident process is written down", evidence: ["\(settings.display(root + "/" + candidate)): exists"])
        }
        return Finding(.static, .warn, "no incident management document (\(incidentCandidates.joined(separator: ", ")) or checklist.incidentProcess)",
                       fix: "write docs/incident-management.md, set checklist.incidentProcess, or attest OPS-3")
    }

    static func changeRequests(_ settings: ChecklistSettings) -> Finding {
        let required: Bool
        var evidence: [String]
        if let production = settings.production {
            required = production.changeRequestRequired
            evidence = ["production: policy.changeRequestRequired: \(required) (\(production.source))"]
            if settings.environment != "production" {
                evidence.append("the checklist judges the production environment's change policy; this run is for environment \(settings.environment)")
            }
        } else {
            let source = settings.policySources["changeRequestRequired"].map { "file \($0)" }
                ?? (settings.environment == "production" ? "default for production" : "default")
            required = settings.policy.changeRequestRequired
            evidence = ["policy.changeRequestRequired: \(required) (\(source))"]
        }
        let environment = settings.production == nil ? settings.environment : "production"
        if required {
            return Finding(.config, .pass, "deploys to \(environment) require a change-request ID", evidence: evidence)
        }
        return Finding(.config, .fail, "deploys to \(environment) do not require a change-request ID", evidence: evidence)
    }
}

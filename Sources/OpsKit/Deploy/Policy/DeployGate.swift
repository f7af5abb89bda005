import Foundation

/// What the policy gate judges: when, how big (from `ChangeClassifier`), where, and the
/// change-management flags as the command validated them.
package struct GateRequest: Sendable, Equatable {
    /// The instant judged, from the context's clock.
    package var now: Date
    package var change: ChangeClassification
    /// The environment's name, for messages and the journal.
    package var environment: String
    /// `policy.changeRequestRequired`: true for production unless configured otherwise.
    package var changeRequestRequired: Bool
    /// `--change-request ID`; blank counts as not given.
    package var changeRequest: String?
    /// From `EmergencyApproval.from(...)`.
    package var emergency: EmergencyApproval?

    package init(
        now: Date, change: ChangeClassification, environment: String, changeRequestRequired: Bool,
        changeRequest: String? = nil, emergency: EmergencyApproval? = nil
    ) {
        self.now = now
        self.change = change
        self.environment = environment
        self.changeRequestRequired = changeRequestRequired
        self.changeRequest = changeRequest
        self.emergency = emergency
    }
}

/// The change-management gate before a deploy (the operations guide: minor changes in the weekly
/// window, major version updates in the monthly one, emergencies escalated for approval,
/// production only with a change request). A pure function of the request and the windows:
///
///     let change = ChangeClassifier(policy.deploy).classify(imageChanges)
///     let verdict = DeployGate(windows: policy.maintenanceWindows).evaluate(GateRequest(
///         now: context.clock.now(), change: change, environment: name,
///         changeRequestRequired: policy.changeRequestRequired, changeRequest: cr, emergency: approval))
///     verdict.lines.forEach(console.line)   // --dry-run shows a refusal without throwing
///     try verdict.requireAdmitted()         // GateRefusal, exit 1
///
/// In order: a missing change request where one is required is refused first (an emergency needs
/// one too), since it is fixed at once and would otherwise surface only inside the window; then a
/// change inside a window admitting its size is admitted (an `--emergency` given anyway is
/// recorded, not needed); outside, an approved emergency is admitted; otherwise refused, naming
/// the next window that admits the change, or saying that none does.
package struct DeployGate: Sendable {
    package var calendar: MaintenanceCalendar

    package init(windows: [MaintenanceWindow]) {
        calendar = MaintenanceCalendar(windows)
    }

    package func evaluate(_ request: GateRequest) -> GateVerdict {
        let size = request.change.size
        let changeRequest = request.changeRequest?.trimmingCharacters(in: .whitespacesAndNewlines)
        let givenChangeRequest = changeRequest?.isEmpty == false ? changeRequest : nil
        let admitting = calendar.occurrence(containing: request.now, admitting: size)
        let open = admitting ?? calendar.occurrences(containing: request.now).first
        let next = calendar.nextOccurrence(admitting: size, atOrAfter: admitting?.end ?? request.now)

        let decision: GateVerdict.Decision
        if request.changeRequestRequired, givenChangeRequest == nil {
            decision = .refused(.changeRequestMissing(environment: request.environment))
        } else if admitting != nil {
            decision = .admittedInWindow
        } else if request.emergency != nil {
            decision = .admittedAsEmergency
        } else if let next {
            decision = .refused(.outsideWindow(size: size, now: request.now, open: open, next: next))
        } else {
            decision = .refused(.noWindowAdmits(size: size, windows: calendar.windows))
        }
        return GateVerdict(
            decision: decision, evaluatedAt: request.now, change: request.change, environment: request.environment,
            changeRequestRequired: request.changeRequestRequired, changeRequest: givenChangeRequest,
            openWindow: open, nextWindow: next, emergency: request.emergency)
    }
}

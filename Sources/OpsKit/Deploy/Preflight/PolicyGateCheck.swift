import Foundation

/// The change-management gate as the deploy sees it: the size of the change from the images it
/// changes (`ChangeClassifier`), then `DeployGate`'s verdict for now: inside a window that admits
/// it, an approved emergency, or refused naming the next window.
package struct PolicyGateCheck: Sendable {
    package var size: ChangeSize
    package var lines: [String]
    package var json: JSONValue
    package var refusal: (any OperatorError & Sendable)?
    package var emergency: EmergencyApproval?
    /// When the change is made, for the change-request document: the open window, the emergency,
    /// or the next window that admits it.
    package var window: String

    package var admitted: Bool { refusal == nil }

    package init(size: ChangeSize, lines: [String], json: JSONValue,
                 refusal: (any OperatorError & Sendable)?, emergency: EmergencyApproval?, window: String = "") {
        self.window = window
        self.size = size
        self.lines = lines
        self.json = json
        self.refusal = refusal
        self.emergency = emergency
    }

    package static func evaluate(changes: [ImageChange], options: DeployOptions, configuration: Configuration, now: Date) -> PolicyGateCheck {
        let policy = configuration.policy
        let classification = ChangeClassifier(policy.deploy).classify(changes)
        let verdict = DeployGate(windows: policy.maintenanceWindows).evaluate(GateRequest(
            now: now, change: classification, environment: configuration.environmentName.value,
            changeRequestRequired: policy.changeRequestRequired, changeRequest: options.changeRequest, emergency: options.emergency))
        let window: String
        switch verdict.decision {
        case .admittedInWindow:
            window = "now, inside the \(verdict.openWindow?.description ?? "open") window"
        case .admittedAsEmergency:
            window = "now, as an emergency outside the maintenance windows, approved by \(options.emergency?.approvedBy ?? "?"): \(options.emergency?.reason ?? "")"
                + (verdict.nextWindow.map { " (the next window that admits it: \($0.description))" } ?? "")
        case .refused:
            window = verdict.nextWindow.map { "the next window that admits a \(classification.size.rawValue) change: \($0.description)" }
                ?? "no configured window admits a \(classification.size.rawValue) change (policy.maintenanceWindows)"
        }
        return PolicyGateCheck(
            size: classification.size, lines: verdict.lines, json: verdict.json,
            refusal: verdict.refusal, emergency: verdict.usedEmergency ? options.emergency : nil, window: window)
    }
}

extension ImageChange {
    /// The image before, as the manifests and the cluster write it.
    var fromText: String? { from?.description }
    var toText: String { to.description }
}

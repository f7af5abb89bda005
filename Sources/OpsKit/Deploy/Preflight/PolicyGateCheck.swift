import Foundation

/// The change-management gate as the deploy sees it: the size of the change from the images it
/// changes (`ChangeClassifier`), then `DeployGate`'s verdict for now: inside a window that admits
/// it, an approved emergency, or refused naming the next window.
package struct PolicyGateCheck: Sendable {
    package var size: ChangeSize
    /// Why the change has that size, per image.
    package var reasons: [String]
    package var lines: [String]
    package var json: JSONValue
    package var refusal: (any OperatorError & Sendable)?
    package var emergency: EmergencyApproval?

    package var admitted: Bool { refusal == nil }

    package init(size: ChangeSize, reasons: [String], lines: [String], json: JSONValue,
                 refusal: (any OperatorError & Sendable)?, emergency: EmergencyApproval?) {
        self.size = size
        self.reasons = reasons
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
        return PolicyGateCheck(
            size: classification.size, reasons: classification.reasons, lines: verdict.lines, json: verdict.json,
            refusal: verdict.refusal, emergency: verdict.usedEmergency ? options.emergency : nil)
    }
}

extension ImageChange {
    /// The image before, as the manifests and the cluster write it.
    var fromText: String? { from?.description }
    var toText: String { to.description }
}

import Foundation

/// `--emergency --approved-by NAME --reason TEXT`: the operations guide escalates an emergency
/// change for approval, so a change outside its window goes ahead only with who approved it and
/// why, both journaled and printed in the summary. It does not replace a change request where
/// one is required: the change request is the record of the change.
package struct EmergencyApproval: Sendable, Equatable {
    package var approvedBy: String
    package var reason: String

    package init(approvedBy: String, reason: String) {
        self.approvedBy = approvedBy
        self.reason = reason
    }

    /// Validates the three flags together, for the command's parse step: nil without
    /// `--emergency`; a `UsageError` (exit 64) naming the missing flag when `--emergency` lacks
    /// `--approved-by` or `--reason` (an empty or blank value counts as missing), or when either
    /// is given without `--emergency`.
    package static func from(emergency: Bool, approvedBy: String?, reason: String?, commandPath: [String]) throws -> EmergencyApproval? {
        func given(_ value: String?) -> String? {
            guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
            return value
        }
        let approver = given(approvedBy), why = given(reason)
        guard emergency else {
            let stray = [approvedBy.map { _ in "--approved-by" }, reason.map { _ in "--reason" }].compactMap { $0 }
            guard stray.isEmpty else {
                throw UsageError("\(stray.joined(separator: " and ")) only \(stray.count == 1 ? "goes" : "go") with --emergency", commandPath: commandPath)
            }
            return nil
        }
        switch (approver, why) {
        case (let approver?, let why?):
            return EmergencyApproval(approvedBy: approver, reason: why)
        case (nil, nil):
            throw UsageError("--emergency needs --approved-by NAME and --reason TEXT: an emergency change is escalated for approval and journaled", commandPath: commandPath)
        case (nil, _):
            throw UsageError("--emergency needs --approved-by NAME: an emergency change is escalated for approval", commandPath: commandPath)
        case (_, nil):
            throw UsageError("--emergency needs --reason TEXT: the journal records why the change could not wait for its window", commandPath: commandPath)
        }
    }
}

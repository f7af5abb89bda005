import Foundation

/// What the policy gate decided, with everything the deploy summary prints (`lines`) and the
/// journal and `-o json` record (`json`). A refused verdict is still a value, so `--dry-run` can
/// show it; `requireAdmitted()` turns it into the `GateRefusal` the command exits with.
package struct GateVerdict: Sendable, Equatable {
    /// Admitted inside a window, admitted as an emergency, or refused.
    package enum Decision: Sendable, Equatable {
        /// A window admitting the change is open.
        case admittedInWindow
        /// No admitting window is open; `--emergency` with its approval admitted it.
        case admittedAsEmergency
        case refused(GateRefusal)
    }

    package var decision: Decision
    package var evaluatedAt: Date
    package var change: ChangeClassification
    package var environment: String
    package var changeRequestRequired: Bool
    /// As given, trimmed; nil when not given.
    package var changeRequest: String?
    /// The window open at `evaluatedAt`: the admitting one when there is one, otherwise one that
    /// is open but admits only smaller changes; nil outside every window.
    package var openWindow: WindowOccurrence?
    /// The next window admitting the change: after the open admitting window when inside one,
    /// else the next to open. Nil when no configured window admits the change's size.
    package var nextWindow: WindowOccurrence?
    /// The approval as given, whether or not it was needed (`usedEmergency`).
    package var emergency: EmergencyApproval?

    package var isAdmitted: Bool { refusal == nil }
    /// True when the change was admitted only because of `--emergency`.
    package var usedEmergency: Bool { decision == .admittedAsEmergency }

    package var refusal: GateRefusal? {
        if case .refused(let refusal) = decision { return refusal }
        return nil
    }

    /// Throws the refusal, if refused.
    package func requireAdmitted() throws {
        if let refusal { throw refusal }
    }

    /// For the deploy summary and `--dry-run`:
    ///
    ///     policy gate: admitted: a minor change in the weekly window, Saturday 2026-12-05 02:00–04:00 UTC (closes in 1h 30m)
    ///       Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2
    ///       change request: not required for staging
    package var lines: [String] {
        let size = change.size.rawValue
        var lines: [String]
        switch decision {
        case .admittedInWindow:
            lines = ["policy gate: admitted: a \(size) change in the " + (openWindow.map {
                "\($0.window.name) window, \($0.span) (closes in \(WindowOccurrence.wait(from: evaluatedAt, until: $0.end)))"
            } ?? "maintenance window")]
        case .admittedAsEmergency:
            lines = ["policy gate: admitted as an EMERGENCY: a \(size) change outside its maintenance window"]
        case .refused(let refusal):
            lines = ["policy gate: refused: \(refusal)"]
        }
        lines += change.reasons.map { "  \($0)" }
        if let changeRequest {
            lines.append("  change request: \(changeRequest)")
        } else {
            lines.append(changeRequestRequired ? "  change request: missing, \(environment) requires one" : "  change request: not required for \(environment)")
        }
        if let emergency {
            lines.append("  emergency: approved by \(emergency.approvedBy), reason: \(emergency.reason)"
                + (decision == .admittedInWindow ? " (not needed: the window is open)" : ""))
        }
        // A window refusal already says when the change may go; an emergency or a missing change
        // request is told here.
        let refusalSaysWhen: Bool = switch refusal {
        case .outsideWindow?, .noWindowAdmits?: true
        default: false
        }
        if decision != .admittedInWindow, !refusalSaysWhen {
            if let open = openWindow, MaintenanceCalendar.admits(open.window, change.size) {
                lines.append("  the \(open.window.name) window admits it now: \(open.span) (closes in \(WindowOccurrence.wait(from: evaluatedAt, until: open.end)))")
            } else if let nextWindow {
                lines.append("  next window that admits it: \(nextWindow) (in \(WindowOccurrence.wait(from: evaluatedAt, until: nextWindow.start)))")
            } else {
                lines.append("  no configured maintenance window admits a \(size) change")
            }
        }
        return lines
    }

    /// For the journal and `-o json`.
    package var json: JSONValue {
        let decisionName: String = switch decision {
        case .admittedInWindow: "window"
        case .admittedAsEmergency: "emergency"
        case .refused: "refused"
        }
        return [
            "decision": .string(decisionName),
            "admitted": .bool(isAdmitted),
            "evaluatedAt": .string(UTCInstant(evaluatedAt).iso8601),
            "environment": .string(environment),
            "size": .string(change.size.rawValue),
            "reasons": .array(change.reasons.map { .string($0) }),
            "changeRequestRequired": .bool(changeRequestRequired),
            "changeRequest": changeRequest.map { .string($0) } ?? .null,
            "window": openWindow?.json ?? .null,
            "nextWindow": nextWindow?.json ?? .null,
            "emergency": emergency.map {
                ["approvedBy": .string($0.approvedBy), "reason": .string($0.reason), "used": .bool(usedEmergency)]
            } ?? .null,
            "refusal": refusal.map { ["message": .string($0.description), "hint": $0.hint.map { .string($0) } ?? .null] } ?? .null,
        ]
    }
}

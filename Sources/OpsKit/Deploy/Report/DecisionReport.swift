import Foundation

/// Why a deploy was rolled back, written when it happens: the criterion and its threshold and
/// window, the series values that decided with their times, what the cluster returned to, and
/// how long detection took (from the evaluation at which the criterion's window was satisfied
/// to the rollback being issued). Printed, and journaled as the deploy's `decision`.
package struct DecisionReport: Sendable, Equatable {
    package var trigger: BakeTrigger
    package var rollbackPoint: RollbackPoint
    /// When the rollback was issued; nil with `--no-auto-rollback`.
    package var rollbackIssuedAt: Date?
    /// What the rollback did, object by object, and how its rollout ended.
    package var actions: [String]
    package var rolledBack: Bool
    /// The command that rolls back by hand (shown with --no-auto-rollback, or when the rollback failed).
    package var rollbackCommand: String

    package var detectionSeconds: Double? {
        rollbackIssuedAt.map { max(0, $0.timeIntervalSince(trigger.satisfiedAt)) }
    }

    package var text: String {
        var lines = ["Decision: roll back (\(trigger.criterion))", "  criterion: \(trigger.summary)"]
        if let threshold = trigger.threshold { lines.append("  threshold: \(threshold)") }
        if let window = trigger.window { lines.append("  window: \(DurationParser.format(window)), sustained: every evaluation in it above the threshold") }
        if !trigger.values.isEmpty {
            lines.append("  values that decided:")
            lines += trigger.values.map { "    \(JournalTime.format($0.time))  \($0.value.map(Self.number) ?? "no data")" }
        }
        lines += trigger.details.map { "  \($0)" }
        if trigger.criterion == "manual" {
            lines.append("  rollback issued at: \(JournalTime.format(rollbackIssuedAt ?? trigger.satisfiedAt))")
        } else if let issued = rollbackIssuedAt, let seconds = detectionSeconds {
            lines.append("  condition met at: \(JournalTime.format(trigger.satisfiedAt)) (the evaluation at which it held)")
            lines.append("  rollback issued at: \(JournalTime.format(issued)) (detection took \(String(format: "%.2f", seconds)) s)")
        } else {
            lines.append("  condition met at: \(JournalTime.formatWholeSeconds(trigger.satisfiedAt))")
            lines.append("  not rolled back (--no-auto-rollback); to roll back: \(rollbackCommand)")
        }
        lines.append("  rollback point:")
        lines += rollbackPoint.lines.map { "    \($0)" }
        if !actions.isEmpty {
            lines.append("  rollback:")
            lines += actions.map { "    \($0)" }
        }
        if rollbackIssuedAt != nil, !rolledBack {
            lines.append("  the rollback did not complete: check the workloads, then run: \(rollbackCommand)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    package var json: JSONValue {
        .object([
            ("criterion", .string(trigger.criterion)),
            ("summary", .string(trigger.summary)),
            ("threshold", trigger.threshold.map(JSONValue.string) ?? .null),
            ("window", trigger.window.map { .number($0) } ?? .null),
            ("values", .array(trigger.values.map { .array([.string(JournalTime.format($0.time)), $0.value.map { .number($0) } ?? .null]) })),
            ("details", .array(trigger.details.map { .string($0) })),
            ("satisfiedAt", .string(JournalTime.format(trigger.satisfiedAt))),
            ("rollbackIssuedAt", rollbackIssuedAt.map { .string(JournalTime.format($0)) } ?? .null),
            ("detectionSeconds", detectionSeconds.map { .number(($0 * 1000).rounded() / 1000) } ?? .null),
            ("rollbackPoint", .array(rollbackPoint.lines.map { .string($0) })),
            ("actions", .array(actions.map { .string($0) })),
            ("rolledBack", .bool(rolledBack)),
            ("rollbackCommand", .string(rollbackCommand)),
        ])
    }

    static func number(_ value: Double) -> String {
        value.isNaN ? "NaN" : String(format: "%.4g", value)
    }
}

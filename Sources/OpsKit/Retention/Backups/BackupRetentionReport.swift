import Foundation

/// How a backup retention plan prints, for `retention plan` and its `-o json`.
extension BackupRetentionPlan {
    /// Backups newest first, each with its action and reasons, then the deletion order.
    package var json: JSONValue {
        .object([
            ("now", .string(Timestamp.format(now))),
            ("policy", .object(BackupTier.allCases.map { ($0.rawValue, .number(Double($0.count(in: policy)))) }
                + [("incompleteMaxAgeSeconds", .number(incompleteMaxAge))])),
            ("kept", .number(Double(kept.count))),
            ("deleted", .number(Double(deletionOrder.count))),
            ("backups", .array(decisions.map(\.json))),
            ("deletionOrder", .array(deletionOrder.map { .string($0.text) })),
        ])
    }

    /// `keep    20261130T140000Z  full         hourly 2026-11-30 14:00, newest`, one line per
    /// backup under a summary line, then the order deletions run in.
    package var textLines: [String] {
        let counts = BackupTier.allCases.map { "\($0.rawValue) \($0.count(in: policy))" }.joined(separator: ", ")
        var lines = ["Backups: keep \(kept.count), delete \(deletionOrder.count) (\(counts); incomplete after \(BackupText.age(incompleteMaxAge)))"]
        let rows = decisions.map { decision -> [String] in
            let kind = decision.isComplete ? (decision.type?.rawValue ?? "complete") : "incomplete"
            switch decision.action {
            case .keep(let reasons):
                return ["keep", decision.id.text, kind, reasons.map(\.description).joined(separator: ", ")]
            case .delete(let reason):
                return ["delete", decision.id.text, kind, reason.description]
            }
        }
        if !rows.isEmpty {
            lines += BackupText.table(rows, indent: "  ").split(separator: "\n").map(String.init)
        }
        if !deletionOrder.isEmpty {
            lines.append("Deletion order (incrementals before their bases): \(deletionOrder.map(\.text).joined(separator: ", "))")
        }
        return lines
    }
}

extension BackupRetentionPlan.Decision {
    var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(id.text)),
            ("state", .string(isComplete ? "complete" : "incomplete")),
            ("type", type.map { .string($0.rawValue) } ?? .null),
            ("base", base.map { .string($0) } ?? .null),
        ]
        switch action {
        case .keep(let reasons):
            fields.append(("action", "keep"))
            fields.append(("tiers", .array(tiers.map { .string($0.rawValue) })))
            fields.append(("keptOnlyAsBase", .bool(isKeptOnlyAsBase)))
            fields.append(("reasons", .array(reasons.map(\.json))))
        case .delete(let reason):
            fields.append(("action", "delete"))
            fields.append(("reasons", .array([reason.json])))
        }
        return .object(fields)
    }
}

extension BackupKeepReason {
    var json: JSONValue {
        switch self {
        case .tier(let period):
            ["reason": "tier", "tier": .string(period.tier.rawValue), "period": .string(period.description), "text": .string(description)]
        case .newest: ["reason": "newest", "text": .string(description)]
        case .baseOf(let dependent): ["reason": "baseOf", "dependent": .string(dependent), "text": .string(description)]
        case .mayStillBeRunning: ["reason": "mayStillBeRunning", "text": .string(description)]
        case .unrestorable(let problem): ["reason": "unrestorable", "problem": .string(problem), "text": .string(description)]
        }
    }
}

extension BackupDeleteReason {
    var json: JSONValue {
        switch self {
        case .noTierKeepsIt: ["reason": "noTierKeepsIt", "text": .string(description)]
        case .incompleteTooOld(let age, let limit):
            ["reason": "incompleteTooOld", "ageSeconds": .number(age), "limitSeconds": .number(limit), "text": .string(description)]
        }
    }
}

import Foundation

/// The verdict on one check: its outcome, why, the evidence of every mode that ran, the fix, and
/// the waiver or attestation that played a part.
package struct CheckResult: Sendable {
    package var check: ChecklistCheck
    package var outcome: CheckOutcome
    package var message: String
    package var evidence: [String]
    /// How to fix it; nil when nothing is to be fixed (pass, skip).
    package var fix: String?
    /// What each mode found.
    package var parts: [Finding]
    package var waiver: Waiver?
    /// `applied`, `not-needed`, `expired`, `too-long`, or nil without a waiver.
    package var waiverStatus: String?
    package var attestation: Attestation?
    package var seconds: Double

    /// The modes that ran (did not skip).
    package var modesRun: [CheckMode] { parts.filter { $0.outcome != .skip }.map(\.mode) }
}

/// How the findings of a check's modes become one verdict, and how a waiver changes it.
package enum Verdict {
    /// Combines the findings of each mode. A mode that skipped never decides unless every mode
    /// skipped; then the check skips with every reason.
    package static func combine(_ check: ChecklistCheck, _ parts: [Finding]) -> CheckResult {
        let ran = parts.filter { $0.outcome != .skip }
        var result = CheckResult(
            check: check, outcome: .skip, message: "", evidence: [], fix: nil, parts: parts,
            seconds: parts.reduce(0) { $0 + $1.seconds })
        guard !ran.isEmpty else {
            result.message = parts.map(\.message).joined(separator: "; ")
            return result
        }
        let decisive: Finding
        if check.combination == .any, let passing = ran.first(where: { $0.outcome == .pass }) {
            decisive = passing
        } else {
            decisive = ran.max { $0.weight < $1.weight }!
        }
        result.outcome = decisive.outcome
        result.message = decisive.message
        let labelled = ran.count > 1
        for part in parts {
            let lines = part.outcome == .skip ? ["\(part.mode.rawValue) skipped: \(part.message)"] : part.evidence
            result.evidence += labelled && part.outcome != .skip ? lines.map { "\(part.mode.rawValue): \($0)" } : lines
        }
        if ran.count > 1 {
            // Say what the other modes found, so "static pass + live fail" reads as such.
            let others = ran.filter { $0.mode != decisive.mode }.map { "\($0.mode.rawValue) \($0.outcome.rawValue): \($0.message)" }
            result.evidence.insert(contentsOf: others, at: 0)
        }
        if [.fail, .error, .warn].contains(result.outcome) {
            result.fix = decisive.fix ?? check.explanation.fix
        }
        return result
    }

    /// Applies the check's waiver, if any. An expired waiver, or one longer than 90 days,
    /// fails the check whatever it found: a release gate must not rest on a stale exception.
    package static func apply(_ waiver: Waiver?, to result: inout CheckResult, now: Date) {
        guard let waiver else { return }
        result.waiver = waiver
        switch waiver.standing(at: now) {
        case .expired:
            result.waiverStatus = "expired"
            result.evidence.insert("the check itself: \(result.outcome.rawValue): \(result.message)", at: 0)
            result.outcome = .fail
            result.message = "waiver expired on \(waiver.expiresText) (\(waiver.ticket), \(waiver.owner)); renew it or remove it"
            result.fix = "fix the check and remove the waiver at \(waiver.mark), or renew it with a new expiry (at most \(Waiver.maximumDays) days)"
        case .tooLong(let days):
            result.waiverStatus = "too-long"
            result.evidence.insert("the check itself: \(result.outcome.rawValue): \(result.message)", at: 0)
            result.outcome = .fail
            result.message = "waiver runs \(days) days, longer than the \(Waiver.maximumDays) days allowed (\(waiver.ticket))"
            result.fix = "shorten the waiver at \(waiver.mark) to expire within \(Waiver.maximumDays) days of being granted"
        case .valid:
            if [.fail, .warn, .error].contains(result.outcome) {
                result.waiverStatus = "applied"
                result.evidence.insert("waived \(result.outcome.rawValue): \(result.message)", at: 0)
                result.outcome = .waived
                result.message = waiver.summary
            } else {
                result.waiverStatus = "not-needed"
            }
        }
    }
}

extension Finding {
    /// The weight of this finding's outcome when modes are combined.
    var weight: Int { outcome.weight }
}

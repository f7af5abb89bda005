import Foundation

/// The overall verdict of one evaluation. The raw values are an interface (`rollback check -o json`).
package enum AnalysisVerdict: String, Sendable, Equatable {
    /// A criterion triggered, or the data has been missing for `maxInconclusive` evaluations.
    case rollback
    case healthy
    /// Some criterion could not be evaluated and none triggered.
    case inconclusive
}

/// One evaluation of every criterion: what a bake tick and `rollback check` both return.
package struct AnalysisTick: Sendable, Equatable {
    package var at: Date
    /// t0, when there was one.
    package var windowStart: Date?
    package var verdict: AnalysisVerdict
    /// `error-rate triggered: error rate 8.5 % > 5 % for 5m (11 of 11 steps)`, `no data for 10
    /// consecutive evaluations`, `p95-latency inconclusive (3 consecutive of 10)`, `all criteria clear`.
    package var reason: String
    package var criteria: [CriterionResult]
    /// Consecutive evaluations (this one included) in which a metric criterion was inconclusive.
    package var inconclusiveStreak: Int

    /// The criteria that triggered, in table order.
    package var triggered: [CriterionID] { criteria.filter { $0.verdict == .triggered }.map(\.id) }

    package func criterion(_ id: CriterionID) -> CriterionResult? { criteria.first { $0.id == id } }

    /// `{"verdict", "at", "criteria": [...]}` plus the reason, the window start and the streak.
    package var json: JSONValue {
        [
            "verdict": .string(verdict.rawValue), "at": .string(LockTime.iso(at)), "reason": .string(reason),
            "windowStart": windowStart.map { .string(LockTime.iso($0)) } ?? .null,
            "inconclusiveStreak": .number(Double(inconclusiveStreak)),
            "criteria": .array(criteria.map(\.json)),
        ]
    }

    /// The overall verdict from the criteria and the streak. `maxInconclusive` nil: no escalation
    /// (a one-shot check); otherwise a streak that reaches it is a rollback.
    package static func verdict(_ criteria: [CriterionResult], streak: Int, maxInconclusive: Int?) -> (AnalysisVerdict, String) {
        let triggered = criteria.filter { $0.verdict == .triggered }
        if !triggered.isEmpty {
            return (.rollback, triggered.map { "\($0.id.rawValue) triggered: \($0.summary)" }.joined(separator: "; "))
        }
        if let maxInconclusive, maxInconclusive > 0, streak >= maxInconclusive {
            return (.rollback, "no data for \(streak) consecutive evaluations")
        }
        let inconclusive = criteria.filter { $0.verdict == .inconclusive }
        if !inconclusive.isEmpty {
            var reason = inconclusive.map(\.id.rawValue).joined(separator: ", ") + " inconclusive"
            if let maxInconclusive, maxInconclusive > 0, streak > 0 {
                reason += " (\(streak) consecutive evaluations without data, rollback at \(maxInconclusive))"
            }
            return (.inconclusive, reason)
        }
        return (.healthy, "all criteria clear")
    }
}

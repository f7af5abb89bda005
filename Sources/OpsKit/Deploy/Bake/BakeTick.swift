import Foundation

/// What the bake needs from one evaluation of the rollback criteria. The analysis behind it
/// (Prometheus, the corruption probes, the security check) lives in `Analysis/`; the bake only
/// schedules evaluations, shows them, journals them and acts on the decision.
package protocol BakeEvaluating: Sendable {
    /// Evaluates every criterion at `time` for a window that starts no earlier than
    /// `windowStart` (when the rollout finished). Never throws: a source that cannot be reached
    /// makes its criterion inconclusive for this evaluation.
    func evaluate(at time: Date, windowStart: Date) -> BakeTick
}

/// One evaluation during the bake.
package struct BakeTick: Sendable {
    package enum Decision: Sendable, Equatable {
        /// Nothing triggered (possibly a criterion above its threshold, not yet for its window).
        case healthy
        /// Some data was missing; `consecutive` evaluations in a row so far.
        case inconclusive(consecutive: Int)
        /// Roll back: a criterion triggered, or too many evaluations in a row had no data.
        case rollback
    }

    package var time: Date
    package var decision: Decision
    /// The current values for the progress line: `error rate 0.4 % (≤ 5 %), p95 0.12 s (≤ 0.5 s)`.
    package var status: String
    /// The evaluation as the journal records it (the `rollback check` JSON shape).
    package var json: JSONValue
    /// Why to roll back, when the decision is rollback.
    package var trigger: BakeTrigger?
    /// A metric is above its threshold without having been so for its whole window yet: the
    /// change is not healthy yet, whatever the clock says.
    package var pending: Bool

    package init(time: Date, decision: Decision, status: String, json: JSONValue, trigger: BakeTrigger? = nil,
                 pending: Bool = false) {
        self.time = time
        self.decision = decision
        self.status = status
        self.json = json
        self.trigger = trigger
        self.pending = pending
    }
}

/// The criterion that decided a rollback, with the values that decided it: the decision report.
package struct BakeTrigger: Sendable, Equatable {
    /// `error-rate`, `p95-latency`, `corruption`, `security`, `no-data`, `rollout`, `apply`, `manual`.
    package var criterion: String
    /// `error rate 8.5 % > 5 % for 20s (10 of 10 evaluations)`.
    package var summary: String
    /// `> 5 %`, or nil where there is none (a finding, a failed rollout).
    package var threshold: String?
    package var window: Double?
    /// The values that decided, with their evaluation times.
    package var values: [(time: Date, value: Double?)]
    /// When the condition was met (the evaluation at which the window was satisfied).
    package var satisfiedAt: Date
    /// Findings in words (a probe's rows, the scanner's last lines, kubectl's message).
    package var details: [String]

    package init(criterion: String, summary: String, threshold: String? = nil, window: Double? = nil,
                 values: [(time: Date, value: Double?)] = [], satisfiedAt: Date, details: [String] = []) {
        self.criterion = criterion
        self.summary = summary
        self.threshold = threshold
        self.window = window
        self.values = values
        self.satisfiedAt = satisfiedAt
        self.details = details
    }

    package static func == (lhs: BakeTrigger, rhs: BakeTrigger) -> Bool {
        lhs.criterion == rhs.criterion && lhs.summary == rhs.summary && lhs.threshold == rhs.threshold && lhs.window == rhs.window
            && lhs.values.map(\.time) == rhs.values.map(\.time) && lhs.values.map(\.value) == rhs.values.map(\.value)
            && lhs.satisfiedAt == rhs.satisfiedAt && lhs.details == rhs.details
    }
}

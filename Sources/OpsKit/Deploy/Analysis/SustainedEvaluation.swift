import Foundation

/// "Above θ for W": a metric criterion's threshold, window and the spacing of its steps.
package struct SustainedRule: Sendable, Equatable {
    /// θ. A value equal to it is not above it.
    package var threshold: Double
    /// W, in seconds.
    package var window: Double
    /// The evaluation interval, in seconds (`policy.deploy.interval`, `--interval`).
    package var step: Double

    package init(threshold: Double, window: Double, step: Double) {
        self.threshold = threshold
        self.window = window
        self.step = step
    }

    /// How many steps a window holds when they are spaced exactly by `step`: both ends count.
    package var stepsPerWindow: Int { Int((window / step + Self.tolerance).rounded(.down)) + 1 }

    /// Times closer than this are the same instant (Prometheus keeps milliseconds).
    static let tolerance = 0.001
}

/// What "sustained" means, decided on a series of evaluation steps. This is the definition the
/// deploy bake and `rollback check` both implement, and the one the README quotes:
///
/// Evaluation steps are the instants t0 < t1 < ... spaced by the interval, the first at or after
/// the rollout finished (the window start). A metric criterion with threshold θ and window W is
/// **triggered at step T** when T − W ≥ t0 and every step t with T − W ≤ t ≤ T has a value > θ
/// (a value at the threshold is not above it). A step with no value (an empty vector, NaN) makes
/// the evaluation at that step **inconclusive** and breaks any run: a run never spans missing
/// data, so the window has to fill again after it. Otherwise the criterion is **clear**, possibly
/// pending: "above for X of W" while a run is under way but the window is not yet full of it.
///
/// Two consequences, stated so nobody has to derive them: a window is judged only once its steps
/// cover it (the earliest step in it is at most one interval after T − W), so an evaluator that
/// started late cannot trigger on a handful of steps; and a window that starts before the rollout
/// finished never triggers, however high the values in it, because they may be the old version's.
/// Consecutive inconclusive evaluations are counted by the caller (`CriteriaEvaluator`), not here.
package struct SustainedEvaluation: Sendable, Equatable {
    package var rule: SustainedRule
    /// T: the step being judged.
    package var at: Date
    package var verdict: CriterionVerdict
    /// The steps in [T − W, T], oldest first: the values that decided.
    package var window: [SeriesPoint]
    /// The value at T.
    package var latest: Double?
    /// How many steps of the window have a value above θ, and how many have a value at all.
    package var stepsAbove: Int
    package var stepsWithData: Int
    /// The first step of the run of values above θ that ends at T (nil when T is not above).
    package var runStart: Date?
    /// When the window was first satisfied by the current run: the earliest step of it at which
    /// the criterion triggered, among the steps whose whole window is known (nil unless
    /// triggered). A bake knows every tick since the rollout; `rollback check` reads one window
    /// before `at`, so it can say "at T − W or earlier" at most.
    package var satisfiedAt: Date?
    /// True when T − W is before the window start: the criterion cannot trigger yet.
    package var beforeWindowStart: Bool

    /// Seconds the current run has lasted (T minus its first step); 0 when T is not above.
    package var aboveFor: Double { runStart.map { at.timeIntervalSince($0) } ?? 0 }

    /// Judges step `at` of `points` (any order; at most one point per step). `windowStart` is t0;
    /// nil puts no constraint on the window (a post-incident `rollback check` without
    /// `--window-start`).
    package static func evaluate(_ points: [SeriesPoint], rule: SustainedRule, at: Date, windowStart: Date?) -> SustainedEvaluation {
        let sorted = points.filter { $0.time.timeIntervalSince(at) <= SustainedRule.tolerance }.sorted { $0.time < $1.time }
        let latest = sorted.last.flatMap { abs($0.time.timeIntervalSince(at)) <= SustainedRule.tolerance ? $0 : nil }?.value
        let window = Self.window(sorted, rule: rule, at: at)
        let before = windowStart.map { at.addingTimeInterval(-rule.window).timeIntervalSince($0) < -SustainedRule.tolerance } ?? false

        var runStart: Date?
        if latest.map({ $0 > rule.threshold }) == true {
            for point in sorted.reversed() {
                guard let value = point.value, value > rule.threshold else { break }
                runStart = point.time
            }
        }
        var evaluation = SustainedEvaluation(
            rule: rule, at: at, verdict: .clear, window: window, latest: latest,
            stepsAbove: window.filter { ($0.value ?? -.infinity) > rule.threshold }.count,
            stepsWithData: window.filter { $0.value != nil }.count,
            runStart: runStart, satisfiedAt: nil, beforeWindowStart: before)
        if latest == nil {
            evaluation.verdict = .inconclusive
        } else if triggers(sorted, rule: rule, at: at, windowStart: windowStart) {
            evaluation.verdict = .triggered
            // Only steps whose whole window lies within the known steps can tell when it filled.
            let known = sorted[0].time.addingTimeInterval(rule.window - SustainedRule.tolerance)
            evaluation.satisfiedAt = sorted.first { point in
                point.time >= (runStart ?? at) && point.time >= known && triggers(sorted, rule: rule, at: point.time, windowStart: windowStart)
            }?.time ?? at
        }
        return evaluation
    }

    /// The definition itself: T − W ≥ t0, the steps cover the window, and each is above θ.
    private static func triggers(_ sorted: [SeriesPoint], rule: SustainedRule, at: Date, windowStart: Date?) -> Bool {
        let start = at.addingTimeInterval(-rule.window)
        if let windowStart, start.timeIntervalSince(windowStart) < -SustainedRule.tolerance { return false }
        let steps = window(sorted, rule: rule, at: at)
        guard let first = steps.first, first.time.timeIntervalSince(start) <= rule.step + SustainedRule.tolerance else { return false }
        return steps.allSatisfy { ($0.value ?? -.infinity) > rule.threshold }
    }

    /// The steps t with T − W ≤ t ≤ T.
    private static func window(_ sorted: [SeriesPoint], rule: SustainedRule, at: Date) -> [SeriesPoint] {
        let start = at.addingTimeInterval(-rule.window)
        return sorted.filter {
            $0.time.timeIntervalSince(start) >= -SustainedRule.tolerance && $0.time.timeIntervalSince(at) <= SustainedRule.tolerance
        }
    }
}

import Foundation
import Synchronization

/// Evaluates the rollback criteria (see `SustainedEvaluation` for what "sustained" means).
///
/// For a deploy's bake it is stateful: `evaluate(at:windowStart:)` once per tick asks Prometheus
/// for each metric's instant value at the tick's time and runs the corruption probes, all at
/// once, keeps the values as the history the windows are judged on, and counts consecutive ticks
/// in which a metric criterion had no data. The security command runs once per evaluator (from
/// `scanImages()`, else on the first tick) and its result, whatever it is, stands for the whole
/// bake: the images do not change while it lasts.
///
/// For `rollback check`, `check(at:windowStart:)` is one evaluation from range queries: the steps
/// at `at − k·interval` over each window (and the window before it, to say since when a
/// triggered criterion held), so the same definition judges the same instants a bake would have.
///
/// A source that does not answer makes its criterion inconclusive for that evaluation, with the
/// error text; only Ctrl-C ends an evaluation with an error.
package final class CriteriaEvaluator: Sendable {
    package let criteria: RollbackCriteria
    package let interval: Double
    package let metrics: [MetricCriterion]
    package let images: [String]
    private let metricsSource: any MetricsSource
    private let corruption: (any CorruptionSource)?
    private let security: (any SecurityScanner)?
    private let interrupt: Interrupt
    private let state = Mutex(State())

    /// What a bake remembers between ticks.
    private struct State {
        var history: [CriterionID: [SeriesPoint]] = [:]
        var streak = 0
        var security: CriterionResult?
    }

    /// - Parameters:
    ///   - corruption: nil when no ClickHouse is configured (the criterion is then inconclusive).
    ///   - security: nil when `policy.rollback.security.command` is not set (not configured).
    ///   - images: the deployed images the security command checks.
    package init(
        criteria: RollbackCriteria, interval: Double, metrics: any MetricsSource, corruption: (any CorruptionSource)?,
        security: (any SecurityScanner)?, images: [String], interrupt: Interrupt = Interrupt()
    ) {
        self.criteria = criteria
        self.interval = interval
        self.metrics = MetricCriterion.all(criteria, step: interval)
        self.images = images
        self.metricsSource = metrics
        self.corruption = corruption
        self.security = security
        self.interrupt = interrupt
    }

    // MARK: - Bake

    /// Runs the security command now, once, and keeps its result for the ticks: a deploy can call
    /// it while the rollout proceeds, so the first tick does not wait for an image scanner
    /// (which takes seconds to minutes). Without it the first tick runs the command.
    @discardableResult
    package func scanImages() throws -> CriterionResult {
        if let cached = state.withLock({ $0.security }) { return cached }
        let result = securityResult()
        try stopIfInterrupted()
        state.withLock { $0.security = result }
        return result
    }

    /// One bake tick at `at` (the clock's now), the rollout having finished at `windowStart`.
    package func evaluate(at: Date, windowStart: Date) throws -> AnalysisTick {
        let cachedSecurity = state.withLock { $0.security }
        var jobs: [Job] = metrics.map { .instant($0) } + [.corruption]
        if cachedSecurity == nil { jobs.append(.security) }
        let answers = try run(jobs, at: at)
        try stopIfInterrupted()

        return state.withLock { state in
            var results: [CriterionResult] = []
            var anyMetricInconclusive = false
            for (metric, answer) in zip(metrics, answers) {
                guard case .instant(let value, let error) = answer else { continue }
                var history = state.history[metric.id, default: []]
                history.append(SeriesPoint(time: at, value: value))
                // Keep what any window can still reach, so a long bake does not grow without end.
                let horizon = at.addingTimeInterval(-(metric.rule.window + 2 * interval))
                history.removeAll { $0.time < horizon }
                state.history[metric.id] = history
                let evaluation = SustainedEvaluation.evaluate(history, rule: metric.rule, at: at, windowStart: windowStart)
                if evaluation.verdict == .inconclusive { anyMetricInconclusive = true }
                results.append(Self.result(metric, evaluation, error: error))
            }
            state.streak = anyMetricInconclusive ? state.streak + 1 : 0
            for answer in answers.dropFirst(metrics.count) {
                switch answer {
                case .corruption(let result): results.append(result)
                case .security(let result):
                    // Kept for the whole bake, even when the command could not run: a scanner
                    // missing or timing out at the first tick would hold every tick after it.
                    state.security = result
                    results.append(result)
                case .instant, .range: break
                }
            }
            if let cachedSecurity { results.append(cachedSecurity) }
            let (verdict, reason) = AnalysisTick.verdict(results, streak: state.streak, maxInconclusive: criteria.maxInconclusive)
            return AnalysisTick(at: at, windowStart: windowStart, verdict: verdict, reason: reason, criteria: results,
                                inconclusiveStreak: state.streak)
        }
    }

    // MARK: - One-shot check

    /// The criteria for the windows ending at `at`, from range queries; `windowStart` is t0 (nil:
    /// none). Stateless: the bake's history and streak are neither read nor changed, and no
    /// streak escalates to a rollback (there is only this one evaluation).
    package func check(at: Date, windowStart: Date?) throws -> AnalysisTick {
        let answers = try run(metrics.map { .range($0) } + [.corruption, .security], at: at)
        try stopIfInterrupted()
        var results: [CriterionResult] = []
        for (index, answer) in answers.enumerated() {
            switch answer {
            case .range(let points, let error):
                let metric = metrics[index]
                let evaluation = SustainedEvaluation.evaluate(points, rule: metric.rule, at: at, windowStart: windowStart)
                results.append(Self.result(metric, evaluation, error: error))
            case .corruption(let result), .security(let result):
                results.append(result)
            case .instant:
                break
            }
        }
        let streak = results.contains { ($0.id == .errorRate || $0.id == .p95Latency) && $0.verdict == .inconclusive } ? 1 : 0
        let (verdict, reason) = AnalysisTick.verdict(results, streak: streak, maxInconclusive: nil)
        return AnalysisTick(at: at, windowStart: windowStart, verdict: verdict, reason: reason, criteria: results, inconclusiveStreak: streak)
    }

    /// The steps a check judges: `at − k·step` for k = count − 1 … 0, each with Prometheus' value
    /// at that instant or nil; extra points Prometheus might send are ignored.
    package static func grid(_ points: [SeriesPoint], step: Double, count: Int, at: Date) -> [SeriesPoint] {
        (0..<count).map { index in
            let time = at.addingTimeInterval(-Double(count - 1 - index) * step)
            let value = points.first { abs($0.time.timeIntervalSince(time)) <= SustainedRule.tolerance }?.value
            return SeriesPoint(time: time, value: value)
        }
    }

    // MARK: - Jobs, all at once

    private enum Job: Sendable {
        case instant(MetricCriterion)
        case range(MetricCriterion)
        case corruption
        case security
    }

    private enum Answer: Sendable {
        case instant(Double?, error: String?)
        case range([SeriesPoint], error: String?)
        case corruption(CriterionResult)
        case security(CriterionResult)
    }

    private func run(_ jobs: [Job], at: Date) throws -> [Answer] {
        try parallelMap(jobs, width: jobs.count) { [self] job -> Answer in
            switch job {
            case .instant(let metric):
                do { return .instant(try metricsSource.value(metric.query, at: at), error: nil) }
                catch { return .instant(nil, error: Self.oneLine(error)) }
            case .range(let metric):
                // Two windows' worth: the window ending at `at` decides, the one before it says
                // since when a triggered criterion held (post-incident review asks exactly that).
                let steps = 2 * (metric.rule.stepsPerWindow - 1) + 1
                let start = at.addingTimeInterval(-Double(steps - 1) * metric.rule.step)
                do {
                    let points = try metricsSource.series(metric.query, from: start, to: at, step: metric.rule.step)
                    return .range(Self.grid(points, step: metric.rule.step, count: steps, at: at), error: nil)
                } catch {
                    return .range(Self.grid([], step: metric.rule.step, count: steps, at: at), error: Self.oneLine(error))
                }
            case .corruption:
                return .corruption(corruptionResult())
            case .security:
                return .security(securityResult())
            }
        }
    }

    private func stopIfInterrupted() throws {
        if let signal = interrupt.signal { throw AnalysisInterrupted(signal: signal) }
    }

    // MARK: - Results

    private static func result(_ metric: MetricCriterion, _ evaluation: SustainedEvaluation, error: String?) -> CriterionResult {
        CriterionResult(
            id: metric.id, verdict: evaluation.verdict, threshold: metric.rule.threshold, window: metric.rule.window,
            values: evaluation.window, summary: summary(metric, evaluation, error: error), evaluation: evaluation,
            query: metric.query, error: error)
    }

    /// The one line an operator reads first.
    static func summary(_ metric: MetricCriterion, _ evaluation: SustainedEvaluation, error: String?) -> String {
        let rule = metric.rule
        let (threshold, window) = (metric.format(rule.threshold), DurationParser.format(rule.window))
        let steps = evaluation.window.count
        switch evaluation.verdict {
        case .triggered:
            return "\(metric.name) \(metric.format(evaluation.latest)) > \(threshold) for \(window) (\(evaluation.stepsAbove) of \(steps) steps)"
        case .inconclusive:
            let why = error.map { ": \($0)" } ?? " at \(LockTime.iso(evaluation.at))"
            return "\(metric.name): no data\(why) (\(evaluation.stepsWithData) of \(steps) steps have data)"
        case .clear, .notConfigured:
            guard let latest = evaluation.latest, latest > rule.threshold else {
                return "\(metric.name) \(metric.format(evaluation.latest)) ≤ \(threshold) (\(evaluation.stepsAbove) of \(steps) steps above)"
            }
            let above = "\(metric.name) \(metric.format(latest)) > \(threshold)"
            let counts = "(\(evaluation.stepsAbove) of \(steps) steps)"
            if evaluation.beforeWindowStart, evaluation.aboveFor >= rule.window {
                return "\(above) for \(DurationParser.format(evaluation.aboveFor)), but the window starts before the rollout finished \(counts)"
            }
            var text = "\(above), above for \(DurationParser.format(evaluation.aboveFor)) of \(window) \(counts)"
            if evaluation.beforeWindowStart { text += "; the window starts before the rollout finished" }
            return text
        }
    }

    private func corruptionResult() -> CriterionResult {
        guard let corruption else {
            return CriterionResult(id: .corruption, verdict: .inconclusive, summary: "no ClickHouse endpoint is configured to probe",
                                   error: "no ClickHouse endpoint is configured")
        }
        if !criteria.corruption.defaults && criteria.corruption.probes.isEmpty {
            return CriterionResult(id: .corruption, verdict: .notConfigured,
                                   summary: "no probes: policy.rollback.corruption has defaults off and no probes")
        }
        let outcomes: [ProbeOutcome]
        do {
            outcomes = try corruption.probe()
        } catch {
            let text = Self.oneLine(error)
            return CriterionResult(id: .corruption, verdict: .inconclusive, summary: "corruption probes did not run: \(text)", error: text)
        }
        let found = outcomes.filter { !$0.findings.isEmpty }
        let failed = outcomes.filter { $0.error != nil }
        if !found.isEmpty {
            let count = found.map(\.findings.count).reduce(0, +)
            return CriterionResult(id: .corruption, verdict: .triggered,
                                   summary: "\(count) finding\(count == 1 ? "" : "s") by \(found.map(\.probe).joined(separator: ", "))",
                                   probes: outcomes)
        }
        if !failed.isEmpty {
            return CriterionResult(id: .corruption, verdict: .inconclusive,
                                   summary: "\(failed.count) of \(outcomes.count) probes could not run: \(failed.map(\.probe).joined(separator: ", "))",
                                   probes: outcomes, error: failed.compactMap(\.error).first)
        }
        return CriterionResult(id: .corruption, verdict: .clear, summary: "\(outcomes.count) probes, no findings", probes: outcomes)
    }

    private func securityResult() -> CriterionResult {
        guard let security else {
            return CriterionResult(id: .security, verdict: .notConfigured, summary: "not configured (policy.rollback.security.command)")
        }
        guard !images.isEmpty else {
            return CriterionResult(id: .security, verdict: .inconclusive, summary: "no deployed images to check",
                                   error: "no deployed images to check")
        }
        var scans: [SecurityScan] = []
        for image in images {
            do {
                scans.append(try security.scan(image: image))
            } catch {
                let text = Self.oneLine(error)
                return CriterionResult(id: .security, verdict: .inconclusive, summary: "the security command did not run on \(image): \(text)",
                                       scans: scans, error: text)
            }
        }
        let failed = scans.filter { !$0.passed }
        if !failed.isEmpty {
            return CriterionResult(id: .security, verdict: .triggered,
                                   summary: failed.map { "\($0.image) failed (\($0.status))" }.joined(separator: ", "), scans: scans)
        }
        return CriterionResult(id: .security, verdict: .clear, summary: "\(scans.count) image\(scans.count == 1 ? "" : "s") passed", scans: scans)
    }

    static func oneLine(_ error: any Error) -> String { ClickHouseCorruptionSource.oneLine(error) }
}

/// Ctrl-C during an evaluation: the CLI exits 130.
package struct AnalysisInterrupted: OperatorError, Equatable {
    package var signal: Int32
    package var description: String { "interrupted by signal \(signal) during the rollback criteria's evaluation" }
}

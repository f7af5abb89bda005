import Foundation

/// The bake's evaluations through the rollback criteria of `Analysis/`: one `CriteriaEvaluator`
/// per deploy (it keeps the history the sustained windows need, and scans the images once),
/// its ticks turned into what the bake shows, journals and acts on.
package struct LiveBakeEvaluator: BakeEvaluating {
    package let evaluator: CriteriaEvaluator

    package init(evaluator: CriteriaEvaluator) {
        self.evaluator = evaluator
    }

    static func make(configuration: Configuration, context: Context, images: [String], interval: Double) throws -> any BakeEvaluating {
        LiveBakeEvaluator(evaluator: try CriteriaEvaluator.live(configuration: configuration, context: context, images: images, interval: interval))
    }

    package func evaluate(at time: Date, windowStart: Date) -> BakeTick {
        let tick: AnalysisTick
        do {
            tick = try evaluator.evaluate(at: time, windowStart: windowStart)
        } catch {
            // Only Ctrl-C ends an evaluation early; the bake sees the interrupt and stops.
            return BakeTick(time: time, decision: .inconclusive(consecutive: 0), status: "interrupted", json: .null)
        }
        return Self.bakeTick(tick, metrics: evaluator.metrics)
    }

    /// An analysis tick in the bake's terms.
    package static func bakeTick(_ tick: AnalysisTick, metrics: [MetricCriterion]) -> BakeTick {
        let decision: BakeTick.Decision
        switch tick.verdict {
        case .healthy: decision = .healthy
        case .inconclusive: decision = .inconclusive(consecutive: tick.inconclusiveStreak)
        case .rollback: decision = .rollback
        }
        let status = metrics.map { metric -> String in
            let result = tick.criterion(metric.id)
            let latest = result?.evaluation?.latest
            let relation = latest.map { $0 > metric.rule.threshold ? ">" : "≤" } ?? "vs"
            return "\(metric.name) \(metric.format(latest)) (\(relation) \(metric.format(metric.rule.threshold)))"
        }.joined(separator: ", ")
        var trigger: BakeTrigger?
        if tick.verdict == .rollback {
            if let id = tick.triggered.first, let result = tick.criterion(id) {
                let metric = metrics.first { $0.id == id }
                trigger = BakeTrigger(
                    criterion: id.rawValue, summary: result.summary,
                    threshold: metric.map { "> \($0.format($0.rule.threshold))" },
                    window: result.window,
                    values: (result.evaluation?.window ?? []).map { ($0.time, $0.value) },
                    satisfiedAt: result.evaluation?.satisfiedAt ?? tick.at,
                    details: result.probes.flatMap { probe in probe.findings.map { "\(probe.probe): \($0)" } }
                        + result.scans.filter { !$0.passed }.flatMap { scan in ["\(scan.image): \(scan.commandLine) \(scan.status)"] + scan.outputTail.map { "  \($0)" } })
            } else {
                trigger = BakeTrigger(criterion: "no-data", summary: tick.reason, satisfiedAt: tick.at)
            }
        }
        let pending = metrics.contains { metric in
            guard let result = tick.criterion(metric.id), result.verdict == .clear, let latest = result.evaluation?.latest else { return false }
            return latest > metric.rule.threshold
        }
        return BakeTick(time: tick.at, decision: decision, status: status, json: tick.json, trigger: trigger, pending: pending)
    }
}

import Foundation

/// Watches a change after its rollout: evaluates the rollback criteria every interval, from the
/// moment the rollout finished until the bake time has passed, on a fixed grid (t0, t0 + i,
/// t0 + 2i, ...) so every evaluation time is known in advance and a slow evaluation delays the
/// next one instead of shifting all of them. Each evaluation is a journal step; the first that
/// decides "roll back" ends the bake. A bake whose last evaluation still has a metric above its
/// threshold is not over: it goes on, for at most `overtime` (the longest criterion window),
/// until that metric either falls back or holds for its window, so a breach that began near the
/// end is never declared healthy.
package struct Bake: Sendable {
    package var evaluator: any BakeEvaluating
    package var duration: Double
    package var interval: Double
    package var overtime: Double

    package init(evaluator: any BakeEvaluating, duration: Double, interval: Double, overtime: Double = 0) {
        self.evaluator = evaluator
        self.duration = duration
        self.interval = interval
        self.overtime = overtime
    }

    package enum Outcome: Sendable {
        case healthy(evaluations: Int)
        case rollback(BakeTrigger)
        case interrupted
    }

    /// The evaluation times of a bake that starts at `start` (`extra` seconds beyond the bake).
    package func schedule(from start: Date, extra: Double = 0) -> [Date] {
        let count = Int(((duration + extra) / interval + 1e-9).rounded(.down))
        return (0...count).map { start.addingTimeInterval(Double($0) * interval) }
    }

    package func run(from start: Date, session: OperationSession, show: (BakeTick, _ remaining: Double) -> Void) throws -> Outcome {
        let context = session.context
        var evaluations = 0
        let end = start.addingTimeInterval(duration)
        for time in schedule(from: start, extra: overtime) {
            let wait = time.timeIntervalSince(context.clock.now())
            if wait > 0 { context.clock.sleep(seconds: wait, interrupt: context.interrupt) }
            if context.interrupt.isSet { return .interrupted }
            // A late evaluation (the previous one ran long) is skipped rather than run in a burst.
            if context.clock.now().timeIntervalSince(time) >= interval { continue }
            // The evaluation runs inside its step, so the journal's duration is the tick's.
            let tick = try session.step("evaluate \(JournalTime.formatWholeSeconds(time))") { () -> BakeTick in
                let tick = evaluator.evaluate(at: time, windowStart: start)
                session.record("evaluation", tick.json)
                session.record("decision", .string(Self.word(tick.decision)))
                return tick
            }
            evaluations += 1
            show(tick, max(0, end.timeIntervalSince(time)))
            if tick.decision == .rollback, let trigger = tick.trigger {
                return .rollback(trigger)
            }
            if time >= end, !tick.pending { break }
        }
        return .healthy(evaluations: evaluations)
    }

    static func word(_ decision: BakeTick.Decision) -> String {
        switch decision {
        case .healthy: return "healthy"
        case .inconclusive(let n): return "inconclusive (\(n) in a row)"
        case .rollback: return "rollback"
        }
    }
}

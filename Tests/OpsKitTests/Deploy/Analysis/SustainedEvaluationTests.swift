import XCTest
@testable import OpsKit

/// The definition of "sustained" on synthetic series: every case the issue lists, each at the
/// steps where the verdict changes.
final class SustainedEvaluationTests: XCTestCase {
    /// 5 % for 5 minutes, steps of 30 s: a window holds 11 steps.
    let rule = SustainedRule(threshold: 0.05, window: 300, step: 30)
    let origin = Date(timeIntervalSince1970: 1_795_132_800)  // 2026-11-20T00:00:00Z

    /// Steps every 30 s from `origin + offset`, one per value (nil: no data).
    func series(_ values: [Double?], from offset: Double = 0) -> [SeriesPoint] {
        values.enumerated().map { SeriesPoint(time: origin.addingTimeInterval(offset + Double($0.offset) * 30), value: $0.element) }
    }

    func time(_ seconds: Double) -> Date { origin.addingTimeInterval(seconds) }

    func evaluate(_ points: [SeriesPoint], at seconds: Double, windowStart: Double? = 0) -> SustainedEvaluation {
        SustainedEvaluation.evaluate(points, rule: rule, at: time(seconds), windowStart: windowStart.map(time))
    }

    func testAWindowFullOfStepsAboveTriggersExactlyWhenItFills() {
        let points = series(Array(repeating: 0.085, count: 15))
        let before = evaluate(points, at: 270)
        XCTAssertEqual(before.verdict, .clear, "T - W is before the window start: only 10 steps so far")
        XCTAssertTrue(before.beforeWindowStart)
        XCTAssertEqual(before.aboveFor, 270)

        let full = evaluate(points, at: 300)
        XCTAssertEqual(full.verdict, .triggered)
        XCTAssertEqual(full.window.count, 11)
        XCTAssertEqual(full.stepsAbove, 11)
        XCTAssertEqual(full.satisfiedAt, time(300))

        let later = evaluate(points, at: 420)
        XCTAssertEqual(later.verdict, .triggered)
        XCTAssertEqual(later.satisfiedAt, time(300), "when the window was first satisfied, not now")
        XCTAssertEqual(later.window.first?.time, time(120))
    }

    func testAShortSpikeDoesNotTrigger() {
        // Four steps at 20 % (the fixture's 2-minute spike), then back to 0.5 %.
        let points = series([0.005, 0.005, 0.2, 0.2, 0.2, 0.2] + Array(repeating: 0.005, count: 14))
        for step in 0..<20 {
            XCTAssertNotEqual(evaluate(points, at: Double(step) * 30).verdict, .triggered, "step \(step)")
        }
        let peak = evaluate(points, at: 150)
        XCTAssertEqual(peak.verdict, .clear)
        XCTAssertEqual(peak.runStart, time(60))
        XCTAssertEqual(peak.aboveFor, 90)
        XCTAssertEqual(evaluate(points, at: 300).stepsAbove, 4, "the spike is still in the window, and still not sustained")
    }

    func testFlappingNeverTriggersAndOneStepAtOrBelowResetsTheRun() {
        let flapping = series((0..<40).map { $0 % 2 == 0 ? 0.09 : 0.01 })
        for step in 0..<40 {
            XCTAssertEqual(evaluate(flapping, at: Double(step) * 30).verdict, .clear, "step \(step)")
        }
        // Ten steps above, one below, then above again: the window has to fill anew.
        let reset = series(Array(repeating: 0.09, count: 10) + [0.04] + Array(repeating: 0.09, count: 11))
        XCTAssertEqual(evaluate(reset, at: 300).verdict, .clear)
        XCTAssertEqual(evaluate(reset, at: 600).verdict, .clear, "the low step at 300 is still in [300, 600]")
        XCTAssertEqual(evaluate(reset, at: 600).runStart, time(330))
        XCTAssertEqual(evaluate(reset, at: 630).verdict, .triggered)
        XCTAssertEqual(evaluate(reset, at: 630).satisfiedAt, time(630))
    }

    func testAValueExactlyAtTheThresholdIsNotAbove() {
        let atThreshold = series(Array(repeating: 0.05, count: 15))
        let evaluation = evaluate(atThreshold, at: 420)
        XCTAssertEqual(evaluation.verdict, .clear)
        XCTAssertEqual(evaluation.stepsAbove, 0)
        XCTAssertNil(evaluation.runStart)

        let oneAtThreshold = series(Array(repeating: 0.06, count: 5) + [0.05] + Array(repeating: 0.06, count: 9))
        XCTAssertEqual(evaluate(oneAtThreshold, at: 420).verdict, .clear, "the step at 150 (= θ) is in the window")
        XCTAssertEqual(evaluate(oneAtThreshold, at: 420).stepsAbove, 10)
        let justAbove = series(Array(repeating: 0.050_000_1, count: 11))
        XCTAssertEqual(evaluate(justAbove, at: 300).verdict, .triggered)
    }

    func testAStepWithoutDataIsInconclusiveAndBreaksTheRun() {
        let gapAtT = series(Array(repeating: 0.09, count: 11) + [nil])
        let missing = evaluate(gapAtT, at: 330)
        XCTAssertEqual(missing.verdict, .inconclusive)
        XCTAssertNil(missing.latest)
        XCTAssertEqual(missing.stepsWithData, 10)
        XCTAssertEqual(evaluate(series([nil]), at: 0).verdict, .inconclusive)
        XCTAssertEqual(SustainedEvaluation.evaluate([], rule: rule, at: time(0), windowStart: nil).verdict, .inconclusive)

        // A gap inside the window: the steps after it are above, but no run spans the gap.
        let gapInside = series(Array(repeating: 0.09, count: 5) + [nil] + Array(repeating: 0.09, count: 12))
        XCTAssertEqual(evaluate(gapInside, at: 300).verdict, .clear)
        XCTAssertEqual(evaluate(gapInside, at: 300).runStart, time(180))
        XCTAssertEqual(evaluate(gapInside, at: 450).verdict, .clear, "the gap at 150 is in [150, 450]")
        XCTAssertEqual(evaluate(gapInside, at: 480).verdict, .triggered)

        // NaN (a ratio over no traffic) is no data, not a value.
        let nan = series(Array(repeating: 0.09, count: 10) + [Double.nan])
        XCTAssertEqual(evaluate(nan, at: 300).verdict, .inconclusive)
        XCTAssertNil(nan.last?.value)
    }

    func testAWindowThatStraddlesTheRolloutsEndDoesNotTrigger() {
        // The old version was already failing at 8.5 % before the rollout finished at 100 s.
        let points = series(Array(repeating: 0.085, count: 20))
        let straddling = evaluate(points, at: 390, windowStart: 100)
        XCTAssertEqual(straddling.verdict, .clear, "[90, 390] starts before the rollout finished")
        XCTAssertTrue(straddling.beforeWindowStart)
        XCTAssertEqual(straddling.stepsAbove, 11)
        let after = evaluate(points, at: 420, windowStart: 100)
        XCTAssertEqual(after.verdict, .triggered, "[120, 420] lies after it")
        XCTAssertEqual(after.satisfiedAt, time(420))
        XCTAssertFalse(after.beforeWindowStart)
        XCTAssertEqual(evaluate(points, at: 300, windowStart: nil).verdict, .triggered, "no window start: no constraint")
    }

    func testAWindowIsJudgedOnlyWhenItsStepsCoverIt() {
        // An evaluator that started late has one step; T - W is after t0, but one step is not 5 minutes.
        let late = [SeriesPoint(time: time(600), value: 0.09)]
        XCTAssertEqual(evaluate(late, at: 600).verdict, .clear)
        // Ticks that drift a little still cover the window: the first is within one interval of T - W.
        let drifting = (0..<11).map { SeriesPoint(time: time(0.4 + Double($0) * 30.1), value: 0.09) }
        XCTAssertEqual(SustainedEvaluation.evaluate(drifting, rule: rule, at: drifting.last!.time, windowStart: time(0)).verdict, .triggered)
    }

    func testStepsPerWindow() {
        XCTAssertEqual(rule.stepsPerWindow, 11)
        XCTAssertEqual(SustainedRule(threshold: 0.5, window: 600, step: 30).stepsPerWindow, 21)
        XCTAssertEqual(SustainedRule(threshold: 0.5, window: 100, step: 30).stepsPerWindow, 4)
    }
}

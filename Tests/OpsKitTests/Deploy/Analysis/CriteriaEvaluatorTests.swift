import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The evaluator through fakes of its three sources: a bake's ticks (history, the inconclusive
/// streak, the security scan once), the one-shot check's range queries, and the JSON interface.
final class CriteriaEvaluatorTests: XCTestCase {
    let errorQuery = MetricCriterion.errorRateQuery
    let p95Query = MetricCriterion.p95LatencyQuery
    let t0 = Date(timeIntervalSince1970: 1_795_134_300)  // 2026-11-20T00:25:00Z

    var metrics = FakeMetricsSource()
    var corruption = FakeCorruptionSource()
    var security = FakeSecurityScanner()

    let clearProbes = [ProbeOutcome(probe: "read-only-replicas", checked: "system.replicas on 4 of 4 replicas")]

    override func tearDown() {
        XCTAssertEqual(metrics.problems, [])
        XCTAssertEqual(corruption.problems, [])
        XCTAssertEqual(security.problems, [])
        super.tearDown()
    }

    func evaluator(maxInconclusive: Int = 10, scanner: Bool = false, images: [String] = [], corruptionSource: Bool = true) -> CriteriaEvaluator {
        var criteria = RollbackCriteria()
        criteria.maxInconclusive = maxInconclusive
        return CriteriaEvaluator(criteria: criteria, interval: 30, metrics: metrics, corruption: corruptionSource ? corruption : nil,
                                 security: scanner ? security : nil, images: images)
    }

    /// Expects tick `index` (t0 + 30·index) with these values and clear probes.
    func expectTick(_ index: Int, error: Double?, p95: Double?) -> Date {
        let at = t0.addingTimeInterval(Double(index) * 30)
        metrics.expectValue(errorQuery, at: at, error)
        metrics.expectValue(p95Query, at: at, p95)
        corruption.expect(clearProbes)
        return at
    }

    func testTheBakeKeepsTheHistoryAndTriggersWhenTheWindowFills() throws {
        let evaluator = evaluator()
        for index in 0..<10 {
            let tick = try evaluator.evaluate(at: expectTick(index, error: 0.085, p95: 0.12), windowStart: t0)
            XCTAssertEqual(tick.verdict, .healthy, "tick \(index): \(tick.reason)")
            XCTAssertEqual(tick.criterion(.errorRate)?.verdict, .clear)
        }
        XCTAssertEqual(try evaluator.evaluate(at: expectTick(10, error: 0.085, p95: 0.12), windowStart: t0).verdict, .rollback)
        let last = try evaluator.evaluate(at: expectTick(11, error: 0.085, p95: 0.12), windowStart: t0)
        XCTAssertEqual(last.verdict, .rollback)
        XCTAssertEqual(last.triggered, [.errorRate])
        XCTAssertEqual(last.reason, "error-rate triggered: error rate 8.5 % > 5 % for 5m (11 of 11 steps)")
        XCTAssertEqual(last.criterion(.errorRate)?.values.count, 11)
        XCTAssertEqual(last.criterion(.errorRate)?.evaluation?.satisfiedAt, t0.addingTimeInterval(300))
        XCTAssertEqual(last.criterion(.p95Latency)?.summary, "p95 latency 120 ms ≤ 500 ms (0 of 12 steps above)")
        XCTAssertEqual(last.criterion(.security)?.verdict, .notConfigured)
    }

    func testPendingSummarySaysHowLongOfTheWindow() throws {
        let evaluator = evaluator()
        for index in 0..<4 { _ = try evaluator.evaluate(at: expectTick(index, error: 0.2, p95: 0.9), windowStart: t0) }
        let tick = try evaluator.evaluate(at: expectTick(4, error: 0.2, p95: 0.9), windowStart: t0)
        XCTAssertEqual(tick.verdict, .healthy)
        XCTAssertEqual(tick.criterion(.errorRate)?.summary,
                       "error rate 20 % > 5 %, above for 2m of 5m (5 of 5 steps); the window starts before the rollout finished")
        XCTAssertEqual(tick.criterion(.p95Latency)?.summary,
                       "p95 latency 900 ms > 500 ms, above for 2m of 10m (5 of 5 steps); the window starts before the rollout finished")
    }

    func testMaxInconclusiveIsReachedByConsecutiveTicksWithoutDataAndResetByData() throws {
        let evaluator = evaluator(maxInconclusive: 3)
        var tick = try evaluator.evaluate(at: expectTick(0, error: nil, p95: 0.1), windowStart: t0)
        XCTAssertEqual(tick.verdict, .inconclusive)
        XCTAssertEqual(tick.inconclusiveStreak, 1)
        XCTAssertEqual(tick.reason, "error-rate inconclusive (1 consecutive evaluations without data, rollback at 3)")
        XCTAssertEqual(tick.criterion(.errorRate)?.summary, "error rate: no data at 2026-11-20T00:25:00Z (0 of 1 steps have data)")
        tick = try evaluator.evaluate(at: expectTick(1, error: 0.01, p95: nil), windowStart: t0)
        XCTAssertEqual(tick.inconclusiveStreak, 2, "either metric without data counts")
        tick = try evaluator.evaluate(at: expectTick(2, error: 0.01, p95: 0.1), windowStart: t0)
        XCTAssertEqual(tick.verdict, .healthy)
        XCTAssertEqual(tick.inconclusiveStreak, 0, "a tick with data resets the count")
        for index in 3..<5 {
            XCTAssertEqual(try evaluator.evaluate(at: expectTick(index, error: nil, p95: nil), windowStart: t0).verdict, .inconclusive)
        }
        tick = try evaluator.evaluate(at: expectTick(5, error: nil, p95: nil), windowStart: t0)
        XCTAssertEqual(tick.verdict, .rollback)
        XCTAssertEqual(tick.reason, "no data for 3 consecutive evaluations")
        XCTAssertEqual(tick.triggered, [])
    }

    func testAnUnreachablePrometheusIsInconclusiveForThatTickWithTheError() throws {
        let evaluator = evaluator()
        let at = t0
        metrics.expectValueFailure(errorQuery, at: at, "prometheus at prom:9090 is unreachable: connection refused")
        metrics.expectValue(p95Query, at: at, 0.1)
        corruption.expect(clearProbes)
        let tick = try evaluator.evaluate(at: at, windowStart: t0)
        XCTAssertEqual(tick.verdict, .inconclusive)
        XCTAssertEqual(tick.inconclusiveStreak, 1)
        XCTAssertEqual(tick.criterion(.errorRate)?.error, "prometheus at prom:9090 is unreachable: connection refused")
        XCTAssertEqual(tick.criterion(.errorRate)?.summary,
                       "error rate: no data: prometheus at prom:9090 is unreachable: connection refused (0 of 1 steps have data)")
    }

    func testACorruptionFindingTriggersAtOnce() throws {
        let evaluator = evaluator()
        metrics.expectValue(errorQuery, at: t0, 0.001)
        metrics.expectValue(p95Query, at: t0, 0.1)
        corruption.expect([
            ProbeOutcome(probe: "read-only-replicas"),
            ProbeOutcome(probe: "replica-agreement", findings: ["luminate.metrics_local partition 20261126: shard 1 replicas disagree: a:9000 1000 rows, b:9000 990 rows"]),
        ])
        let tick = try evaluator.evaluate(at: t0, windowStart: t0)
        XCTAssertEqual(tick.verdict, .rollback)
        XCTAssertEqual(tick.triggered, [.corruption])
        XCTAssertEqual(tick.criterion(.corruption)?.summary, "1 finding by replica-agreement")
    }

    func testCorruptionProbesThatCannotRunAreInconclusiveButDoNotCountTowardsTheStreak() throws {
        let evaluator = evaluator(maxInconclusive: 1)
        metrics.expectValue(errorQuery, at: t0, 0.001)
        metrics.expectValue(p95Query, at: t0, 0.1)
        corruption.expectFailure("clickhouse at ch:8123 is unreachable")
        let tick = try evaluator.evaluate(at: t0, windowStart: t0)
        XCTAssertEqual(tick.verdict, .inconclusive)
        XCTAssertEqual(tick.inconclusiveStreak, 0)
        XCTAssertEqual(tick.criterion(.corruption)?.summary, "corruption probes did not run: clickhouse at ch:8123 is unreachable")

        let partly = CriteriaEvaluator(criteria: RollbackCriteria(), interval: 30, metrics: metrics, corruption: corruption, security: nil, images: [])
        metrics.expectValue(errorQuery, at: t0, 0.001)
        metrics.expectValue(p95Query, at: t0, 0.1)
        corruption.expect([ProbeOutcome(probe: "read-only-replicas"), ProbeOutcome(probe: "replica-agreement", error: "127.0.0.1:9001: connection refused")])
        let second = try partly.evaluate(at: t0, windowStart: t0)
        XCTAssertEqual(second.criterion(.corruption)?.verdict, .inconclusive)
        XCTAssertEqual(second.criterion(.corruption)?.error, "127.0.0.1:9001: connection refused")
    }

    func testNoClickHouseMakesCorruptionInconclusive() throws {
        let evaluator = evaluator(corruptionSource: false)
        metrics.expectValue(errorQuery, at: t0, 0.001)
        metrics.expectValue(p95Query, at: t0, 0.1)
        let tick = try evaluator.evaluate(at: t0, windowStart: t0)
        XCTAssertEqual(tick.criterion(.corruption)?.verdict, .inconclusive)
        XCTAssertEqual(tick.criterion(.corruption)?.summary, "no ClickHouse endpoint is configured to probe")
    }

    func testTheSecurityCommandRunsOncePerEvaluatorAndANonZeroExitTriggers() throws {
        let evaluator = evaluator(scanner: true, images: ["ghcr.io/luminate/api:2.4.0", "ghcr.io/luminate/ingest:2.4.0"])
        security.expect("ghcr.io/luminate/api:2.4.0", exit: 0)
        security.expect("ghcr.io/luminate/ingest:2.4.0", exit: 1, output: ["CRITICAL: 1 (CVE-2026-0001)"])
        let first = try evaluator.evaluate(at: expectTick(0, error: 0.001, p95: 0.1), windowStart: t0)
        XCTAssertEqual(first.verdict, .rollback)
        XCTAssertEqual(first.triggered, [.security])
        XCTAssertEqual(first.criterion(.security)?.summary, "ghcr.io/luminate/ingest:2.4.0 failed (exited(1))")
        // The fake scanner expects each image once: a second scan would be an unexpected call.
        let second = try evaluator.evaluate(at: expectTick(1, error: 0.001, p95: 0.1), windowStart: t0)
        XCTAssertEqual(second.triggered, [.security])
        XCTAssertEqual(second.criterion(.security)?.scans.count, 2)
    }

    func testScanningBeforeTheFirstTickSparesTheTickTheScanner() throws {
        let evaluator = evaluator(scanner: true, images: ["ghcr.io/luminate/api:2.4.0"])
        security.expect("ghcr.io/luminate/api:2.4.0", exit: 0)
        XCTAssertEqual(try evaluator.scanImages().verdict, .clear)
        XCTAssertEqual(try evaluator.scanImages().verdict, .clear, "kept: the fake would fail a second scan")
        let tick = try evaluator.evaluate(at: expectTick(0, error: 0.001, p95: 0.1), windowStart: t0)
        XCTAssertEqual(tick.criterion(.security)?.summary, "1 image passed")
        XCTAssertEqual(tick.criteria.map(\.id), [.errorRate, .p95Latency, .corruption, .security])
    }

    func testASecurityCommandThatCannotRunIsInconclusiveForTheWholeBake() throws {
        let evaluator = evaluator(scanner: true, images: ["ghcr.io/luminate/api:2.4.0"])
        security.expectFailure("ghcr.io/luminate/api:2.4.0", "trivy not found on PATH")
        let first = try evaluator.evaluate(at: expectTick(0, error: 0.001, p95: 0.1), windowStart: t0)
        XCTAssertEqual(first.criterion(.security)?.verdict, .inconclusive)
        XCTAssertEqual(first.criterion(.security)?.summary, "the security command did not run on ghcr.io/luminate/api:2.4.0: trivy not found on PATH")
        XCTAssertEqual(first.inconclusiveStreak, 0, "only metric criteria count towards maxInconclusive")
        // Not run again: the fake would record a second scan as unexpected.
        let second = try evaluator.evaluate(at: expectTick(1, error: 0.001, p95: 0.1), windowStart: t0)
        XCTAssertEqual(second.criterion(.security)?.verdict, .inconclusive)
        XCTAssertEqual(second.verdict, .inconclusive)
    }

    func testCheckAsksForRangesAlignedToAtAndJudgesTheGrid() throws {
        let at = Date(timeIntervalSince1970: 1_795_135_020)  // 00:37:00
        func steps(_ from: Date, _ count: Int, _ value: (Int) -> Double?) -> [SeriesPoint] {
            (0..<count).compactMap { index in value(index).map { SeriesPoint(time: from.addingTimeInterval(Double(index) * 30), value: $0) } }
        }
        // Two windows' worth of steps: the earlier one says since when a criterion held.
        let errorStart = at.addingTimeInterval(-600), p95Start = at.addingTimeInterval(-1200)
        // Prometheus leaves steps without a value out: the second step of the error-rate window is missing.
        metrics.expectSeries(errorQuery, from: errorStart, to: at, step: 30, steps(errorStart, 21) { $0 == 11 ? nil : 0.085 })
        metrics.expectSeries(p95Query, from: p95Start, to: at, step: 30, steps(p95Start, 41) { _ in 0.12 })
        corruption.expect(clearProbes)
        let tick = try evaluator().check(at: at, windowStart: nil)
        let error = try XCTUnwrap(tick.criterion(.errorRate))
        XCTAssertEqual(error.values.count, 11)
        XCTAssertNil(error.values[1].value, "a missing step is in the grid as no data")
        XCTAssertEqual(error.verdict, .clear, "the missing step breaks the run")
        XCTAssertEqual(error.summary, "error rate 8.5 % > 5 %, above for 4m of 5m (10 of 11 steps)")
        XCTAssertEqual(tick.verdict, .healthy)
        XCTAssertEqual(tick.criterion(.security)?.verdict, .notConfigured)
    }

    func testTheJSONInterface() throws {
        var criteria = RollbackCriteria()
        criteria.errorRateFor = 60
        criteria.p95LatencyFor = 30
        let evaluator = CriteriaEvaluator(criteria: criteria, interval: 30, metrics: metrics, corruption: corruption, security: nil, images: [])
        let at = Date(timeIntervalSince1970: 1_795_135_020)
        metrics.expectSeries(errorQuery, from: at.addingTimeInterval(-120), to: at, step: 30, [0.04, 0.06, 0.06, 0.07, 0.085].enumerated().map {
            SeriesPoint(time: at.addingTimeInterval(Double($0.offset) * 30 - 120), value: $0.element)
        })
        metrics.expectSeries(p95Query, from: at.addingTimeInterval(-60), to: at, step: 30, [SeriesPoint(time: at, value: .infinity)])
        corruption.expect([ProbeOutcome(probe: "read-only-replicas", checked: "system.replicas on 127.0.0.1:8123")])
        let tick = try evaluator.check(at: at, windowStart: at.addingTimeInterval(-120))
        XCTAssertEqual(tick.json.rendered(), #"""
            {"verdict":"rollback","at":"2026-11-20T00:37:00Z","reason":"error-rate triggered: error rate 8.5 % > 5 % for 1m (3 of 3 steps)",\#
            "windowStart":"2026-11-20T00:35:00Z","inconclusiveStreak":0,"criteria":[\#
            {"id":"error-rate","verdict":"triggered","threshold":0.05,"window":60,\#
            "values":[[1795134960,0.06],[1795134990,0.07],[1795135020,0.085]],\#
            "summary":"error rate 8.5 % > 5 % for 1m (3 of 3 steps)",\#
            "query":"sum(rate(luminate_http_requests_total{code=~\"5..\"}[1m])) / sum(rate(luminate_http_requests_total[1m]))",\#
            "stepsAbove":3,"steps":3,"aboveFor":90,"satisfiedAt":"2026-11-20T00:36:30Z"},\#
            {"id":"p95-latency","verdict":"clear","threshold":0.5,"window":30,"values":[[1795134990,null],[1795135020,"+Inf"]],\#
            "summary":"p95 latency +Inf > 500 ms, above for 0s of 30s (1 of 2 steps)",\#
            "query":"histogram_quantile(0.95, sum by (le) (rate(luminate_http_request_duration_seconds_bucket[1m])))",\#
            "stepsAbove":1,"steps":2,"aboveFor":0,"satisfiedAt":null},\#
            {"id":"corruption","verdict":"clear","threshold":null,"window":null,"values":[],"summary":"1 probes, no findings",\#
            "probes":[{"probe":"read-only-replicas","findings":[],"checked":"system.replicas on 127.0.0.1:8123"}]},\#
            {"id":"security","verdict":"not-configured","threshold":null,"window":null,"values":[],\#
            "summary":"not configured (policy.rollback.security.command)","scans":[]}]}
            """#)
    }

    func testGridAlignsToAt() {
        let at = Date(timeIntervalSince1970: 1000)
        let grid = CriteriaEvaluator.grid([SeriesPoint(time: Date(timeIntervalSince1970: 970.0004), value: 1)], step: 30, count: 4, at: at)
        XCTAssertEqual(grid.map(\.time.timeIntervalSince1970), [910, 940, 970, 1000])
        XCTAssertEqual(grid.map(\.value), [nil, nil, 1, nil])
    }
}

import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `rollback check` end to end through `Luminatectl.run` with a fake Prometheus: flags, exit
/// codes, and the text output.
final class RollbackCheckCommandTests: XCTestCase {
    let http = FakeHTTPTransport()
    let output = CapturedOutput()
    let environment = ["LUMINATECTL_PROMETHEUS_URL": "http://prom:9090", "LUMINATECTL_CLICKHOUSE_CLUSTER": ""]

    override func tearDown() {
        XCTAssertEqual(http.pending, 0, "expected requests never sent")
        super.tearDown()
    }

    func run(_ arguments: [String]) -> ExitCode {
        let context = Context.fake(http: http, clock: ManualClock("2026-11-20T04:00:00Z"), output: output, environment: environment)
        return Luminatectl.run(["rollback", "check"] + arguments, context: context)
    }

    /// Answers both range queries, whatever their order: `value(query, time)` or nil (absent).
    func expectRanges(_ value: @escaping @Sendable (String, Double) -> Double?) {
        for _ in 0..<2 {
            http.expect("GET", urlPrefix: "http://prom:9090/api/v1/query_range?") { request in
                let items = URLComponents(string: request.url)!.queryItems!
                let query = items.first { $0.name == "query" }!.value!
                let start = Double(items.first { $0.name == "start" }!.value!)!
                let end = Double(items.first { $0.name == "end" }!.value!)!
                let step = Double(items.first { $0.name == "step" }!.value!)!
                let values = stride(from: start, through: end, by: step).compactMap { time in
                    value(query, time).map { "[\(time),\"\($0)\"]" }
                }
                let body = #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[\#(values.joined(separator: ","))]}]}}"#
                return HTTPResponse(status: 200, body: Data(body.utf8))
            }
        }
    }

    func testATriggeredCriterionExitsOneAndPrintsEveryCriterion() {
        expectRanges { query, _ in query.contains("5..") ? 0.085 : 0.12 }
        XCTAssertEqual(run(["--at", "2026-11-20T00:37:00Z"]), .failure)
        let text = output.stdout
        XCTAssertTrue(text.hasPrefix("Rollback criteria at 2026-11-20T00:37:00Z, steps every 30s, no window start\n\nerror-rate   TRIGGERED       error rate 8.5 % > 5 % for 5m (11 of 11 steps)\n"), text)
        XCTAssertTrue(text.contains("\n  00:32:00 8.5 %*       00:32:30 8.5 %*       00:33:00 8.5 %*       00:33:30 8.5 %*\n"), text)
        XCTAssertTrue(text.contains("\np95-latency  clear           p95 latency 120 ms ≤ 500 ms (0 of 21 steps above)\n"), text)
        XCTAssertTrue(text.contains("\ncorruption   inconclusive    no ClickHouse endpoint is configured to probe\n"), text)
        XCTAssertTrue(text.contains("\nsecurity     not-configured  not configured (policy.rollback.security.command)\n"), text)
        XCTAssertTrue(text.hasSuffix("\nverdict: rollback (error-rate triggered: error rate 8.5 % > 5 % for 5m (11 of 11 steps))\n"), text)
    }

    func testInconclusiveExitsZeroUnlessStrict() {
        expectRanges { _, _ in nil }
        XCTAssertEqual(run(["--at", "2026-11-20T03:20:00Z", "-o", "json"]), .success)
        let json = try? JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(json?["verdict"], "inconclusive")
        XCTAssertEqual(json?["criteria"]?[0]?["verdict"], "inconclusive")
        expectRanges { _, _ in nil }
        XCTAssertEqual(run(["--at", "2026-11-20T03:20:00Z", "--strict"]), .failure)
    }

    func testTimesAreCheckedAndNamedByTheirFlag() {
        XCTAssertEqual(run(["--at", "yesterday"]), .usage)
        XCTAssertEqual(output.stderr, "Error: --at must be an RFC 3339 time like 2026-11-20T00:37:00Z, not 'yesterday'\n")
        XCTAssertEqual(run(["--at", "2026-11-21T00:00:00Z"]), .usage)
        XCTAssertTrue(output.stderr.contains("Error: --at 2026-11-21T00:00:00Z is in the future (now is 2026-11-20T04:00:00Z)"), output.stderr)
        expectRanges { _, _ in 0.001 }
        XCTAssertEqual(run(["--at", "2026-11-20T00:37:00Z", "--window-start", "2026-11-20T01:00:00+01:00"]), .success)
        XCTAssertTrue(output.stdout.hasPrefix("Rollback criteria at 2026-11-20T00:37:00Z, steps every 30s, window start 2026-11-20T00:00:00Z\n"), output.stdout)
        XCTAssertTrue(output.stdout.contains("error rate 0.1 % ≤ 5 % (0 of 11 steps above)"), output.stdout)
        XCTAssertEqual(run(["--at", "2026-11-20T00:37:00Z", "--window-start", "2026-11-20T00:40:00Z"]), .usage)
        XCTAssertTrue(output.stderr.contains("Error: --window-start 2026-11-20T00:40:00Z is after --at 2026-11-20T00:37:00Z"), output.stderr)
    }

    func testHelpTeachesTheDefinitionAndTheExitCodes() {
        XCTAssertEqual(run(["--help"]), .success)
        let help = output.stdout
        XCTAssertTrue(help.hasPrefix("OVERVIEW: Evaluate the rollback criteria now, or at a past time.\n"), help)
        for phrase in ["every step in [t - W, t] has a value above", "A value at the threshold is not\nabove it",
                       "breaks any run: a run never spans\nmissing data", "Exit status: 0 healthy (and inconclusive, unless --strict), 1 rollback",
                       "--window-start <time>", "luminatectl rollback check --at 2026-11-20T00:37:00Z"] {
            XCTAssertTrue(help.contains(phrase), "help lacks '\(phrase)':\n\(help)")
        }
    }
}

/// The images `rollback check` hands the security command when none is given.
final class DeployedImagesTests: XCTestCase {
    func testDistinctImagesOfDeploymentsAndStatefulSetsInNameOrder() throws {
        let processes = FakeProcessRunner()
        let flags = ["--context=prod", "--namespace=luminate"]
        func list(_ items: [(String, [String])]) -> String {
            let objects = items.map { name, images in
                #"{"metadata":{"name":"\#(name)"},"spec":{"template":{"spec":{"containers":[\#(images.map { #"{"name":"c","image":"\#($0)"}"# }.joined(separator: ","))]}}}}"#
            }
            return #"{"kind":"List","apiVersion":"v1","items":[\#(objects.joined(separator: ","))]}"#
        }
        processes.expect("kubectl", flags + ["get", "deployments", "-o", "json"],
                         stdout: list([("query", ["ghcr.io/luminate/query:2.4.0"]), ("ingest", ["ghcr.io/luminate/ingest:2.4.0", "envoyproxy/envoy:v1.31"])]))
        processes.expect("kubectl", flags + ["get", "statefulsets", "-o", "json"],
                         stdout: list([("clickhouse", ["clickhouse/clickhouse-server:24.8"]), ("ingest-buffer", ["ghcr.io/luminate/ingest:2.4.0"])]))
        let kubectl = Kubectl(target: KubectlTarget(context: "prod", namespace: "luminate"), processes: processes)
        XCTAssertEqual(try RollbackCheckCommand.deployedImages(kubectl), [
            "ghcr.io/luminate/ingest:2.4.0", "envoyproxy/envoy:v1.31", "ghcr.io/luminate/query:2.4.0", "clickhouse/clickhouse-server:24.8",
        ])
        XCTAssertEqual(processes.pending, 0)
    }
}

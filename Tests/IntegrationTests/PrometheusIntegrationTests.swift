import Foundation
import Synchronization
import XCTest
@testable import OpsKit

/// `PrometheusClient` over `CurlTransport` against a real Prometheus 2.42 serving the deterministic
/// fixtures of scripts/localenv/promfixtures.py: every query of every scenario, at the scenario's
/// evaluation times, must give the value the generator computed by hand.
///
/// With `LUMINATECTL_PROMETHEUS_URL` and `LUMINATECTL_PROMETHEUS_SCENARIOS` set (`scripts/sandbox
/// up` prints them) the tests use that server; otherwise they start one themselves through
/// scripts/localenv/prometheus.py in a temporary directory. They never skip.
final class PrometheusIntegrationTests: XCTestCase {
    private var fixture: PrometheusFixture!
    private var client: PrometheusClient!

    override func setUpWithError() throws {
        fixture = try PrometheusFixture.shared()
        client = PrometheusClient(baseURL: fixture.url, http: CurlTransport())
    }

    override class func tearDown() {
        PrometheusFixture.stopShared()
        super.tearDown()
    }

    func testReady() throws {
        XCTAssertTrue(try client.ready())
    }

    func testEveryScenarioGivesTheExpectedValues() throws {
        let spec = fixture.spec
        var checked = 0
        for scenario in spec.scenarios {
            // The values the rollback criteria rest on must be covered by every scenario, so a
            // renamed key in the generator fails here instead of passing with nothing compared.
            for key in ["error_ratio_5m", "p95_latency_5m"] {
                XCTAssertTrue(scenario.expected.keys.contains(key), "\(scenario.name): no expected \(key)")
            }
            for evaluation in scenario.evaluations {
                let time = Date(timeIntervalSince1970: evaluation.time)
                for (name, expected) in evaluation.expected.sorted(by: { $0.key < $1.key }) {
                    guard let query = spec.queries[name] else {
                        XCTFail("\(scenario.name)/\(evaluation.name): no query named \(name)")
                        continue
                    }
                    let where_ = "\(scenario.name)/\(evaluation.name) at \(evaluation.timeRFC3339): \(name)"
                    let value = try client.instantValue(query: query, at: time)
                    checked += 1
                    guard let expected else {
                        XCTAssertNil(value, "\(where_): expected an empty vector")
                        continue
                    }
                    guard let value else {
                        XCTFail("\(where_): expected \(expected), got an empty vector")
                        continue
                    }
                    XCTAssertTrue(
                        Self.close(value, expected, tolerance: spec.relativeTolerance),
                        "\(where_): expected \(expected), got \(value)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 100, "the scenarios JSON held almost nothing to compare")
        let names = Set(spec.scenarios.map(\.name))
        for required in ["healthy", "error-rate-breach", "latency-breach", "gap"] {
            XCTAssertTrue(names.contains(required), "scenario \(required) is missing")
        }
    }

    func testGapIsAnEmptyVector() throws {
        let gap = try XCTUnwrap(fixture.spec.scenarios.first { $0.name == "gap" })
        let query = try XCTUnwrap(fixture.spec.queries["error_ratio_5m"])
        XCTAssertEqual(try client.instant(query: query, at: Date(timeIntervalSince1970: gap.evalTime)), .vector([]))
        XCTAssertNil(try client.instantValue(query: query, at: Date(timeIntervalSince1970: gap.evalTime)))
    }

    func testSeriesKeepTheirLabels() throws {
        let healthy = try XCTUnwrap(fixture.spec.scenarios.first { $0.name == "healthy" })
        let result = try client.instant(query: #"up{job="luminate"}"#, at: Date(timeIntervalSince1970: healthy.evalTime))
        let samples = try XCTUnwrap(result.samples)
        XCTAssertEqual(samples.compactMap { $0.labels["instance"] }.sorted(), fixture.spec.pods)
        XCTAssertTrue(samples.allSatisfy { $0.labels["__name__"] == "up" && $0.value == 1 })
    }

    func testRangeQueryMatchesTheInstantValuesAlongTheBreach() throws {
        let spec = fixture.spec
        let breach = try XCTUnwrap(spec.scenarios.first { $0.name == "error-rate-breach" })
        let query = try XCTUnwrap(spec.queries["error_ratio_5m"])
        let start = Date(timeIntervalSince1970: breach.start + 300)
        let end = Date(timeIntervalSince1970: breach.evalTime)
        let series = try client.range(query: query, start: start, end: end, step: 15)
        XCTAssertEqual(series.count, 1)
        let points = try XCTUnwrap(series.first?.points)
        XCTAssertEqual(points.count, Int(end.timeIntervalSince(start) / 15) + 1)
        for evaluation in breach.evaluations {
            guard let expected = evaluation.expected["error_ratio_5m"] ?? nil else { continue }
            let point = try XCTUnwrap(points.first { $0.time.timeIntervalSince1970 == evaluation.time },
                                      "no point at \(evaluation.timeRFC3339)")
            XCTAssertTrue(Self.close(point.value, expected, tolerance: spec.relativeTolerance),
                          "\(evaluation.name): expected \(expected), got \(point.value)")
        }
    }

    func testBadQueryIsATypedAPIError() throws {
        let query = #"sum(rate(luminate_http_requests_total{job="luminate"}[5m])"#
        XCTAssertThrowsError(try client.instant(query: query, at: Date(timeIntervalSince1970: fixture.spec.dataEnd))) { error in
            guard case .api(let host, let status, let errorType, let message, let failedQuery)? = error as? PrometheusError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(host, hostOf(url: fixture.url))
            XCTAssertEqual(status, 400)
            XCTAssertEqual(errorType, "bad_data")
            XCTAssertTrue(message.contains("parse error"), message)
            XCTAssertEqual(failedQuery, query)
            XCTAssertTrue("\(error)".hasPrefix("prometheus at \(host) rejected query '\(query)' (bad_data): "), "\(error)")
        }
    }

    func testRulesDecode() throws {
        let groups = try client.rules()
        guard fixture.startedHere else { return }  // a sandbox may load any rules, or none
        let group = try XCTUnwrap(groups.first { $0.name == "luminatectl-integration" })
        XCTAssertEqual(group.interval, 30)
        XCTAssertEqual(group.rules.map(\.name), ["job:luminate_errors:ratio5m", "LuminateHighErrorRate"])
        XCTAssertEqual(group.rules.map(\.kind), [.recording, .alerting])
        let alert = group.rules[1]
        XCTAssertEqual(alert.severity, "page")
        XCTAssertEqual(alert.duration, 300)
        XCTAssertEqual(alert.annotations["summary"], "5xx ratio above 5 %")
        XCTAssertEqual(alert.query, "job:luminate_errors:ratio5m > 0.05")
    }

    func testNothingListeningNamesTheHostAndTheSettingToCheck() {
        let client = PrometheusClient(baseURL: "http://127.0.0.1:1", http: CurlTransport())
        XCTAssertThrowsError(try client.ready()) { error in
            guard let error = error as? PrometheusError, case .unreachable = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertTrue("\(error)".hasPrefix("cannot reach prometheus at 127.0.0.1:1: Failed to connect to 127.0.0.1 port 1"), "\(error)")
            XCTAssertEqual(error.hint, "is Prometheus running at http://127.0.0.1:1? check --prometheus-url / LUMINATECTL_PROMETHEUS_URL")
        }
    }

    /// Relative comparison as the scenarios JSON asks ("relative tolerance 1e-6"); exact zero
    /// (no 5xx at all) needs an absolute floor.
    private static func close(_ value: Double, _ expected: Double, tolerance: Double) -> Bool {
        if value.isNaN || expected.isNaN { return value.isNaN && expected.isNaN }
        return abs(value - expected) <= max(tolerance * abs(expected), 1e-12)
    }
}

// MARK: - The fixture server

/// The scenarios JSON written by promfixtures.py, as far as these tests read it.
private struct ScenarioSpec: Decodable {
    /// One scenario: its range, its main evaluation time and every evaluation with expected values.
    struct Scenario: Decodable {
        var name: String
        var start: Double
        var evalTime: Double
        var expected: [String: Double?]
        var evaluations: [Evaluation]

        /// The JSON uses snake_case.
        enum CodingKeys: String, CodingKey {
            case name, start, expected, evaluations
            case evalTime = "eval_time"
        }
    }

    /// One evaluation time of a scenario and the values every query must give then.
    struct Evaluation: Decodable {
        var name: String
        var time: Double
        var timeRFC3339: String
        /// null: the query returns an empty vector; a missing key: not determined at that time.
        var expected: [String: Double?]

        /// The JSON uses snake_case.
        enum CodingKeys: String, CodingKey {
            case name, time, expected
            case timeRFC3339 = "time_rfc3339"
        }
    }

    /// The fixture's pods and volumes; only the pod names are read.
    struct Topology: Decodable {
        var pods: [String]
    }

    var queries: [String: String]
    var scenarios: [Scenario]
    var dataEnd: Double
    var topology: Topology
    var conventions: [String]

    var pods: [String] { topology.pods.sorted() }

    /// The tolerance the JSON's conventions document ("relative tolerance 1e-6"), else 1e-6.
    var relativeTolerance: Double {
        for line in conventions {
            guard let range = line.range(of: "relative tolerance ") else { continue }
            let number = line[range.upperBound...].prefix { !$0.isWhitespace && $0 != ";" && $0 != "," }
            if let value = Double(number.hasSuffix(".") ? String(number.dropLast()) : String(number)) { return value }
        }
        return 1e-6
    }

    /// The JSON uses snake_case.
    enum CodingKeys: String, CodingKey {
        case queries, scenarios, topology, conventions
        case dataEnd = "data_end"
    }
}

/// A Prometheus with the fixture data: the sandbox's, or one this test process started.
private final class PrometheusFixture: @unchecked Sendable {
    let url: String
    let spec: ScenarioSpec
    /// True when this process started Prometheus (with a rules file of its own).
    let startedHere: Bool
    private let driver: Process?
    private let driverInput: Pipe?
    private let stateDirectory: String?

    private static let state = Mutex<Result<PrometheusFixture, any Error>?>(nil)

    /// The one fixture server of this test run, started on first use.
    static func shared() throws -> PrometheusFixture {
        try state.withLock { state in
            if state == nil { state = Result { try PrometheusFixture() } }
            return try state!.get()
        }
    }

    static func stopShared() {
        state.withLock { state in
            if case .success(let fixture)? = state { fixture.stop() }
            state = nil
        }
    }

    private init() throws {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["LUMINATECTL_PROMETHEUS_URL"], !url.isEmpty {
            guard let path = environment["LUMINATECTL_PROMETHEUS_SCENARIOS"], !path.isEmpty else {
                throw FixtureError("LUMINATECTL_PROMETHEUS_URL is set but LUMINATECTL_PROMETHEUS_SCENARIOS is not: set both (scripts/sandbox env prints them) or neither")
            }
            self.url = url
            spec = try Self.loadSpec(path)
            startedHere = false
            driver = nil
            driverInput = nil
            stateDirectory = nil
            return
        }
        let localenv = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/localenv").path
        guard FileManager.default.fileExists(atPath: localenv + "/prometheus.py") else {
            throw FixtureError("\(localenv)/prometheus.py is missing and LUMINATECTL_PROMETHEUS_URL is not set: cannot get a Prometheus with fixture data")
        }
        let directory = NSTemporaryDirectory() + "luminatectl-prometheus-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let rules = directory + "/rules.yml"
        try Self.rules.write(toFile: rules, atomically: true, encoding: .utf8)

        let process = Process()
        let input = Pipe()
        let output = Pipe()
        let log = directory + "/driver.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
                                    ? "/usr/bin/python3" : "/usr/bin/env")
        process.arguments = (process.executableURL?.path == "/usr/bin/env" ? ["python3"] : [])
            + ["-c", Self.driverScript, localenv, directory, rules]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()

        // The driver prints one JSON line once Prometheus answers /-/ready, or exits on failure.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }
            line.append(more)
        }
        /// The line the driver prints once Prometheus is ready.
        struct Started: Decodable { let url: String; let scenarios: String }
        guard let started = try? JSONDecoder().decode(Started.self, from: line) else {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            let why = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw FixtureError("could not start Prometheus through scripts/localenv/prometheus.py (exit \(process.terminationStatus)):\n\(why)")
        }
        url = started.url
        spec = try Self.loadSpec(started.scenarios)
        startedHere = true
        driver = process
        driverInput = input
        stateDirectory = directory
    }

    /// Closing the driver's stdin makes it stop Prometheus (SIGTERM, then SIGKILL) and exit.
    private func stop() {
        guard let driver, let driverInput else { return }
        try? driverInput.fileHandleForWriting.close()
        driver.waitUntilExit()
        if let stateDirectory { try? FileManager.default.removeItem(atPath: stateDirectory) }
    }

    private static func loadSpec(_ path: String) throws -> ScenarioSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError("cannot read the scenarios JSON \(path)")
        }
        return try JSONDecoder().decode(ScenarioSpec.self, from: data)
    }

    /// Prepares and starts Prometheus, prints where it is, and stops it when stdin reaches EOF:
    /// that happens when the tests finish and also when the test process dies, so no Prometheus
    /// outlives a crashed run.
    private static let driverScript = """
        import json, os, signal, sys
        sys.path.insert(0, sys.argv[1])
        import prometheus
        state, rules = sys.argv[2], sys.argv[3]
        try:
            prometheus.prepare(state)
            proc = prometheus.start(state, prometheus.free_port(), rules)
        except prometheus.PrometheusError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(1)
        def finish(*_):
            prometheus.stop(proc)
            os._exit(0)
        signal.signal(signal.SIGTERM, finish)
        print(json.dumps({"url": proc.url, "scenarios": prometheus.paths(state)["scenarios"]}), flush=True)
        sys.stdin.read()
        finish()
        """

    /// Loaded when the tests start Prometheus themselves, so `rules()` has something to decode.
    private static let rules = """
        groups:
          - name: luminatectl-integration
            interval: 30s
            rules:
              - record: job:luminate_errors:ratio5m
                expr: sum(rate(luminate_http_requests_total{job="luminate",code=~"5.."}[5m])) / sum(rate(luminate_http_requests_total{job="luminate"}[5m]))
              - alert: LuminateHighErrorRate
                expr: job:luminate_errors:ratio5m > 0.05
                for: 5m
                labels:
                  severity: page
                annotations:
                  summary: 5xx ratio above 5 %

        """
}

/// A fixture that could not be set up, with what went wrong.
private struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

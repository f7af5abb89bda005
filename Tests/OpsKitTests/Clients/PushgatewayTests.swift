import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `PushgatewayClient` and the text exposition format against recorded Pushgateway 1.5.1
/// answers: exact URLs and bodies, the grouping-key encodings, refusals and transport failures.
final class PushgatewayTests: XCTestCase {
    private let http = FakeHTTPTransport()
    private let base = "http://127.0.0.1:9091"
    private let backupGroup = PushgatewayGroupingKey(job: "luminate-backup", labels: [MetricLabel("namespace", "luminate")])

    private func client(_ base: String? = nil) -> PushgatewayClient {
        PushgatewayClient(baseURL: base ?? self.base, http: http)
    }

    override func tearDown() {
        XCTAssertEqual(http.pending, 0, "expected requests were not made")
    }

    // MARK: - URLs

    func testGroupURLPercentEncodesValuesAndUsesBase64ForSlashesAndEmptyValues() throws {
        XCTAssertEqual(try client().groupURL(backupGroup), "http://127.0.0.1:9091/metrics/job/luminate-backup/namespace/luminate")
        let awkward = PushgatewayGroupingKey(job: "a/b", labels: [
            MetricLabel("path", ""), MetricLabel("space", "x y"), MetricLabel("u", "é🙂"), MetricLabel("plus", "a+b&c=d?#%"),
            MetricLabel("dir", "/var/tmp"),
        ])
        // Recorded: the Pushgateway 1.5.1 read this URL back as job="a/b", path="", space="x y",
        // u="é🙂", plus="a+b&c=d?#%", dir="/var/tmp".
        XCTAssertEqual(
            try client("http://pg.example:9091/prefix/").groupURL(awkward),
            "http://pg.example:9091/prefix/metrics/job@base64/YS9i/path@base64/=/space/x%20y/u/%C3%A9%F0%9F%99%82/plus/a%2Bb%26c%3Dd%3F%23%25/dir@base64/L3Zhci90bXA=")
        // base64url, not base64: `+` and `/` of the standard alphabet would break the path.
        XCTAssertEqual(try client().groupURL(PushgatewayGroupingKey(job: "j", labels: [MetricLabel("v", "?>?/")])),
                       "http://127.0.0.1:9091/metrics/job/j/v@base64/Pz4_Lw==")
    }

    func testGroupingKeysThatCannotWorkAreRefused() {
        XCTAssertThrowsError(try client().groupURL(PushgatewayGroupingKey(job: ""))) {
            XCTAssertEqual("\($0)", "the Pushgateway job name must not be empty")
        }
        XCTAssertThrowsError(try client().groupURL(PushgatewayGroupingKey(job: "j", labels: [MetricLabel("bad-name", "x")])))
        XCTAssertThrowsError(try client().groupURL(PushgatewayGroupingKey(job: "j", labels: [MetricLabel("__reserved", "x")])))
        XCTAssertThrowsError(try client().groupURL(PushgatewayGroupingKey(job: "j", labels: [MetricLabel("job", "again")]))) {
            XCTAssertEqual("\($0)", "grouping label job is given twice")
        }
    }

    // MARK: - Push and delete

    func testReplacePutsTheTextFormatToTheGroupURL() throws {
        http.expect("PUT", "http://127.0.0.1:9091/metrics/job/luminate-backup/namespace/luminate") { request in
            XCTAssertEqual(request.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
            XCTAssertEqual(request.timeout, 15)
            XCTAssertEqual(String(decoding: request.body ?? Data(), as: UTF8.self), """
                # HELP luminate_backup_last_success_timestamp_seconds Unix time at which the newest successful backup finished.
                # TYPE luminate_backup_last_success_timestamp_seconds gauge
                luminate_backup_last_success_timestamp_seconds 1795133700.25

                """)
            return HTTPResponse(status: 200)
        }
        try client().replace([.gauge(
            "luminate_backup_last_success_timestamp_seconds",
            help: "Unix time at which the newest successful backup finished.", value: 1_795_133_700.25)], in: backupGroup)
    }

    func testSeveralFamiliesAndLabelledSamples() throws {
        let families = [
            MetricFamily(name: "luminate_backup_duration_seconds", kind: .gauge, samples: [
                .init(labels: [MetricLabel("engine", "native")], value: 12.5),
                .init(labels: [MetricLabel("engine", "freeze")], value: 0.1),
            ]),
            MetricFamily(name: "luminate_backups_total", kind: .counter, help: "Backups taken.\nBoth kinds.", samples: [.init(value: 3)]),
        ]
        let request = try client().replaceRequest(families, in: backupGroup)
        XCTAssertEqual(request.method, "PUT")
        XCTAssertEqual(String(decoding: request.body ?? Data(), as: UTF8.self), """
            # TYPE luminate_backup_duration_seconds gauge
            luminate_backup_duration_seconds{engine="native"} 12.5
            luminate_backup_duration_seconds{engine="freeze"} 0.1
            # HELP luminate_backups_total Backups taken.\\nBoth kinds.
            # TYPE luminate_backups_total counter
            luminate_backups_total 3

            """)
    }

    func testSampleLabelsMustNotRepeatTheGroupingKey() {
        XCTAssertThrowsError(try client().replaceRequest(
            [.gauge("x", labels: [MetricLabel("namespace", "other")], value: 1)], in: backupGroup)) { error in
            XCTAssertEqual("\(error)", #"label namespace of x is part of the grouping key job="luminate-backup", namespace="luminate"; leave it out of the sample"#)
        }
    }

    func testDeleteRemovesTheGroup() throws {
        // Recorded: 202 Accepted, also for a group that does not exist.
        http.expect("DELETE", "http://127.0.0.1:9091/metrics/job/luminate-backup/namespace/luminate") { request in
            XCTAssertNil(request.body)
            return HTTPResponse(status: 202)
        }
        try client().delete(backupGroup)
    }

    func testARefusedPushCarriesTheStatusAndTheBody() {
        // Recorded from Pushgateway 1.5.1 after pushing t_g as a counter while another group has it as a gauge.
        let body = #"pushed metrics are invalid or inconsistent with existing metrics: collected metric "t_g" { label:<name:"instance" value:"" > label:<name:"job" value:"other" > counter:<value:1 > } is not a GAUGE"#
        http.expect("PUT", "http://127.0.0.1:9091/metrics/job/other", status: 400, body: body + "\n")
        XCTAssertThrowsError(try client().replace([MetricFamily(name: "t_g", kind: .counter, samples: [.init(value: 1)])],
                                                  in: PushgatewayGroupingKey(job: "other"))) { error in
            XCTAssertEqual(error as? PushgatewayError, .rejected(host: "127.0.0.1:9091", method: "PUT", path: "/metrics/job/other", status: 400, body: body))
            XCTAssertEqual("\(error)", "the pushgateway at 127.0.0.1:9091 answered 400 to PUT /metrics/job/other: \(body)")
            XCTAssertEqual((error as? PushgatewayError)?.hint,
                           "the Pushgateway refused the pushed metrics: a metric of the same name but another type or help in another group, or invalid text")
        }
    }

    func testUnreachableNamesTheHostAndWhatToCheck() {
        http.expect("PUT", "http://127.0.0.1:1/metrics/job/luminate-backup/namespace/luminate") { _ in
            throw HTTPTransportError.transport(host: "127.0.0.1:1", curlCode: 7, message: "Failed to connect to 127.0.0.1 port 1: Connection refused")
        }
        XCTAssertThrowsError(try client("http://127.0.0.1:1").replace([.gauge("x", value: 1)], in: backupGroup)) { error in
            XCTAssertEqual("\(error)", "cannot reach the pushgateway at 127.0.0.1:1: Failed to connect to 127.0.0.1 port 1: Connection refused (curl error 7)")
            XCTAssertEqual((error as? PushgatewayError)?.hint,
                           "is the Pushgateway running at http://127.0.0.1:1? check LUMINATECTL_PUSHGATEWAY_URL / pushgateway.url (and the network policy to the monitoring namespace)")
        }
    }

    func testInterruptIsNotWrapped() {
        http.expect("DELETE", "http://127.0.0.1:9091/metrics/job/luminate-backup/namespace/luminate") { _ in
            throw HTTPTransportError.interrupted(host: "127.0.0.1:9091")
        }
        XCTAssertThrowsError(try client().delete(backupGroup)) {
            XCTAssertEqual($0 as? HTTPTransportError, .interrupted(host: "127.0.0.1:9091"))
        }
    }

    // MARK: - Status

    func testStatusReadsTheVersionAndReadyTheState() throws {
        // Recorded from Debian's prometheus-pushgateway 1.5.1 (flags shortened).
        http.expect("GET", "http://127.0.0.1:9091/api/v1/status", body: """
            {"status":"success","data":{"build_information":{"branch":"debian/sid","buildDate":"20230409-10:14:32","buildUser":"team+pkg-go@tracker.debian.org","goVersion":"go1.19.8","revision":"1.5.1-2+b5","version":"1.5.1"},"flags":{"web.listen-address":"127.0.0.1:29191"},"start_time":"2026-12-02T03:07:02.165406847Z"}}
            """)
        XCTAssertEqual(try client().status(), PushgatewayStatus(version: "1.5.1"))
        http.expect("GET", "http://127.0.0.1:9091/-/ready", body: "OK")
        XCTAssertTrue(try client().ready())
        http.expect("GET", "http://127.0.0.1:9091/-/ready", status: 503, body: "Service Unavailable")
        XCTAssertFalse(try client().ready())
        http.expect("GET", "http://127.0.0.1:9091/-/ready", status: 404, body: "404 page not found")
        XCTAssertThrowsError(try client().ready()) { error in
            XCTAssertEqual("\(error)", "the pushgateway at 127.0.0.1:9091 answered 404 to GET /-/ready: 404 page not found")
            XCTAssertEqual((error as? PushgatewayError)?.hint, "is this a Pushgateway? check LUMINATECTL_PUSHGATEWAY_URL / pushgateway.url")
        }
        http.expect("GET", "http://127.0.0.1:9091/api/v1/status", body: "<html>proxy</html>")
        XCTAssertThrowsError(try client().status()) {
            XCTAssertEqual($0 as? PushgatewayError, .malformedResponse(host: "127.0.0.1:9091", path: "/api/v1/status", detail: "not JSON"))
        }
    }

    func testGroupsListLabelsAndPushedMetrics() throws {
        // Recorded from Pushgateway 1.5.1 (one group, values shortened).
        http.expect("GET", "http://127.0.0.1:9091/api/v1/metrics", body: """
            {"status":"success","data":[{"labels":{"job":"luminate-backup","namespace":"luminate"},"last_push_successful":true,
            "push_failure_time_seconds":{"time_stamp":"2026-12-02T03:07:11Z","type":"GAUGE","help":"h","metrics":[{"labels":{"instance":"","job":"luminate-backup","namespace":"luminate"},"value":"0"}]},
            "push_time_seconds":{"time_stamp":"2026-12-02T03:07:11Z","type":"GAUGE","help":"h","metrics":[{"labels":{"instance":"","job":"luminate-backup","namespace":"luminate"},"value":"1.7961808311e+09"}]},
            "t_g":{"time_stamp":"2026-12-02T03:07:11Z","type":"GAUGE","help":"a help","metrics":[{"labels":{"a":"x\\"y","instance":"","job":"luminate-backup","namespace":"luminate"},"value":"1.79513370025e+09"}]}}]}
            """)
        XCTAssertEqual(try client().groups(), [PushgatewayGroup(labels: ["job": "luminate-backup", "namespace": "luminate"], metrics: ["t_g"])])
    }

    // MARK: - Exposition format

    func testValuesAreWrittenSoTheyParseBackExactly() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-3, "-3"), (1_795_133_700, "1795133700"), (1_795_133_700.25, "1795133700.25"),
            (1_795_133_700.123, "1795133700.123"), (0.1, "0.1"), (1e-7, "1e-07"), (9_007_199_254_740_992, "9007199254740992"),
            (9_007_199_254_740_994, "9.007199254740994e+15"), (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(MetricExposition.format(value), text, "\(value)")
            if value.isFinite { XCTAssertEqual(Double(text), value, text) }
        }
        // Every double survives the round trip, as Go's ParseFloat will read it.
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            XCTAssertEqual(Double(MetricExposition.format(value))?.bitPattern, value == 0 ? 0 : value.bitPattern, "\(value)")
        }
    }

    func testLabelValuesAndHelpAreEscaped() throws {
        let text = try MetricExposition.render([
            .gauge("m", help: #"back\slash and "quotes""#, labels: [MetricLabel("v", "a\"b\\c\nd é")], value: 1),
        ])
        XCTAssertEqual(text, """
            # HELP m back\\\\slash and "quotes"
            # TYPE m gauge
            m{v="a\\"b\\\\c\\nd é"} 1

            """)
    }

    func testInvalidNamesAndDuplicatesAreRefused() {
        XCTAssertThrowsError(try MetricExposition.render([.gauge("1bad", value: 1)]))
        XCTAssertThrowsError(try MetricExposition.render([.gauge("ok", labels: [MetricLabel("bad-label", "x")], value: 1)]))
        XCTAssertThrowsError(try MetricExposition.render([.gauge("ok", value: 1), .gauge("ok", value: 2)]))
        XCTAssertThrowsError(try MetricExposition.render([.gauge("ok", labels: [MetricLabel("a", "1"), MetricLabel("a", "2")], value: 1)]))
        XCTAssertThrowsError(try MetricExposition.render([MetricFamily(name: "ok", kind: .gauge, samples: [
            .init(labels: [MetricLabel("a", "1"), MetricLabel("b", "2")], value: 1),
            .init(labels: [MetricLabel("b", "2"), MetricLabel("a", "1")], value: 2),
        ])]))
        XCTAssertNoThrow(try MetricExposition.render([.gauge("name:with_colons", value: 1)]))
    }
}

import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class ConfigCheckTests: XCTestCase {
    let environment = [
        "LUMINATECTL_CLICKHOUSE_URL": "http://ch.test:8123",
        "LUMINATECTL_CLICKHOUSE_USER": "ops",
        "LUMINATECTL_CLICKHOUSE_PASSWORD": "pw-check-secret",
        "LUMINATECTL_CONTEXT": "lab",
    ]

    func kubectlExpectations(_ processes: FakeProcessRunner) {
        processes.expect("kubectl", ["--context=lab", "--namespace=luminate", "version", "-o", "json"], stdout: """
            {"clientVersion": {"major": "1", "minor": "32", "gitVersion": "v1.32.4"},
             "serverVersion": {"major": "1", "minor": "29", "gitVersion": "v1.29.4"}}
            """)
        processes.expect("kubectl", ["--context=lab", "--namespace=luminate", "get", "namespace", "luminate", "-o", "json"],
                         stdout: #"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "luminate"}}"#)
    }

    func testAllReachableExceptUnconfiguredOnes() throws {
        let processes = FakeProcessRunner()
        let http = FakeHTTPTransport()
        kubectlExpectations(processes)
        http.expect("GET", "http://ch.test:8123/ping", body: "Ok.\n")
        http.expect("POST", urlPrefix: "http://ch.test:8123/?query_id=luminatectl-",
                    body: #"{"meta":[{"name":"version","type":"String"}],"data":[{"version":"18.16.1"}],"rows":1}"#)
        http.expect("POST", urlPrefix: "http://ch.test:8123/?query_id=luminatectl-",
                    body: #"{"meta":[{"name":"hosts","type":"UInt64"}],"data":[{"hosts":4}],"rows":1}"#)
        let output = CapturedOutput()
        let code = Luminatectl.run(["config", "check"], context: .fake(processes: processes, http: http, output: output, environment: environment))

        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(processes.pending, 0)
        XCTAssertEqual(http.pending, 0)
        XCTAssertEqual(output.stdout, """
            ok       kubernetes         context lab, namespace luminate
                                        server v1.29.4, kubectl v1.32.4, namespace luminate exists (0 ms)
            ok       clickhouse-http    http://ch.test:8123 as ops
                                        version 18.16.1, cluster luminate has 4 hosts (0 ms)
            skipped  clickhouse-native  not configured
                                        not configured (0 ms)
                                        hint: set LUMINATECTL_CLICKHOUSE_NATIVE or clickhouse.native (host:port)
            skipped  prometheus         not configured
                                        not configured (0 ms)
                                        hint: pass --prometheus-url or set LUMINATECTL_PROMETHEUS_URL

            2 ok, 0 failed, 2 skipped

            """)
        // The password went only into the header.
        for request in http.received where request.method == "POST" {
            XCTAssertEqual(request.header("X-ClickHouse-Key"), "pw-check-secret")
            XCTAssertFalse(request.url.contains("pw-check-secret"))
        }
    }

    func testFailureExitsOneAndNamesTheHostWithAHint() throws {
        let processes = FakeProcessRunner()
        let http = FakeHTTPTransport()
        kubectlExpectations(processes)
        http.expect("GET", "http://ch.test:8123/ping") { _ in
            throw HTTPTransportError.transport(host: "ch.test:8123", curlCode: 7, message: "Failed to connect to ch.test port 8123: Connection refused")
        }
        let output = CapturedOutput()
        let code = Luminatectl.run(["config", "check", "-o", "json"], context: .fake(processes: processes, http: http, output: output, environment: environment))

        XCTAssertEqual(code, .failure)
        let json = try JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(json["ok"], .bool(false))
        let clickhouse = json["endpoints"]?[1]
        XCTAssertEqual(clickhouse?["endpoint"], "clickhouse-http")
        XCTAssertEqual(clickhouse?["status"], "failed")
        XCTAssertEqual(clickhouse?["detail"]?.string?.contains("ch.test:8123"), true)
        XCTAssertEqual(clickhouse?["hint"]?.string?.contains("LUMINATECTL_CLICKHOUSE_URL"), true)
        XCTAssertEqual(json["endpoints"]?[0]?["status"], "ok")
    }
}

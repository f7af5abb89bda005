import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `PrometheusClient` against recorded Prometheus 2.42 answers: exact URLs, every result type,
/// the API's error documents and transport failures.
final class PrometheusTests: XCTestCase {
    private let http = FakeHTTPTransport()
    private let base = "http://127.0.0.1:9090"
    /// 2026-11-20T00:37:00Z, the `error-rate-breach` scenario's evaluation time.
    private let evalTime = Date(timeIntervalSince1970: 1_795_135_020)

    private func client(_ base: String? = nil) -> PrometheusClient {
        PrometheusClient(baseURL: base ?? self.base, http: http)
    }

    override func tearDown() {
        XCTAssertEqual(http.pending, 0, "expected requests were not made")
    }

    // MARK: - URLs

    func testInstantQueryURLEncodesPromQLAndCarriesAnExplicitTime() throws {
        let query = #"sum(rate(luminate_http_requests_total{job="luminate",code=~"5.."}[5m])) / sum(rate(luminate_http_requests_total{job="luminate"}[5m]))"#
        XCTAssertEqual(
            client().instantURL(query: query, at: evalTime),
            "http://127.0.0.1:9090/api/v1/query?query=sum%28rate%28luminate_http_requests_total%7Bjob%3D%22luminate%22%2Ccode%3D~%225..%22%7D%5B5m%5D%29%29%20%2F%20sum%28rate%28luminate_http_requests_total%7Bjob%3D%22luminate%22%7D%5B5m%5D%29%29&time=1795135020.000")
        // `+` must not arrive as a space, `&` and `=` must not split the parameter.
        XCTAssertEqual(
            client().instantURL(query: #"a + b{x="1&y=2"}"#, at: Date(timeIntervalSince1970: 1_795_135_020.1234)),
            "http://127.0.0.1:9090/api/v1/query?query=a%20%2B%20b%7Bx%3D%221%26y%3D2%22%7D&time=1795135020.123")
    }

    func testBaseURLWithAPathPrefixOrATrailingSlash() {
        XCTAssertEqual(
            client("https://ops.example.com/prometheus/").instantURL(query: "up", at: evalTime),
            "https://ops.example.com/prometheus/api/v1/query?query=up&time=1795135020.000")
    }

    func testRangeQueryURL() {
        XCTAssertEqual(
            client().rangeURL(query: "up == 1", start: evalTime.addingTimeInterval(-600), end: evalTime, step: 15),
            "http://127.0.0.1:9090/api/v1/query_range?query=up%20%3D%3D%201&start=1795134420.000&end=1795135020.000&step=15")
        XCTAssertEqual(PrometheusClient.formatStep(0.5), "0.5")
        XCTAssertEqual(PrometheusClient.formatStep(60), "60")
    }

    func testRequestsAskForJSONWithTheClientsHeadersAndTimeout() throws {
        http.expect("GET", "http://127.0.0.1:9090/api/v1/query?query=up&time=1795135020.000") { request in
            XCTAssertEqual(request.header("Accept"), "application/json")
            XCTAssertEqual(request.header("Authorization"), "Bearer t0ken-for-proxy")
            XCTAssertEqual(request.timeout, 12)
            return HTTPResponse(status: 200, body: Data(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.utf8))
        }
        let client = PrometheusClient(
            baseURL: base, http: http, timeout: 12, headers: [("Authorization", "Bearer t0ken-for-proxy")])
        XCTAssertEqual(try client.instant(query: "up", at: evalTime), .vector([]))
    }

    // MARK: - Result types

    func testVectorWithLabelsAndSpecialValues() throws {
        http.expect("GET", client().instantURL(query: "x", at: evalTime), body: """
            {"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"x","pod":"luminate-0"},"value":[1795135020,"0.085"]},
              {"metric":{"pod":"luminate-1"},"value":[1795135020,"NaN"]},
              {"metric":{"pod":"luminate-2"},"value":[1795135020,"+Inf"]},
              {"metric":{},"value":[1795135020.5,"-Inf"]}
            ]}}
            """)
        let result = try client().instant(query: "x", at: evalTime)
        guard let samples = result.samples, samples.count == 4 else { return XCTFail("\(result)") }
        XCTAssertEqual(samples[0], PrometheusSample(labels: ["__name__": "x", "pod": "luminate-0"], value: 0.085, time: evalTime))
        XCTAssertTrue(samples[1].value.isNaN)
        XCTAssertEqual(samples[1], PrometheusSample(labels: ["pod": "luminate-1"], value: .nan, time: evalTime))
        XCTAssertEqual(samples[2].value, .infinity)
        XCTAssertEqual(samples[3].value, -.infinity)
        XCTAssertEqual(samples[3].labels, [:])
        XCTAssertEqual(samples[3].time, evalTime.addingTimeInterval(0.5))
        XCTAssertEqual("\(samples[0])", #"x{pod="luminate-0"} 0.085"#)
        XCTAssertEqual("\(samples[2])", #"{pod="luminate-2"} +Inf"#)
    }

    func testMatrixFromARangeQuery() throws {
        let start = evalTime.addingTimeInterval(-30)
        http.expect("GET", client().rangeURL(query: "up", start: start, end: evalTime, step: 15), body: """
            {"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"__name__":"up","pod":"luminate-2"},"values":[[1795134990,"1"],[1795135005,"0"],[1795135020,"0"]]}
            ]}}
            """)
        let series = try client().range(query: "up", start: start, end: evalTime, step: 15)
        XCTAssertEqual(series, [PrometheusSeries(labels: ["__name__": "up", "pod": "luminate-2"], points: [
            PrometheusPoint(time: start, value: 1),
            PrometheusPoint(time: start.addingTimeInterval(15), value: 0),
            PrometheusPoint(time: evalTime, value: 0),
        ])])
    }

    func testScalarAndString() throws {
        http.expect("GET", client().instantURL(query: "scalar(up)", at: evalTime),
                    body: #"{"status":"success","data":{"resultType":"scalar","result":[1795135020,"-Inf"]}}"#)
        http.expect("GET", client().instantURL(query: #""luminate""#, at: evalTime),
                    body: #"{"status":"success","data":{"resultType":"string","result":[1795135020,"luminate"]}}"#)
        XCTAssertEqual(try client().instant(query: "scalar(up)", at: evalTime), .scalar(PrometheusPoint(time: evalTime, value: -.infinity)))
        XCTAssertEqual(try client().instant(query: #""luminate""#, at: evalTime), .string(time: evalTime, value: "luminate"))
    }

    func testInstantValueOfAnAggregate() throws {
        http.expect("GET", client().instantURL(query: "ratio", at: evalTime),
                    body: #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795135020,"0.085"]}]}}"#)
        http.expect("GET", client().instantURL(query: "gap", at: evalTime),
                    body: #"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
        http.expect("GET", client().instantURL(query: "scalar(ratio)", at: evalTime),
                    body: #"{"status":"success","data":{"resultType":"scalar","result":[1795135020,"NaN"]}}"#)
        http.expect("GET", client().instantURL(query: "up", at: evalTime), body: """
            {"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"pod":"a"},"value":[1795135020,"1"]},{"metric":{"pod":"b"},"value":[1795135020,"1"]}]}}
            """)
        XCTAssertEqual(try client().instantValue(query: "ratio", at: evalTime), 0.085)
        XCTAssertNil(try client().instantValue(query: "gap", at: evalTime))
        XCTAssertEqual(try client().instantValue(query: "scalar(ratio)", at: evalTime)?.isNaN, true)
        XCTAssertThrowsError(try client().instantValue(query: "up", at: evalTime)) { error in
            XCTAssertEqual(error as? PrometheusError, .ambiguousResult(host: "127.0.0.1:9090", query: "up", series: 2))
            XCTAssertEqual("\(error)", "query 'up' on prometheus at 127.0.0.1:9090 returned 2 series, expected at most one")
            XCTAssertEqual((error as? PrometheusError)?.hint, "aggregate the expression to one series, e.g. with sum() or max()")
        }
    }

    func testRangeQueryThatIsNotAMatrix() {
        http.expect("GET", client().rangeURL(query: "x", start: evalTime, end: evalTime, step: 15),
                    body: #"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
        XCTAssertThrowsError(try client().range(query: "x", start: evalTime, end: evalTime, step: 15)) { error in
            XCTAssertEqual(error as? PrometheusError,
                           .unexpectedResultType(host: "127.0.0.1:9090", query: "x", expected: "matrix", got: "vector"))
        }
    }

    // MARK: - Errors

    func testAPIErrorCarriesTypeMessageQueryAndHost() {
        let query = "sum(rate(x[5m])"
        http.expect("GET", client().instantURL(query: query, at: evalTime), status: 400, body: """
            {"status":"error","errorType":"bad_data","error":"1:16: parse error: unclosed left parenthesis"}
            """)
        XCTAssertThrowsError(try client().instant(query: query, at: evalTime)) { error in
            XCTAssertEqual(error as? PrometheusError, .api(
                host: "127.0.0.1:9090", status: 400, errorType: "bad_data",
                message: "1:16: parse error: unclosed left parenthesis", query: query))
            XCTAssertEqual("\(error)", "prometheus at 127.0.0.1:9090 rejected query 'sum(rate(x[5m])' (bad_data): 1:16: parse error: unclosed left parenthesis")
            XCTAssertEqual((error as? PrometheusError)?.hint, "check the PromQL, e.g. with promtool or the Prometheus web UI")
            XCTAssertEqual((error as? PrometheusError)?.exitCode, .failure)
        }
    }

    func testExecutionAndUnavailableErrors() {
        http.expect("GET", client().instantURL(query: "a * on() b", at: evalTime), status: 422,
                    body: #"{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}"#)
        http.expect("GET", client().instantURL(query: "up", at: evalTime), status: 503,
                    body: #"{"status":"error","errorType":"unavailable","error":"TSDB not ready"}"#)
        XCTAssertThrowsError(try client().instant(query: "a * on() b", at: evalTime)) { error in
            guard case .api(_, 422, "execution", "many-to-many matching not allowed", "a * on() b")? = error as? PrometheusError else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertThrowsError(try client().instant(query: "up", at: evalTime)) { error in
            XCTAssertEqual((error as? PrometheusError)?.hint, "prometheus is starting or overloaded; retry in a minute")
        }
    }

    func testTransportErrorNamesTheHostAndTheSettingToCheck() {
        http.expect("GET", client().instantURL(query: "up", at: evalTime)) { _ in
            throw HTTPTransportError.transport(
                host: "127.0.0.1:9090", curlCode: 7,
                message: "Failed to connect to 127.0.0.1 port 9090 after 0 ms: Couldn't connect to server")
        }
        XCTAssertThrowsError(try client().instant(query: "up", at: evalTime)) { error in
            guard let error = error as? PrometheusError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.host, "127.0.0.1:9090")
            XCTAssertEqual("\(error)", "cannot reach prometheus at 127.0.0.1:9090: Failed to connect to 127.0.0.1 port 9090 after 0 ms: Couldn't connect to server (curl error 7)")
            XCTAssertEqual(error.hint, "is Prometheus running at http://127.0.0.1:9090? check --prometheus-url / LUMINATECTL_PROMETHEUS_URL")
        }
    }

    func testTimeoutAndCredentialsInTheURLAreNotShown() {
        let base = "http://ops:s3cret-pass@prom.internal:9090"
        http.expect("GET", client(base).instantURL(query: "up", at: evalTime)) { _ in
            throw HTTPTransportError.timedOut(host: "prom.internal:9090", seconds: 30)
        }
        XCTAssertThrowsError(try client(base).instant(query: "up", at: evalTime)) { error in
            guard let error = error as? PrometheusError else { return XCTFail("\(error)") }
            XCTAssertEqual("\(error)", "prometheus at prom.internal:9090 did not answer within 30 s")
            XCTAssertEqual(error.hint, "is Prometheus running at http://<redacted>@prom.internal:9090? check --prometheus-url / LUMINATECTL_PROMETHEUS_URL")
        }
    }

    func testInterruptIsNotWrapped() {
        http.expect("GET", client().instantURL(query: "up", at: evalTime)) { _ in
            throw HTTPTransportError.interrupted(host: "127.0.0.1:9090")
        }
        XCTAssertThrowsError(try client().instant(query: "up", at: evalTime)) { error in
            XCTAssertEqual(error as? HTTPTransportError, .interrupted(host: "127.0.0.1:9090"))
        }
    }

    func testAnswerThatIsNotThePrometheusAPI() {
        http.expect("GET", client().instantURL(query: "up", at: evalTime), status: 404,
                    body: "<html><body>404 page not found</body></html>\n<p>nginx</p>")
        http.expect("GET", client().instantURL(query: "up2", at: evalTime), status: 200, body: "Ok.\n")
        http.expect("GET", client().instantURL(query: "up3", at: evalTime), status: 200,
                    body: #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"high"]}]}}"#)
        XCTAssertThrowsError(try client().instant(query: "up", at: evalTime)) { error in
            XCTAssertEqual("\(error)", "prometheus at 127.0.0.1:9090 answered 404 to /api/v1/query: <html><body>404 page not found</body></html>")
            XCTAssertEqual((error as? PrometheusError)?.hint, "is this a Prometheus server? check --prometheus-url / LUMINATECTL_PROMETHEUS_URL")
        }
        XCTAssertThrowsError(try client().instant(query: "up2", at: evalTime)) { error in
            XCTAssertEqual("\(error)", "prometheus at 127.0.0.1:9090 sent an unreadable answer to /api/v1/query: not JSON")
        }
        XCTAssertThrowsError(try client().instant(query: "up3", at: evalTime)) { error in
            XCTAssertEqual("\(error)", "prometheus at 127.0.0.1:9090 sent an unreadable answer to /api/v1/query: sample value 'high' is not a number at data.result[0].value")
        }
    }

    // MARK: - Readiness and rules

    func testReady() throws {
        http.expect("GET", "http://127.0.0.1:9090/-/ready", status: 200, body: "Prometheus Server is Ready.\n")
        http.expect("GET", "http://127.0.0.1:9090/-/ready", status: 503, body: "Service Unavailable")
        http.expect("GET", "http://127.0.0.1:9090/-/ready", status: 404, body: "Not Found")
        XCTAssertTrue(try client().ready())
        XCTAssertFalse(try client().ready())
        XCTAssertThrowsError(try client().ready()) { error in
            XCTAssertEqual("\(error)", "prometheus at 127.0.0.1:9090 answered 404 to /-/ready: Not Found")
        }
    }

    func testRulesWithAlertingAndRecordingRules() throws {
        http.expect("GET", "http://127.0.0.1:9090/api/v1/rules", body: """
            {"status":"success","data":{"groups":[{"name":"luminate.rules","file":"/etc/prometheus/luminate.yml","rules":[
              {"state":"firing","name":"LuminateHighErrorRate","query":"job:errors:ratio5m > 0.05","duration":300,
               "keepFiringFor":0,"labels":{"severity":"page"},"annotations":{"summary":"5xx ratio above 5 %"},
               "alerts":[{"labels":{"alertname":"LuminateHighErrorRate","severity":"page"},
                          "annotations":{"summary":"5xx ratio above 5 %"},"state":"firing",
                          "activeAt":"2026-11-20T00:28:00.25Z","value":"8.5e-02"}],
               "health":"ok","evaluationTime":0.000412,"lastEvaluation":"2026-11-29T02:00:00.5Z","type":"alerting"},
              {"name":"job:errors:ratio5m","query":"sum(rate(luminate_http_requests_total{code=~\\"5..\\"}[5m]))",
               "health":"err","lastError":"many-to-many matching not allowed","evaluationTime":0.0003,
               "lastEvaluation":"2026-11-29T02:00:00Z","type":"recording"}
            ],"interval":30,"limit":0,"evaluationTime":0.0007,"lastEvaluation":"2026-11-29T02:00:00Z"}]}}
            """)
        let groups = try client().rules()
        XCTAssertEqual(groups, [PrometheusRuleGroup(name: "luminate.rules", file: "/etc/prometheus/luminate.yml", interval: 30, rules: [
            PrometheusRule(
                name: "LuminateHighErrorRate", query: "job:errors:ratio5m > 0.05", kind: .alerting,
                labels: ["severity": "page"], annotations: ["summary": "5xx ratio above 5 %"], duration: 300,
                state: "firing", health: "ok", alerts: [PrometheusAlert(
                    labels: ["alertname": "LuminateHighErrorRate", "severity": "page"],
                    annotations: ["summary": "5xx ratio above 5 %"], state: "firing",
                    activeAt: Date(timeIntervalSince1970: 1_795_134_480.25), value: 0.085)]),
            PrometheusRule(
                name: "job:errors:ratio5m", query: #"sum(rate(luminate_http_requests_total{code=~"5.."}[5m]))"#,
                kind: .recording, health: "err", lastError: "many-to-many matching not allowed"),
        ])])
        XCTAssertEqual(groups.first?.rules.first?.severity, "page")
    }
}

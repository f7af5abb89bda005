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
            skipped  pushgateway        not configured
                                        not configured (0 ms)
                                        hint: set LUMINATECTL_PUSHGATEWAY_URL or pushgateway.url
            skipped  backup-store       not configured
                                        not configured (0 ms)
                                        hint: set backup.store.s3 or backup.store.path (LUMINATECTL_S3_* or LUMINATECTL_BACKUP_PATH)

            2 ok, 0 failed, 4 skipped

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

    // MARK: - Single server, Pushgateway, backup store

    /// Checks an environment configured by `environment` alone (plus the kubectl context, which
    /// answers as in `kubectlExpectations`). Probes run concurrently, so each test configures at
    /// most one endpoint that speaks HTTP: the fake answers in order.
    private func check(_ environment: [String: String], http: FakeHTTPTransport = FakeHTTPTransport(), s3Probe: (any S3Probe)? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws -> [String: ConfigCheck.Result] {
        let processes = FakeProcessRunner()
        kubectlExpectations(processes)
        let context = Context.fake(processes: processes, http: http, environment: environment.merging(["LUMINATECTL_CONTEXT": "lab"]) { $1 })
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        let results = ConfigCheck.run(Connections(configuration: configuration, context: context), s3Probe: s3Probe)
        XCTAssertEqual(http.pending, 0, "expected requests were not made", file: file, line: line)
        return Dictionary(uniqueKeysWithValues: results.map { ($0.endpoint, $0) })
    }

    private func expectClickHouse(_ http: FakeHTTPTransport, version: String) {
        http.expect("GET", "http://ch.test:8123/ping", body: "Ok.\n")
        http.expect("POST", urlPrefix: "http://ch.test:8123/?query_id=luminatectl-",
                    body: #"{"meta":[{"name":"version","type":"String"}],"data":[{"version":"\#(version)"}],"rows":1}"#)
    }

    func testASingleServerIsNotAskedForClusterHosts() throws {
        let http = FakeHTTPTransport()
        expectClickHouse(http, version: "26.9.2.1")
        let results = try check(environment.merging(["LUMINATECTL_CLICKHOUSE_CLUSTER": ""]) { $1 }, http: http)
        XCTAssertEqual(results["clickhouse-http"]?.status, .ok)
        XCTAssertEqual(results["clickhouse-http"]?.detail, "version 26.9.2.1, a single server (no cluster configured)")
    }

    func testPushgatewayReadyWithItsVersion() throws {
        let http = FakeHTTPTransport()
        http.expect("GET", "http://pg.test:9091/-/ready", body: "OK")
        http.expect("GET", "http://pg.test:9091/api/v1/status",
                    body: #"{"status":"success","data":{"build_information":{"version":"1.5.1"},"flags":{}}}"#)
        let results = try check(["LUMINATECTL_PUSHGATEWAY_URL": "http://pg.test:9091"], http: http)
        XCTAssertEqual(results["pushgateway"]?.target, "http://pg.test:9091")
        XCTAssertEqual(results["pushgateway"]?.status, .ok)
        XCTAssertEqual(results["pushgateway"]?.detail, "ready, version 1.5.1")
    }

    func testPushgatewayWithoutTheAPIIsStillReadyAndAnUnreachableOneFails() throws {
        let old = FakeHTTPTransport()
        old.expect("GET", "http://pg.test:9091/-/ready", body: "OK")
        old.expect("GET", "http://pg.test:9091/api/v1/status", status: 404, body: "404 page not found")
        let environment = ["LUMINATECTL_PUSHGATEWAY_URL": "http://pg.test:9091"]
        XCTAssertEqual(try check(environment, http: old)["pushgateway"]?.detail, "ready")

        let down = FakeHTTPTransport()
        down.expect("GET", "http://pg.test:9091/-/ready") { _ in
            throw HTTPTransportError.transport(host: "pg.test:9091", curlCode: 7, message: "Failed to connect to pg.test port 9091: Connection refused")
        }
        let result = try XCTUnwrap(try check(environment, http: down)["pushgateway"])
        XCTAssertEqual(result.status, .failed)
        XCTAssertEqual(result.detail, "cannot reach the pushgateway at pg.test:9091: Failed to connect to pg.test port 9091: Connection refused (curl error 7)")
        XCTAssertEqual(result.hint?.hasPrefix("is the Pushgateway running at http://pg.test:9091?"), true)
    }

    func testADirectoryStoreMustExistAndBeWritable() throws {
        let directory = NSTemporaryDirectory() + "luminatectl-check-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ok = try check(["LUMINATECTL_BACKUP_PATH": directory])
        XCTAssertEqual(ok["backup-store"]?.target, "path \(directory)")
        XCTAssertEqual(ok["backup-store"]?.status, .ok)
        XCTAssertEqual(ok["backup-store"]?.detail, "directory exists and is writable")

        let missing = try check(["LUMINATECTL_BACKUP_PATH": directory + "/nope"])
        XCTAssertEqual(missing["backup-store"]?.status, .failed)
        XCTAssertEqual(missing["backup-store"]?.detail, "\(directory)/nope does not exist")
        XCTAssertEqual(missing["backup-store"]?.hint, "create it or mount the backup volume there; check backup.store.path (LUMINATECTL_BACKUP_PATH)")
    }

    /// The S3 variables as the sandbox sets them, the secret in a 0600 file.
    private func s3Environment() throws -> (environment: [String: String], secretFile: String) {
        let secretFile = NSTemporaryDirectory() + "luminatectl-s3-secret-\(UUID().uuidString)"
        try "s3-secret-value-4711\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile)
        return ([
            "LUMINATECTL_S3_ENDPOINT": "http://127.0.0.1:25000", "LUMINATECTL_S3_REGION": "us-east-1",
            "LUMINATECTL_S3_BUCKET": "luminate-backups", "LUMINATECTL_S3_PREFIX": "clickhouse/",
            "LUMINATECTL_S3_ACCESS_KEY_ID": "AKIALOCALSANDBOX", "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE": secretFile,
        ], secretFile)
    }

    /// Records the store it was asked to reach and answers like an S3 listing.
    private final class FakeS3Probe: S3Probe, @unchecked Sendable {
        var asked: [S3StoreTarget] = []
        var failure: (any Error)?
        func probe(_ store: S3StoreTarget, connections: Connections) throws -> String {
            asked.append(store)
            if let failure { throw failure }
            return "bucket answers, 3 backups under \(store.prefix)"
        }
    }

    func testAnS3StoreIsReachedThroughTheProbeWithTheResolvedSecret() throws {
        let (environment, secretFile) = try s3Environment()
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let probe = FakeS3Probe()
        let result = try XCTUnwrap(try check(environment, s3Probe: probe)["backup-store"])
        XCTAssertEqual(result.target, "s3://luminate-backups/clickhouse/ at http://127.0.0.1:25000 (us-east-1)")
        XCTAssertEqual(result.status, .ok)
        XCTAssertEqual(result.detail, "bucket answers, 3 backups under clickhouse/")
        XCTAssertEqual(probe.asked, [S3StoreTarget(
            endpoint: "http://127.0.0.1:25000", region: "us-east-1", bucket: "luminate-backups", prefix: "clickhouse/",
            accessKeyID: "AKIALOCALSANDBOX", secretAccessKey: "s3-secret-value-4711", secretSource: "from file \(secretFile)")])
        XCTAssertEqual(Redactor.redact("signed with s3-secret-value-4711"), "signed with <redacted>", "the secret is registered when read")
    }

    func testAnS3StoreFailureAndAMissingSecretAreFailures() throws {
        let (environment, secretFile) = try s3Environment()
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let probe = FakeS3Probe()
        probe.failure = ValidationError("s3 bucket luminate-backups at 127.0.0.1:25000 answered 403: SignatureDoesNotMatch", hint: "check the secret")
        let failed = try XCTUnwrap(try check(environment, s3Probe: probe)["backup-store"])
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.detail, "s3 bucket luminate-backups at 127.0.0.1:25000 answered 403: SignatureDoesNotMatch")
        XCTAssertEqual(failed.hint, "check the secret")

        var gone = environment
        gone["LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"] = secretFile + ".missing"
        let noSecret = try XCTUnwrap(try check(gone, s3Probe: FakeS3Probe())["backup-store"])
        XCTAssertEqual(noSecret.status, .failed)
        XCTAssertEqual(noSecret.detail, "cannot read the S3 secret access key file \(secretFile).missing")
    }

    func testTheStoreIsReachedThroughTheS3ClientInTextAndJSON() throws {
        let (environment, secretFile) = try s3Environment()
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let processes = FakeProcessRunner()
        kubectlExpectations(processes)
        let http = FakeHTTPTransport()
        expectClickHouse(http, version: "26.9.2.1")
        http.expect("POST", urlPrefix: "http://ch.test:8123/?query_id=luminatectl-",
                    body: #"{"meta":[{"name":"hosts","type":"UInt64"}],"data":[{"hosts":4}],"rows":1}"#)
        http.expect("HEAD", "http://127.0.0.1:25000/luminate-backups") { request in
            XCTAssertNotNil(request.awsSigV4, "the request is signed")
            return HTTPResponse(status: 200)
        }
        http.expect("GET", urlPrefix: "http://127.0.0.1:25000/luminate-backups?") { _ in
            HTTPResponse(status: 200, body: Data(#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>luminate-backups</Name><Prefix>clickhouse/</Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#.utf8))
        }
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, http: http, output: output, environment: self.environment.merging(environment) { $1 })
        XCTAssertEqual(Luminatectl.run(["config", "check", "-o", "json"], context: context), .success, output.stderr)
        let json = try JSONValue.parse(Data(output.stdout.utf8))
        let store = try XCTUnwrap(json["endpoints"]?.array?.first { $0["endpoint"] == "backup-store" })
        XCTAssertEqual(store["status"], "ok")
        XCTAssertEqual(store["target"], "s3://luminate-backups/clickhouse/ at http://127.0.0.1:25000 (us-east-1)")
        XCTAssertEqual(store["detail"], "bucket luminate-backups answers to access key AKIALOCALSANDBOX; clickhouse/ is empty")
        XCTAssertEqual(json["endpoints"]?.array?.compactMap { $0["endpoint"]?.string },
                       ["kubernetes", "clickhouse-http", "clickhouse-native", "prometheus", "pushgateway", "backup-store"])
        XCTAssertFalse(output.stdout.contains("s3-secret-value-4711"))
    }
}

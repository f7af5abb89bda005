import XCTest
@testable import OpsKit

/// Runs the built `luminatectl` binary, as an operator would, against the sandbox that the test
/// command brought up, and checks stdout, stderr and the exit code.
final class CLIIntegrationTests: XCTestCase {
    /// The luminatectl binary built next to this test bundle.
    var binary: String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent("luminatectl").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    func sandboxEnvironment() throws -> [String: String] {
        try Sandbox.require(["LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE", "LUMINATECTL_PROMETHEUS_URL", "KUBECONFIG"])
    }

    func luminatectl(_ arguments: [String], environment: [String: String?] = [:]) throws -> ProcessResult {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "luminatectl not built at \(binary)")
        return try PosixProcessRunner().run(
            ProcessRequest(binary, arguments, environment: environment, timeout: 60), interrupt: Interrupt())
    }

    func testConfigCheckReachesTheWholeSandbox() throws {
        _ = try sandboxEnvironment()
        let result = try luminatectl(["config", "check", "-o", "json"])
        XCTAssertEqual(result.status, .exited(0), result.stdoutText + result.stderrText)
        let json = try JSONValue.parse(result.stdout)
        XCTAssertEqual(json["ok"], .bool(true))
        let endpoints = json["endpoints"]?.array ?? []
        XCTAssertEqual(endpoints.compactMap { $0["endpoint"]?.string },
                       ["kubernetes", "clickhouse-http", "clickhouse-native", "prometheus", "pushgateway", "backup-store"])
        XCTAssertEqual(endpoints.prefix(4).compactMap { $0["status"]?.string }, ["ok", "ok", "ok", "ok"])
        // The sandbox's Pushgateway and S3 store (its bucket reached with the S3 client).
        XCTAssertEqual(endpoints[4]["status"], "ok")
        XCTAssertEqual(endpoints[5]["status"], "ok", "\(endpoints[5])")
        XCTAssertEqual(endpoints[1]["detail"], .string("version 18.16.1, cluster luminate has 4 hosts"))
    }

    func testWrongPasswordFailsWithTheCodeAndNeverShowsThePassword() throws {
        _ = try sandboxEnvironment()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("luminatectl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("password").path
        let wrong = "wrong-\(UUID().uuidString.prefix(8))"
        try wrong.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)

        let result = try luminatectl(["-v", "config", "check"], environment: ["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE": file])
        XCTAssertEqual(result.status, .exited(1))
        XCTAssertTrue(result.stdoutText.contains("wrong password (code 193)"), result.stdoutText)
        XCTAssertFalse((result.stdoutText + result.stderrText).contains(wrong), "the password leaked")
        XCTAssertTrue(result.stderrText.contains("X-ClickHouse-Key: <redacted>"), "verbose output shows the header, redacted")
    }

    func testUnreachablePrometheusNamesTheHost() throws {
        _ = try sandboxEnvironment()
        let result = try luminatectl(["config", "check", "--prometheus-url", "http://127.0.0.1:9"])
        XCTAssertEqual(result.status, .exited(1))
        XCTAssertTrue(result.stdoutText.contains("FAILED   prometheus"), result.stdoutText)
        XCTAssertTrue(result.stdoutText.contains("127.0.0.1:9"), result.stdoutText)
    }

    func testUsageErrorsAndVersionFromTheBinary() throws {
        let version = try luminatectl(["--version"])
        XCTAssertEqual(version.status, .exited(0))
        XCTAssertEqual(version.stdoutText, "luminatectl \(luminatectlVersion)\n")

        let unknown = try luminatectl(["config", "view", "--bogus"])
        XCTAssertEqual(unknown.status, .exited(64))
        XCTAssertEqual(unknown.stdoutText, "")
        XCTAssertEqual(unknown.stderrText, """
            Error: Unknown option '--bogus'
            Usage: luminatectl config view [<options>]
              See 'luminatectl config view --help' for more information.

            """)
    }

    func testMalformedConfigurationStopsEverythingWithExit64() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("luminatectl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("luminatectl.yaml").path
        try "environments:\n  lab:\n    clickhouse:\n      url: http://x:1\n     user: ops\n".write(toFile: file, atomically: true, encoding: .utf8)

        let result = try luminatectl(["--config", file, "config", "check"])
        XCTAssertEqual(result.status, .exited(64))
        XCTAssertEqual(result.stdoutText, "", "nothing ran")
        XCTAssertTrue(result.stderrText.hasPrefix("Error: \(file):5:"), result.stderrText)
    }
}

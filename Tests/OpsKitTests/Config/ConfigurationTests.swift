import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class ConfigurationTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "luminatectl-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let path = "\(directory!)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func run(_ argv: [String], environment: [String: String] = [:]) -> (ExitCode, CapturedOutput) {
        let output = CapturedOutput()
        let context = Context.fake(output: output, environment: environment, workingDirectory: directory)
        return (Luminatectl.run(argv, context: context), output)
    }

    func load(_ globals: GlobalOptions = GlobalOptions(), environment: [String: String] = [:]) throws -> Configuration {
        let context = Context.fake(environment: environment, workingDirectory: directory)
        return try ConfigurationLoader(context: context).load(globals)
    }

    static let sample = """
        defaultEnvironment: staging
        environments:
          staging:
            kubernetes:
              context: staging-admin
              namespace: luminate-staging
            clickhouse:
              url: https://ch.staging.example:8443
              user: ops
              password:
                env: STAGING_CH_PASSWORD
            prometheus:
              url: https://prom.staging.example
            policy:
              rollback:
                errorRate: {above: 2%, for: 3m}
              recovery:
                rpo: 30m
          production:
            clickhouse:
              url: https://ch.prod.example:8443
              password:
                file: /run/secrets/ch

        """

    func testDefaultsAreTheOperationsGuideValues() throws {
        let c = try load()
        XCTAssertNil(c.file)
        XCTAssertEqual(c.environmentName, Sourced("default", .builtIn))
        XCTAssertEqual(c.policy.rollback.errorRateAbove, 0.05)
        XCTAssertEqual(c.policy.rollback.errorRateFor, 300)
        XCTAssertEqual(c.policy.rollback.p95LatencyAbove, 0.5)
        XCTAssertEqual(c.policy.rollback.p95LatencyFor, 600)
        XCTAssertEqual(c.policy.scaling, ScalingTriggers())
        XCTAssertEqual([c.policy.scaling.storageAbove, c.policy.scaling.cpuAbove, c.policy.scaling.memoryAbove], [0.70, 0.70, 0.80])
        XCTAssertEqual(c.policy.recovery.rpo, 3600)
        XCTAssertEqual(c.policy.recovery.rto, 14400)
        XCTAssertEqual(c.policy.maintenanceWindows.map(\.summary), [
            "every saturday 02:00-04:00 UTC", "first sunday of the month 02:00-06:00 UTC",
        ])
    }

    func testPrecedenceFlagsThenEnvironmentThenFileThenDefaults() throws {
        try write("luminatectl.yaml", Self.sample)
        var globals = GlobalOptions()
        globals.clickhouseURL = "http://flag.example:8123"
        let c = try load(globals, environment: [
            "LUMINATECTL_CLICKHOUSE_URL": "http://env.example:8123",
            "LUMINATECTL_PROMETHEUS_URL": "http://prom-env.example:9090",
        ])
        XCTAssertEqual(c.file, "\(directory!)/luminatectl.yaml")
        XCTAssertEqual(c.environmentName.value, "staging")
        XCTAssertEqual(c.clickhouseURL, Sourced("http://flag.example:8123", .flag("clickhouse-url")))
        XCTAssertEqual(c.prometheusURL, Sourced("http://prom-env.example:9090", .environment("LUMINATECTL_PROMETHEUS_URL")))
        XCTAssertEqual(c.kubeContext?.value, "staging-admin")
        XCTAssertEqual(c.kubeContext?.source, .file(SourceMark(file: "\(directory!)/luminatectl.yaml", line: 5, column: 16)))
        XCTAssertEqual(c.clickhouseCluster, Sourced("luminate", .builtIn))
        XCTAssertEqual(c.policy.rollback.errorRateAbove, 0.02)
        XCTAssertEqual(c.policy.rollback.errorRateFor, 180)
        XCTAssertEqual(c.policy.rollback.p95LatencyAbove, 0.5, "unset fields keep the guide's default")
        XCTAssertEqual(c.policy.recovery.rpo, 1800)
        XCTAssertEqual(c.clickhousePassword?.value, .environment("STAGING_CH_PASSWORD"))
        XCTAssertFalse(c.policy.changeRequestRequired)
    }

    func testEnvironmentSelection() throws {
        try write("luminatectl.yaml", Self.sample)
        var globals = GlobalOptions()
        globals.environment = "production"
        let c = try load(globals)
        XCTAssertEqual(c.clickhouseURL?.value, "https://ch.prod.example:8443")
        XCTAssertTrue(c.policy.changeRequestRequired, "production requires a change request by default")
        XCTAssertEqual(try load(environment: ["LUMINATECTL_ENV": "production"]).environmentName.source, .environment("LUMINATECTL_ENV"))

        globals.environment = "prod"
        XCTAssertThrowsError(try load(globals)) { error in
            XCTAssertEqual("\(error)", "flag --env names environment 'prod', which \(self.directory!)/luminatectl.yaml does not define")
            XCTAssertEqual((error as? ValidationError)?.hint, "configured environments: staging, production")
        }
    }

    func testSeveralEnvironmentsAndNoChoiceIsRefused() throws {
        try write("luminatectl.yaml", Self.sample.replacingOccurrences(of: "defaultEnvironment: staging\n", with: ""))
        XCTAssertThrowsError(try load()) { error in
            XCTAssertTrue("\(error)".contains("defines several environments and none is chosen"), "\(error)")
        }
    }

    func testMalformedYAMLNamesFileLineColumnAndExits64() throws {
        let path = try write("luminatectl.yaml", "environments:\n  staging:\n    clickhouse: {url: [\n")
        let (code, output) = run(["config", "view"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stdout, "")
        XCTAssertTrue(output.stderr.hasPrefix("Error: \(path):4:1: malformed YAML: "), output.stderr)
    }

    func testWrongTypeNamesKeyPath() throws {
        let path = try write("c.yaml", """
            environments:
              staging:
                policy:
                  scaling:
                    cpu: lots
            """)
        let (code, output) = run(["--config", path, "config", "view"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, "Error: \(path):5:14: environments.staging.policy.scaling.cpu: expected a percentage like 70% (or 0.7), found 'lots'\n")
    }

    func testUnknownKeySuggestsTheRightOne() throws {
        let path = try write("c.yaml", "environments:\n  staging:\n    clickhuose: {}\n")
        XCTAssertThrowsError(try load({ var g = GlobalOptions(); g.configFile = path; return g }())) { error in
            XCTAssertEqual("\(error)", "\(path):3:5: environments.staging.clickhuose: unknown key 'clickhuose' (did you mean 'clickhouse'?); known keys: kubernetes, clickhouse, prometheus, pushgateway, backup, tls, policy, checklist, journal")
        }
    }

    func testLiteralPasswordNeedsAPrivateFile() throws {
        let text = "environments:\n  lab:\n    clickhouse:\n      password: s3cret-value\n"
        let open = try write("open.yaml", text, mode: 0o644)
        let (code, output) = run(["--config", open, "config", "view"])
        XCTAssertEqual(code, .usage)
        XCTAssertTrue(output.stderr.contains("a literal password in a file that others can read is refused"), output.stderr)
        XCTAssertTrue(output.stderr.contains("hint: chmod 600"), output.stderr)
        XCTAssertFalse(output.stderr.contains("s3cret-value"))

        let closed = try write("closed.yaml", text, mode: 0o600)
        let (okCode, okOutput) = run(["--config", closed, "config", "view", "-o", "json"])
        XCTAssertEqual(okCode, .success, okOutput.stderr)
        XCTAssertFalse(okOutput.stdout.contains("s3cret-value"))
        let json = try JSONValue.parse(Data(okOutput.stdout.utf8))
        XCTAssertEqual(json[path: "settings"]?["clickhouse.password"]?["value"], .string("literal in the configuration file (<redacted>)"))
    }

    func testCredentialsInURLsAreRefused() throws {
        var globals = GlobalOptions()
        globals.clickhouseURL = "http://ops:hunter22@ch.example:8123"
        XCTAssertThrowsError(try load(globals)) { error in
            XCTAssertFalse("\(error)".contains("hunter22"), "\(error)")
            XCTAssertTrue("\(error)".contains("credentials in a URL are refused"), "\(error)")
        }
    }

    func testPasswordIsReadFromItsSourceAndRegisteredForRedaction() throws {
        let secretFile = try write("pw", "file-secret-9876\n", mode: 0o600)
        let c = try load(environment: ["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE": secretFile])
        XCTAssertEqual(try c.clickhousePasswordValue(environment: [:]), "file-secret-9876")
        XCTAssertEqual(Redactor.redact("auth failed for file-secret-9876"), "auth failed for <redacted>")

        let missing = try load(environment: ["LUMINATECTL_CLICKHOUSE_PASSWORD": "x"]).clickhousePassword
        XCTAssertEqual(missing?.value, .environment("LUMINATECTL_CLICKHOUSE_PASSWORD"))
    }

    func testConfigViewText() throws {
        try write("luminatectl.yaml", Self.sample)
        let (code, output) = run(["config", "view", "--context", "ctx-flag"], environment: ["STAGING_CH_PASSWORD": "pw-value-123"])
        XCTAssertEqual(code, .success, output.stderr)
        let file = "\(directory!)/luminatectl.yaml"
        XCTAssertEqual(output.stdout, """
            Configuration file: \(file)

            KEY                                       VALUE                                                     SOURCE
            environment                               staging                                                   file \(file):1:21
            kubernetes.context                        ctx-flag                                                  flag --context
            kubernetes.namespace                      luminate-staging                                          file \(file):6:18
            kubernetes.kubeconfig                     -                                                         not set
            clickhouse.url                            https://ch.staging.example:8443                           file \(file):8:12
            clickhouse.native                         -                                                         not set
            clickhouse.user                           ops                                                       file \(file):9:13
            clickhouse.password                       from env STAGING_CH_PASSWORD (set)                        file \(file):11:14
            clickhouse.cluster                        luminate                                                  default
            clickhouse.database                       luminate                                                  default
            prometheus.url                            https://prom.staging.example                              file \(file):13:12
            pushgateway.url                           -                                                         not set
            backup.store                              -                                                         not set
            backup.disk                               backups                                                   default
            backup.diskPath                           luminate/                                                 default
            backup.engine                             auto                                                      default
            backup.tables                             every table of the database                               default
            tls.caFile                                -                                                         not set
            tls.verify                                true                                                      default
            journal.path                              -                                                         not set
            journal.mirror                            off                                                       default
            policy.maintenanceWindows[0]              weekly: every saturday 02:00-04:00 UTC, admits minor      default
            policy.maintenanceWindows[1]              monthly: first sunday of the month 02:00-06:00 UTC, admits major  default
            policy.rollback.errorRate.above           2%                                                        file \(file):16:28
            policy.rollback.errorRate.for             3m                                                        file \(file):16:37
            policy.rollback.p95Latency.above          500ms                                                     default
            policy.rollback.p95Latency.for            10m                                                       default
            policy.rollback.maxInconclusive           10                                                        default
            policy.rollback.corruption                built-in probes                                           default
            policy.rollback.security.command          not configured                                            default
            policy.scaling.storage                    70%                                                       default
            policy.scaling.cpu                        70%                                                       default
            policy.scaling.memory                     80%                                                       default
            policy.recovery.rpo                       30m                                                       file \(file):18:14
            policy.recovery.rto                       4h                                                        default
            policy.retention.metrics                  90d                                                       default
            policy.retention.tables                   none: every table keeps policy.retention.metrics          default
            policy.retention.backups                  hourly 24, daily 7, weekly 4, monthly 3                   default
            policy.retention.backups.incompleteAfter  1d                                                        default
            policy.deploy.bake                        10m                                                       default
            policy.deploy.interval                    30s                                                       default
            policy.deploy.statefulSetTimeout          30m                                                       default
            policy.deploy.nonSemverTags               major                                                     default
            policy.changeRequestRequired              false                                                     default

            """)
        XCTAssertFalse(output.stdout.contains("pw-value-123"))
    }
}

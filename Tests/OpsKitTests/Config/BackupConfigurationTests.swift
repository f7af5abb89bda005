import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `backup:`, `pushgateway:` and an empty `clickhouse.cluster`: parsing with sources, the
/// environment's precedence, the rules and their errors, secrets, and `config view`.
final class BackupConfigurationTests: XCTestCase {
    var directory: String!
    var secretFile: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "luminatectl-backup-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        secretFile = try write("s3-secret", "s3-file-secret-8265\n", mode: 0o600)
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

    func load(_ environment: [String: String] = [:]) throws -> Configuration {
        let context = Context.fake(environment: environment, workingDirectory: directory)
        return try ConfigurationLoader(context: context).load(GlobalOptions())
    }

    func run(_ argv: [String], environment: [String: String] = [:]) -> (ExitCode, CapturedOutput) {
        let output = CapturedOutput()
        let context = Context.fake(output: output, environment: environment, workingDirectory: directory)
        return (Luminatectl.run(argv, context: context), output)
    }

    var sample: String {
        """
        environments:
          staging:
            clickhouse:
              url: http://ch.staging:8123
              cluster: ""
            pushgateway: {url: http://pg.staging:9091}
            backup:
              store:
                s3:
                  endpoint: https://s3.eu-west-1.amazonaws.com
                  region: eu-west-1
                  bucket: luminate-backups
                  prefix: clickhouse/
                  accessKeyId: {env: BACKUP_S3_ACCESS_KEY_ID}
                  secretAccessKey: {file: \(secretFile!)}
              disk: s3_backups
              engine: native
              tables: [luminate.metrics_local, events]

        """
    }

    func mark(_ line: Int, _ column: Int) -> ValueSource {
        .file(SourceMark(file: "\(directory!)/luminatectl.yaml", line: line, column: column))
    }

    // MARK: - Parsing and sources

    func testEveryBackupValueFromTheFileWithItsPlace() throws {
        try write("luminatectl.yaml", sample)
        let c = try load()
        XCTAssertEqual(c.clickhouseCluster, Sourced(nil, mark(5, 16)), "an explicit empty cluster is a single server")
        XCTAssertEqual(c.pushgatewayURL, Sourced("http://pg.staging:9091", mark(6, 24)))
        guard case .s3(let s3)? = c.backup.store else { return XCTFail("\(String(describing: c.backup.store))") }
        XCTAssertEqual(s3.endpoint, Sourced("https://s3.eu-west-1.amazonaws.com", mark(10, 21)))
        XCTAssertEqual(s3.region, Sourced("eu-west-1", mark(11, 19)))
        XCTAssertEqual(s3.bucket, Sourced("luminate-backups", mark(12, 19)))
        XCTAssertEqual(s3.prefix, Sourced("clickhouse/", mark(13, 19)))
        XCTAssertEqual(s3.accessKeyID, Sourced(.environment("BACKUP_S3_ACCESS_KEY_ID"), mark(14, 30)))
        XCTAssertEqual(s3.secretAccessKey, Sourced(.file(secretFile), mark(15, 35)))
        XCTAssertEqual(c.backup.disk, Sourced("s3_backups", mark(16, 13)))
        XCTAssertEqual(c.backup.engine, Sourced(.native, mark(17, 15)))
        XCTAssertEqual(c.backup.tables, Sourced(["luminate.metrics_local", "events"], mark(18, 15)))
    }

    func testDefaultsWithoutABackupSection() throws {
        let c = try load()
        XCTAssertNil(c.backup.store)
        XCTAssertEqual(c.backup.disk, Sourced("backups", .builtIn))
        XCTAssertEqual(c.backup.engine, Sourced(.auto, .builtIn))
        XCTAssertNil(c.backup.tables, "every table of the database")
        XCTAssertNil(c.pushgatewayURL)
        XCTAssertEqual(c.clickhouseCluster, Sourced("luminate", .builtIn))
    }

    func testADirectoryStore() throws {
        try write("luminatectl.yaml", "environments:\n  lab:\n    backup:\n      store: {path: backups/here}\n")
        XCTAssertEqual(try load().backup.store, .path(Sourced("\(directory!)/backups/here", mark(4, 21))),
                       "a relative path is resolved against the working directory")
    }

    // MARK: - Precedence

    func testS3VariablesOverrideTheFilesKeysOneByOne() throws {
        try write("luminatectl.yaml", sample)
        let c = try load([
            "LUMINATECTL_S3_BUCKET": "luminate-backups-dr", "LUMINATECTL_S3_SECRET_ACCESS_KEY": "env-secret-value-77",
            "LUMINATECTL_PUSHGATEWAY_URL": "http://pg.override:9091",
        ])
        guard case .s3(let s3)? = c.backup.store else { return XCTFail("not S3") }
        XCTAssertEqual(s3.bucket, Sourced("luminate-backups-dr", .environment("LUMINATECTL_S3_BUCKET")))
        XCTAssertEqual(s3.region, Sourced("eu-west-1", mark(11, 19)), "the others stay the file's")
        XCTAssertEqual(s3.secretAccessKey,
                       Sourced(.environment("LUMINATECTL_S3_SECRET_ACCESS_KEY"), .environment("LUMINATECTL_S3_SECRET_ACCESS_KEY")))
        XCTAssertEqual(c.pushgatewayURL, Sourced("http://pg.override:9091", .environment("LUMINATECTL_PUSHGATEWAY_URL")))
    }

    func testTheSandboxsVariablesAloneMakeACompleteStore() throws {
        let c = try load([
            "LUMINATECTL_S3_ENDPOINT": "http://127.0.0.1:25000", "LUMINATECTL_S3_REGION": "us-east-1",
            "LUMINATECTL_S3_BUCKET": "luminate-backups", "LUMINATECTL_S3_ACCESS_KEY_ID": "AKIALOCAL",
            "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE": "s3-secret",
        ])
        XCTAssertEqual(c.backup.store, .s3(S3StoreSettings(
            endpoint: Sourced("http://127.0.0.1:25000", .environment("LUMINATECTL_S3_ENDPOINT")),
            region: Sourced("us-east-1", .environment("LUMINATECTL_S3_REGION")),
            bucket: Sourced("luminate-backups", .environment("LUMINATECTL_S3_BUCKET")),
            prefix: Sourced("", .builtIn),
            accessKeyID: Sourced(.environment("LUMINATECTL_S3_ACCESS_KEY_ID"), .environment("LUMINATECTL_S3_ACCESS_KEY_ID")),
            secretAccessKey: Sourced(.file(secretFile), .environment("LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE")))))
    }

    func testAPathVariableReplacesTheFilesS3StoreAndBothKindsFromTheEnvironmentAreRefused() throws {
        try write("luminatectl.yaml", sample)
        XCTAssertEqual(try load(["LUMINATECTL_BACKUP_PATH": "/mnt/backups"]).backup.store,
                       .path(Sourced("/mnt/backups", .environment("LUMINATECTL_BACKUP_PATH"))))

        let (code, output) = run(["config", "view"], environment: ["LUMINATECTL_BACKUP_PATH": "/mnt/backups", "LUMINATECTL_S3_BUCKET": "b-b-b"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, """
            Error: LUMINATECTL_BACKUP_PATH and LUMINATECTL_S3_BUCKET both set the backup store
            hint: a store is either a directory or an S3 bucket: unset one of them

            """)
    }

    func testEngineFromEnvironmentThenFile() throws {
        try write("luminatectl.yaml", sample)
        XCTAssertEqual(try load(["LUMINATECTL_BACKUP_ENGINE": "freeze"]).backup.engine, Sourced(.freeze, .environment("LUMINATECTL_BACKUP_ENGINE")))
        XCTAssertThrowsError(try load(["LUMINATECTL_BACKUP_ENGINE": "rsync"])) { error in
            XCTAssertEqual("\(error)", "env LUMINATECTL_BACKUP_ENGINE: expected one of auto | native | freeze, found 'rsync'")
            XCTAssertEqual((error as? OperatorError)?.exitCode, .usage)
        }
    }

    func testAutoPicksTheEngineFromTheServerVersion() {
        XCTAssertEqual(BackupEngineChoice.auto.resolved(for: ClickHouseVersion(18, 16, 1)), .freeze)
        XCTAssertEqual(BackupEngineChoice.auto.resolved(for: ClickHouseVersion(22, 7)), .freeze)
        XCTAssertEqual(BackupEngineChoice.auto.resolved(for: ClickHouseVersion(22, 8)), .native)
        XCTAssertEqual(BackupEngineChoice.auto.resolved(for: ClickHouseVersion(26, 9, 2, 1)), .native)
        XCTAssertEqual(BackupEngineChoice.native.resolved(for: ClickHouseVersion(18, 16, 1)), .native, "an explicit choice stays")
        XCTAssertEqual(BackupEngineChoice.freeze.resolved(for: ClickHouseVersion(26, 9, 2, 1)), .freeze)
    }

    // MARK: - Cluster

    func testAnEmptyClusterVariableIsASingleServerNotUnset() throws {
        try write("luminatectl.yaml", "environments:\n  lab:\n    clickhouse: {cluster: luminate}\n")
        XCTAssertEqual(try load(["LUMINATECTL_CLICKHOUSE_CLUSTER": ""]).clickhouseCluster,
                       Sourced(nil, .environment("LUMINATECTL_CLICKHOUSE_CLUSTER")))
        XCTAssertEqual(try load(["LUMINATECTL_CLICKHOUSE_CLUSTER": "other"]).clickhouseCluster,
                       Sourced("other", .environment("LUMINATECTL_CLICKHOUSE_CLUSTER")))
        XCTAssertEqual(try load().clickhouseCluster, Sourced("luminate", mark(3, 27)))

        let null = try write("null.yaml", "environments:\n  lab:\n    clickhouse:\n      cluster:\n")
        let (code, output) = run(["--config", null, "config", "view"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, """
            Error: \(null):4:15: environments.lab.clickhouse.cluster: expected a string, found null
            hint: write cluster: "" for a single server (no ON CLUSTER)

            """)
    }

    // MARK: - Rules

    /// The error `config view` prints for a file holding `yaml` under `environments.lab.backup`.
    func backupError(_ yaml: String, mode: Int = 0o644) throws -> String {
        let path = try write("c-\(UUID().uuidString).yaml", "environments:\n  lab:\n    backup:\n" + yaml, mode: mode)
        let (code, output) = run(["--config", path, "config", "view"])
        XCTAssertEqual(code, .usage, output.stdout)
        return output.stderr.replacingOccurrences(of: path, with: "FILE")
    }

    func testEachRuleNamesFileLineColumnAndTheKey() throws {
        XCTAssertEqual(try backupError("      store: {s3: {bucket: x-y}, path: /mnt}\n"),
                       "Error: FILE:4:14: environments.lab.backup.store: give exactly one of s3 or path\n")
        XCTAssertEqual(try backupError("      store: {}\n"),
                       "Error: FILE:4:14: environments.lab.backup.store: give exactly one of s3 or path\n")
        XCTAssertEqual(try backupError("      store: {s3: {bucket: Luminate_Backups}}\n"),
                       "Error: FILE:4:28: environments.lab.backup.store.s3.bucket: 'Luminate_Backups' must be 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit\n")
        XCTAssertEqual(try backupError("      store: {s3: {prefix: clickhouse}}\n"),
                       "Error: FILE:4:28: environments.lab.backup.store.s3.prefix: 'clickhouse' must be empty or a folder such as clickhouse/ (ending in '/', not starting with '/')\n")
        XCTAssertEqual(try backupError("      store: {s3: {endpoint: 'https://k:s@s3.example'}}\n"),
                       "Error: FILE:4:30: environments.lab.backup.store.s3.endpoint: credentials in a URL are refused\n")
        XCTAssertEqual(try backupError("      store: {s3: {bukcet: x}}\n"),
                       "Error: FILE:4:20: environments.lab.backup.store.s3.bukcet: unknown key 'bukcet' (did you mean 'bucket'?); known keys: endpoint, region, bucket, prefix, accessKeyId, secretAccessKey\n")
        XCTAssertEqual(try backupError("      engine: rsync\n"),
                       "Error: FILE:4:15: environments.lab.backup.engine: expected one of auto | native | freeze, found 'rsync'\n")
        XCTAssertEqual(try backupError("      tables: [luminate.metrics, 'a.b.c']\n"),
                       "Error: FILE:4:34: environments.lab.backup.tables[1]: 'a.b.c' must be table or database.table, each a ClickHouse identifier\n")
        XCTAssertEqual(try backupError("      tables: [t, t]\n"),
                       "Error: FILE:4:19: environments.lab.backup.tables[1]: 't' is listed twice\n")
        XCTAssertEqual(try backupError("      tables: []\n"), """
            Error: FILE:4:15: environments.lab.backup.tables: an empty list backs up nothing
            hint: leave tables out to back up every table of the database

            """)
        XCTAssertEqual(try backupError("      disk: \"back ups\"\n"),
                       "Error: FILE:4:13: environments.lab.backup.disk: 'back ups' must be a ClickHouse disk name (letters, digits, '_', '-' and '.', starting with a letter or '_')\n")
    }

    func testAnIncompleteS3StoreSaysWhatIsMissingAndWhereToSetIt() throws {
        XCTAssertEqual(try backupError("      store:\n        s3: {endpoint: 'https://s3.example', region: eu-west-1, accessKeyId: AKIA1, secretAccessKey: {env: S}}\n"), """
            Error: the S3 backup store at FILE:5:13 has no bucket
            hint: set backup.store.s3.bucket or LUMINATECTL_S3_BUCKET

            """)
        XCTAssertThrowsError(try load(["LUMINATECTL_S3_BUCKET": "only-a-bucket"])) { error in
            XCTAssertEqual("\(error)", "the S3 backup store set by LUMINATECTL_S3_BUCKET has no endpoint")
        }
        XCTAssertThrowsError(try load([
            "LUMINATECTL_S3_ENDPOINT": "s3.example", "LUMINATECTL_S3_REGION": "r", "LUMINATECTL_S3_BUCKET": "bbb",
            "LUMINATECTL_S3_ACCESS_KEY_ID": "k", "LUMINATECTL_S3_SECRET_ACCESS_KEY": "s",
        ])) { error in
            XCTAssertEqual("\(error)", "env LUMINATECTL_S3_ENDPOINT: 's3.example': expected an http:// or https:// URL")
        }
    }

    func testALiteralSecretNeedsAPrivateFileButALiteralKeyIDDoesNot() throws {
        let store = "      store:\n        s3: {endpoint: 'https://s3.example', region: eu-west-1, bucket: bbb, accessKeyId: AKIAPLAIN, secretAccessKey: literal-secret-9911}\n"
        XCTAssertEqual(try backupError(store), """
            Error: FILE:5:119: environments.lab.backup.store.s3.secretAccessKey: a literal secret in a file that others can read is refused
            hint: chmod 600 the configuration file, or use secretAccessKey: {env: VAR} or secretAccessKey: {file: PATH}

            """)
        let path = try write("private.yaml", "environments:\n  lab:\n    backup:\n" + store, mode: 0o600)
        let (code, output) = run(["--config", path, "config", "view"])
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertFalse(output.stdout.contains("literal-secret-9911"))
        XCTAssertNotNil(output.stdout.range(of: #"\nbackup\.store\.s3\.accessKeyId +AKIAPLAIN +file "#, options: .regularExpression),
                        output.stdout)
        XCTAssertNotNil(output.stdout.range(
            of: #"\nbackup\.store\.s3\.secretAccessKey +literal in the configuration file \(<redacted>\) +file "#, options: .regularExpression),
            output.stdout)
    }

    // MARK: - Secrets

    func testTheSecretIsReadFromItsSourceAndRegisteredTheKeyIDIsNot() throws {
        try write("luminatectl.yaml", sample)
        let c = try load()
        XCTAssertEqual(try c.s3SecretAccessKeyValue(environment: [:]), "s3-file-secret-8265")
        XCTAssertEqual(Redactor.redact("x s3-file-secret-8265 y"), "x <redacted> y")
        XCTAssertEqual(try c.s3AccessKeyIDValue(environment: ["BACKUP_S3_ACCESS_KEY_ID": "AKIAVISIBLE42"]), "AKIAVISIBLE42")
        XCTAssertEqual(Redactor.redact("key AKIAVISIBLE42"), "key AKIAVISIBLE42")
        XCTAssertThrowsError(try c.s3AccessKeyIDValue(environment: [:])) { error in
            XCTAssertEqual("\(error)", "the S3 access key id is to come from env BACKUP_S3_ACCESS_KEY_ID, which is not set")
            XCTAssertEqual((error as? ValidationError)?.hint,
                           "export BACKUP_S3_ACCESS_KEY_ID or change backup.store.s3.accessKeyId in \(directory!)/luminatectl.yaml")
        }
    }

    func testConnectionsResolveTheStoreForTheS3Client() throws {
        try write("luminatectl.yaml", sample)
        let environment = ["BACKUP_S3_ACCESS_KEY_ID": "AKIAFORCLIENT"]
        let context = Context.fake(environment: environment, workingDirectory: directory)
        let connections = Connections(configuration: try ConfigurationLoader(context: context).load(GlobalOptions()), context: context)
        let target = try connections.s3Store()
        XCTAssertEqual(target, S3StoreTarget(
            endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", bucket: "luminate-backups", prefix: "clickhouse/",
            accessKeyID: "AKIAFORCLIENT", secretAccessKey: "s3-file-secret-8265", secretSource: "from file \(secretFile!)"))
        XCTAssertEqual("\(target)", "s3://luminate-backups/clickhouse/ at https://s3.eu-west-1.amazonaws.com (eu-west-1)")
        var dumped = ""
        dump(target, to: &dumped)
        XCTAssertFalse(dumped.contains("s3-file-secret-8265"), dumped)
        XCTAssertEqual(try connections.pushgateway().baseURL, "http://pg.staging:9091")

        let bare = Context.fake(workingDirectory: directory + "/nowhere")
        let none = Connections(configuration: try ConfigurationLoader(context: bare).load(GlobalOptions()), context: bare)
        XCTAssertThrowsError(try none.backupStore()) {
            XCTAssertEqual("\($0)", "no backup store is configured for environment 'default'")
        }
        XCTAssertThrowsError(try none.pushgateway()) {
            XCTAssertEqual(($0 as? ValidationError)?.hint, "set LUMINATECTL_PUSHGATEWAY_URL or pushgateway.url in the configuration")
        }
    }

    // MARK: - config view

    func testConfigViewShowsTheNewSettingsWithSourcesAndNoSecret() throws {
        try write("luminatectl.yaml", sample)
        let (code, output) = run(["config", "view"], environment: ["BACKUP_S3_ACCESS_KEY_ID": "AKIASHOWN"])
        XCTAssertEqual(code, .success, output.stderr)
        let file = "\(directory!)/luminatectl.yaml"
        // KEY  VALUE  SOURCE, columns separated by two or more blanks.
        let rows = output.stdout.split(separator: "\n").map { line in
            line.replacingOccurrences(of: " {2,}", with: "\t", options: .regularExpression).split(separator: "\t").map(String.init)
        }
        func row(_ key: String) -> [String]? { rows.first { $0.first == key } }
        let expected = [
            ["clickhouse.cluster", "(none: single server)", "file \(file):5:16"],
            ["pushgateway.url", "http://pg.staging:9091", "file \(file):6:24"],
            ["backup.store.s3.endpoint", "https://s3.eu-west-1.amazonaws.com", "file \(file):10:21"],
            ["backup.store.s3.region", "eu-west-1", "file \(file):11:19"],
            ["backup.store.s3.bucket", "luminate-backups", "file \(file):12:19"],
            ["backup.store.s3.prefix", "clickhouse/", "file \(file):13:19"],
            ["backup.store.s3.accessKeyId", "AKIASHOWN (from env BACKUP_S3_ACCESS_KEY_ID)", "file \(file):14:30"],
            ["backup.store.s3.secretAccessKey", "from file \(secretFile!) (readable)", "file \(file):15:35"],
            ["backup.disk", "s3_backups", "file \(file):16:13"],
            ["backup.engine", "native", "file \(file):17:15"],
            ["backup.tables", "luminate.metrics_local, events", "file \(file):18:15"],
        ]
        for want in expected {
            XCTAssertEqual(row(want[0]), want)
        }
        XCTAssertFalse(output.stdout.contains("s3-file-secret-8265"))

        let (jsonCode, jsonOutput) = run(["config", "view", "-o", "json"])
        XCTAssertEqual(jsonCode, .success, jsonOutput.stderr)
        let settings = try XCTUnwrap(try JSONValue.parse(Data(jsonOutput.stdout.utf8))["settings"])
        XCTAssertEqual(settings["backup.store.s3.accessKeyId"]?["value"], .string("from env BACKUP_S3_ACCESS_KEY_ID (not set)"))
        XCTAssertEqual(settings["backup.store.s3.secretAccessKey"]?["source"], .string("file \(file):15:35"))
        XCTAssertEqual(settings["backup.engine"]?["value"], "native")
        XCTAssertEqual(settings["clickhouse.cluster"]?["value"], "(none: single server)")
        XCTAssertFalse(jsonOutput.stdout.contains("s3-file-secret-8265"))
    }
}

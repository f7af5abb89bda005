import Foundation
import XCTest
@testable import OpsKit

/// luminatectl against one environment of the sandbox's generated configuration file, as an
/// operator runs it there: in-process (with a clock of the test's choosing) or as the built
/// binary. Each harness has a store folder of its own (a fresh `diskPath` and S3 prefix), its own
/// journal and lock file, so tests never see each other's backups.
final class BackupHarness {
    let environmentName: String
    let environment: [String: String]
    let scratch: String
    let folder: String

    /// The per-environment endpoint variables `scripts/sandbox env --tests` exports: they would
    /// override the file and point every environment at the 18.16 cluster.
    static let overriding = ["LUMINATECTL_ENV", "LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_CLICKHOUSE_USER",
                             "LUMINATECTL_CLICKHOUSE_PASSWORD", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE",
                             "LUMINATECTL_CLICKHOUSE_NATIVE", "LUMINATECTL_CLICKHOUSE_CLUSTER", "LUMINATECTL_CLICKHOUSE_DATABASE",
                             "LUMINATECTL_PROMETHEUS_URL", "LUMINATECTL_CONTEXT", "LUMINATECTL_NAMESPACE", "LUMINATECTL_JOURNAL",
                             "LUMINATECTL_S3_PREFIX", "LUMINATECTL_BACKUP_DISK_PATH", "LUMINATECTL_BACKUP_PATH"]

    /// `storePrefix` makes the store's S3 prefix from the harness's folder; with `diskPath` the
    /// native engine writes to that folder of the ClickHouse disk too.
    init(environment name: String, storePrefix: (String) -> String, diskPath: Bool) throws {
        let process = try Sandbox.require(["LUMINATECTL_SANDBOX_CONFIG", "LUMINATECTL_S3_ENDPOINT", "KUBECONFIG"])
        environmentName = name
        folder = "t-\(UUID().uuidString.prefix(8).lowercased())/"
        scratch = NSTemporaryDirectory() + "luminatectl-backup-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch + "/state", withIntermediateDirectories: true)
        var variables = process.filter { !Self.overriding.contains($0.key) }
        variables["LUMINATECTL_CONFIG"] = process["LUMINATECTL_SANDBOX_CONFIG"]
        variables["LUMINATECTL_ENV"] = name
        variables["LUMINATECTL_JOURNAL"] = scratch + "/journal.jsonl"
        variables["XDG_STATE_HOME"] = scratch + "/state"
        variables["LUMINATECTL_S3_PREFIX"] = storePrefix(folder)
        if diskPath { variables["LUMINATECTL_BACKUP_DISK_PATH"] = folder }
        environment = variables
    }

    /// The 26.x node, native engine: its `backups` disk is the bucket's `clickhouse/` folder.
    static func modern() throws -> BackupHarness {
        try BackupHarness(environment: "local-modern", storePrefix: { "clickhouse/\($0)" }, diskPath: true)
    }

    /// The 18.16 cluster, freeze engine: luminatectl uploads to the store itself.
    static func cluster() throws -> BackupHarness {
        try BackupHarness(environment: "local", storePrefix: { "cluster/\($0)" }, diskPath: false)
    }

    deinit {
        // The sandbox's S3 keeps objects in memory: a test's backups go with the test.
        if let store = try? store(), let objects = try? store.list(prefix: "", delimiter: nil).objects {
            for object in objects { try? store.delete(object.key) }
        }
        try? FileManager.default.removeItem(atPath: scratch)
    }

    var journalPath: String { environment["LUMINATECTL_JOURNAL"]! }

    /// In-process, with the live seams and `clock`.
    func run(_ argv: [String], clock: any TimeSource = SystemClock(), environment extra: [String: String] = [:],
             interrupt: Interrupt = Interrupt()) -> (code: ExitCode, out: String, err: String) {
        Self.run(argv, environment: environment.merging(extra) { _, new in new }, workingDirectory: scratch, clock: clock, interrupt: interrupt)
    }

    /// In-process with exactly `environment`, for tests with an environment of their own.
    static func run(_ argv: [String], environment: [String: String], workingDirectory: String, clock: any TimeSource = SystemClock(),
                    interrupt: Interrupt = Interrupt()) -> (code: ExitCode, out: String, err: String) {
        let output = Captured()
        let context = Context(
            processes: PosixProcessRunner(), http: CurlTransport(), clock: clock, console: output.console,
            environment: environment, workingDirectory: workingDirectory, interrupt: interrupt,
            makeHTTP: { ca, insecure in CurlTransport(caFile: ca, insecureSkipTLSVerify: insecure) },
            makeOperations: { configuration, context in
                OperationServices(journal: try LiveOperations.journal(configuration: configuration, context: context),
                                  lock: try LiveOperations.lock(configuration: configuration, context: context))
            })
        let code = Luminatectl.run(argv, context: context)
        return (code, output.stdout, output.stderr)
    }

    /// The built binary, in a process of its own.
    func binary(_ argv: [String], environment extra: [String: String?] = [:], timeout: Double = 120) throws -> ProcessResult {
        var variables: [String: String?] = [:]
        for name in ProcessInfo.processInfo.environment.keys { variables[name] = .some(nil) }
        for (name, value) in environment { variables[name] = value }
        for (name, value) in extra { variables[name] = value }
        return try PosixProcessRunner().run(ProcessRequest(Self.binaryPath, argv, environment: variables, timeout: timeout),
                                            interrupt: Interrupt())
    }

    static var binaryPath: String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent("luminatectl").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// The harness's environment as luminatectl's setup sees it.
    private func setup() throws -> BackupSetup {
        let context = Context(processes: PosixProcessRunner(), http: CurlTransport(), clock: SystemClock(),
                              console: Captured().console, environment: environment, workingDirectory: scratch)
        return BackupSetup(configuration: try ConfigurationLoader(context: context).load(GlobalOptions()), context: context)
    }

    /// The store of this harness, as luminatectl sees it.
    func store() throws -> any BackupStore { try setup().store() }

    /// The environment's ClickHouse over HTTP.
    func clickhouse() throws -> ClickHouseHTTP { try setup().connections.clickhouse() }

    /// Every secret the sandbox hands luminatectl: none may appear in any output.
    var secrets: [String] {
        ["LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE", "LUMINATECTL_MODERN_CLICKHOUSE_PASSWORD_FILE", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]
            .compactMap { ProcessInfo.processInfo.environment[$0] }
            .compactMap { try? String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { $0.count >= 8 }
    }

    func journal() throws -> String { (try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? "" }
}

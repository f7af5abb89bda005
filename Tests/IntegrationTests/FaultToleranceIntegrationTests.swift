import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Faults against the real local environment, through a mutating test command that runs with the
/// live journal (a JSON Lines file) and the live lock (lock file + Lease through kubectl and the
/// API emulator). For each fault: a clear error, a non-zero exit, a journal record where one can
/// be written, and no lock left behind.
final class FaultToleranceIntegrationTests: XCTestCase {
    /// A plan with one step that does whatever the test needs against real servers.
    struct ProbePlan: OperationPlan {
        let action: @Sendable (OperationSession) throws -> Void
        var spec: OperationSpec { OperationSpec(kind: "fault-test", targets: ["test/target"]) }
        func describe() -> String { "  probe\n" }
        func describeJSON() -> JSONValue { ["probe"] }
        func execute(in session: OperationSession) throws -> ExitCode {
            try session.step("probe") { try action(session) }
            return .success
        }
    }

    var directory: URL!
    var journalPath: String { directory.appendingPathComponent("state/journal.jsonl").path }
    var namespace = ""

    override func setUpWithError() throws {
        let environment = try Sandbox.require(["KUBECONFIG", "LUMINATECTL_KUBE_EMULATOR_URL", "LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_PROMETHEUS_URL"])
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("luminatectl-faults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        namespace = environment["LUMINATECTL_NAMESPACE"] ?? "luminate"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `luminatectl fault-test` with live seams; `environment` overrides the process's.
    func run(_ action: @escaping @Sendable (OperationSession) throws -> Void, environment overrides: [String: String?] = [:],
             interrupt: Interrupt = Interrupt()) -> (ExitCode, CapturedOutput) {
        var environment = ProcessInfo.processInfo.environment
        environment["LUMINATECTL_JOURNAL"] = journalPath
        environment["XDG_STATE_HOME"] = directory.appendingPathComponent("state").path
        for (key, value) in overrides { environment[key] = value }
        let output = CapturedOutput()
        let processes = PosixProcessRunner(baseEnvironment: environment)
        let context = Context(
            processes: processes, http: CurlTransport(), clock: SystemClock(), console: output.console(),
            environment: environment, workingDirectory: directory.path, interrupt: interrupt,
            makeOperations: { configuration, context in
                OperationServices(
                    journal: try LiveOperations.journal(configuration: configuration, context: context),
                    lock: try LiveOperations.lock(configuration: configuration, context: context))
            })
        let table = Command("luminatectl", abstract: "faults", subcommands: [
            Command("fault-test", abstract: "Run one probe under the lock and the journal.", plan: { _, _, _ in ProbePlan(action: action) }),
        ])
        return (Luminatectl.run(["fault-test"], context: context, root: table), output)
    }

    /// The journal's records, parsed.
    func journal() throws -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: journalPath) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }

    /// Asserts the Lease is free (absent or without a holder) and the lock file is not held.
    func assertNoLockLeft(file: StaticString = #filePath, line: UInt = #line) throws {
        let kubectl = try PosixProcessRunner().run(
            ProcessRequest("kubectl", ["--namespace=\(namespace)", "get", "lease", "luminatectl", "-o", "json", "--ignore-not-found"]),
            interrupt: Interrupt())
        XCTAssertEqual(kubectl.status, .exited(0), kubectl.stderrText, file: file, line: line)
        if !kubectl.stdout.isEmpty {
            let lease = try JSONValue.parse(kubectl.stdout)
            let holder = lease[path: "spec.holderIdentity"]?.string ?? ""
            XCTAssertEqual(holder, "", "the Lease is still held: \(lease.rendered())", file: file, line: line)
        }
        let lockFile = try FileLock.path(environment: "local", processEnvironment: ["XDG_STATE_HOME": directory.appendingPathComponent("state").path])
        let probe = FileLock(path: lockFile, context: .fake())
        let holder = LockHolder(actor: Actor(user: "test", host: "probe"), operationID: "op-probe", operation: "probe", environment: "local", since: Date())
        let held = try probe.acquire(holder, wait: 0, interrupt: Interrupt())
        try held.release()
    }

    func assertJournaled(_ event: String, messageContains text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let records = try journal()
        let last = try XCTUnwrap(records.last, "no journal record", file: file, line: line)
        XCTAssertEqual(last["event"]?.string, event, last.rendered(), file: file, line: line)
        XCTAssertTrue(last["message"]?.string?.contains(text) ?? false, "journal message: \(last.rendered())", file: file, line: line)
    }

    // MARK: faults

    func testClickHouseKilledMidQuery() throws {
        let server = try ThrowawayClickHouse.start(in: directory)
        defer { server.stop() }
        let (code, output) = run({ session in
            let endpoint = ClickHouseEndpoint(url: server.url, timeout: 60)
            let client = ClickHouseHTTP(endpoint: endpoint, transport: session.context.http, interrupt: session.context.interrupt)
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.7) { server.kill() }
            _ = try client.raw("SELECT count() FROM system.numbers WHERE number % 1000000007 = 1000000006")
        }, environment: ["LUMINATECTL_ENV": "local"])
        XCTAssertEqual(code, .failure, output.stderr)
        XCTAssertTrue(output.stderr.contains("127.0.0.1:\(server.port)"), "the error names the host: \(output.stderr)")
        try assertJournaled("failed", messageContains: "127.0.0.1:\(server.port)")
        try assertNoLockLeft()
    }

    func testPrometheusDown() throws {
        let (code, output) = run({ session in
            let client = PrometheusClient(baseURL: "http://127.0.0.1:9", http: session.context.http, interrupt: session.context.interrupt)
            _ = try client.instant(query: "up", at: session.context.clock.now())
        })
        XCTAssertEqual(code, .failure)
        XCTAssertTrue(output.stderr.contains("127.0.0.1:9"), output.stderr)
        XCTAssertTrue(output.stderr.contains("hint:"), output.stderr)
        try assertJournaled("failed", messageContains: "127.0.0.1:9")
        try assertNoLockLeft()
    }

    func testKubectlMissing() throws {
        let (code, output) = run({ _ in XCTFail("the probe must not run without the lock") }, environment: ["PATH": "/nonexistent"])
        XCTAssertNotEqual(code, .success)
        XCTAssertTrue(output.stderr.contains("kubectl not found on PATH"), output.stderr)
        try assertJournaled("failed", messageContains: "kubectl not found")
        try assertNoLockLeft()
    }

    func testAPIServerAnswering500And409() throws {
        for status in [500, 409] {
            try injectFault(status: status, count: 10)
            defer { try? clearFaults() }
            let (code, output) = run({ _ in XCTFail("the probe must not run without the lock") })
            XCTAssertNotEqual(code, .success, "status \(status)")
            XCTAssertTrue(output.stderr.hasPrefix("Error: "), output.stderr)
            XCTAssertTrue(output.stderr.contains("hint:") || output.stderr.contains("lease"), output.stderr)
            try clearFaults()
            try assertNoLockLeft()
            XCTAssertEqual(try journal().last?["event"]?.string, "failed")
        }
    }

    func testServerThatAcceptsAndNeverAnswers() throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let (code, output) = run({ session in
            let endpoint = ClickHouseEndpoint(url: "http://127.0.0.1:\(silent.port)", connectTimeout: 1, timeout: 1)
            let client = ClickHouseHTTP(endpoint: endpoint, transport: session.context.http, interrupt: session.context.interrupt)
            _ = try client.raw("SELECT 1")
        })
        XCTAssertEqual(code, .failure)
        XCTAssertTrue(output.stderr.contains("127.0.0.1:\(silent.port)"), output.stderr)
        try assertJournaled("failed", messageContains: "127.0.0.1:\(silent.port)")
        try assertNoLockLeft()
    }

    func testUnwritableJournalStopsBeforeAnythingRuns() throws {
        // Root ignores directory permissions, so the journal's directory is a regular file: no
        // user can create anything under it.
        let blocker = directory.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: blocker)
        let (code, output) = run({ _ in XCTFail("nothing may run without a journal") },
                                 environment: ["LUMINATECTL_JOURNAL": blocker.appendingPathComponent("journal.jsonl").path])
        XCTAssertNotEqual(code, .success)
        XCTAssertTrue(output.stderr.contains(blocker.path), "the error names the path: \(output.stderr)")
        try assertNoLockLeft()
    }

    func testCtrlCDuringAStepIsJournaledAndReleasesTheLock() throws {
        let interrupt = Interrupt()
        let (code, _) = run({ session in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { interrupt.raise(SIGINT) }
            _ = try session.context.processes.run(ProcessRequest("sleep", ["30"]), interrupt: session.context.interrupt)
        }, interrupt: interrupt)
        XCTAssertEqual(code, .interrupted)
        XCTAssertEqual(try journal().last?["event"]?.string, "interrupted")
        try assertNoLockLeft()
    }

    // MARK: helpers

    func injectFault(status: Int, count: Int) throws {
        let url = ProcessInfo.processInfo.environment["LUMINATECTL_KUBE_EMULATOR_URL"]!
        let body = Data(#"{"pathPrefix": "/apis/coordination.k8s.io/v1/namespaces/\#(namespace)/leases", "status": \#(status), "count": \#(count)}"#.utf8)
        let response = try CurlTransport().send(HTTPRequest(method: "POST", url: url + "/_emulator/fail", headers: [("Content-Type", "application/json")], body: body), interrupt: Interrupt())
        XCTAssertEqual(response.status / 100, 2, response.text)
    }

    func clearFaults() throws {
        let url = ProcessInfo.processInfo.environment["LUMINATECTL_KUBE_EMULATOR_URL"]!
        _ = try CurlTransport().send(HTTPRequest(method: "DELETE", url: url + "/_emulator/fail"), interrupt: Interrupt())
    }
}

/// A single ClickHouse server of its own, for a test that kills it.
struct ThrowawayClickHouse {
    let pid: pid_t
    let port: Int
    /// The native (TCP) port.
    var tcpPort: Int = 0
    var url: String { "http://127.0.0.1:\(port)" }

    /// `extraConfig` goes inside `<yandex>` (a `<zookeeper>` section, `<macros>`).
    static func start(in directory: URL, extraConfig: String = "") throws -> ThrowawayClickHouse {
        let root = directory.appendingPathComponent("clickhouse")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let http = try PrivateMoto.freePort(), tcp = try PrivateMoto.freePort()
        let config = root.appendingPathComponent("config.xml")
        try """
            <yandex>
              <listen_host>127.0.0.1</listen_host>
              <http_port>\(http)</http_port><tcp_port>\(tcp)</tcp_port>
              <path>\(root.path)/data/</path><tmp_path>\(root.path)/tmp/</tmp_path>
              <logger><level>warning</level><log>\(root.path)/server.log</log><errorlog>\(root.path)/error.log</errorlog></logger>
              <mark_cache_size>5368709</mark_cache_size>
              <users_config>\(config.path)</users_config>
              <profiles><default/></profiles><quotas><default/></quotas>
              <users><default><password/><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
              \(extraConfig)
            </yandex>
            """.write(to: config, atomically: true, encoding: .utf8)
        var pid: pid_t = 0
        let argv = ["clickhouse-server", "--config-file=\(config.path)"]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let path = FileManager.default.isExecutableFile(atPath: "/usr/bin/clickhouse-server") ? "/usr/bin/clickhouse-server" : "/usr/sbin/clickhouse-server"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawn(&pid, path, &actions, nil, &cArgs, environ) == 0 else {
            throw ValidationError("could not start clickhouse-server at \(path)")
        }
        let server = ThrowawayClickHouse(pid: pid, port: http, tcpPort: tcp)
        // 5 s is plenty on an idle machine; a restart over a killed server's data on a busy
        // two-core CI machine has taken longer.
        for _ in 0..<600 {
            if let response = try? CurlTransport().send(HTTPRequest(url: server.url + "/ping", timeout: 1), interrupt: Interrupt()),
               response.status == 200 { return server }
            usleep(50_000)
        }
        server.stop()
        let log = (try? String(contentsOf: root.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
        throw ValidationError("clickhouse-server did not answer on 127.0.0.1:\(http) within 30 s; error.log ends: \(log.suffix(1500))")
    }

    func kill() { _ = Glibc.kill(pid, SIGKILL) }

    func stop() {
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}

/// A TCP port that accepts connections and never answers.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw ValidationError("cannot listen on 127.0.0.1") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

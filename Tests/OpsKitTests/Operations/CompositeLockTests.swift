import XCTest
import Synchronization
@testable import OpsKit
import OpsKitTestSupport

/// The file-then-Lease composite, and which locks an environment's configuration gives it.
final class CompositeLockTests: XCTestCase {
    let output = CapturedOutput()
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "luminatectl-composite-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let holder = LockHolder(
        actor: Actor(user: "alice", host: "build-7"), operationID: "op-1", operation: "deploy",
        environment: "staging", since: LockTime.parse("2026-11-29T02:00:00Z")!)

    /// A lock that writes what happens to it into a shared log; taking it costs `takes` seconds.
    struct RecordingLock: OperationLock {
        let name: String
        let log: Log
        var clock: ManualClock
        var takes: Double = 0
        var refuse = false

        final class Log: Sendable {
            let entries = Mutex<[String]>([])
            func add(_ entry: String) { entries.withLock { $0.append(entry) } }
            var all: [String] { entries.withLock { $0 } }
        }

        struct Held: HeldLock {
            let name: String
            let log: Log
            func release() throws { log.add("release \(name)") }
        }

        func acquire(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> any HeldLock {
            log.add("acquire \(name) waiting up to \(Int(wait)) s")
            clock.advance(by: takes)
            if refuse { throw LockHeldError(holder: nil, lock: name, waited: wait) }
            return Held(name: name, log: log)
        }
    }

    func testTakesInOrderSharesTheWaitAndReleasesInReverse() throws {
        let log = RecordingLock.Log(), clock = ManualClock("2026-11-29T02:00:00Z")
        let lock = CompositeLock([
            RecordingLock(name: "file", log: log, clock: clock, takes: 3),
            RecordingLock(name: "lease", log: log, clock: clock),
        ], clock: clock)
        let held = try lock.acquire(Self.holder, wait: 10, interrupt: Interrupt())
        XCTAssertEqual(held.name, "file and lease")
        try held.release()
        XCTAssertEqual(log.all, ["acquire file waiting up to 10 s", "acquire lease waiting up to 7 s", "release lease", "release file"])
    }

    func testARefusedLeaseReleasesTheFileLockAgain() {
        let log = RecordingLock.Log(), clock = ManualClock("2026-11-29T02:00:00Z")
        let lock = CompositeLock([
            RecordingLock(name: "file", log: log, clock: clock),
            RecordingLock(name: "lease", log: log, clock: clock, refuse: true),
        ], clock: clock)
        XCTAssertThrowsError(try lock.acquire(Self.holder, wait: 0, interrupt: Interrupt())) { error in
            XCTAssertTrue(error is LockHeldError)
        }
        XCTAssertEqual(log.all, ["acquire file waiting up to 0 s", "acquire lease waiting up to 0 s", "release file"])
    }

    func testKeepingKeepsTheLeaseAndReleasesTheFile() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let context = Context(processes: api, http: FakeHTTPTransport(), clock: clock, console: output.console(), environment: [:], workingDirectory: "/")
        let file = FileLock(path: directory + "/locks/staging.lock", context: context)
        let lease = LeaseLock(kubectl: Kubectl(target: KubectlTarget(context: "test"), processes: api), namespace: "luminate",
                              context: context, renews: false)
        let held = try CompositeLock([file, lease], clock: clock).acquire(Self.holder, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(held.name, "lock file \(directory)/locks/staging.lock and Lease luminate/luminatectl")
        XCTAssertTrue(try file.inspect().held)
        try held.keep(for: 600, reason: "freeze")
        try held.release()
        XCTAssertFalse(try file.inspect().held)
        XCTAssertEqual(api.lease?.holdReason, "freeze")
        XCTAssertEqual(api.lease?.holderIdentity, "alice@build-7/op-1")
    }

    func testEnvironmentsWithoutKubernetesUseTheLockFileOnly() throws {
        let plain = try environmentLock(["XDG_STATE_HOME": directory])
        XCTAssertNil(plain.lease)
        XCTAssertTrue(plain.lock is FileLock)
        XCTAssertEqual(plain.file.path, directory + "/luminatectl/locks/default.lock")
        XCTAssertEqual(plain.kubernetes, "no Kubernetes context or kubeconfig is configured for environment 'default': the lock file alone guards it, which excludes operations on this machine only")

        let context = try environmentLock(["XDG_STATE_HOME": directory, "LUMINATECTL_CONTEXT": "prod", "LUMINATECTL_NAMESPACE": "metrics"])
        XCTAssertEqual(context.lease?.lockName, "Lease metrics/luminatectl")
        XCTAssertEqual(context.kubernetes, "Kubernetes context prod (env LUMINATECTL_CONTEXT)")
        XCTAssertTrue(context.lock is CompositeLock)

        XCTAssertEqual(try environmentLock(["XDG_STATE_HOME": directory, "KUBECONFIG": "/etc/kube/ops"]).kubernetes,
                       "kubeconfig /etc/kube/ops (env KUBECONFIG)")

        // kubectl's default kubeconfig counts: every other command would reach that cluster.
        try FileManager.default.createDirectory(atPath: directory + "/home/.kube", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/home/.kube/config", contents: Data())
        let home = try environmentLock(["HOME": directory + "/home"])
        XCTAssertEqual(home.kubernetes, "kubectl's default kubeconfig ~/.kube/config")
        XCTAssertEqual(home.file.path, directory + "/home/.local/state/luminatectl/locks/default.lock")

        // Inside a pod (the CronJobs): kubectl uses the service account.
        XCTAssertEqual(try environmentLock(["XDG_STATE_HOME": directory, "KUBERNETES_SERVICE_HOST": "10.96.0.1"]).kubernetes,
                       "the pod's service account (in cluster, KUBERNETES_SERVICE_HOST)")
    }

    private func environmentLock(_ environment: [String: String]) throws -> EnvironmentLock {
        let context = Context.fake(environment: environment)
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        return try EnvironmentLock(configuration: configuration, context: context)
    }
}

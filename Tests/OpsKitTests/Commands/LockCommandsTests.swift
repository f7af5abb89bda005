import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `lock status`, `lock hold` and `lock release` through `Luminatectl.run`, with the
/// environment's real lock (lock file in a temporary directory, Lease in `FakeLeaseAPI`), the
/// in-memory journal and a manual clock.
final class LockCommandsTests: XCTestCase {
    var directory = ""
    let api = FakeLeaseAPI()
    let clock = ManualClock("2026-11-29T02:00:00Z")
    let journal = InMemoryJournal()
    /// This machine's name: own holds are recognised by user and host.
    let host = Actor.current(environment: ["USER": "alice"]).host

    override func setUp() {
        directory = NSTemporaryDirectory() + "luminatectl-lockcmd-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    var filePath: String { directory + "/luminatectl/locks/default.lock" }

    /// Runs luminatectl as `user`; Kubernetes through LUMINATECTL_CONTEXT unless `kubernetes` is false.
    func run(_ argv: [String], user: String = "alice", kubernetes: Bool = true) -> (code: ExitCode, out: String, err: String) {
        let output = CapturedOutput()
        var environment = ["XDG_STATE_HOME": directory, "USER": user]
        if kubernetes { environment["LUMINATECTL_CONTEXT"] = "test" }
        var context = Context(
            processes: api, http: FakeHTTPTransport(), clock: clock, console: output.console(),
            environment: environment, workingDirectory: "/nonexistent-luminatectl-test-dir")
        let journal = self.journal
        context.makeOperations = { configuration, context in
            // The live lock, renewed by hand: a renewal thread would spin a manual clock.
            var lock = try EnvironmentLock(configuration: configuration, context: context)
            lock.lease?.renews = false
            return OperationServices(journal: journal, lock: lock.lock)
        }
        let code = Luminatectl.run(argv, context: context)
        return (code, output.stdout, output.stderr)
    }

    func putLease(_ holder: LockHolder, renewed: String) throws {
        var lease = try JSONValue.parse(LeaseRecord.newLease(
            name: "luminatectl", namespace: "luminate", holder: holder, durationSeconds: 60, now: holder.since))
        lease.setSpec("renewTime", .string(LockTime.micro(LockTime.parse(renewed)!)))
        try api.put(Data(lease.rendered().utf8))
    }

    static let bob = LockHolder(
        actor: Actor(user: "bob", host: "ops-1"), operationID: "op-0", operation: "restore",
        environment: "default", since: LockTime.parse("2026-11-29T01:30:00Z")!)

    // MARK: - status

    func testStatusWithoutKubernetesShowsTheLockFileOnly() {
        let result = run(["lock", "status"], kubernetes: false)
        XCTAssertEqual(result.code, .success, result.err)
        XCTAssertEqual(result.out, """
            Environment default: no Kubernetes context or kubeconfig is configured for environment 'default': the lock file alone guards it, which excludes operations on this machine only.

            Lock file \(filePath): free

            """)
        XCTAssertEqual(api.calls, [])
    }

    func testStatusShowsHolderRenewalAndExpiry() throws {
        try putLease(Self.bob, renewed: "2026-11-29T01:59:40Z")
        let result = run(["lock", "status"])
        XCTAssertEqual(result.code, .success, result.err)
        XCTAssertEqual(result.out, """
            Environment default: operations take the lock file, then the Lease (Kubernetes context test (env LUMINATECTL_CONTEXT)).

            Lease luminate/luminatectl: HELD
              by        bob@ops-1 (restore, operation op-0)
              since     2026-11-29T01:30:00Z (30 min ago)
              renewed   2026-11-29T01:59:40Z (20 s ago)
              expires   2026-11-29T02:00:40Z (in 40 s)
            Lock file \(filePath): free

            """)

        let json = try JSONValue.parse(Data(run(["lock", "status", "-o", "json"]).out.utf8))
        XCTAssertEqual(json["free"], false)
        XCTAssertEqual(json[path: "lease.state"], "held")
        XCTAssertEqual(json[path: "lease.holder.operation"], "restore")
        XCTAssertEqual(json[path: "lease.holder.actor"], "bob@ops-1")
        XCTAssertEqual(json[path: "lease.holderIdentity"], "bob@ops-1/op-0")
        XCTAssertEqual(json[path: "lease.expiresInSeconds"], 40)
        XCTAssertEqual(json[path: "file.state"], "free")

        clock.advance(by: 60)
        XCTAssertTrue(run(["lock", "status"]).out.contains("""
            Lease luminate/luminatectl: EXPIRED: its holder stopped renewing it; the next operation takes it over
              by        bob@ops-1 (restore, operation op-0)
            """))
    }

    func testStatusOfALeaseNeverTaken() {
        let result = run(["lock", "status"])
        XCTAssertTrue(result.out.contains("Lease luminate/luminatectl: free (never taken)\n"), result.out)
    }

    // MARK: - hold and release

    func testHoldFreezesOperationsUntilItsOwnerReleasesIt() throws {
        let hold = run(["lock", "hold", "--duration", "1h", "--reason", "ClickHouse upgrade"])
        XCTAssertEqual(hold.code, .success, hold.err)
        XCTAssertEqual(hold.out, """
            The operations lock (Lease luminate/luminatectl) is held until 2026-11-29T03:00:00Z (1h): ClickHouse upgrade
            Other operations wait or exit 75 until then. End it early with: luminatectl lock release

            """)
        XCTAssertEqual(journal.events.map(\.event), [.started, .step, .finished])
        XCTAssertEqual(journal.events.map(\.operation), ["lock.hold", "lock.hold", "lock.hold"])
        XCTAssertEqual(journal.events[1].step, "keep the lock until 2026-11-29T03:00:00Z")
        XCTAssertEqual(journal.events[0].reason, "ClickHouse upgrade")
        XCTAssertEqual(api.lease?.holdUntil, LockTime.parse("2026-11-29T03:00:00Z"))
        XCTAssertEqual(api.lease?.holder?.actor.user, "alice")
        XCTAssertFalse(try FileLock(path: filePath, context: .fake()).inspect().held, "the lock file ends with the process")

        clock.advance(by: 600)
        let operationID = try XCTUnwrap(api.lease?.holder?.operationID)
        let second = run(["lock", "hold", "--duration", "1h", "--reason", "other"], user: "bob")
        XCTAssertEqual(second.code, .lockHeld)
        XCTAssertEqual(second.err, """
            Error: the operations lock (Lease luminate/luminatectl) is held by alice@\(host) (lock.hold, operation \(operationID)) since 2026-11-29T02:00:00Z; maintenance hold until 2026-11-29T03:00:00Z: ClickHouse upgrade
            hint: wait for it with --wait-lock 30m, or see who holds it with 'luminatectl lock status'

            """)

        let notTheirs = run(["lock", "release"], user: "bob")
        XCTAssertEqual(notTheirs.code, .lockHeld)
        XCTAssertTrue(notTheirs.err.hasSuffix("""
            ; maintenance hold until 2026-11-29T03:00:00Z: ClickHouse upgrade; nothing was released
            hint: only its owner ends a maintenance hold; if the holder crashed or hangs, break it with: luminatectl lock release --force --reason '...'

            """), notTheirs.err)
        XCTAssertNotNil(api.lease?.holderIdentity)

        let count = journal.events.count
        let release = run(["lock", "release"])
        XCTAssertEqual(release.code, .success, release.err)
        XCTAssertEqual(release.out, "Released the operations lock (Lease luminate/luminatectl), held by alice@\(host) (lock.hold, operation \(operationID)) since 2026-11-29T02:00:00Z.\n")
        XCTAssertNil(api.lease?.holderIdentity)
        XCTAssertEqual(api.lease?.releasedBy, "alice@\(host)")
        let released = Array(journal.events[count...])
        XCTAssertEqual(released.map(\.event), [.started, .step, .step, .finished])
        XCTAssertEqual(released[0].evidence["lock"], "none: this operation works on the lock itself")
        XCTAssertEqual(released[1].evidence[path: "holder.operationID"], .string(operationID))

        XCTAssertEqual(run(["lock", "release"]).out, "The operations lock (Lease luminate/luminatectl) is free (nobody holds it): nothing to release.\n")
    }

    func testForceReleaseBreaksAnotherOperationsLockAndRecordsWhy() throws {
        try putLease(Self.bob, renewed: "2026-11-29T01:59:40Z")
        let result = run(["lock", "release", "--force", "--reason", "restore crashed, INC-881"])
        XCTAssertEqual(result.code, .success, result.err)
        XCTAssertEqual(result.out, """
            Released the operations lock (Lease luminate/luminatectl), held by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z.
            If that operation is still running, it notices within 20 s and stops before its next step.

            """)
        let lease = try XCTUnwrap(api.lease)
        XCTAssertNil(lease.holderIdentity)
        XCTAssertEqual(lease.lastHolder, "bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z")
        XCTAssertEqual(lease.releasedBy, "alice@\(host)")
        XCTAssertEqual(lease.releaseReason, "restore crashed, INC-881")
        XCTAssertEqual(journal.events.first?.reason, "restore crashed, INC-881")
        XCTAssertEqual(journal.events.last?.outcome, "success")

        XCTAssertTrue(run(["lock", "status"]).out.contains(
            "Lease luminate/luminatectl: free (last held by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z, released 2026-11-29T02:00:00Z by alice@\(host): restore crashed, INC-881)\n"))
    }

    func testUsageErrorsOfHoldAndRelease() {
        let force = run(["lock", "release", "--force"])
        XCTAssertEqual(force.code, .usage)
        XCTAssertEqual(force.err, """
            Error: --force needs --reason <text>: the journal records why a lock was broken
            Usage: luminatectl lock release [<options>]
              See 'luminatectl lock release --help' for more information.

            """)
        XCTAssertEqual(run(["lock", "hold", "--reason", "x"]).err.split(separator: "\n").first, "Error: Missing required option '--duration <duration>'")
        XCTAssertEqual(run(["lock", "hold", "--duration", "1h"]).err.split(separator: "\n").first,
                       "Error: Missing required option '--reason <text>': say why operations are frozen")
        XCTAssertEqual(run(["lock", "hold", "--duration", "45d", "--reason", "x"]).err, "Error: --duration must be between 1s and 30d, not '45d'\n")
        let local = run(["lock", "hold", "--duration", "1h", "--reason", "x"], kubernetes: false)
        XCTAssertEqual(local.code, .usage)
        XCTAssertEqual(local.err, """
            Error: lock hold needs the Kubernetes Lease, and environment 'default' has no Kubernetes context or kubeconfig
            hint: a lock file ends with the process holding it; configure kubernetes.context or --kubeconfig for this environment

            """)
        XCTAssertTrue(journal.events.isEmpty)
        XCTAssertEqual(api.calls, [])
    }

    func testDryRunOfHoldTakesNothing() {
        let result = run(["lock", "hold", "--duration", "2h", "--reason", "upgrade", "--dry-run"])
        XCTAssertEqual(result.code, .success, result.err)
        XCTAssertEqual(result.out, """
            Plan for lock.hold in environment default (dry run: nothing is changed):
              take the operations lock (Lease luminate/luminatectl), waiting as --wait-lock allows
              keep the Lease for 2h without renewal: upgrade
              until then every other operation waits (--wait-lock) or exits 75; 'luminatectl lock release' ends it early

            """)
        XCTAssertEqual(api.calls, [])
        XCTAssertTrue(journal.events.isEmpty)
    }

    func testReleaseWithoutKubernetesCannotBreakALiveLockFile() throws {
        let holder = LockHolder(actor: Actor(user: "carol", host: "ops-2"), operationID: "op-7", operation: "backup",
                                environment: "default", since: LockTime.parse("2026-11-29T01:55:00Z")!)
        let held = try FileLock(path: filePath, context: .fake()).take(holder, wait: 0, interrupt: Interrupt())
        defer { try? held.release() }
        let result = run(["lock", "release", "--force", "--reason", "stuck"], kubernetes: false)
        XCTAssertEqual(result.code, .lockHeld)
        XCTAssertEqual(result.err, """
            Error: the operations lock (lock file \(filePath)) is held by carol@ops-2 (backup, operation op-7) since 2026-11-29T01:55:00Z; process \(getpid()) on this machine; nothing was released
            hint: a lock file is released when its process ends; if that process is stuck, stop it: kill \(getpid())

            """)
    }
}

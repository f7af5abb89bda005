import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The Lease lock: exact kubectl calls through `FakeProcessRunner`, behaviour (renewal, loss,
/// contention) through `FakeLeaseAPI`, time through `ManualClock`.
final class LeaseLockTests: XCTestCase {
    let output = CapturedOutput()
    let flags = ["--context=test", "--namespace=luminate"]
    var getArgs: [String] { flags + ["get", "lease.coordination.k8s.io", "luminatectl", "-o", "json"] }
    var createArgs: [String] { flags + ["create", "-f", "-", "-o", "json"] }
    var replaceArgs: [String] { flags + ["replace", "-f", "-", "-o", "json"] }

    static func date(_ text: String) -> Date { LockTime.parse(text)! }

    static let alice = LockHolder(
        actor: Actor(user: "alice", host: "build-7"), operationID: "op-1", operation: "deploy",
        environment: "staging", since: date("2026-11-29T02:00:00Z"))
    static let bob = LockHolder(
        actor: Actor(user: "bob", host: "ops-1"), operationID: "op-0", operation: "restore",
        environment: "staging", since: date("2026-11-29T01:30:00Z"))

    func makeLock(_ processes: any ProcessRunning, clock: any TimeSource, renews: Bool = false, duration: Int = 60) -> LeaseLock {
        let context = Context(
            processes: processes, http: FakeHTTPTransport(), clock: clock, console: output.console(),
            environment: [:], workingDirectory: "/")
        let kubectl = Kubectl(target: KubectlTarget(context: "test"), processes: processes)
        return LeaseLock(kubectl: kubectl, namespace: "luminate", context: context, leaseDuration: duration, renews: renews)
    }

    /// A Lease as kubectl prints it: held by `holder` since `acquired`, renewed at `renewed`.
    static func served(_ holder: LockHolder, acquired: String, renewed: String? = nil, rv: String = "7") -> String {
        var lease = try! JSONValue.parse(LeaseRecord.newLease(
            name: "luminatectl", namespace: "luminate", holder: holder, durationSeconds: 60, now: date(acquired)))
        lease.setMeta("resourceVersion", .string(rv))
        lease.setMeta("uid", "0b1c")
        if let renewed { lease.setSpec("renewTime", .string(LockTime.micro(date(renewed)))) }
        return lease.rendered(pretty: true)
    }

    static let notFound = #"Error from server (NotFound): leases.coordination.k8s.io "luminatectl" not found"#

    // MARK: - Taking it

    func testCreatesTheLeaseWithHolderOperationAndTimes() throws {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs, exit: 1, stderr: Self.notFound)
        kubectl.expect("kubectl", createArgs, stdin: #"""
            {"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"luminatectl","namespace":"luminate","labels":{"app.kubernetes.io/managed-by":"luminatectl"},"annotations":{"luminatectl.io/operation":"deploy","luminatectl.io/operation-id":"op-1","luminatectl.io/actor":"alice@build-7","luminatectl.io/environment":"staging","luminatectl.io/since":"2026-11-29T02:00:00Z"}},"spec":{"holderIdentity":"alice@build-7/op-1","leaseDurationSeconds":60,"acquireTime":"2026-11-29T02:00:00.000000Z","renewTime":"2026-11-29T02:00:00.000000Z","leaseTransitions":0}}
            """#, stdout: Self.served(Self.alice, acquired: "2026-11-29T02:00:00Z", rv: "8"))
        let held = try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(held.name, "Lease luminate/luminatectl")
        XCTAssertEqual(held.record.resourceVersion, "8")
        XCTAssertNil(held.lostReason)
        XCTAssertEqual(kubectl.pending, 0)
        XCTAssertEqual(output.stderr, "")

        // Released with the version it was written at: holder cleared, who had it kept.
        kubectl.expect("kubectl", replaceArgs) { request in
            let lease = try JSONValue.parse(request.stdin!)
            XCTAssertEqual(lease[path: "metadata.resourceVersion"], "8")
            XCTAssertNil(lease[path: "spec.holderIdentity"])
            XCTAssertNil(lease[path: "spec.renewTime"])
            XCTAssertNil(lease[path: "metadata.annotations"]?["luminatectl.io/operation"])
            XCTAssertEqual(lease[path: "metadata.annotations"]?["luminatectl.io/last-holder"],
                           "alice@build-7 (deploy, operation op-1) since 2026-11-29T02:00:00Z")
            return ProcessResult(status: .exited(0), stdout: Data(lease.rendered().utf8))
        }
        try held.release()
        try held.release()
        XCTAssertEqual(kubectl.pending, 0, "release is idempotent: one write")
        XCTAssertEqual(kubectl.received.count, 3)
    }

    func testHeldLeaseRefusesAtOnceNamingHolderOperationAndSince() {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs, stdout: Self.served(Self.bob, acquired: "2026-11-29T01:30:00Z", renewed: "2026-11-29T01:59:50Z"))
        let error = lockError(LockHeldError.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(error?.description,
                       "the operations lock (Lease luminate/luminatectl) is held by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z")
        XCTAssertEqual(error?.holder, Self.bob)
        XCTAssertEqual(error?.exitCode, .lockHeld)
        XCTAssertEqual(kubectl.pending, 0)
    }

    func testWaitsWhileHeldThenTakesTheReleasedLease() throws {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        let held = Self.served(Self.bob, acquired: "2026-11-29T01:30:00Z", renewed: "2026-11-29T01:59:50Z")
        kubectl.expect("kubectl", getArgs, stdout: held)
        kubectl.expect("kubectl", getArgs, stdout: held)
        var free = try JSONValue.parse(Data(held.utf8))
        free.setSpec("holderIdentity", .null)
        kubectl.expect("kubectl", getArgs, stdout: free.rendered())
        kubectl.expect("kubectl", replaceArgs) { request in
            let lease = try JSONValue.parse(request.stdin!)
            XCTAssertEqual(lease[path: "metadata.resourceVersion"], "7", "taken with the version read")
            XCTAssertEqual(lease[path: "spec.holderIdentity"], "alice@build-7/op-1")
            XCTAssertEqual(lease[path: "spec.acquireTime"], "2026-11-29T02:00:04.000000Z")
            XCTAssertEqual(lease[path: "spec.leaseTransitions"], 1)
            return ProcessResult(status: .exited(0), stdout: Data(lease.rendered().utf8))
        }
        let lease = try makeLock(kubectl, clock: clock).take(Self.alice, wait: 30, interrupt: Interrupt())
        XCTAssertEqual(lease.record.holderIdentity, "alice@build-7/op-1")
        XCTAssertEqual(clock.now(), Self.date("2026-11-29T02:00:04Z"), "polled every 2 s")
        XCTAssertEqual(output.stderr, """
            Waiting for the operations lock (Lease luminate/luminatectl), held by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z; giving up in 30 s

            """)
    }

    func testWaitRunsOutThenNamesHolderAndHowLongItWaited() {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        for _ in 0..<4 {
            kubectl.expect("kubectl", getArgs, stdout: Self.served(Self.bob, acquired: "2026-11-29T01:30:00Z", renewed: "2026-11-29T01:59:50Z"))
        }
        let error = lockError(LockHeldError.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 5, interrupt: Interrupt()) }
        XCTAssertEqual(error?.description,
                       "the operations lock (Lease luminate/luminatectl) is held by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z; waited 5 s")
        XCTAssertEqual(kubectl.pending, 0, "looked at 0, 2, 4 and 5 s")
    }

    func testExpiredLeaseIsTakenOverWithAWarning() throws {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs, stdout: Self.served(Self.bob, acquired: "2026-11-29T01:30:00Z", renewed: "2026-11-29T01:58:59Z"))
        kubectl.expect("kubectl", replaceArgs) { request in
            let lease = try JSONValue.parse(request.stdin!)
            XCTAssertEqual(lease[path: "metadata.resourceVersion"], "7")
            XCTAssertEqual(lease[path: "spec.holderIdentity"], "alice@build-7/op-1")
            XCTAssertEqual(lease[path: "metadata.annotations"]?["luminatectl.io/operation"], "deploy")
            return ProcessResult(status: .exited(0), stdout: Data(lease.rendered().utf8))
        }
        _ = try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(output.stderr, """
            Warning: took over the operations lock (Lease luminate/luminatectl) from bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z: its lease expired at 2026-11-29T01:59:59Z without being renewed

            """)
    }

    func testCtrlCWhileWaitingStopsWithoutTakingAnything() {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z"), interrupt = Interrupt()
        let held = Self.served(Self.bob, acquired: "2026-11-29T01:30:00Z", renewed: "2026-11-29T01:59:50Z")
        kubectl.expect("kubectl", getArgs, stdout: held)
        kubectl.expect("kubectl", getArgs) { _ in
            interrupt.raise(SIGINT)  // Ctrl-C while this poll runs
            return ProcessResult(status: .exited(0), stdout: Data(held.utf8))
        }
        let error = lockError(LockWaitInterrupted.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 600, interrupt: interrupt) }
        XCTAssertEqual(error?.description,
                       "interrupted while waiting for the operations lock (Lease luminate/luminatectl), held by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z; nothing was done")
        XCTAssertEqual(error?.exitCode, .interrupted)
        XCTAssertEqual(kubectl.pending, 0)
        XCTAssertEqual(kubectl.received.count, 2, "no create or replace")
    }

    func testConflictOnCreateReadsAgain() throws {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs, exit: 1, stderr: Self.notFound)
        kubectl.expect("kubectl", createArgs, exit: 1, stderr: #"Error from server (AlreadyExists): error when creating "STDIN": leases.coordination.k8s.io "luminatectl" already exists"#)
        kubectl.expect("kubectl", getArgs, stdout: Self.served(Self.bob, acquired: "2026-11-29T02:00:00Z"))
        let error = lockError(LockHeldError.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(error?.holder?.actor.user, "bob", "the other writer won, and is named")
        XCTAssertEqual(kubectl.pending, 0)
    }

    func testConflictOnReplaceReadsAgainAndTakesIt() throws {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        let expired = Self.served(Self.bob, acquired: "2026-11-29T01:00:00Z", renewed: "2026-11-29T01:00:00Z")
        kubectl.expect("kubectl", getArgs, stdout: expired)
        kubectl.expect("kubectl", replaceArgs, exit: 1, stderr: #"Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on leases.coordination.k8s.io "luminatectl": the object has been modified; please apply your changes to the latest version and try again"#)
        kubectl.expect("kubectl", getArgs, stdout: expired.replacingOccurrences(of: #""resourceVersion": "7""#, with: #""resourceVersion": "9""#))
        kubectl.expect("kubectl", replaceArgs) { request in
            let lease = try JSONValue.parse(request.stdin!)
            XCTAssertEqual(lease[path: "metadata.resourceVersion"], "9")
            return ProcessResult(status: .exited(0), stdout: Data(lease.rendered().utf8))
        }
        let held = try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(held.record.holderIdentity, "alice@build-7/op-1")
        XCTAssertEqual(kubectl.pending, 0)
    }

    func testConflictsWithoutEndGiveUpWithAClearError() {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        api.fail("create", count: 10, stderr: #"Error from server (Conflict): error when creating "STDIN": injected fault (409 Conflict)"#)
        let error = lockError(LockUnavailableError.self) { try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(error?.description, """
            could not take the operations lock (Lease luminate/luminatectl): the Lease changed 5 times in a row while luminatectl tried to take it \
            (last: kubectl create in namespace luminate on context test: injected fault (409 Conflict))
            """)
        XCTAssertEqual(error?.exitCode, .failure)
        XCTAssertNil(api.lease, "nothing left behind")
    }

    func testServerErrorOnReadIsAClearError() {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs, exit: 1, stderr: "Error from server (InternalError): Internal error occurred: etcdserver: request timed out")
        let error = lockError(LockUnavailableError.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(error?.description, """
            could not read the operations lock (Lease luminate/luminatectl): kubectl get lease.coordination.k8s.io/luminatectl \
            in namespace luminate on context test: InternalError: Internal error occurred: etcdserver: request timed out
            """)
        XCTAssertEqual(error?.hint, "the API server failed; retry, and check the control plane's health if it persists")
        XCTAssertEqual(error?.exitCode, .failure)
    }

    func testServerErrorOnCreateChecksThatNoLockWasLeft() {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs, exit: 1, stderr: Self.notFound)
        kubectl.expect("kubectl", createArgs, exit: 1, stderr: #"Error from server (InternalError): error when creating "STDIN": injected fault (500 InternalError)"#)
        kubectl.expect("kubectl", getArgs, exit: 1, stderr: Self.notFound)
        let error = lockError(LockUnavailableError.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(error?.description, """
            could not take the operations lock (Lease luminate/luminatectl): kubectl create in namespace luminate on context test: \
            InternalError: injected fault (500 InternalError)
            """)
        XCTAssertEqual(kubectl.pending, 0, "looked whether the failed create had landed")
    }

    func testMissingKubectlIsAClearError() {
        let kubectl = FakeProcessRunner(), clock = ManualClock("2026-11-29T02:00:00Z")
        kubectl.expect("kubectl", getArgs) { _ in throw ProcessError.notFound(program: "kubectl", path: "/usr/bin:/bin") }
        let error = lockError(LockUnavailableError.self) { try makeLock(kubectl, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(error?.description, "could not read the operations lock (Lease luminate/luminatectl): kubectl not found on PATH")
        XCTAssertEqual(error?.hint, "install kubectl ≥ 1.28 or put it on PATH")
    }

    func testInterruptedCreateThatLandedIsClearedAgain() {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z"), interrupt = Interrupt()
        // kubectl killed by Ctrl-C after the server stored the Lease.
        api.afterWrite { verb in
            guard verb == "create" else { return }
            interrupt.raise(SIGINT)
            throw ProcessError.interrupted(commandLine: "kubectl create", signal: SIGINT)
        }
        let error = lockError(LockWaitInterrupted.self) { try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: interrupt) }
        XCTAssertEqual(error?.exitCode, .interrupted)
        XCTAssertEqual(api.calls, ["get", "create", "get", "replace"])
        XCTAssertNotNil(api.lease)
        XCTAssertNil(api.lease?.holderIdentity, "the Lease the interrupted create left is cleared")
    }

    // MARK: - Holding it

    func testRenewalWritesRenewTimeWithTheLastVersion() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let held = try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        let created = try XCTUnwrap(held.record.resourceVersion)
        clock.advance(by: 20)
        XCTAssertTrue(held.renew())
        XCTAssertEqual(api.lease?.renewTime, Self.date("2026-11-29T02:00:20Z"))
        XCTAssertEqual(api.lease?.acquireTime, Self.date("2026-11-29T02:00:00Z"))
        XCTAssertNotEqual(held.record.resourceVersion, created)
        // Someone labels the Lease meanwhile: the stale renewal re-reads, finds it ours, and adopts it.
        api.update { $0.setMeta("labels", ["team": "sre"]) }
        clock.advance(by: 20)
        XCTAssertTrue(held.renew())
        XCTAssertTrue(held.renew())
        XCTAssertEqual(api.lease?.renewTime, Self.date("2026-11-29T02:00:40Z"))
        XCTAssertNil(held.lostReason)
        XCTAssertEqual(output.stderr, "")
    }

    func testTakenOverLeaseIsLostLoudlyAndReleaseLeavesTheNewHolder() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let held = try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        clock.advance(by: 120)
        let other = try makeLock(api, clock: clock).take(Self.bob, wait: 0, interrupt: Interrupt())
        XCTAssertFalse(held.renew())
        XCTAssertEqual(held.lostReason, "taken over by bob@ops-1 (restore, operation op-0) since 2026-11-29T01:30:00Z")
        XCTAssertTrue(output.stderr.contains("Warning: LOST the operations lock (Lease luminate/luminatectl): taken over by bob@ops-1"), output.stderr)
        try held.release()
        XCTAssertEqual(api.lease?.holderIdentity, "bob@ops-1/op-0", "a lost lock is not released")
        try other.release()
        XCTAssertNil(api.lease?.holderIdentity)
    }

    func testFailedRenewalsWarnAndLoseTheLockOnceItExpired() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let held = try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        api.fail("replace", count: 3, stderr: "Error from server (ServiceUnavailable): the server is currently unable to handle the request")
        clock.advance(by: 20)
        XCTAssertTrue(held.renew())
        clock.advance(by: 20)
        XCTAssertTrue(held.renew())
        XCTAssertNil(held.lostReason)
        XCTAssertTrue(output.stderr.contains("Warning: could not renew the operations lock (Lease luminate/luminatectl), attempt 2; it expires at 2026-11-29T02:01:00Z unless a renewal succeeds"), output.stderr)
        clock.advance(by: 21)
        XCTAssertFalse(held.renew())
        XCTAssertTrue(held.lostReason?.hasPrefix("not renewed since 2026-11-29T02:00:00Z, 3 attempts failed") ?? false, held.lostReason ?? "")
    }

    func testBackgroundRenewalKeepsRenewingUntilReleased() throws {
        let api = FakeLeaseAPI()
        var lock = makeLock(api, clock: SystemClock(), renews: true, duration: 1)
        lock.renewInterval = 0.1
        let held = try lock.take(Self.alice, wait: 0, interrupt: Interrupt())
        let deadline = Date().addingTimeInterval(5)
        while api.calls.filter({ $0 == "replace" }).count < 3, Date() < deadline { usleep(20_000) }
        XCTAssertGreaterThanOrEqual(api.calls.filter { $0 == "replace" }.count, 3, "renewed every 0.1 s")
        try held.release()
        let calls = api.calls.count
        XCTAssertNil(api.lease?.holderIdentity)
        usleep(300_000)
        XCTAssertEqual(api.calls.count, calls, "no renewal after release")
        XCTAssertNil(held.lostReason)
    }

    func testReleaseAfterCtrlCStillClearsTheLease() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z"), interrupt = Interrupt()
        let held = try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: interrupt)
        interrupt.raise(SIGINT)
        try held.release()
        XCTAssertNil(api.lease?.holderIdentity)
    }

    func testTwoLocksContendAndTheSecondGetsItAfterRelease() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let first = try makeLock(api, clock: clock).take(Self.bob, wait: 0, interrupt: Interrupt())
        let refused = lockError(LockHeldError.self) { try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(refused?.holder, Self.bob)
        try first.release()
        let second = try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(api.lease?.holder, Self.alice)
        XCTAssertEqual(api.lease?.leaseTransitions, 1)
        try second.release()
    }

    func testKeepMakesAMaintenanceHoldThatReleaseLeaves() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let held = try makeLock(api, clock: clock).take(Self.alice, wait: 0, interrupt: Interrupt())
        try held.keep(for: 7200, reason: "ClickHouse upgrade")
        try held.release()
        let lease = try XCTUnwrap(api.lease)
        XCTAssertEqual(lease.holderIdentity, "alice@build-7/op-1")
        XCTAssertEqual(lease.leaseDurationSeconds, 7200)
        XCTAssertEqual(lease.holdUntil, Self.date("2026-11-29T04:00:00Z"))
        XCTAssertEqual(lease.holdReason, "ClickHouse upgrade")
        XCTAssertFalse(held.renew(), "a hold is not renewed")

        clock.advance(by: 3600)
        let refused = lockError(LockHeldError.self) { try makeLock(api, clock: clock).take(Self.bob, wait: 0, interrupt: Interrupt()) }
        XCTAssertEqual(refused?.description, """
            the operations lock (Lease luminate/luminatectl) is held by alice@build-7 (deploy, operation op-1) since 2026-11-29T02:00:00Z; \
            maintenance hold until 2026-11-29T04:00:00Z: ClickHouse upgrade
            """)
        clock.advance(by: 3601)
        XCTAssertNoThrow(try makeLock(api, clock: clock).take(Self.bob, wait: 0, interrupt: Interrupt()), "an expired hold is taken over")
        XCTAssertNil(api.lease?.holdUntil, "the new holder's Lease carries no hold")
    }

    func testSessionStopsBeforeTheNextStepOnceTheLockIsLost() throws {
        let api = FakeLeaseAPI(), clock = ManualClock("2026-11-29T02:00:00Z")
        let lock = makeLock(api, clock: clock)
        let held = try lock.take(Self.alice, wait: 0, interrupt: Interrupt())
        let journal = InMemoryJournal()
        let context = Context(processes: api, http: FakeHTTPTransport(), clock: clock, console: output.console(), environment: [:], workingDirectory: "/")
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        let template = JournalEvent(operationID: "op-1", event: .started, time: clock.now(), actor: Self.alice.actor, environment: "default",
                                    commandLine: "luminatectl test", operation: "test", targets: [])
        let session = OperationSession(id: "op-1", spec: OperationSpec(kind: "test", targets: []), context: context,
                                       configuration: configuration, template: template, journal: journal, lock: held)
        try session.step("first") {}
        api.update { $0.setSpec("holderIdentity", "bob@ops-1/op-0") }
        XCTAssertFalse(held.renew())
        XCTAssertThrowsError(try session.step("second") {}) { error in
            let reason = "taken over by bob@ops-1 (unknown, operation op-0) since 2026-11-29T02:00:00Z"
            XCTAssertEqual(error as? LockLostError, LockLostError(lock: "Lease luminate/luminatectl", reason: reason, step: "second"))
            XCTAssertEqual(String(describing: error), "the operations lock (Lease luminate/luminatectl) was lost (\(reason)); stopped before step 'second'")
        }
        XCTAssertEqual(session.completedSteps, ["first"])
    }

    // MARK: - The record

    func testLeaseTimesAndHoldersFromOtherTools() throws {
        XCTAssertEqual(LockTime.micro(Self.date("2026-11-29T01:30:00.25Z")), "2026-11-29T01:30:00.250000Z")
        XCTAssertEqual(LockTime.parse("2026-11-29T03:30:00.5+02:00"), Self.date("2026-11-29T01:30:00.5Z"))
        XCTAssertNil(LockTime.parse("yesterday"))

        // Written by something else: no annotations, an identity that is not ours.
        let foreign = LeaseRecord(KubeObject(["spec": ["holderIdentity": "controller-7f9c", "leaseDurationSeconds": 15,
                                                       "renewTime": "2026-11-29T01:59:50.000000Z"]]))
        XCTAssertNil(foreign.holder)
        XCTAssertEqual(foreign.detail, "holder identity controller-7f9c")
        XCTAssertEqual(foreign.state(at: Self.date("2026-11-29T02:00:00Z")), .held)
        XCTAssertEqual(foreign.state(at: Self.date("2026-11-29T02:00:06Z")), .expired)

        let timeless = LeaseRecord(KubeObject(["spec": ["holderIdentity": "carol@laptop/op-9"]]))
        XCTAssertEqual(timeless.holder?.actor, Actor(user: "carol", host: "laptop"))
        XCTAssertEqual(timeless.state(at: Self.date("2026-11-29T02:00:00Z")), .expired, "a holder that never wrote a time cannot prove it is alive")
        XCTAssertEqual(LeaseRecord(KubeObject(["spec": [:]])).state(at: .now), .free)
        XCTAssertEqual(Actor(parsing: "runner@ci-3 (github-actions: org/repo run 9)"), Actor(user: "runner", host: "ci-3", ci: "github-actions: org/repo run 9"))
    }

    // MARK: - Helpers

    private func lockError<E: Error>(_ expected: E.Type, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any) -> E? {
        do {
            _ = try body()
            XCTFail("expected \(E.self)", file: file, line: line)
        } catch let error as E {
            return error
        } catch {
            XCTFail("expected \(E.self), got \(type(of: error)): \(error)", file: file, line: line)
        }
        return nil
    }
}

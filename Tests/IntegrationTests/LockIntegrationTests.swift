import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The operations lock against the real kubectl and the sandbox's Kubernetes API emulator:
/// Leases contending, expiring and being taken over, the emulator's injected 500 and 409, the
/// runner with the live lock, and the built binary's `lock hold/status/release`.
///
/// Needs `KUBECONFIG`, `LUMINATECTL_KUBE_EMULATOR_URL` and `LUMINATECTL_NAMESPACE` from
/// `eval "$(scripts/sandbox env)"` (scripts/test sets them); fails, saying so, without them. Each
/// test works in a namespace of its own, and injects faults only under that namespace's path.
final class LockIntegrationTests: XCTestCase {
    var environment: [String: String] = [:]
    var emulatorURL = ""
    var namespace = ""
    var directory = ""
    var kubectl: Kubectl!
    let output = CapturedOutput()

    override func setUpWithError() throws {
        let process = try Sandbox.require(["KUBECONFIG", "LUMINATECTL_KUBE_EMULATOR_URL", "LUMINATECTL_NAMESPACE"])
        emulatorURL = process["LUMINATECTL_KUBE_EMULATOR_URL"]!
        namespace = "lock-" + String((0..<8).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        directory = NSTemporaryDirectory() + "luminatectl-lock-it-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        environment = process
        environment["LUMINATECTL_NAMESPACE"] = namespace
        environment["XDG_STATE_HOME"] = directory + "/state"
        environment["KUBECACHEDIR"] = process["KUBECACHEDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? directory + "/kube-cache"
        kubectl = Kubectl(
            target: KubectlTarget(
                context: process["LUMINATECTL_CONTEXT"].flatMap { $0.isEmpty ? nil : $0 }, namespace: namespace,
                kubeconfig: process["KUBECONFIG"], cacheDir: environment["KUBECACHEDIR"], requestTimeout: 20),
            processes: PosixProcessRunner(), processTimeout: 60)
        _ = try kubectl.apply(manifest: Data(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(namespace)"}}"#.utf8))
    }

    override func tearDownWithError() throws {
        if let kubectl, !namespace.isEmpty {
            _ = try? kubectl.inNamespace(nil).delete("namespace", namespace, ignoreNotFound: true, wait: false)
        }
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    // MARK: - Two Leases

    func testSecondLockIsRefusedNamingTheFirstThenGetsItAfterRelease() throws {
        let first = try leaseLock().take(holder("alice", "deploy"), wait: 0, interrupt: Interrupt())
        XCTAssertEqual(try holderIdentity(), LeaseRecord.identity(of: first.holder))
        XCTAssertThrowsError(try leaseLock().take(holder("bob", "restore"), wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error),
                           "the operations lock (Lease \(namespace)/luminatectl) is held by alice@it (deploy, operation \(first.holder.operationID)) since \(LockTime.iso(first.holder.since))")
            XCTAssertEqual((error as? LockHeldError)?.exitCode, .lockHeld)
        }
        try first.release()
        XCTAssertEqual(try holderIdentity(), "")

        let second = try leaseLock().take(holder("bob", "restore"), wait: 0, interrupt: Interrupt())
        let lease = try XCTUnwrap(try leaseLock().read())
        XCTAssertEqual(lease.holder?.operation, "restore")
        XCTAssertEqual(lease.leaseTransitions, 1)
        XCTAssertEqual(lease.lastHolder, nil, "a new holder's Lease carries no release notes")
        try second.release()
        XCTAssertEqual(try holderIdentity(), "")
    }

    func testWaitingOperationGetsTheLockWhenItIsReleased() throws {
        let first = try leaseLock().take(holder("alice", "backup"), wait: 0, interrupt: Interrupt())
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { try? first.release() }
        var waiting = leaseLock()
        waiting.pollInterval = 0.2
        let start = Date()
        let second = try waiting.take(holder("bob", "backup"), wait: 20, interrupt: Interrupt())
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.9)
        XCTAssertTrue(output.stderr.contains("Waiting for the operations lock (Lease \(namespace)/luminatectl), held by alice@it (backup"), output.stderr)
        try second.release()
    }

    func testRenewalKeepsAShortLeaseAndExpiryLetsTheNextOperationTakeItOver() throws {
        // Renewed every 2/3 s: a waiting operation never sees it expire.
        let renewing = try leaseLock(duration: 2, renews: true).take(holder("alice", "restore"), wait: 0, interrupt: Interrupt())
        var waiter = leaseLock(duration: 2)
        waiter.pollInterval = 0.5
        XCTAssertThrowsError(try waiter.take(holder("bob", "deploy"), wait: 3.5, interrupt: Interrupt())) { error in
            XCTAssertTrue(error is LockHeldError, "\(error)")
        }
        XCTAssertNil(renewing.lostReason)
        try renewing.release()

        // A holder that stops renewing (a crashed luminatectl) loses it two seconds later.
        let crashed = try leaseLock(duration: 2, renews: false).take(holder("carol", "restore"), wait: 0, interrupt: Interrupt())
        let start = Date()
        let takeover = try waiter.take(holder("bob", "deploy"), wait: 10, interrupt: Interrupt())
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 1.5)
        XCTAssertTrue(output.stderr.contains("Warning: took over the operations lock (Lease \(namespace)/luminatectl) from carol@it (restore, operation \(crashed.holder.operationID))"), output.stderr)
        XCTAssertFalse(crashed.renew(), "the old holder's renewal finds it lost")
        XCTAssertTrue(crashed.lostReason?.hasPrefix("taken over by bob@it (deploy") ?? false, crashed.lostReason ?? "nil")
        try crashed.release()
        XCTAssertEqual(try holderIdentity(), LeaseRecord.identity(of: takeover.holder), "and its release leaves the new holder's lock")
        try takeover.release()
    }

    // MARK: - Faults

    func testServerErrorsAreClearAndLeaveNoLock() throws {
        try injectFault(method: "POST", status: 500)
        XCTAssertThrowsError(try leaseLock().take(holder("alice", "deploy"), wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error), "could not take the operations lock (Lease \(namespace)/luminatectl): kubectl create in namespace \(namespace)\(onContext): InternalError: injected fault (500 InternalError)")
            XCTAssertEqual((error as? LockUnavailableError)?.hint, "the API server failed; retry, and check the control plane's health if it persists")
        }
        XCTAssertNil(try leaseLock().read(), "no Lease was left behind")

        try injectFault(method: "GET", status: 500)
        XCTAssertThrowsError(try leaseLock().take(holder("alice", "deploy"), wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error), "could not read the operations lock (Lease \(namespace)/luminatectl): kubectl get lease.coordination.k8s.io/luminatectl in namespace \(namespace)\(onContext): InternalError: injected fault (500 InternalError)")
        }
        XCTAssertNil(try leaseLock().read())

        // Renewals failing with 500 warn, and the release afterwards still works.
        let held = try leaseLock().take(holder("alice", "deploy"), wait: 0, interrupt: Interrupt())
        try injectFault(method: "PUT", status: 500)
        XCTAssertTrue(held.renew())
        XCTAssertTrue(output.stderr.contains("Warning: could not renew the operations lock (Lease \(namespace)/luminatectl), attempt 1"), output.stderr)
        try held.release()
        XCTAssertEqual(try holderIdentity(), "")
    }

    func testConflictsAreRetriedThenGiveUpClearly() throws {
        try injectFault(method: "POST", status: 409, count: 1)
        let held = try leaseLock().take(holder("alice", "deploy"), wait: 0, interrupt: Interrupt())
        try held.release()

        // As many conflicts as luminatectl tries: it gives up rather than spin.
        try injectFault(method: "PUT", status: 409, count: 5)
        XCTAssertThrowsError(try leaseLock().take(holder("bob", "deploy"), wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error), "could not take the operations lock (Lease \(namespace)/luminatectl): the Lease changed 5 times in a row while luminatectl tried to take it (last: kubectl replace in namespace \(namespace)\(onContext): injected fault (409 Conflict))")
        }
        XCTAssertEqual(try holderIdentity(), "", "nobody holds it")
    }

    func testMissingKubectlIsAClearError() throws {
        var lock = leaseLock()
        lock.kubectl.executable = "kubectl-\(UUID().uuidString.prefix(8))"
        XCTAssertThrowsError(try lock.take(holder("alice", "deploy"), wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error), "could not read the operations lock (Lease \(namespace)/luminatectl): \(lock.kubectl.executable) not found on PATH")
            XCTAssertEqual((error as? LockUnavailableError)?.hint, "install kubectl ≥ 1.28 or put it on PATH")
        }
    }

    // MARK: - The runner with the live lock

    func testRunnerWithTheLiveLockReleasesItOnSuccessFailureAndInterrupt() throws {
        let journal = InMemoryJournal()
        let success = runMutation(TestPlan(steps: ["a", "b"]), journal: journal)
        XCTAssertEqual(success.code, .success, success.err)
        XCTAssertEqual(journal.events.first?.evidence["lock"], .string("lock file \(directory)/state/luminatectl/locks/local.lock and Lease \(namespace)/luminatectl"))
        XCTAssertEqual(try holderIdentity(), "")
        XCTAssertEqual(try leaseLock().read()?.lastHolder?.hasPrefix("\(Actor.current(environment: environment).description) (test, operation op-"), true)

        let failure = runMutation(TestPlan(steps: ["a", "b"], failAt: "b"), journal: journal)
        XCTAssertEqual(failure.code, .usage)
        XCTAssertEqual(failure.err, "Error: step b broke\n")
        XCTAssertEqual(try holderIdentity(), "")

        let interrupt = Interrupt()
        let interrupted = runMutation(TestPlan(steps: ["a", "b"], interruptAt: "a", interrupt: interrupt), journal: journal, interrupt: interrupt)
        XCTAssertEqual(interrupted.code, .interrupted)
        XCTAssertEqual(try holderIdentity(), "", "released after Ctrl-C too")
        XCTAssertFalse(try EnvironmentLock(configuration: configuration(), context: liveContext()).file.inspect().held)
    }

    func testRunnerRefusesWith75NamingTheHolderAndCtrlCEndsTheWait() throws {
        let other = try leaseLock().take(holder("bob", "restore"), wait: 0, interrupt: Interrupt())
        defer { try? other.release() }
        let journal = InMemoryJournal()
        let refused = runMutation(TestPlan(steps: ["a"]), journal: journal)
        XCTAssertEqual(refused.code, .lockHeld)
        XCTAssertEqual(refused.err, """
            Error: the operations lock (Lease \(namespace)/luminatectl) is held by bob@it (restore, operation \(other.holder.operationID)) since \(LockTime.iso(other.holder.since))
            hint: wait for it with --wait-lock 30m, or see who holds it with 'luminatectl lock status'

            """)
        XCTAssertEqual(journal.events.map(\.outcome), ["refused"])

        let interrupt = Interrupt()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { interrupt.raise(SIGINT) }
        let start = Date()
        let waited = runMutation(TestPlan(steps: ["a"]), ["mutate", "--wait-lock", "5m"], journal: journal, interrupt: interrupt)
        XCTAssertEqual(waited.code, .interrupted)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "Ctrl-C ends the wait at once")
        XCTAssertTrue(waited.err.contains("Error: interrupted while waiting for the operations lock (Lease \(namespace)/luminatectl), held by bob@it"), waited.err)
        XCTAssertEqual(journal.events.last?.outcome, "interrupted")
        XCTAssertEqual(try holderIdentity(), LeaseRecord.identity(of: other.holder), "the holder keeps it; nothing of ours is left")
        XCTAssertFalse(try EnvironmentLock(configuration: configuration(), context: liveContext()).file.inspect().held)
    }

    // MARK: - The binary

    func testBinaryHoldStatusRefusalAndRelease() throws {
        let hold = try luminatectl(["lock", "hold", "--duration", "1m", "--reason", "integration test"])
        XCTAssertEqual(hold.status, .exited(0), hold.stdoutText + hold.stderrText)
        XCTAssertTrue(hold.stdoutText.hasPrefix("The operations lock (Lease \(namespace)/luminatectl) is held until "), hold.stdoutText)

        let status = try luminatectl(["lock", "status"])
        XCTAssertEqual(status.status, .exited(0), status.stderrText)
        XCTAssertTrue(status.stdoutText.contains("Lease \(namespace)/luminatectl: HELD\n"), status.stdoutText)
        XCTAssertTrue(status.stdoutText.contains("(lock.hold, operation op-"), status.stdoutText)
        XCTAssertTrue(status.stdoutText.contains(": integration test\n"), status.stdoutText)
        let json = try JSONValue.parse(try luminatectl(["lock", "status", "-o", "json"]).stdout)
        XCTAssertEqual(json[path: "lease.state"], "held")
        XCTAssertEqual(json[path: "lease.hold.reason"], "integration test")
        XCTAssertEqual(json[path: "lease.leaseDurationSeconds"], 60)

        let second = try luminatectl(["lock", "hold", "--duration", "1m", "--reason", "another"], environment: ["USER": "someone-else"])
        XCTAssertEqual(second.status, .exited(75), second.stderrText)
        XCTAssertTrue(second.stderrText.hasPrefix("Error: the operations lock (Lease \(namespace)/luminatectl) is held by "), second.stderrText)
        XCTAssertTrue(second.stderrText.contains("(lock.hold, operation op-"), second.stderrText)
        XCTAssertTrue(second.stderrText.contains("; maintenance hold until "), second.stderrText)

        let release = try luminatectl(["lock", "release"])
        XCTAssertEqual(release.status, .exited(0), release.stderrText)
        XCTAssertTrue(release.stdoutText.hasPrefix("Released the operations lock (Lease \(namespace)/luminatectl), held by "), release.stdoutText)
        XCTAssertEqual(try holderIdentity(), "")
        let free = try luminatectl(["lock", "status", "-o", "json"])
        XCTAssertEqual(try JSONValue.parse(free.stdout)["free"], true)
    }

    func testBinaryWithoutKubectlOrWithA500ExitsNonZeroAndLeavesNoLock() throws {
        let noKubectl = try luminatectl(["lock", "hold", "--duration", "1m", "--reason", "x"], environment: ["PATH": "/nonexistent"])
        XCTAssertEqual(noKubectl.status, .exited(1), noKubectl.stderrText)
        XCTAssertEqual(noKubectl.stderrText, """
            Error: could not read the operations lock (Lease \(namespace)/luminatectl): kubectl not found on PATH
            hint: install kubectl ≥ 1.28 or put it on PATH

            """)

        try injectFault(method: "POST", status: 500)
        let failed = try luminatectl(["lock", "hold", "--duration", "1m", "--reason", "x"])
        XCTAssertEqual(failed.status, .exited(1), failed.stderrText)
        XCTAssertTrue(failed.stderrText.hasPrefix("Error: could not take the operations lock (Lease \(namespace)/luminatectl): kubectl create"), failed.stderrText)
        XCTAssertNil(try leaseLock().read())
        XCTAssertFalse(try EnvironmentLock(configuration: configuration(), context: liveContext()).file.inspect().held)
    }

    func testBinaryCtrlCWhileWaitingExits130AndTakesNothing() throws {
        let other = try leaseLock().take(holder("bob", "restore"), wait: 0, interrupt: Interrupt())
        defer { try? other.release() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = ["lock", "hold", "--duration", "1m", "--reason", "x", "--wait-lock", "5m"]
        var environment = self.environment
        environment["NO_COLOR"] = "1"
        child.environment = environment
        let stderr = Pipe()
        child.standardError = stderr
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        // Ctrl-C once it is waiting (its first look takes a kubectl call or two).
        usleep(1_500_000)
        let start = Date()
        kill(child.processIdentifier, SIGINT)
        child.waitUntilExit()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "stops waiting at once")
        XCTAssertEqual(child.terminationStatus, 130, text)
        XCTAssertTrue(text.contains("Waiting for the operations lock (Lease \(namespace)/luminatectl), held by bob@it (restore"), text)
        XCTAssertTrue(text.contains("Error: interrupted while waiting for the operations lock (Lease \(namespace)/luminatectl), held by bob@it (restore"), text)
        XCTAssertEqual(try holderIdentity(), LeaseRecord.identity(of: other.holder))
        XCTAssertFalse(try EnvironmentLock(configuration: configuration(), context: liveContext()).file.inspect().held)
    }

    // MARK: - Helpers

    /// ` on context luminate-local` when the sandbox names a context.
    var onContext: String { kubectl.target.context.map { " on context \($0)" } ?? "" }

    func holder(_ user: String, _ operation: String) -> LockHolder {
        LockHolder(actor: Actor(user: user, host: "it"), operationID: OperationRunner.newID(at: Date()), operation: operation,
                   environment: "local", since: Date())
    }

    func liveContext(interrupt: Interrupt = Interrupt()) -> Context {
        Context(
            processes: PosixProcessRunner(), http: CurlTransport(), clock: SystemClock(), console: output.console(),
            environment: environment, workingDirectory: directory, interrupt: interrupt)
    }

    func configuration() throws -> Configuration {
        try ConfigurationLoader(context: liveContext()).load(GlobalOptions())
    }

    func leaseLock(duration: Int = 60, renews: Bool = false) -> LeaseLock {
        LeaseLock(kubectl: kubectl, namespace: namespace, context: liveContext(), leaseDuration: duration, renews: renews)
    }

    /// `spec.holderIdentity` as kubectl shows it; "" when nobody holds the Lease.
    func holderIdentity() throws -> String {
        try kubectl.get(LeaseLock.resource, "luminatectl")[path: "spec.holderIdentity"]?.string ?? ""
    }

    /// The next `count` requests of `method` to this namespace's Leases fail with `status`.
    func injectFault(method: String, status: Int, count: Int = 1) throws {
        let rule: JSONValue = [
            "method": .string(method), "pathPrefix": .string("/apis/coordination.k8s.io/v1/namespaces/\(namespace)/leases"),
            "status": .number(Double(status)), "count": .number(Double(count)),
        ]
        let response = try CurlTransport().send(
            HTTPRequest(method: "POST", url: emulatorURL + "/_emulator/fail", headers: [("Content-Type", "application/json")],
                        body: Data(rule.rendered().utf8), timeout: 10),
            interrupt: Interrupt())
        XCTAssertEqual(response.status, 200, response.text)
    }

    /// A mutating plan whose steps the test chooses.
    struct TestPlan: OperationPlan {
        var steps: [String]
        var failAt: String?
        var interruptAt: String?
        var interrupt: Interrupt?

        var spec: OperationSpec { OperationSpec(kind: "test", targets: ["thing/one"]) }
        func describe() -> String { steps.joined(separator: "\n") }
        func describeJSON() -> JSONValue { .array(steps.map { .string($0) }) }
        func execute(in session: OperationSession) throws -> ExitCode {
            for step in steps {
                try session.step(step) {
                    if step == interruptAt { interrupt?.raise(SIGINT) }
                    if step == failAt { throw ValidationError("step \(step) broke") }
                }
            }
            return .success
        }
    }

    /// Runs `mutate` through `Luminatectl.run` with the live lock of the environment and `journal`.
    func runMutation(_ plan: TestPlan, _ argv: [String] = ["mutate"], journal: InMemoryJournal, interrupt: Interrupt = Interrupt()) -> (code: ExitCode, err: String) {
        let captured = CapturedOutput()
        var context = liveContext(interrupt: interrupt)
        context.console = captured.console()
        context.makeOperations = { configuration, context in
            OperationServices(journal: journal, lock: try LiveOperations.lock(configuration: configuration, context: context))
        }
        let root = Command("luminatectl", abstract: "test", subcommands: [Command("mutate", abstract: "Change a thing.", plan: { _, _, _ in plan })])
        let code = Luminatectl.run(argv, context: context, root: root)
        return (code, captured.stderr)
    }

    /// The luminatectl binary built next to this test bundle.
    var binary: String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent("luminatectl").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    func luminatectl(_ arguments: [String], environment overrides: [String: String] = [:]) throws -> ProcessResult {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary), "luminatectl not built at \(binary)")
        var environment: [String: String?] = [
            "LUMINATECTL_NAMESPACE": namespace, "XDG_STATE_HOME": directory + "/state", "KUBECACHEDIR": self.environment["KUBECACHEDIR"],
        ]
        for (key, value) in overrides { environment[key] = value }
        return try PosixProcessRunner().run(ProcessRequest(binary, arguments, environment: environment, timeout: 60), interrupt: Interrupt())
    }
}

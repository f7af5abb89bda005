import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Runs real processes (`sh`, `cat`, `head`, `sleep`, `env`) through the live runner: the failure
/// modes that matter here (pipe deadlocks, orphaned grandchildren, lost signals) do not exist in fakes.
final class PosixProcessRunnerTests: XCTestCase {
    private let runner = PosixProcessRunner(terminationGrace: 0.5)
    private var scratch: String!

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "posix-runner-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func run(_ request: ProcessRequest, interrupt: Interrupt = Interrupt()) throws -> ProcessResult {
        try runner.run(request, interrupt: interrupt)
    }

    private func sh(_ script: String, timeout: Double? = 20) -> ProcessRequest {
        ProcessRequest("sh", ["-c", script], timeout: timeout)
    }

    // MARK: - Output and input

    func testSixteenKiBToStdoutThenStderrDoesNotDeadlock() throws {
        let result = try run(sh("head -c 16384 /dev/zero; head -c 16384 /dev/zero >&2"))
        XCTAssertEqual(result.status, .exited(0))
        XCTAssertEqual(result.stdout.count, 16384)
        XCTAssertEqual(result.stderr.count, 16384)
    }

    func testOneMiBToStdoutThenStderrDoesNotDeadlock() throws {
        let result = try run(sh("head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"))
        XCTAssertEqual(result.status, .exited(0))
        XCTAssertEqual(result.stdout.count, 1 << 20)
        XCTAssertEqual(result.stderr.count, 1 << 20)
    }

    func testStderrFirstThenStdoutDoesNotDeadlock() throws {
        let result = try run(sh("head -c 1048576 /dev/zero >&2; head -c 1048576 /dev/zero"))
        XCTAssertEqual(result.stdout.count, 1 << 20)
        XCTAssertEqual(result.stderr.count, 1 << 20)
    }

    func testFourMiBOfStdinRoundTripsThroughCat() throws {
        // cat writes back while we are still writing: only a loop serving both pipes survives this.
        var input = Data(count: 4 << 20)
        for i in 0..<input.count { input[i] = UInt8(truncatingIfNeeded: i &* 31 &+ i >> 11) }
        let result = try run(ProcessRequest("cat", stdin: input, timeout: 20))
        XCTAssertEqual(result.status, .exited(0))
        XCTAssertEqual(result.stdout.count, input.count)
        XCTAssertTrue(result.stdout == input, "cat did not echo the input byte for byte")
    }

    func testChildClosingStdinEarlyIsNotFatal() throws {
        // head exits after 10 bytes; the rest of our write meets EPIPE, which must not kill us.
        let result = try run(ProcessRequest("head", ["-c", "10"], stdin: Data(count: 4 << 20), timeout: 20))
        XCTAssertEqual(result.status, .exited(0))
        XCTAssertEqual(result.stdout.count, 10)
    }

    func testNoStdinReadsAsEmpty() throws {
        XCTAssertEqual(try run(ProcessRequest("cat", timeout: 5)).stdout, Data())
        XCTAssertEqual(try run(ProcessRequest("cat", stdin: Data(), timeout: 5)).stdout, Data())
    }

    func testOutputOverTheLimitIsAnError() {
        let request = ProcessRequest("sh", ["-c", "head -c 1048576 /dev/zero"], timeout: 20, outputLimit: 1000)
        XCTAssertThrowsError(try run(request)) { error in
            XCTAssertEqual(error as? ProcessError, .outputLimitExceeded(commandLine: request.commandLine, limit: 1000))
        }
    }

    func testEndlessStderrOverTheLimitStopsTheChild() {
        let start = Date()
        let request = ProcessRequest("sh", ["-c", "yes >&2"], timeout: 20, outputLimit: 100_000)
        XCTAssertThrowsError(try run(request)) { error in
            XCTAssertEqual(error as? ProcessError, .outputLimitExceeded(commandLine: request.commandLine, limit: 100_000))
            XCTAssertEqual("\(error)", "output of sh -c 'yes >&2' exceeded 100000 bytes")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    // MARK: - Exit status

    func testNonZeroExitCodeAndStderrAreReported() throws {
        let result = try run(sh("echo out; echo oops >&2; exit 3"))
        XCTAssertEqual(result.status, .exited(3))
        XCTAssertEqual(result.stdoutText, "out\n")
        XCTAssertEqual(result.stderrText, "oops\n")
        XCTAssertFalse(result.succeeded)
    }

    func testKilledBySignalIsReportedAsSignaled() throws {
        XCTAssertEqual(try run(sh("kill -9 $$")).status, .signaled(9))
        XCTAssertEqual(try run(sh("kill -TERM $$")).status, .signaled(SIGTERM))
    }

    // MARK: - Program lookup, environment, working directory

    func testMissingProgramIsNotFound() {
        XCTAssertThrowsError(try run(ProcessRequest("luminatectl-no-such-program", timeout: 5))) { error in
            guard case .notFound(let program, _) = error as? ProcessError else {
                return XCTFail("expected notFound, got \(error)")
            }
            XCTAssertEqual(program, "luminatectl-no-such-program")
            XCTAssertEqual("\(error)", "luminatectl-no-such-program not found on PATH")
        }
        XCTAssertThrowsError(try run(ProcessRequest("/nonexistent/kubectl", timeout: 5))) { error in
            XCTAssertEqual(error as? ProcessError, .notFound(program: "/nonexistent/kubectl", path: "/nonexistent/kubectl"))
        }
    }

    func testProgramIsLookedUpOnTheRequestsPath() throws {
        let bin = scratch + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\necho fake kubectl \"$@\"\n".write(toFile: bin + "/kubectl", atomically: true, encoding: .utf8)
        chmod(bin + "/kubectl", 0o755)
        let result = try run(ProcessRequest("kubectl", ["version"], environment: ["PATH": bin + ":/usr/bin:/bin"], timeout: 5))
        XCTAssertEqual(result.stdoutText, "fake kubectl version\n")

        // An empty directory on PATH: sh is nowhere to be found, although it is on ours.
        XCTAssertThrowsError(try run(ProcessRequest("sh", ["-c", "true"], environment: ["PATH": scratch], timeout: 5))) { error in
            XCTAssertEqual(error as? ProcessError, .notFound(program: "sh", path: scratch))
        }
    }

    func testNonExecutableFileOnPathIsSkipped() throws {
        try "not a program".write(toFile: scratch + "/sh", atomically: true, encoding: .utf8)
        let result = try run(ProcessRequest("sh", ["-c", "echo real"], environment: ["PATH": scratch + ":/usr/bin:/bin"], timeout: 5))
        XCTAssertEqual(result.stdoutText, "real\n")
    }

    func testEnvironmentOverridesAddReplaceAndRemove() throws {
        let runner = PosixProcessRunner(baseEnvironment: ["PATH": "/usr/bin:/bin", "KEEP": "1", "REPLACE": "old", "DROP": "x"])
        let result = try runner.run(
            ProcessRequest("env", environment: ["REPLACE": "new", "DROP": nil, "ADDED": "a b"], timeout: 5),
            interrupt: Interrupt())
        XCTAssertEqual(Set(result.stdoutText.split(separator: "\n").map(String.init)),
                       ["PATH=/usr/bin:/bin", "KEEP=1", "REPLACE=new", "ADDED=a b"])
    }

    func testInheritedEnvironmentIsPassedOn() throws {
        let home = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let result = try run(ProcessRequest("sh", ["-c", "printf %s \"$PATH\""], timeout: 5))
        XCTAssertEqual(result.stdoutText, home)
    }

    func testWorkingDirectory() throws {
        let result = try run(ProcessRequest("pwd", ["-P"], timeout: 5, workingDirectory: scratch))
        let expected = URL(fileURLWithPath: scratch).resolvingSymlinksInPath().path
        XCTAssertEqual(result.stdoutText, expected + "\n")
    }

    func testRelativeProgramPathIsResolvedInTheWorkingDirectory() throws {
        try "#!/bin/sh\necho local tool\n".write(toFile: scratch + "/tool.sh", atomically: true, encoding: .utf8)
        chmod(scratch + "/tool.sh", 0o755)
        let result = try run(ProcessRequest("./tool.sh", timeout: 5, workingDirectory: scratch))
        XCTAssertEqual(result.stdoutText, "local tool\n")
    }

    func testMissingWorkingDirectoryFailsToLaunch() {
        XCTAssertThrowsError(try run(ProcessRequest("pwd", timeout: 5, workingDirectory: scratch + "/missing"))) { error in
            XCTAssertEqual(error as? ProcessError, .launchFailed(program: "pwd", errno: ENOENT))
        }
    }

    func testChildGetsOnlyStandardDescriptorsAndNoBlockedOrIgnoredSignals() throws {
        let fds = try run(sh("ls /proc/$$/fd"))
        XCTAssertEqual(fds.stdoutText, "0\n1\n2\n")
        // exec: a waiting dash blocks every signal itself, so read the program's own status.
        let status = try run(sh("exec cat /proc/self/status")).stdoutText
        func mask(_ name: String) -> UInt64? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
        }
        // Signals 1...31 only: glibc reserves 32 and 33 for itself.
        XCTAssertEqual(mask("SigBlk").map { $0 & 0x7fff_ffff }, 0, status)
        XCTAssertEqual(mask("SigIgn").map { $0 & 0x7fff_ffff }, 0, status)
    }

    func testChildLeadsItsOwnProcessGroup() throws {
        let result = try run(sh("cat /proc/$$/stat"))
        let pid = result.stdoutText.split(separator: " ").first.map(String.init)
        let childGroup = Self.statFields(result.stdoutText)[2]
        let ourGroup = Self.statFields(try String(contentsOfFile: "/proc/self/stat", encoding: .utf8))[2]
        XCTAssertEqual(childGroup, pid, "the child should lead its own process group")
        XCTAssertNotEqual(childGroup, ourGroup)
    }

    func testParentLeaksNoDescriptors() throws {
        let before = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        for _ in 0..<20 { _ = try run(ProcessRequest("cat", stdin: Data("x".utf8), timeout: 5)) }
        _ = try? run(ProcessRequest("luminatectl-no-such-program"))
        _ = try? run(ProcessRequest("pwd", workingDirectory: "/nonexistent"))
        _ = try? run(ProcessRequest("sh", ["-c", "yes"], outputLimit: 10))
        let after = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        XCTAssertEqual(after, before)
    }

    // MARK: - Timeouts and process groups

    func testTimeoutKillsTheChildAndItsGrandchild() throws {
        let start = Date()
        var grandchild: pid_t = 0
        XCTAssertThrowsError(try run(sh("sleep 100 & echo $!; sleep 100", timeout: 0.5))) { error in
            guard case .timedOut(let commandLine, let seconds, let partial) = error as? ProcessError else {
                return XCTFail("expected timedOut, got \(error)")
            }
            XCTAssertEqual(commandLine, "sh -c 'sleep 100 & echo $!; sleep 100'")
            XCTAssertEqual(seconds, 0.5)
            XCTAssertEqual(partial.status, .signaled(SIGTERM))
            grandchild = pid_t(partial.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            XCTAssertEqual("\(error)", "timed out after 500 ms: sh -c 'sleep 100 & echo $!; sleep 100'")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertGreaterThan(grandchild, 0, "the script should have printed the grandchild's pid")
        XCTAssertTrue(Self.waitUntilGone(grandchild), "grandchild \(grandchild) still running after the timeout")
    }

    func testTimeoutEscalatesToSigkillWhenTermIsIgnored() throws {
        let start = Date()
        XCTAssertThrowsError(try run(sh("trap '' TERM; echo ready; while :; do sleep 0.1; done", timeout: 0.3))) { error in
            guard case .timedOut(_, _, let partial) = error as? ProcessError else {
                return XCTFail("expected timedOut, got \(error)")
            }
            XCTAssertEqual(partial.status, .signaled(SIGKILL))
            XCTAssertEqual(partial.stdoutText, "ready\n")
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 0.3 + 0.5 - 0.05, "SIGKILL came before the grace period ended")
        XCTAssertLessThan(elapsed, 3)
    }

    func testTimeoutKillsAGrandchildThatIgnoresSigtermAndHoldsThePipes() throws {
        // sh dies of SIGTERM at once; its background sleep ignores it and keeps stdout open.
        // The group must still get SIGKILL after the grace period, not be left running.
        let runner = PosixProcessRunner(terminationGrace: 0.5, drainAfterExit: 0.1)
        var grandchild: pid_t = 0
        let request = sh("(trap '' TERM; exec sleep 30) & echo $!; sleep 30", timeout: 0.3)
        XCTAssertThrowsError(try runner.run(request, interrupt: Interrupt())) { error in
            guard case .timedOut(_, _, let partial) = error as? ProcessError else {
                return XCTFail("expected timedOut, got \(error)")
            }
            XCTAssertEqual(partial.status, .signaled(SIGTERM))
            grandchild = pid_t(partial.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        XCTAssertGreaterThan(grandchild, 0)
        XCTAssertTrue(Self.waitUntilGone(grandchild), "grandchild \(grandchild) ignored SIGTERM and was never killed")
    }

    func testBackgroundStragglerHoldingThePipesDoesNotBlockTheResult() throws {
        let runner = PosixProcessRunner(terminationGrace: 0.5, drainAfterExit: 0.2)
        let start = Date()
        let result = try runner.run(sh("sleep 5 & echo $!"), interrupt: Interrupt())
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual(result.status, .exited(0))
        let straggler = pid_t(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(straggler, 0)
        if straggler > 0 { kill(straggler, SIGKILL) }
    }

    // MARK: - Interrupts

    func testInterruptIsForwardedToTheChild() {
        let interrupt = Interrupt()
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { interrupt.raise(SIGINT) }
        XCTAssertThrowsError(try run(ProcessRequest("sleep", ["30"], timeout: 60), interrupt: interrupt)) { error in
            XCTAssertEqual(error as? ProcessError, .interrupted(commandLine: "sleep 30", signal: SIGINT))
            XCTAssertEqual("\(error)", "interrupted by signal 2: sleep 30")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "sleep should have died of the forwarded SIGINT at once")
    }

    func testInterruptEscalatesToSigkillWhenTheSignalIsIgnored() throws {
        let interrupt = Interrupt()
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { interrupt.raise(SIGINT) }
        let pidFile = scratch + "/grandchild.pid"
        let request = sh("trap '' INT; sleep 30 & echo $! > \(pidFile); wait", timeout: 60)
        XCTAssertThrowsError(try run(request, interrupt: interrupt)) { error in
            XCTAssertEqual(error as? ProcessError, .interrupted(commandLine: request.commandLine, signal: SIGINT))
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 0.2 + 0.5 - 0.05, "SIGKILL came before the grace period ended")
        XCTAssertLessThan(elapsed, 3)
        let grandchild = pid_t((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(grandchild, 0)
        XCTAssertTrue(Self.waitUntilGone(grandchild), "grandchild \(grandchild) survived the interrupt")
    }

    func testInterruptRaisedBeforehandStartsNothing() {
        let interrupt = Interrupt()
        interrupt.raise(SIGTERM)
        XCTAssertThrowsError(try run(ProcessRequest("luminatectl-no-such-program"), interrupt: interrupt)) { error in
            XCTAssertEqual(error as? ProcessError, .interrupted(commandLine: "luminatectl-no-such-program", signal: SIGTERM))
        }
    }

    // MARK: - Concurrency

    func testConcurrentRunsFromFourThreads() {
        let failures = Mutex<[String]>([])
        let runner = self.runner
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for round in 0..<5 {
                let tag = "t\(thread)r\(round)"
                do {
                    let input = Data(repeating: UInt8(thread + 65), count: 300_000 + thread)
                    let result = try runner.run(
                        ProcessRequest("sh", ["-c", "cat; echo \(tag) >&2; exit \(thread)"], stdin: input, timeout: 20),
                        interrupt: Interrupt())
                    if result.status != .exited(Int32(thread)) || result.stdout != input || result.stderrText != tag + "\n" {
                        failures.withLock { $0.append("\(tag): \(result.status) stdout \(result.stdout.count) stderr \(result.stderrText)") }
                    }
                } catch {
                    failures.withLock { $0.append("\(tag): \(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
    }

    // MARK: - Helpers

    /// Fields of /proc/PID/stat after the command name (which may itself hold spaces), from state on.
    static func statFields(_ stat: String) -> [String] {
        guard let close = stat.lastIndex(of: ")") else { return [] }
        return stat[stat.index(after: close)...].split(separator: " ").map(String.init)
    }

    /// True once `pid` no longer runs: gone, or a zombie nobody reaped (PID 1 in a container may
    /// not reap orphans, so a dead grandchild can linger as `Z`).
    static func waitUntilGone(_ pid: pid_t, within seconds: Double = 3) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            if let state = statFields(stat).first, state == "Z" || state == "X" { return true }
            usleep(20_000)
        } while Date() < deadline
        return false
    }
}

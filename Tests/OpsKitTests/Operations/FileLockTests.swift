import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The lock file, with real files: flock between two `FileLock`s of one process, threads, and a
/// child process (util-linux `flock`) holding it.
final class FileLockTests: XCTestCase {
    let output = CapturedOutput()
    var directory = ""
    var path: String { directory + "/state/luminatectl/locks/staging.lock" }

    static let alice = LockHolder(
        actor: Actor(user: "alice", host: "build-7"), operationID: "op-1", operation: "deploy",
        environment: "staging", since: LockTime.parse("2026-11-29T02:00:00Z")!)
    static let bob = LockHolder(
        actor: Actor(user: "bob", host: "ops-1"), operationID: "op-2", operation: "backup",
        environment: "staging", since: LockTime.parse("2026-11-29T02:00:00Z")!)

    override func setUp() {
        directory = NSTemporaryDirectory() + "luminatectl-filelock-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func makeLock(clock: any TimeSource = ManualClock("2026-11-29T02:00:00Z"), poll: Double = 1) -> FileLock {
        let context = Context(
            processes: FakeProcessRunner(), http: FakeHTTPTransport(), clock: clock, console: output.console(),
            environment: [:], workingDirectory: "/")
        return FileLock(path: path, context: context, pollInterval: poll)
    }

    func testPathFollowsXDGStateHomeThenHome() throws {
        XCTAssertEqual(try FileLock.path(environment: "staging", processEnvironment: ["XDG_STATE_HOME": "/var/lib/ops", "HOME": "/home/alice"]),
                       "/var/lib/ops/luminatectl/locks/staging.lock")
        XCTAssertEqual(try FileLock.path(environment: "staging", processEnvironment: ["XDG_STATE_HOME": "relative", "HOME": "/home/alice/"]),
                       "/home/alice/.local/state/luminatectl/locks/staging.lock", "a relative XDG_STATE_HOME is ignored, as the spec says")
        XCTAssertEqual(try FileLock.path(environment: "eu west/2", processEnvironment: ["HOME": "/h"]), "/h/.local/state/luminatectl/locks/eu_west_2.lock")
        XCTAssertEqual(try FileLock.path(environment: "..", processEnvironment: ["HOME": "/h"]), "/h/.local/state/luminatectl/locks/_...lock")
        XCTAssertThrowsError(try FileLock.path(environment: "staging", processEnvironment: [:])) { error in
            XCTAssertEqual(String(describing: error), "cannot place the operations lock file: neither XDG_STATE_HOME nor HOME is set to an absolute path")
        }
    }

    func testHolderIsWrittenToAPrivateFileAndEmptiedOnRelease() throws {
        let lock = makeLock()
        let held = try lock.take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(held.name, "lock file \(path)")
        for (file, mode) in [(path, 0o600), (directory + "/state/luminatectl/locks", 0o700), (directory + "/state/luminatectl", 0o700)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            XCTAssertEqual((attributes[.posixPermissions] as? Int).map { $0 & 0o777 }, mode, file)
        }
        let json = try JSONValue.parse(try XCTUnwrap(FileManager.default.contents(atPath: path)))
        XCTAssertEqual(LockHolder(json: json), Self.alice)
        XCTAssertEqual(json["pid"]?.int, Int(getpid()))
        XCTAssertEqual(try lock.inspect(), FileLockState(held: true, holder: Self.alice, pid: getpid()))

        try held.release()
        try held.release()
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data())
        XCTAssertEqual(try lock.inspect(), FileLockState(held: false, holder: nil, pid: nil))
    }

    func testTwoLocksOnOneFileExcludeEachOther() throws {
        let first = try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertThrowsError(try makeLock().take(Self.bob, wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error),
                           "the operations lock (lock file \(path)) is held by alice@build-7 (deploy, operation op-1) since 2026-11-29T02:00:00Z")
            XCTAssertEqual((error as? LockHeldError)?.exitCode, .lockHeld)
        }
        try first.release()
        let second = try makeLock().take(Self.bob, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(try makeLock().inspect().holder, Self.bob)
        try second.release()
    }

    func testWaitRunsOutNamingTheHolder() throws {
        let first = try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt())
        defer { try? first.release() }
        let clock = ManualClock("2026-11-29T02:00:00Z")
        XCTAssertThrowsError(try makeLock(clock: clock).take(Self.bob, wait: 3, interrupt: Interrupt())) { error in
            let held = error as? LockHeldError
            XCTAssertEqual(held?.holder, Self.alice)
            XCTAssertGreaterThanOrEqual(held?.waited ?? 0, 3)
        }
        XCTAssertTrue(output.stderr.hasPrefix("Waiting for the operations lock (lock file \(path)), held by alice@build-7"), output.stderr)
    }

    func testWaitsUntilAnotherThreadReleases() throws {
        let first = try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt())
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { try? first.release() }
        let second = try makeLock(clock: SystemClock(), poll: 0.05).take(Self.bob, wait: 10, interrupt: Interrupt())
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.25)
        XCTAssertEqual(try makeLock().inspect().holder, Self.bob)
        try second.release()
    }

    func testCtrlCWhileWaitingStopsAndHoldsNothing() throws {
        let first = try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt())
        defer { try? first.release() }
        let interrupt = Interrupt()
        // Ctrl-C arrives during the first poll interval.
        let clock = SleepHookClock(ManualClock("2026-11-29T02:00:00Z")) { seconds in
            if seconds >= 1 { interrupt.raise(SIGINT) }
        }
        XCTAssertThrowsError(try makeLock(clock: clock).take(Self.bob, wait: 600, interrupt: interrupt)) { error in
            XCTAssertEqual(String(describing: error),
                           "interrupted while waiting for the operations lock (lock file \(path)), held by alice@build-7 (deploy, operation op-1) since 2026-11-29T02:00:00Z; nothing was done")
            XCTAssertEqual((error as? LockWaitInterrupted)?.exitCode, .interrupted)
        }
        XCTAssertEqual(try makeLock().inspect().holder, Self.alice, "the holder's record is untouched")
    }

    func testAnotherProcessHoldingItRefusesUntilItEnds() throws {
        // Create the directories, then let util-linux flock(1) hold the file while `cat` runs.
        try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt()).release()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        child.arguments = [path, "cat"]
        let stdin = Pipe()
        child.standardInput = stdin
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        defer {
            try? stdin.fileHandleForWriting.close()
            child.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(5)
        while try !makeLock().inspect().held, Date() < deadline { usleep(10_000) }

        XCTAssertThrowsError(try makeLock().take(Self.bob, wait: 0, interrupt: Interrupt())) { error in
            XCTAssertEqual(String(describing: error), "the operations lock (lock file \(path)) is held", "flock(1) writes no holder")
        }
        try stdin.fileHandleForWriting.close()  // cat ends, and flock with it
        child.waitUntilExit()
        let held = try makeLock().take(Self.bob, wait: 0, interrupt: Interrupt())
        try held.release()
    }

    func testInspectShowsTheHolderLeftByAProcessThatDiedAsFree() throws {
        try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt()).release()
        XCTAssertEqual(try makeLock().inspect(), FileLockState(held: false, holder: nil, pid: nil))
        // What a killed holder leaves: its record, and no flock (the kernel dropped it).
        var record = Self.alice.json
        record.set("pid", 4242)
        try record.rendered().write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(try makeLock().inspect(), FileLockState(held: false, holder: Self.alice, pid: 4242))
        let held = try makeLock().take(Self.bob, wait: 0, interrupt: Interrupt())
        XCTAssertEqual(try makeLock().inspect().holder, Self.bob)
        try held.release()
        XCTAssertEqual(try FileLock(path: directory + "/none.lock", context: .fake()).inspect(), FileLockState(held: false, holder: nil, pid: nil))
    }

    func testAFileLockCannotBeKept() throws {
        let held = try makeLock().take(Self.alice, wait: 0, interrupt: Interrupt())
        XCTAssertThrowsError(try held.keep(for: 60, reason: "x")) { error in
            XCTAssertEqual(String(describing: error), "the operations lock (lock file \(path)) cannot outlive this process")
        }
        try held.release()
    }
}

/// A manual clock that calls `hook` on every sleep: Ctrl-C "during" a wait.
final class SleepHookClock: TimeSource {
    let base: ManualClock
    let hook: @Sendable (Double) -> Void

    init(_ base: ManualClock, hook: @escaping @Sendable (Double) -> Void) {
        self.base = base
        self.hook = hook
    }

    func now() -> Date { base.now() }

    func sleep(seconds: Double, interrupt: Interrupt) {
        hook(seconds)
        base.sleep(seconds: seconds, interrupt: interrupt)
    }
}

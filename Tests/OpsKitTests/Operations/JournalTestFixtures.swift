import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Temporary directories, fixed events and a small history shared by the journal tests.
enum JournalFixtures {
    static let alice = Actor(user: "alice", host: "ops-1")

    static func time(_ text: String) -> Date { JournalTime.parse(text)! }

    static func event(
        _ operationID: String, _ kind: JournalEvent.Kind, at time: String, operation: String = "backup",
        environment: String = "staging", actor: Actor = alice, step: String? = nil, evidence: JSONValue = .object([]),
        outcome: String? = nil, message: String? = nil, reason: String? = nil, duration: Double? = nil,
        inputs: JSONValue = .object([]), commandLine: String? = nil, targets: [String] = ["clickhouse/luminate.metrics_local"]
    ) -> JournalEvent {
        JournalEvent(
            operationID: operationID, event: kind, time: Self.time(time), actor: actor, environment: environment,
            commandLine: commandLine ?? "luminatectl \(operation) --env \(environment)", operation: operation, targets: targets,
            inputs: inputs, step: step, evidence: evidence, outcome: outcome, message: message, reason: reason,
            durationSeconds: duration)
    }

    /// Four operations: a backup that succeeded, a restore refused by the lock, a deploy that
    /// was interrupted, and a scale with no end record.
    static let history: [JournalEvent] = [
        event("op-0000000000a-aaaaaaaaaa", .started, at: "2026-11-29T02:00:00.000Z", evidence: ["lock": "fake lock"],
              reason: "nightly", inputs: ["partition": "20261128"]),
        event("op-0000000000a-aaaaaaaaaa", .step, at: "2026-11-29T02:00:01.500Z", step: "freeze", evidence: ["parts": 12],
              reason: "nightly", duration: 1.5, inputs: ["partition": "20261128"]),
        event("op-0000000000a-aaaaaaaaaa", .finished, at: "2026-11-29T02:00:03.000Z", outcome: "success", reason: "nightly",
              duration: 3, inputs: ["partition": "20261128"]),
        event("op-0000000000b-bbbbbbbbbb", .failed, at: "2026-11-29T03:00:00.000Z", operation: "restore",
              actor: Actor(user: "bob", host: "ops-2"), outcome: "refused",
              message: "the operations lock (fake lock) is held by alice@ops-1 (backup, operation op-x) since 2026-11-29T02:59:00Z"),
        event("op-0000000000c-cccccccccc", .started, at: "2026-11-29T04:00:00.000Z", operation: "deploy",
              actor: Actor(user: "ci", host: "runner-7", ci: "github-actions: acme/luminate run 99"), targets: ["deployment/luminate"]),
        event("op-0000000000c-cccccccccc", .step, at: "2026-11-29T04:00:04.000Z", operation: "deploy",
              actor: Actor(user: "ci", host: "runner-7", ci: "github-actions: acme/luminate run 99"), step: "apply",
              evidence: ["replicas": 3], duration: 4, targets: ["deployment/luminate"]),
        event("op-0000000000c-cccccccccc", .interrupted, at: "2026-11-29T04:00:10.000Z", operation: "deploy",
              actor: Actor(user: "ci", host: "runner-7", ci: "github-actions: acme/luminate run 99"),
              evidence: ["completedSteps": ["apply"]], outcome: "interrupted", message: "interrupted before step 'wait'",
              duration: 10, targets: ["deployment/luminate"]),
        event("op-0000000000d-dddddddddd", .started, at: "2026-11-29T05:00:00.000Z", operation: "scale", targets: ["statefulset/clickhouse"]),
    ]

    /// Writes `events` to a new journal at `path` and returns the lines.
    @discardableResult
    static func write(_ events: [JournalEvent], to path: String) throws -> [String] {
        let file = JournalFile(path: path)
        for event in events { try file.write(event) }
        return try lines(path)
    }

    static func lines(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    static func writeLines(_ lines: [String], to path: String, trailingNewline: Bool = true) throws {
        try (lines.joined(separator: "\n") + (trailingNewline ? "\n" : "")).write(toFile: path, atomically: false, encoding: .utf8)
    }
}

/// A test case with a fresh temporary directory, removed afterwards.
class JournalTestCase: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("luminatectl-journal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Directories made read-only, made writable again before the cleanup.
    private var readOnly: [String] = []

    override func tearDownWithError() throws {
        for path in readOnly {
            _ = try? PosixProcessRunner().run(ProcessRequest("chattr", ["-i", path]), interrupt: Interrupt())
            chmod(path, 0o700)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A directory nothing can be created in, even by root (immutable when running as root,
    /// mode 0500 otherwise).
    func readOnlyDirectory() throws -> String {
        let path = directory + "/read-only"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        readOnly.append(path)
        if geteuid() == 0 {
            let result = try PosixProcessRunner().run(ProcessRequest("chattr", ["+i", path]), interrupt: Interrupt())
            guard result.status == .exited(0) else {
                throw XCTSkip("cannot make a directory read-only for root here: chattr +i failed: \(result.stderrText)")
            }
        } else {
            chmod(path, 0o500)
        }
        return path
    }
}

import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The live journal file: the chain, durability, permissions, torn lines, unwritable places and
/// concurrent writers.
final class JournalFileTests: JournalTestCase {
    var path: String { directory + "/journal.jsonl" }

    func testRecordsChainToThePreviousLineAndAreNumberedPerOperation() throws {
        let lines = try JournalFixtures.write(JournalFixtures.history, to: path)
        XCTAssertEqual(lines.count, 8)
        let records = try lines.map { try JournalRecord.parse($0) }
        XCTAssertEqual(records.map(\.seq), Array(1...8))
        XCTAssertEqual(records.map(\.id), [
            "op-0000000000a-aaaaaaaaaa#1", "op-0000000000a-aaaaaaaaaa#2", "op-0000000000a-aaaaaaaaaa#3",
            "op-0000000000b-bbbbbbbbbb#1",
            "op-0000000000c-cccccccccc#1", "op-0000000000c-cccccccccc#2", "op-0000000000c-cccccccccc#3",
            "op-0000000000d-dddddddddd#1",
        ])
        XCTAssertEqual(records[0].prev, JournalRecord.genesis)
        for index in 1..<records.count {
            XCTAssertEqual(records[index].prev, SHA256.hex(lines[index - 1]), "line \(index + 1)")
        }
        for (record, line) in zip(records, lines) {
            XCTAssertEqual(record.hash, JournalRecord.expectedHash(of: line))
        }
    }

    func testAppendsNeverRewriteWhatIsThere() throws {
        let file = JournalFile(path: path)
        var before = Data()
        for event in JournalFixtures.history {
            try file.write(event)
            let now = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(now.prefix(before.count), before, "an append changed earlier bytes")
            XCTAssertGreaterThan(now.count, before.count)
            before = now
        }
    }

    func testTheFileIsPrivateInAPrivateDirectoryCreatedOnDemand() throws {
        let nested = directory + "/state/luminatectl/journal-staging.jsonl"
        try JournalFile(path: nested).prepare()
        XCTAssertEqual(try mode(directory + "/state"), 0o700)
        XCTAssertEqual(try mode(directory + "/state/luminatectl"), 0o700)
        XCTAssertEqual(try mode(nested), 0o600)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: nested)).count, 0, "prepare writes nothing")
    }

    func testEveryAppendIsFsyncedAndAFailedFsyncFailsTheAppend() throws {
        let calls = Mutex(0)
        let file = JournalFile(path: path, sync: { fd in
            calls.withLock { $0 += 1 }
            return fsync(fd)
        })
        for event in JournalFixtures.history.prefix(3) { try file.write(event) }
        XCTAssertEqual(calls.withLock { $0 }, 4, "one fsync per record, plus the directory when the file was new")

        let failing = JournalFile(path: path, sync: { _ in errno = EIO; return -1 })
        XCTAssertThrowsError(try failing.write(JournalFixtures.history[3])) { error in
            XCTAssertEqual(error as? JournalError, .sync(path: path, reason: "Input/output error"))
            XCTAssertEqual("\(error)", "cannot flush the journal \(path) to disk (fsync): Input/output error")
        }
    }

    func testATornLastLineStaysAndTheNextRecordChainsToTheLastCompleteOne() throws {
        let lines = try JournalFixtures.write(Array(JournalFixtures.history.prefix(2)), to: path)
        let torn = String(lines[1].prefix(40))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(torn.utf8))
        handle.closeFile()

        let record = try JournalFile(path: path).write(JournalFixtures.history[2])
        XCTAssertEqual(record.seq, 3)
        XCTAssertEqual(record.prev, SHA256.hex(lines[1]))
        XCTAssertEqual(try JournalFixtures.lines(path), [lines[0], lines[1], torn, record.line])

        let result = try JournalVerifier.verify(path: path)
        XCTAssertEqual(result.problems.map(\.description), ["line 3: unreadable: not a journal record (not a JSON object)"])
        XCTAssertEqual(result.records, 3)
    }

    func testALastLineThatIsNotARecordStopsAppendsAndIsLeftAlone() throws {
        try JournalFixtures.write(Array(JournalFixtures.history.prefix(1)), to: path)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("edited by hand\n".utf8))
        handle.closeFile()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        XCTAssertThrowsError(try JournalFile(path: path).write(JournalFixtures.history[1])) { error in
            XCTAssertEqual(error as? JournalError, .corruptTail(path: path, problem: "not a JSON object"))
            XCTAssertTrue((error as? JournalError)?.hint?.contains("journal verify") == true)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
    }

    func testAReadOnlyDirectoryIsAClearErrorNamingThePath() throws {
        let readOnly = try readOnlyDirectory()
        let expectedReason = geteuid() == 0 ? "Operation not permitted" : "Permission denied"

        let file = JournalFile(path: readOnly + "/journal.jsonl")
        XCTAssertThrowsError(try file.prepare()) { error in
            XCTAssertEqual(error as? JournalError, .open(path: readOnly + "/journal.jsonl", reason: expectedReason))
            XCTAssertEqual("\(error)", "cannot open the journal \(readOnly)/journal.jsonl for appending: \(expectedReason)")
        }
        XCTAssertThrowsError(try file.write(JournalFixtures.history[0]))

        let nested = JournalFile(path: readOnly + "/luminatectl/journal.jsonl")
        XCTAssertThrowsError(try nested.prepare()) { error in
            XCTAssertEqual(error as? JournalError, .directory(path: readOnly + "/luminatectl", reason: expectedReason))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly), [])
    }

    // MARK: - Concurrent writers

    func testFourThreadsAndThreeInstancesOnOnePathKeepOneChain() throws {
        let shared = JournalFile(path: path)
        let files = [shared, shared, JournalFile(path: path), JournalFile(path: path)]
        let perThread = 40
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            for n in 0..<perThread {
                do {
                    try files[index].write(JournalFixtures.event("op-thread-\(index)", n == 0 ? .started : .step,
                                                                 at: "2026-11-29T02:00:00Z", step: "s\(n)"))
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let result = try JournalVerifier.verify(path: path)
        XCTAssertEqual(result.problems.map(\.description), [])
        XCTAssertEqual(result.records, files.count * perThread)
        XCTAssertEqual(result.lastSeq, files.count * perThread)
        let ids = try JournalFixtures.lines(path).map { try JournalRecord.parse($0).id }
        XCTAssertEqual(Set(ids).count, ids.count, "record ids are unique")
    }

    func testTwoProcessesAndAThreadAppendingAtOnceKeepOneChain() throws {
        let binary = CommandLine.arguments[0]
        guard FileManager.default.isExecutableFile(atPath: binary), binary.hasSuffix(".xctest") else {
            throw XCTSkip("the test bundle \(binary) cannot be started as a child process here")
        }
        let perWriter = 40
        let runner = PosixProcessRunner()
        let results = Mutex<[ProcessResult]>([])
        let path = self.path
        let group = DispatchGroup()
        for child in 0..<2 {
            group.enter()
            DispatchQueue.global().async {
                let request = ProcessRequest(binary, ["OpsKitTests.JournalFileTests/testChildProcessAppends"], environment: [
                    "LUMINATECTL_JOURNAL_TEST_CHILD": "\(path)|op-process-\(child)|\(perWriter)",
                ], timeout: 120)
                if let result = try? runner.run(request, interrupt: Interrupt()) { results.withLock { $0.append(result) } }
                group.leave()
            }
        }
        let file = JournalFile(path: path)
        for n in 0..<perWriter {
            try file.write(JournalFixtures.event("op-parent", .step, at: "2026-11-29T02:00:00Z", step: "s\(n)"))
        }
        XCTAssertEqual(group.wait(timeout: .now() + 150), .success)
        let finished = results.withLock { $0 }
        XCTAssertEqual(finished.count, 2)
        for result in finished {
            XCTAssertEqual(result.status, .exited(0), result.stdoutText + result.stderrText)
        }
        let result = try JournalVerifier.verify(path: path)
        XCTAssertEqual(result.problems.map(\.description), [])
        XCTAssertEqual(result.records, 3 * perWriter)
        let operations = try JournalFixtures.lines(path).map { try JournalRecord.parse($0).event.operationID }
        XCTAssertEqual(Set(operations), ["op-parent", "op-process-0", "op-process-1"])
    }

    /// The child side of the two-process test: appends when started by it, does nothing otherwise.
    func testChildProcessAppends() throws {
        guard let spec = ProcessInfo.processInfo.environment["LUMINATECTL_JOURNAL_TEST_CHILD"] else { return }
        let parts = spec.split(separator: "|").map(String.init)
        let file = JournalFile(path: parts[0])
        for n in 0..<Int(parts[2])! {
            try file.write(JournalFixtures.event(parts[1], .step, at: "2026-11-29T02:00:00Z", step: "s\(n)"))
        }
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }
}

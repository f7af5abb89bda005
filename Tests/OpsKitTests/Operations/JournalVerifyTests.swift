import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `JournalVerifier` against journals changed by hand: each change is found and named by line
/// and record id.
final class JournalVerifyTests: JournalTestCase {
    var path: String { directory + "/journal.jsonl" }
    var lines: [String] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        lines = try JournalFixtures.write(JournalFixtures.history, to: path)
    }

    func short(_ line: String) -> String { String(SHA256.hex(line).prefix(12)) + "..." }
    func prev(_ line: String) -> String { String(try! JournalRecord.parse(line).prev.prefix(12)) + "..." }

    func problems(_ changed: [String], trailingNewline: Bool = true) throws -> [String] {
        try JournalFixtures.writeLines(changed, to: path, trailingNewline: trailingNewline)
        return try JournalVerifier.verify(path: path).problems.map(\.description)
    }

    func testAnIntactJournalPassesAndNamesItsLastRecord() throws {
        let result = try JournalVerifier.verify(path: path)
        XCTAssertTrue(result.intact)
        XCTAssertEqual(result.records, 8)
        XCTAssertEqual(result.lastSeq, 8)
        XCTAssertEqual(result.lastID, "op-0000000000d-dddddddddd#1")
        XCTAssertEqual(result.lastHash, try JournalRecord.parse(lines[7]).hash)
    }

    func testAnEditedRecordFailsItsOwnHashAndBreaksTheNextLink() throws {
        var changed = lines
        changed[2] = lines[2].replacingOccurrences(of: "\"outcome\":\"success\"", with: "\"outcome\":\"failure\"")
        XCTAssertEqual(try problems(changed), [
            "line 3 (op-0000000000a-aaaaaaaaaa#3): edited: its content does not match its hash: it was changed after it was written",
            "line 4 (op-0000000000b-bbbbbbbbbb#1): chain-broken: prev is \(prev(lines[3])) but line 3 hashes to \(short(changed[2])), which was edited",
        ])
    }

    func testAnEditedRecordWithARecomputedHashStillBreaksTheNextLink() throws {
        var changed = lines
        let edited = lines[2].replacingOccurrences(of: "\"outcome\":\"success\"", with: "\"outcome\":\"failure\"")
        let covered = try XCTUnwrap(JournalRecord.splitHash(edited)).covered
        changed[2] = String(covered.dropLast()) + ",\"hash\":\"\(SHA256.hex(covered))\"}"
        XCTAssertEqual(try problems(changed), [
            "line 4 (op-0000000000b-bbbbbbbbbb#1): chain-broken: prev is \(prev(lines[3])) but line 3 hashes to \(short(changed[2])): the record at line 3 was replaced",
        ])
    }

    func testARemovedRecordIsNamedBySeq() throws {
        var changed = lines
        changed.remove(at: 4)
        XCTAssertEqual(try problems(changed), [
            "line 5 (op-0000000000c-cccccccccc#2): removed: seq 6 follows seq 4: record seq 5 is missing after line 4 (prev is \(prev(lines[5])) but line 4 hashes to \(short(lines[3])))",
        ])
    }

    func testRecordsRemovedFromTheStartAreNamed() throws {
        XCTAssertEqual(try problems(Array(lines.dropFirst(2))), [
            "line 1 (op-0000000000a-aaaaaaaaaa#3): removed: seq 3 follows seq 0: records seq 1-2 are missing at the start of the journal (prev is \(prev(lines[2])) but a journal's first prev is 000000000000...)",
        ])
    }

    func testReorderedRecordsAreNamed() throws {
        var changed = lines
        changed.swapAt(3, 4)
        XCTAssertEqual(try problems(changed), [
            "line 4 (op-0000000000c-cccccccccc#1): reordered: seq 5 follows seq 3, but seq 4 at line 5 (prev is \(prev(lines[4])) but line 3 hashes to \(short(lines[2])))",
            "line 5 (op-0000000000b-bbbbbbbbbb#1): reordered: seq 4 comes after seq 5 (prev is \(prev(lines[3])) but line 4 hashes to \(short(lines[4])))",
            "line 6 (op-0000000000c-cccccccccc#2): reordered: seq 6 follows seq 4, but seq 5 at line 4 (prev is \(prev(lines[5])) but line 5 hashes to \(short(lines[3])))",
        ])
    }

    func testADuplicatedRecordIsNamed() throws {
        var changed = lines
        changed.insert(lines[1], at: 2)
        XCTAssertEqual(try problems(changed), [
            "line 3 (op-0000000000a-aaaaaaaaaa#2): reordered: seq 2 comes after seq 2, and seq 2 appears more than once (prev is \(prev(lines[1])) but line 2 hashes to \(short(lines[1])))",
        ])
    }

    func testATruncatedLastLineIsReported() throws {
        var changed = lines
        changed[7] = String(lines[7].dropLast(30))
        XCTAssertEqual(try problems(changed, trailingNewline: false), [
            "line 8: incomplete: the last line has no newline: a write was cut short (a crash or a full disk)",
        ])
        XCTAssertEqual(try JournalVerifier.verify(path: path).lastSeq, 7)
    }

    func testALineThatIsNotARecordIsNamedAndTheChainIsCheckedAroundIt() throws {
        var changed = lines
        changed.insert("not json", at: 4)
        changed[1] = lines[1].replacingOccurrences(of: "\"v\":1,", with: "\"v\":9,")
        XCTAssertEqual(try problems(changed), [
            "line 2: unreadable: not a journal record (unknown record version 9 (this luminatectl reads version 1))",
            "line 3 (op-0000000000a-aaaaaaaaaa#3): chain-broken: prev is \(prev(lines[2])) but line 1 hashes to \(short(lines[0])); line 2 before it is not a record (edited or replaced)",
            "line 5: unreadable: not a journal record (not a JSON object)",
        ])
    }

    func testAMissingJournalIsAnError() {
        XCTAssertThrowsError(try JournalVerifier.verify(path: directory + "/none.jsonl")) { error in
            XCTAssertEqual(error as? JournalError, .missing(path: directory + "/none.jsonl"))
        }
    }
}

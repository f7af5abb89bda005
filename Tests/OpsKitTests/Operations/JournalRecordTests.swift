import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The record format: fixed keys in a fixed order, the two hashes, times, and redaction.
final class JournalRecordTests: JournalTestCase {
    func testALineHasEveryKeyInOrderAndItsHashCoversTheLineWithoutTheHash() throws {
        let event = JournalFixtures.event(
            "op-0000000000a-aaaaaaaaaa", .step, at: "2026-11-29T02:00:01.5Z", step: "freeze", evidence: ["parts": 12, "ratio": 0.25],
            duration: 1.50049, inputs: ["partition": "20261128"])
        let record = JournalRecord.make(event: event, id: "op-0000000000a-aaaaaaaaaa#2", seq: 7, prev: JournalRecord.genesis, version: "0.1.0")
        let body = """
            {"v":1,"id":"op-0000000000a-aaaaaaaaaa#2","seq":7,"time":"2026-11-29T02:00:01.500Z",\
            "operation":"op-0000000000a-aaaaaaaaaa","event":"step","kind":"backup","environment":"staging",\
            "actor":{"user":"alice","host":"ops-1","ci":null},"commandLine":"luminatectl backup --env staging",\
            "targets":["clickhouse/luminate.metrics_local"],"inputs":{"partition":"20261128"},"step":"freeze",\
            "evidence":{"parts":12,"ratio":0.25},"outcome":null,"message":null,"reason":null,"durationSeconds":1.5,\
            "luminatectl":"0.1.0","prev":"\(JournalRecord.genesis)"
            """
        let hash = SHA256.hex(body + "}")
        XCTAssertEqual(record.line, body + ",\"hash\":\"\(hash)\"}")
        XCTAssertEqual(record.hash, hash)
        XCTAssertEqual(JournalRecord.expectedHash(of: record.line), hash)
        XCTAssertEqual(record.json.rendered(), record.line, "-o json prints records in the file's key order")
    }

    func testAWrittenRecordReadsBackEqual() throws {
        for event in JournalFixtures.history {
            let record = JournalRecord.make(event: event, id: "\(event.operationID)#1", seq: 3, prev: String(repeating: "a", count: 64))
            XCTAssertEqual(try JournalRecord.parse(record.line), record)
        }
    }

    func testLinesThatAreNotRecordsSayWhy() {
        let good = JournalRecord.make(event: JournalFixtures.history[0], id: "x#1", seq: 1, prev: JournalRecord.genesis).line
        XCTAssertThrowsError(try JournalRecord.parse("{\"v\":1,")) { XCTAssertEqual($0 as? JournalRecord.LineProblem, .notJSON) }
        XCTAssertThrowsError(try JournalRecord.parse(good.replacingOccurrences(of: "{\"v\":1,", with: "{\"v\":2,"))) {
            XCTAssertEqual($0 as? JournalRecord.LineProblem, .unknownVersion("2"))
        }
        XCTAssertThrowsError(try JournalRecord.parse(good.replacingOccurrences(of: "\"seq\":1,", with: ""))) {
            XCTAssertEqual($0 as? JournalRecord.LineProblem, .missingField("seq"))
        }
        // The same members with the hash first: valid JSON, but the hash must be the last member.
        let (hash, covered) = JournalRecord.splitHash(good)!
        let moved = "{\"hash\":\"\(hash)\"," + covered.dropFirst()
        XCTAssertThrowsError(try JournalRecord.parse(moved)) {
            XCTAssertEqual($0 as? JournalRecord.LineProblem, .noHash)
        }
    }

    func testTimesAreUTCWithMillisecondsAndParseRFC3339() {
        XCTAssertEqual(JournalTime.format(Date(timeIntervalSince1970: 1_795_917_600.0429)), "2026-11-29T02:00:00.042Z")
        XCTAssertEqual(JournalTime.format(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(JournalTime.formatWholeSeconds(Date(timeIntervalSince1970: 1_795_917_600.9)), "2026-11-29T02:00:00Z")
        XCTAssertEqual(JournalTime.parse("2026-11-29T02:00:00Z"), Date(timeIntervalSince1970: 1_795_917_600))
        XCTAssertEqual(JournalTime.parse("2026-11-29T02:00:00.250Z"), Date(timeIntervalSince1970: 1_795_917_600.25))
        XCTAssertEqual(JournalTime.parse("2026-11-29T03:30:00+01:30"), Date(timeIntervalSince1970: 1_795_917_600))
        XCTAssertEqual(JournalTime.parse("2026-11-28T22:00:00-04:00"), Date(timeIntervalSince1970: 1_795_917_600))
        for bad in ["2026-11-29", "2026-11-29T02:00:00", "2026-13-01T00:00:00Z", "2026-11-29T02:00:00.Z", "2026-11-29T02:00:00Zjunk", "yesterday"] {
            XCTAssertNil(JournalTime.parse(bad), bad)
        }
    }

    func testSecretsNeverReachTheFile() throws {
        let secret = "journal-secret-\(UUID().uuidString.prefix(8))"
        Redactor.register(secret: secret)
        let event = JournalFixtures.event(
            "op-0000000000e-eeeeeeeeee", .failed, at: "2026-11-29T02:00:00Z", step: "step \(secret)",
            evidence: [
                "query": .string("SELECT 1 -- \(secret)"),
                "nested": ["list": [.string("a \(secret) b"), 3]],
                "url": .string("https://ops:hunter2-url-pass@ch.example:8443/?password=\(secret)&x=1"),
                "token": 12345,
                "headers": "Authorization: Bearer abc.def.ghi\nAccept: */*",
                secret: "key named after the secret",
            ],
            outcome: "failure", message: "clickhouse refused \(secret) with \"quotes\" and \\ backslash",
            reason: "emergency, password=\(secret)",
            inputs: ["password": .string(secret), "Password": ["file": "/run/secret"], "user": "ops"],
            commandLine: "luminatectl restore --clickhouse-url http://u:\(secret)@ch:8123 'arg with \(secret)'",
            targets: ["clickhouse/\(secret)"])
        let path = directory + "/journal.jsonl"
        try JournalFile(path: path).write(event)

        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(text.contains(secret), text)
        XCTAssertFalse(text.contains("hunter2-url-pass"), text)
        XCTAssertFalse(text.contains("abc.def.ghi"), text)
        XCTAssertFalse(text.contains("12345"), "a value under a secret-named key is masked whatever its type")
        XCTAssertTrue(text.contains("\"user\":\"ops\""), "only secrets are masked")
        XCTAssertTrue(text.contains("Accept: */*"), "a header rule masks one header value, not the rest of the text")

        let record = try JournalRecord.parse(String(text.dropLast()))
        XCTAssertEqual(record.event.inputs["password"], .string(Redactor.mask))
        XCTAssertEqual(record.event.inputs["Password"], .string(Redactor.mask))
        XCTAssertEqual(record.event.message, "clickhouse refused <redacted> with \"quotes\" and \\ backslash")
        XCTAssertEqual(try JournalVerifier.verify(path: path).problems, [], "the hash covers the redacted line")
    }
}

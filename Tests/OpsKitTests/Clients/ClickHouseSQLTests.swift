import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The property tests of the ClickHouse clients draw from the shared seeded generator: a failure
/// prints its seed, and the same seed replays it.
typealias ClickHouseTestRandom = SplitMix64

extension SplitMix64 {
    /// A string mixing the characters SQL escaping cares about with ordinary text, control
    /// characters, non-ASCII letters, emoji and combining marks.
    mutating func sqlishString(maxLength: Int = 40) -> String {
        let pieces: [String] = [
            "'", "\\", "\"", "`", "\n", "\r", "\t", "\0", "\u{01}", "\u{1B}", "\u{7F}", " ", ";", "--", "/*", "*/",
            "a", "Z", "_", "0", "9", "é", "ß", "日本", "🙂", "e\u{301}", "\u{200B}", "%", "&", "+", "\\'", "''", "x",
        ]
        let length = Int.random(in: 0...maxLength, using: &self)
        var result = ""
        for _ in 0..<length {
            if Int.random(in: 0..<4, using: &self) == 0 {
                let scalar = UInt32.random(in: 0x20...0x2FFF, using: &self)
                result.unicodeScalars.append(Unicode.Scalar(scalar) ?? "?")
            } else {
                result += pieces.randomElement(using: &self)!
            }
        }
        return result
    }
}

/// Reads a ClickHouse single-quoted literal back, undoing the escapes ClickHouse understands, so
/// the tests can check that `SQL.string` round-trips. Nil when the text is not one well-formed
/// literal (unescaped quote inside, dangling backslash, missing quotes).
func parseClickHouseStringLiteral(_ literal: String) -> String? {
    var scalars = Array(literal.unicodeScalars)
    guard scalars.count >= 2, scalars.first == "'", scalars.last == "'" else { return nil }
    scalars = Array(scalars.dropFirst().dropLast())
    var result = String.UnicodeScalarView()
    var index = 0
    while index < scalars.count {
        let scalar = scalars[index]
        if scalar == "'" { return nil }
        guard scalar == "\\" else {
            result.append(scalar)
            index += 1
            continue
        }
        guard index + 1 < scalars.count else { return nil }
        let escaped = scalars[index + 1]
        index += 2
        switch escaped {
        case "n": result.append("\n")
        case "r": result.append("\r")
        case "t": result.append("\t")
        case "0": result.append("\0")
        case "b": result.append("\u{08}")
        case "f": result.append("\u{0C}")
        case "a": result.append("\u{07}")
        case "v": result.append("\u{0B}")
        case "x":
            guard index + 2 <= scalars.count,
                  let value = UInt8(String(String.UnicodeScalarView(scalars[index..<index + 2])), radix: 16)
            else { return nil }
            result.append(Unicode.Scalar(value))
            index += 2
        default: result.append(escaped)
        }
    }
    return String(result)
}

/// `SQL` and `SQLFragment`: identifier rule, literal escaping (round-tripped for thousands of
/// random strings), numbers, dates and interpolation.
final class ClickHouseSQLTests: XCTestCase {
    // MARK: - Identifiers

    func testIdentifiersAreValidatedAndBackQuoted() throws {
        XCTAssertEqual(try SQL.identifier("events").sql, "`events`")
        XCTAssertEqual(try SQL.identifier("_tmp_2026").sql, "`_tmp_2026`")
        XCTAssertEqual(try SQL.identifier("order").sql, "`order`")
        XCTAssertEqual(try SQL.qualified("luminate", "events_local").sql, "`luminate`.`events_local`")
        for bad in ["", "1abc", "a-b", "a b", "a`b", "a.b", "ünicode", "a;DROP", "tab\t", "a'b"] {
            XCTAssertThrowsError(try SQL.identifier(bad), bad) { error in
                XCTAssertEqual(error as? SQLError, .invalidIdentifier(bad, rule: "^[A-Za-z_][A-Za-z0-9_]*$"))
            }
        }
        XCTAssertThrowsError(try SQL.qualified("luminate", "events-1"))
    }

    func testIdentifierErrorNamesTheRuleInLowercase() {
        let error = SQLError.invalidIdentifier("events-1", rule: SQL.identifierRule)
        XCTAssertEqual(error.description, "invalid sql identifier 'events-1': must match ^[A-Za-z_][A-Za-z0-9_]*$")
        XCTAssertEqual(error.exitCode, .usage)
    }

    func testIdentifierRuleMatchesTheRegexForRandomStrings() throws {
        let regex = try NSRegularExpression(pattern: SQL.identifierRule)
        var random = ClickHouseTestRandom(seed: 0x1D)
        for _ in 0..<3000 {
            let name = Bool.random(using: &random) ? random.sqlishString(maxLength: 8)
                : String((0..<Int.random(in: 0...6, using: &random)).map { _ in "aZ_09-.".randomElement(using: &random)! })
            // The whole string must match: ICU's `$` also matches before a final line break.
            let whole = NSRange(name.startIndex..., in: name)
            let matches = regex.firstMatch(in: name, range: whole)?.range == whole
            XCTAssertEqual(SQL.isValidIdentifier(name), matches, name.debugDescription)
            if matches { XCTAssertEqual(try SQL.identifier(name).sql, "`\(name)`") }
        }
    }

    // MARK: - String literals

    func testStringLiteralEscapesBackslashQuoteAndControls() {
        XCTAssertEqual(SQL.string("plain").sql, "'plain'")
        XCTAssertEqual(SQL.string("").sql, "''")
        XCTAssertEqual(SQL.string("it's").sql, #"'it\'s'"#)
        XCTAssertEqual(SQL.string(#"C:\temp\"#).sql, #"'C:\\temp\\'"#)
        XCTAssertEqual(SQL.string("a\nb\rc\td\0e").sql, #"'a\nb\rc\td\0e'"#)
        XCTAssertEqual(SQL.string("\u{01}\u{1B}\u{7F}").sql, #"'\x01\x1B\x7F'"#)
        XCTAssertEqual(SQL.string("日本 🙂 e\u{301}").sql, "'日本 🙂 e\u{301}'")
        XCTAssertEqual(SQL.string(#"\'"#).sql, #"'\\\''"#)
    }

    func testStringLiteralRoundTripsForRandomStrings() {
        let seed: UInt64 = 0x5EED_0001
        var random = ClickHouseTestRandom(seed: seed)
        for iteration in 0..<5000 {
            let value = random.sqlishString()
            let literal = SQL.string(value).sql
            XCTAssertEqual(parseClickHouseStringLiteral(literal), value, "seed \(seed) iteration \(iteration): \(literal.debugDescription)")
            // One line, whatever the value: plans, logs and query_log stay readable.
            XCTAssertFalse(literal.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, literal.debugDescription)
        }
    }

    func testStringLiteralRoundTripsForRandomUnicodeScalars() {
        var random = ClickHouseTestRandom(seed: 42)
        for _ in 0..<2000 {
            var value = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...20, using: &random) {
                let raw = UInt32.random(in: 0...0x10FFFF, using: &random)
                value.append(Unicode.Scalar(raw) ?? "\\")
            }
            let text = String(value)
            XCTAssertEqual(parseClickHouseStringLiteral(SQL.string(text).sql), text)
        }
    }

    // MARK: - Numbers and dates

    func testNumberLiterals() throws {
        XCTAssertEqual(SQL.number(20261126).sql, "20261126")
        XCTAssertEqual(SQL.number(-5).sql, "(-5)")
        XCTAssertEqual(SQL.number(UInt64.max).sql, "18446744073709551615")
        XCTAssertEqual(SQL.number(Int64.min).sql, "(-9223372036854775808)")
        XCTAssertEqual(try SQL.number(0.25).sql, "0.25")
        XCTAssertEqual(try SQL.number(-1.5).sql, "(-1.5)")
        XCTAssertThrowsError(try SQL.number(Double.nan))
        XCTAssertThrowsError(try SQL.number(-Double.infinity)) { error in
            XCTAssertEqual((error as? SQLError)?.description, "invalid sql number -inf: must be finite")
        }
    }

    func testDateLiteralsAreUTCAndTyped() {
        let date = ISO8601DateFormatter().date(from: "2026-11-29T02:03:04Z")!
        XCTAssertEqual(SQL.date(date).sql, "toDate('2026-11-29')")
        XCTAssertEqual(SQL.dateTime(date).sql, "toDateTime('2026-11-29 02:03:04', 'UTC')")
        let early = ISO8601DateFormatter().date(from: "1999-01-02T23:59:59Z")!
        XCTAssertEqual(SQL.dateTime(early).sql, "toDateTime('1999-01-02 23:59:59', 'UTC')")
    }

    // MARK: - Fragments

    func testFragmentInterpolationUsesOnlyCheckedPieces() throws {
        let day = ISO8601DateFormatter().date(from: "2026-11-26T00:00:00Z")!
        let user = "o'brien"
        let sql: SQLFragment = try """
            SELECT count() FROM \(table: "luminate", "events") \
            WHERE day = \(date: day) AND user = \(literal: user) AND shard IN (\(list: [SQL.number(1), SQL.number(2)])) \
            AND n > \(-3) AND \(identifier: "region") != ''
            """
        XCTAssertEqual(sql.sql, """
            SELECT count() FROM `luminate`.`events` WHERE day = toDate('2026-11-26') AND user = 'o\\'brien' \
            AND shard IN (1, 2) AND n > (-3) AND `region` != ''
            """)
        XCTAssertEqual("\(sql)", sql.sql)
        XCTAssertThrowsError(try { let _: SQLFragment = try "SELECT \(identifier: "x-y")" }())
        XCTAssertEqual(SQLFragment("SELECT 1").appending("FORMAT JSON").sql, "SELECT 1 FORMAT JSON")
    }
}

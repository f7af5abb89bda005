import Foundation

/// A piece of ClickHouse SQL that is safe to send: its text comes only from string literals in
/// luminatectl's own source, validated identifiers and escaped literals, never from a raw runtime
/// string. Build one with interpolation:
///
///     let sql: SQLFragment = try "SELECT count() FROM \(table: "luminate", "events") WHERE day = \(date: day)"
///
/// The literal segments are `StaticString`s, so a `String` read from a flag or a file cannot
/// become SQL text by accident; it has to go through `\(identifier:)` or `\(literal:)`.
package struct SQLFragment: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    package typealias StringLiteralType = StaticString

    /// The SQL text, ready for the wire.
    package let sql: String

    /// Only this file builds a fragment from text it has checked or escaped itself.
    fileprivate init(checked sql: String) { self.sql = sql }

    package init(stringLiteral value: StaticString) { sql = value.description }

    package init(stringInterpolation: Interpolation) { sql = stringInterpolation.sql }

    package var description: String { sql }

    /// Appends another fragment, separated by a space.
    package func appending(_ other: SQLFragment) -> SQLFragment {
        SQLFragment(checked: sql.isEmpty ? other.sql : sql + " " + other.sql)
    }

    /// The interpolation rules: every runtime value is typed, and text goes through a checker.
    package struct Interpolation: StringInterpolationProtocol {
        package typealias StringLiteralType = StaticString
        fileprivate var sql = ""

        package init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        package mutating func appendLiteral(_ literal: StaticString) { sql += literal.description }
        package mutating func appendInterpolation(_ fragment: SQLFragment) { sql += fragment.sql }
        package mutating func appendInterpolation(identifier name: String) throws { sql += try SQL.identifier(name).sql }
        package mutating func appendInterpolation(table database: String, _ table: String) throws {
            sql += try SQL.qualified(database, table).sql
        }
        package mutating func appendInterpolation(literal value: String) { sql += SQL.string(value).sql }
        package mutating func appendInterpolation<T: BinaryInteger>(_ value: T) { sql += SQL.number(value).sql }
        package mutating func appendInterpolation(_ value: Double) throws { sql += try SQL.number(value).sql }
        package mutating func appendInterpolation(date: Date) { sql += SQL.date(date).sql }
        package mutating func appendInterpolation(dateTime: Date) { sql += SQL.dateTime(dateTime).sql }
        package mutating func appendInterpolation(list: [SQLFragment]) { sql += SQL.list(list).sql }
    }
}

/// A value that cannot be put into SQL safely. Nothing was sent, so it exits as a usage error.
package enum SQLError: OperatorError, Equatable {
    /// A database, table, column or setting name outside the identifier rule.
    case invalidIdentifier(String, rule: String)
    /// NaN and infinities have no portable literal (and are never what an operator meant).
    case nonFiniteNumber(String)

    package var description: String {
        switch self {
        case .invalidIdentifier(let name, let rule):
            "invalid sql identifier \(SQL.quoteForMessage(name)): must match \(rule)"
        case .nonFiniteNumber(let value):
            "invalid sql number \(value): must be finite"
        }
    }

    package var exitCode: ExitCode { .usage }
}

/// Helpers that turn runtime values into SQL text: identifiers are validated then back-quoted,
/// literals are escaped by ClickHouse's rules. Nothing else in luminatectl builds SQL from strings.
package enum SQL {
    /// The identifier rule. Narrower than what ClickHouse accepts inside back quotes, on purpose:
    /// names the operator types (databases, tables, clusters) never need more, and a narrow rule
    /// keeps names safe in URLs, file paths (`shadow/<name>`) and ZooKeeper paths too.
    package static let identifierRule = "^[A-Za-z_][A-Za-z0-9_]*$"

    /// True when `name` satisfies `identifierRule`.
    package static func isValidIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || isDigit($0) }
    }

    /// `` `name` `` after checking the identifier rule. Back quotes keep keywords usable as names
    /// (a table called `order` or `default`), which bare names would not.
    package static func identifier(_ name: String) throws -> SQLFragment {
        guard isValidIdentifier(name) else { throw SQLError.invalidIdentifier(name, rule: identifierRule) }
        return SQLFragment(checked: "`" + name + "`")
    }

    /// `` `database`.`table` ``, both parts checked.
    package static func qualified(_ database: String, _ table: String) throws -> SQLFragment {
        SQLFragment(checked: try identifier(database).sql + "." + identifier(table).sql)
    }

    /// A table definition from a backup's manifest, re-pointed and ready to send. The text is the
    /// server's own `SHOW CREATE TABLE`, parsed by TableDefinition (one CREATE TABLE statement,
    /// nothing after it), with the name replaced by checked identifiers.
    package static func createTable(_ definition: TableDefinition, as target: QualifiedTable, unreplicated: Bool) throws -> SQLFragment {
        _ = try qualified(target.database, target.table)
        return SQLFragment(checked: definition.text(as: target, unreplicated: unreplicated))
    }

    /// A single-quoted string literal.
    ///
    /// ClickHouse reads backslash escapes inside quoted strings (unlike standard SQL, where only
    /// `''` is special), so a lone backslash would swallow the next character: both `\` and `'`
    /// are escaped with a backslash. Control characters are written as escapes so that a literal
    /// always stays on one line in logs, plans and `system.query_log`; everything else, including
    /// non-ASCII text, is sent as UTF-8 unchanged.
    package static func string(_ value: String) -> SQLFragment {
        var out = "'"
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\x" + hexByte(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return SQLFragment(checked: out + "'")
    }

    /// An integer literal. Negative values are parenthesised: ClickHouse parses `-5` as a
    /// negation applied to `5`, and without parentheses `x -5` next to another operator can read
    /// differently than intended.
    package static func number<T: BinaryInteger>(_ value: T) -> SQLFragment {
        SQLFragment(checked: value < 0 ? "(\(value))" : "\(value)")
    }

    /// A floating-point literal, shortest round-tripping form; NaN and infinities are refused.
    package static func number(_ value: Double) throws -> SQLFragment {
        guard value.isFinite else { throw SQLError.nonFiniteNumber("\(value)") }
        return SQLFragment(checked: value < 0 ? "(\(value))" : "\(value)")
    }

    /// `toDate('2026-11-29')`, the UTC calendar day of `date`. A bare string would compare as a
    /// string against anything that is not a Date column; the function makes the type explicit.
    package static func date(_ date: Date) -> SQLFragment {
        let c = utcCalendar.dateComponents([.year, .month, .day], from: date)
        return SQLFragment(checked: "toDate('\(pad(c.year!, 4))-\(pad(c.month!, 2))-\(pad(c.day!, 2))')")
    }

    /// `toDateTime('2026-11-29 02:00:00', 'UTC')`. The time zone is explicit because a bare
    /// DateTime string is read in the *server's* time zone, which differs between nodes more
    /// often than anyone expects.
    package static func dateTime(_ date: Date) -> SQLFragment {
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let text = "\(pad(c.year!, 4))-\(pad(c.month!, 2))-\(pad(c.day!, 2)) \(pad(c.hour!, 2)):\(pad(c.minute!, 2)):\(pad(c.second!, 2))"
        return SQLFragment(checked: "toDateTime('\(text)', 'UTC')")
    }

    /// `a, b, c`, for `IN (...)` lists and column lists.
    package static func list(_ items: [SQLFragment]) -> SQLFragment {
        SQLFragment(checked: items.map(\.sql).joined(separator: ", "))
    }

    /// A name for an error message: quoted, secrets redacted, and cut short so a pasted blob
    /// does not flood the terminal.
    static func quoteForMessage(_ text: String) -> String {
        let redacted = Redactor.redact(text)
        let short = redacted.count > 80 ? String(redacted.prefix(77)) + "..." : redacted
        return "'" + short.unicodeScalars.map { $0.value < 0x20 ? "?" : String($0) }.joined() + "'"
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}

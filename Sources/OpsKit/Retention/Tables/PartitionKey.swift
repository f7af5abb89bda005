import Foundation

/// Whether partition retention can manage a table, read from its partition key expression as
/// `system.tables.partition_key` shows it (`toYYYYMMDD(ts)`; 18.16 shows an old-syntax
/// `MergeTree(d, ...)` table's implicit key as `toYYYYMM(d)`) or as a `CREATE TABLE`'s
/// `PARTITION BY` writes it. Only a key whose partition id names a span of days is manageable;
/// anything else is refused with the reason, never guessed.
package enum PartitionKeyClass: Sendable, Equatable {
    case manageable(DatePartitionKey)
    /// Why partition retention leaves the table alone, in words.
    case notManageable(reason: String)

    /// `expression` as written; `columnTypes` (name → type, as `system.columns` or the CREATE
    /// statement gives them) is needed only for a bare column key (Date is manageable, DateTime
    /// is not) and, where given, checks a function's argument is a date or time.
    package init(expression: String, columnTypes: [String: String] = [:]) {
        self = Self.classify(expression.trimmingCharacters(in: .whitespacesAndNewlines), columnTypes)
    }

    /// The key of a table as `SHOW CREATE TABLE` printed it: its `PARTITION BY`, or for the 18.x
    /// engine syntax `MergeTree(date, ...)` the implicit `toYYYYMM(date)`.
    package init(definition: TableDefinition) {
        var types: [String: String] = [:]
        for line in definition.structureLines.prefix(definition.columnCount) {
            guard let space = line.firstIndex(of: " ") else { continue }
            let name = String(line[..<space]).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let rest = line[line.index(after: space)...]
            types[name] = String(rest.split(separator: " ").first ?? "")
        }
        let clauses = definition.structureLines.dropFirst(definition.columnCount)
        guard definition.isMergeTreeFamily else {
            self = .notManageable(reason: "the engine \(definition.engine) holds no partitions")
            return
        }
        if let clause = clauses.first(where: { $0.hasPrefix("PARTITION BY ") }) {
            self.init(expression: String(clause.dropFirst("PARTITION BY ".count)), columnTypes: types)
        } else if let engine = clauses.first(where: { $0.hasPrefix("ENGINE = ") }), let open = engine.firstIndex(of: "("),
                  case let arguments = engine[engine.index(after: open)...].split(separator: ","), arguments.count >= 3 {
            // MergeTree(date, [sampling,] key, granularity): the first argument is the Date column.
            let column = arguments[0].trimmingCharacters(in: .whitespaces)
            self.init(expression: "toYYYYMM(\(column))", columnTypes: types)
        } else {
            self = .notManageable(reason: "the table has no partition key: all its rows are in one partition")
        }
    }

    private static let supported = "toYYYYMMDD, toYYYYMM, toDate, toMonday, toStartOfWeek, toStartOfMonth or toStartOfDay of a column, or a Date column"

    private static func classify(_ expression: String, _ types: [String: String]) -> PartitionKeyClass {
        guard !expression.isEmpty, expression != "tuple()" else {
            return .notManageable(reason: "the table has no partition key: all its rows are in one partition")
        }
        guard let lexed = try? SQLTokens(expression) else {
            return .notManageable(reason: "the partition key '\(expression)' cannot be read")
        }
        let tokens = lexed.tokens
        // A tuple, `(a, b)` or `tuple(a, b)`: its partition id joins several values.
        var inner: Range<Int>?
        if tokens.first?.isSymbol("(") == true, lexed.closing(0) == tokens.count - 1 {
            inner = 1..<tokens.count - 1
        } else if tokens.count >= 3, tokens[0].text == "tuple", tokens[1].isSymbol("("), lexed.closing(1) == tokens.count - 1 {
            inner = 2..<tokens.count - 1
        }
        if let inner {
            let parts = lexed.split(inner).map { lexed.text(tokens[$0.lowerBound].start, tokens[$0.upperBound - 1].end) }
            if parts.count == 1 { return classify(parts[0], types) }
            if let other = parts.first(where: { if case .notManageable = classify($0, types) { true } else { false } }) {
                return .notManageable(reason: "the partition key is a tuple with a part that is not a date: '\(other)'")
            }
            return .notManageable(reason: "the partition key is a tuple of several dates: a partition is not one span of days")
        }
        // A bare column: a Date is one partition a day; a DateTime one partition a second.
        if tokens.count == 1, tokens[0].isName {
            let column = tokens[0].value
            guard let type = types[column] else {
                return .notManageable(reason: "the partition key is the column '\(column)', whose type is not known: only a Date column is manageable")
            }
            guard baseType(type) == "Date" else {
                return .notManageable(reason: "the partition key is the column '\(column)' of type \(type), not Date")
            }
            return .manageable(DatePartitionKey(expression: expression, column: column, shape: .date))
        }
        // function(column) or toStartOfWeek(column, mode).
        guard tokens.count >= 4, tokens[0].kind == .word, tokens[1].isSymbol("("), lexed.closing(1) == tokens.count - 1,
              let shape = DatePartitionKey.Shape(rawValue: tokens[0].text) else {
            return .notManageable(reason: "the partition key '\(expression)' is not \(supported)")
        }
        let arguments = lexed.split(2..<tokens.count - 1)
        let mode = arguments.count == 2 && shape == .startOfWeek && arguments[1].count == 1 && Int(tokens[arguments[1].lowerBound].text) != nil
        guard arguments.count == 1 || mode, arguments[0].count == 1, tokens[arguments[0].lowerBound].isName else {
            return .notManageable(reason: "the partition key '\(expression)' applies \(shape.rawValue) to something other than a column")
        }
        let column = tokens[arguments[0].lowerBound].value
        if let type = types[column], !["Date", "DateTime", "DateTime64"].contains(baseType(type)) {
            return .notManageable(reason: "the partition key '\(expression)' applies \(shape.rawValue) to '\(column)' of type \(type), not a date or time")
        }
        return .manageable(DatePartitionKey(expression: expression, column: column, shape: shape))
    }

    /// `DateTime('UTC')` → `DateTime`, `Nullable(Date)` → `Date`, `LowCardinality(...)` likewise.
    private static func baseType(_ type: String) -> String {
        var text = Substring(type)
        for wrapper in ["Nullable(", "LowCardinality("] where text.hasPrefix(wrapper) && text.hasSuffix(")") {
            text = text.dropFirst(wrapper.count).dropLast()
        }
        return String(text.prefix { $0 != "(" })
    }
}

/// A partition key partition retention manages: which function of which column, and so which
/// days a partition id covers.
package struct DatePartitionKey: Sendable, Equatable {
    /// What the key computes, named by ClickHouse's function. The partition id ClickHouse writes
    /// (checked on 18.16): a Date value as `YYYYMMDD` (toDate, toMonday, toStartOfWeek,
    /// toStartOfMonth, a bare Date column), a number as itself (toYYYYMMDD `20261126`, toYYYYMM
    /// `202611`), a DateTime value as its Unix seconds (toStartOfDay: `1795651200` for
    /// 2026-11-26). 18.16 has no toStartOfWeek; 26.x writes its Date as the others.
    package enum Shape: String, Sendable, Equatable {
        case yyyymmdd = "toYYYYMMDD"
        case yyyymm = "toYYYYMM"
        case toDate
        case monday = "toMonday"
        case startOfWeek = "toStartOfWeek"
        case startOfMonth = "toStartOfMonth"
        case startOfDay = "toStartOfDay"
        /// A bare Date column.
        case date

        /// What one partition spans, for the reasons a plan gives.
        package var span: String {
            switch self {
            case .yyyymmdd, .toDate, .startOfDay, .date: "day"
            case .monday, .startOfWeek: "week"
            case .yyyymm, .startOfMonth: "month"
            }
        }
    }

    package var expression: String
    package var column: String
    package var shape: Shape

    package init(expression: String, column: String, shape: Shape) {
        self.expression = expression
        self.column = column
        self.shape = shape
    }

    /// The UTC days [first, last] partition `id` holds; nil for an id this key cannot have written.
    /// Days are UTC: ClickHouse computes the key in the server's time zone, UTC on Luminate's
    /// servers.
    package func days(partitionID id: String) -> ClosedRange<UTCDay>? {
        let utf8 = id.utf8
        guard !utf8.isEmpty, utf8.count <= 12, utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        var number = 0
        for byte in utf8 { number = number * 10 + Int(byte - 48) }
        switch shape {
        case .startOfDay:
            guard number % 86400 == 0 else { return nil }
            let day = UTCDay(daysSinceEpoch: number / 86400)
            return day...day
        case .yyyymm:
            guard utf8.count == 6, let first = UTCDay(year: number / 100, month: number % 100, day: 1) else { return nil }
            return first...first.lastOfMonth
        default:
            guard utf8.count == 8, let day = UTCDay(year: number / 10000, month: number / 100 % 100, day: number % 100) else { return nil }
            switch shape {
            case .monday, .startOfWeek: return day...day.adding(days: 6)
            case .startOfMonth:
                guard day.civil.day == 1 else { return nil }
                return day...day.lastOfMonth
            default: return day...day
            }
        }
    }
}

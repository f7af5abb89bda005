/// A statement as ClickHouse's lexer sees it, cut into tokens: enough to find the parts of a
/// `SHOW CREATE TABLE` (its name, its column list, its engine and clauses) without mistaking a
/// `,`, `(` or `;` inside a string, a quoted name or a comment for structure. Positions are
/// offsets into the statement's unicode scalars, so the text between tokens can be kept as the
/// server wrote it.
struct SQLTokens {
    /// One token and where it stands.
    struct Token: Sendable, Equatable {
        enum Kind: Sendable, Equatable {
            /// A keyword, a bare name or a number.
            case word
            /// `` `name` `` or `"name"`; `value` holds the name unescaped.
            case quotedIdentifier
            /// `'text'`, kept as written.
            case string
            /// Punctuation and operators: `(`, `,`, `=`, `<=`, `::` ...
            case symbol
        }

        var kind: Kind
        /// The token as written.
        var text: String
        /// The unescaped name of a quoted identifier; `text` otherwise.
        var value: String
        var start: Int
        var end: Int
        /// Whether white space or a comment stands before it.
        var spaced: Bool

        func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }
        /// The keyword this token is, upper-cased; nil for anything but a bare word.
        var keyword: String? { kind == .word ? text.uppercased() : nil }
        /// A name written bare or quoted.
        var isName: Bool { kind == .word || kind == .quotedIdentifier }
    }

    let scalars: [Unicode.Scalar]
    private(set) var tokens: [Token] = []

    private static let operators: Set<String> = ["<=", ">=", "!=", "==", "<>", "->", "||", "::"]

    init(_ statement: String) throws {
        scalars = Array(statement.unicodeScalars)
        var index = 0
        var spaced = false
        while index < scalars.count {
            let scalar = scalars[index]
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            if scalar.properties.isWhitespace {
                index += 1
                spaced = true
            } else if scalar == "-", next == "-" {
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
                spaced = true
            } else if scalar == "/", next == "*" {
                guard let close = find("*/", from: index + 2) else { throw TableDefinitionError("a /* comment is not closed") }
                index = close + 2
                spaced = true
            } else if scalar == "'" || scalar == "`" || scalar == "\"" {
                let (end, value) = try quoted(from: index)
                tokens.append(Token(kind: scalar == "'" ? .string : .quotedIdentifier, text: text(index, end), value: value,
                                    start: index, end: end, spaced: spaced))
                index = end
                spaced = false
            } else if Self.isWordScalar(scalar) {
                var end = index
                while end < scalars.count, Self.isWordScalar(scalars[end]) { end += 1 }
                append(.word, from: index, to: end, spaced: spaced)
                index = end
                spaced = false
            } else {
                let end = next.map { Self.operators.contains(String(scalar) + String($0)) } == true ? index + 2 : index + 1
                append(.symbol, from: index, to: end, spaced: spaced)
                index = end
                spaced = false
            }
        }
    }

    /// The statement's text from one offset to another, as written.
    func text(_ start: Int, _ end: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<end])
        return String(view)
    }

    /// The index of the `)` that closes the `(` at `open`.
    func closing(_ open: Int) -> Int? {
        var depth = 0
        for index in open..<tokens.count {
            if tokens[index].isSymbol("(") { depth += 1 }
            if tokens[index].isSymbol(")") {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }

    /// `range` cut at the commas outside parentheses: the items of a list.
    func split(_ range: Range<Int>) -> [Range<Int>] {
        var items: [Range<Int>] = []
        var depth = 0
        var start = range.lowerBound
        for index in range {
            if tokens[index].isSymbol("(") { depth += 1 }
            if tokens[index].isSymbol(")") { depth -= 1 }
            if depth == 0, tokens[index].isSymbol(",") {
                items.append(start..<index)
                start = index + 1
            }
        }
        items.append(start..<range.upperBound)
        return items
    }

    /// The tokens of `range` written with white space normalised: one space where the statement
    /// had any, none inside parentheses or before a comma, one after a comma and around `=`; quoted
    /// names bare when they need no quotes. Two statements that differ only in layout and quoting
    /// (18.x prints `timestamp`, 26.x `` `timestamp` ``) read the same.
    func normalized(_ range: Range<Int>) -> String {
        var out = ""
        for index in range {
            let token = tokens[index]
            if index > range.lowerBound {
                let previous = tokens[index - 1]
                let space: Bool
                if token.isSymbol(")") || token.isSymbol(",") || previous.isSymbol("(") {
                    space = false
                } else if previous.isSymbol(",") || token.isSymbol("=") || previous.isSymbol("=") {
                    space = true
                } else {
                    space = token.spaced
                }
                if space { out += " " }
            }
            out += token.kind == .quotedIdentifier ? Self.name(token.value) : token.text
        }
        return out
    }

    /// A name as normalised text: bare when the identifier rule allows, back-quoted otherwise.
    static func name(_ value: String) -> String {
        SQL.isValidIdentifier(value) ? value : quotedName(value)
    }

    /// `` `value` `` with ClickHouse's backslash escapes.
    static func quotedName(_ value: String) -> String {
        "`" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "`", with: "\\`") + "`"
    }

    private mutating func append(_ kind: Token.Kind, from start: Int, to end: Int, spaced: Bool) {
        let text = text(start, end)
        tokens.append(Token(kind: kind, text: text, value: text, start: start, end: end, spaced: spaced))
    }

    /// A quoted string or name from its opening quote: where it ends, and its unescaped content.
    /// ClickHouse reads backslash escapes inside all three quotes, and a doubled quote as one.
    private func quoted(from start: Int) throws -> (end: Int, value: String) {
        let quote = scalars[start]
        var value = String.UnicodeScalarView()
        var index = start + 1
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\\", index + 1 < scalars.count {
                value.append(Self.unescaped(scalars[index + 1]))
                index += 2
            } else if scalar == quote {
                guard index + 1 < scalars.count, scalars[index + 1] == quote else { return (index + 1, String(value)) }
                value.append(quote)
                index += 2
            } else {
                value.append(scalar)
                index += 1
            }
        }
        let what = quote == "'" ? "a string" : "a quoted name"
        throw TableDefinitionError("\(what) is not closed (\(quote) at offset \(start))")
    }

    private static func unescaped(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar {
        case "n": "\n"
        case "t": "\t"
        case "r": "\r"
        case "0": "\0"
        default: scalar
        }
    }

    private func find(_ pattern: String, from start: Int) -> Int? {
        let needle = Array(pattern.unicodeScalars)
        var index = start
        while index + needle.count <= scalars.count {
            if Array(scalars[index..<index + needle.count]) == needle { return index }
            index += 1
        }
        return nil
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar == "$" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}

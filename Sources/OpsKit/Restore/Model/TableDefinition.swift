/// A table's definition as `SHOW CREATE TABLE` printed it (and a backup's manifest keeps it),
/// read far enough to restore from: its name, its engine, its columns and clauses. A restore
/// re-points it at a staging or scratch table (`text(as:unreplicated:)`) and compares it with the
/// live table (`normalizedStructure`, `StructureDiff`). Both ClickHouse 18.x and 26.x layouts
/// read, and the 18.x engine syntax with the keys in the engine's arguments.
package struct TableDefinition: Sendable, Equatable {
    /// The name as the statement writes it; `database` is empty when it names the table alone
    /// (an `ATTACH TABLE` from a metadata file).
    package var name: QualifiedTable
    /// `ReplicatedMergeTree`, `MergeTree`, `Distributed`, as written.
    package var engine: String
    /// The columns (and indexes, projections, constraints) then the clauses, normalised, one a
    /// line: what `StructureDiff` compares.
    var structureLines: [String]
    var columnCount: Int

    /// The statement after its name (white space, the column list, up to the engine's name), the
    /// engine as written, the engine without replication, and what follows it, all as written.
    private var body: String
    private var engineText: String
    private var unreplicatedEngineText: String
    private var tail: String

    /// Holds partitions: a MergeTree family engine, replicated or not.
    package var isMergeTreeFamily: Bool { engine.hasSuffix("MergeTree") }
    package var isReplicated: Bool { isMergeTreeFamily && engine.hasPrefix(Self.replicated) }

    private static let replicated = "Replicated"
    /// The clauses after the column list, in the order `SHOW CREATE TABLE` prints them.
    private static let clauseKeywords: [[String]] = [
        ["ENGINE"], ["PARTITION", "BY"], ["ORDER", "BY"], ["PRIMARY", "KEY"], ["SAMPLE", "BY"], ["TTL"], ["SETTINGS"], ["COMMENT"],
    ]

    package init(parsing statement: String) throws {
        let lexed = try SQLTokens(statement)
        var tokens = lexed.tokens
        if let semicolon = tokens.firstIndex(where: { $0.isSymbol(";") }) {
            guard semicolon == tokens.count - 1 else {
                throw TableDefinitionError("more text follows the ';' at offset \(tokens[semicolon].start): one CREATE TABLE statement expected")
            }
            tokens.removeLast()
        }
        guard !tokens.isEmpty else { throw TableDefinitionError("the statement is empty") }
        var depth = 0
        for token in tokens {
            if token.isSymbol("(") { depth += 1 }
            if token.isSymbol(")") { depth -= 1 }
            guard depth >= 0 else { throw TableDefinitionError("a ')' at offset \(token.start) closes nothing") }
        }
        guard depth == 0 else { throw TableDefinitionError("a '(' is not closed") }

        func keyword(_ index: Int) -> String? { index < tokens.count ? tokens[index].keyword : nil }
        // A string is never quoted back: it may hold a credential (an S3 engine's key).
        func quote(_ index: Int) -> String {
            guard index < tokens.count else { return "the end" }
            return tokens[index].kind == .string ? "a string" : SQL.quoteForMessage(tokens[index].text)
        }

        // CREATE TABLE [IF NOT EXISTS] [db.]name [UUID '...'] [ON CLUSTER c] (
        guard ["CREATE", "ATTACH"].contains(keyword(0)), keyword(1) == "TABLE" else {
            let words = tokens.prefix(3).prefix { $0.kind == .word && $0.text == $0.text.uppercased() }.map(\.text)
            throw TableDefinitionError(words.isEmpty ? "it starts with \(quote(0)), not CREATE TABLE" : "it is \(words.joined(separator: " ")), not CREATE TABLE")
        }
        var index = 2
        if keyword(2) == "IF", keyword(3) == "NOT", keyword(4) == "EXISTS" { index = 5 }
        guard index < tokens.count, tokens[index].isName else { throw TableDefinitionError("expected the table's name, found \(quote(index))") }
        if index + 2 < tokens.count, tokens[index + 1].isSymbol("."), tokens[index + 2].isName {
            name = QualifiedTable(tokens[index].value, tokens[index + 2].value)
            index += 3
        } else {
            name = QualifiedTable("", tokens[index].value)
            index += 1
        }
        if keyword(index) == "UUID", index + 1 < tokens.count, tokens[index + 1].kind == .string { index += 2 }
        if keyword(index) == "ON", keyword(index + 1) == "CLUSTER", index + 2 < tokens.count { index += 3 }
        let headEnd = tokens[index - 1].end
        guard index < tokens.count, tokens[index].isSymbol("("), let close = lexed.closing(index) else {
            throw TableDefinitionError("expected the column list after the table's name, found \(quote(index))")
        }
        let columns = lexed.split(index + 1..<close)
        guard !columns.contains(where: \.isEmpty) else { throw TableDefinitionError("the column list has an empty item") }

        // The clauses, each from its keyword to the next one outside parentheses.
        var clauses: [(keyword: [String], range: Range<Int>)] = []
        var cursor = close + 1
        depth = 0
        while cursor < tokens.count {
            if depth == 0 {
                if keyword(cursor) == "AS" { throw TableDefinitionError("it creates the table from a query (AS ...)") }
                if let words = Self.clauseKeywords.first(where: { words in words.indices.allSatisfy { keyword(cursor + $0) == words[$0] } }) {
                    if !clauses.isEmpty { clauses[clauses.count - 1].range = clauses[clauses.count - 1].range.lowerBound..<cursor }
                    clauses.append((words, cursor..<tokens.count))
                    cursor += words.count
                    continue
                }
                guard !clauses.isEmpty else { throw TableDefinitionError("found \(quote(cursor)) after the column list, where a clause belongs") }
            }
            if tokens[cursor].isSymbol("(") { depth += 1 }
            if tokens[cursor].isSymbol(")") { depth -= 1 }
            cursor += 1
        }

        // ENGINE [=] Name[(arguments)], and nothing else in the clause.
        guard let engineClause = clauses.first(where: { $0.keyword == ["ENGINE"] }) else {
            throw TableDefinitionError("it has no ENGINE clause")
        }
        var at = engineClause.range.lowerBound + 1
        if at < engineClause.range.upperBound, tokens[at].isSymbol("=") { at += 1 }
        guard at < engineClause.range.upperBound, tokens[at].kind == .word else { throw TableDefinitionError("expected the engine's name, found \(quote(at))") }
        let engineName = at
        engine = tokens[engineName].text
        var engineEnd = engineName
        var arguments: [Range<Int>] = []
        if engineName + 1 < engineClause.range.upperBound, tokens[engineName + 1].isSymbol("("), let argumentsClose = lexed.closing(engineName + 1) {
            engineEnd = argumentsClose
            arguments = argumentsClose == engineName + 2 ? [] : lexed.split(engineName + 2..<argumentsClose)
            guard !arguments.contains(where: \.isEmpty) else { throw TableDefinitionError("the engine \(engine) has an empty argument") }
        }
        guard engineEnd + 1 == engineClause.range.upperBound else {
            throw TableDefinitionError("found \(quote(engineEnd + 1)) after the engine \(engine), where a clause belongs")
        }

        // Replicated*MergeTree('/zookeeper/path', 'replica', rest...) is *MergeTree(rest...). Both
        // leading arguments are string literals when given; 20.x+ may leave them out.
        let isReplicated = engine.hasSuffix("MergeTree") && engine.hasPrefix(Self.replicated)
        let unreplicatedName = isReplicated ? String(engine.dropFirst(Self.replicated.count)) : engine
        var rest = arguments
        if isReplicated, arguments.count >= 2, arguments[0].count == 1, arguments[1].count == 1,
           tokens[arguments[0].lowerBound].kind == .string, tokens[arguments[1].lowerBound].kind == .string {
            rest = Array(arguments.dropFirst(2))
        }
        func written(_ range: ClosedRange<Int>) -> String { lexed.text(tokens[range.lowerBound].start, tokens[range.upperBound].end) }
        engineText = written(engineName...engineEnd)
        if !isReplicated {
            unreplicatedEngineText = engineText
        } else if let first = rest.first, let last = rest.last {
            unreplicatedEngineText = unreplicatedName + "(" + written(first.lowerBound...last.upperBound - 1) + ")"
        } else {
            unreplicatedEngineText = unreplicatedName
        }
        body = lexed.text(headEnd, tokens[engineName].start)
        tail = lexed.text(tokens[engineEnd].end, tokens[tokens.count - 1].end)

        // Replication is left out of the structure: a staging copy is unreplicated by design,
        // and the ZooKeeper path names the table itself.
        let engineArguments = rest.enumerated().map { position, range in
            Self.normalizedEngineArgument(range, at: position, engine: unreplicatedName, in: lexed)
        }
        let engineLine = "ENGINE = " + unreplicatedName + (engineArguments.isEmpty ? "" : "(" + engineArguments.joined(separator: ", ") + ")")
        columnCount = columns.count
        structureLines = columns.map(lexed.normalized) + clauses.map { clause in
            clause.keyword == ["ENGINE"] ? engineLine
                : clause.keyword.joined(separator: " ") + " " + lexed.normalized(clause.range.lowerBound + clause.keyword.count..<clause.range.upperBound)
        }
    }

    /// The statement re-pointed at `target`; `unreplicated` turns Replicated*MergeTree(path,
    /// replica, rest...) into *MergeTree(rest...) (a staging or scratch copy must not join the
    /// live table's replication in ZooKeeper).
    ///
    /// It always starts `CREATE TABLE target`: an `ATTACH` becomes a `CREATE`, `IF NOT EXISTS` is
    /// dropped (a staging table left by an earlier run must stop the restore, not be filled beside
    /// its old rows), and so are a `UUID` (it belongs to the backed-up table) and `ON CLUSTER` (the
    /// plan chooses the servers). Everything after the name stays as the server wrote it.
    package func text(as target: QualifiedTable, unreplicated: Bool) -> String {
        let name = (target.database.isEmpty ? "" : SQLTokens.quotedName(target.database) + ".") + SQLTokens.quotedName(target.table)
        return "CREATE TABLE " + name + body + (unreplicated ? unreplicatedEngineText : engineText) + tail
    }

    /// The structure without the table's own name, whitespace and identifier quoting normalised:
    /// equal for two tables that REPLACE PARTITION between, comparable across a backup and a live
    /// table.
    package var normalizedStructure: String {
        "(" + structureLines.prefix(columnCount).joined(separator: ", ") + ") " + structureLines.dropFirst(columnCount).joined(separator: " ")
    }

    /// Distributed's cluster, database and table read the same bare or quoted: 18.x prints
    /// `Distributed(luminate, luminate, metrics_local, rand())`, 26.x quotes the three names.
    private static func normalizedEngineArgument(_ range: Range<Int>, at position: Int, engine: String, in lexed: SQLTokens) -> String {
        let token = lexed.tokens[range.lowerBound]
        if engine == "Distributed", position < 3, range.count == 1, token.kind == .string {
            let content = String(token.text.dropFirst().dropLast())
            if SQL.isValidIdentifier(content) { return content }
        }
        return lexed.normalized(range)
    }
}

/// A statement that is not one CREATE TABLE luminatectl can read.
package struct TableDefinitionError: OperatorError, Equatable {
    /// What is wrong, in the statement's words: `it is CREATE VIEW, not CREATE TABLE`.
    package var problem: String

    package init(_ problem: String) { self.problem = problem }

    package var description: String { "cannot read the table definition: \(problem)" }
    package var hint: String? { "a table definition must be one CREATE TABLE statement as SHOW CREATE TABLE prints it" }
}

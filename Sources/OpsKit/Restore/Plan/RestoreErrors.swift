import Foundation

/// A restore that was refused before anything changed.
package struct RestoreRefused: OperatorError, Equatable {
    package var message: String
    package var hint: String?

    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    package var description: String { message + "; nothing was changed" }
}

/// Tables whose live structure differs from the backup's: refused with both definitions' diff.
package struct RestoreStructureMismatch: OperatorError, Equatable {
    package var backup: String
    /// Table name and the diff lines (`- ` backup only, `+ ` live only).
    package var tables: [(String, [String])]

    package init(backup: String, tables: [(String, [String])]) {
        self.backup = backup
        self.tables = tables
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.backup == rhs.backup && lhs.tables.map(\.0) == rhs.tables.map(\.0) && lhs.tables.map(\.1) == rhs.tables.map(\.1)
    }

    package var description: String {
        var text = "the structure of \(tables.map(\.0).joined(separator: ", ")) differs from backup \(backup); nothing was changed"
        for (table, diff) in tables {
            text += "\n  \(table) (- backup, + live):\n" + diff.map { "    " + $0 }.joined(separator: "\n")
        }
        return text
    }

    package var hint: String? {
        "bring the table back to the backup's structure, restore beside it with --into-database, or leave it out with --tables"
    }
}

/// What was restored does not match the backup's manifest: the destination was not touched (a
/// staged restore) or holds what the evidence shows.
package struct RestoreVerificationFailed: OperatorError, Equatable {
    package var backup: String
    package var table: String
    /// `partition 20261126 on shard 1: 2,000 rows, the manifest says 2,400`.
    package var problems: [String]

    package var description: String {
        "\(table) does not match backup \(backup): " + problems.prefix(10).joined(separator: "; ")
            + (problems.count > 10 ? "; and \(problems.count - 10) more" : "")
    }
}

/// A restore that stopped after it began changing things: what state it left, and how to finish.
package struct RestoreStopped: OperatorError {
    package var underlying: any Error
    package var backup: String
    /// The staging or scratch database left for inspection, if any.
    package var workDatabase: String?
    /// `luminate.metrics_local partition 20261126` lines already moved into place.
    package var replaced: [String]
    package var liveChanged: Bool

    package var description: String {
        var text = "\(underlying)"
        if liveChanged {
            text += replaced.isEmpty
                ? "; no live partition was replaced"
                : "; already replaced (each whole, from verified data): \(replaced.joined(separator: ", ")); every other live partition is as it was"
        } else {
            text += "; the live tables are as they were"
        }
        if let workDatabase { text += "; database \(workDatabase) is left for inspection" }
        return text
    }

    package var hint: String? {
        let underlyingHint = (underlying as? any OperatorError)?.hint
        let cleanup = workDatabase.map { _ in "remove it with: luminatectl restore cleanup \(backup)" }
        return [underlyingHint, cleanup].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
    }

    package var exitCode: ExitCode { (underlying as? any OperatorError)?.exitCode ?? .failure }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}

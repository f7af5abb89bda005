import Foundation

/// `system.backups` says the RESTORE failed or was cancelled: the server's own error text.
package struct NativeRestoreFailed: OperatorError, Equatable {
    /// ClickHouse's id of the restore in `system.backups`.
    package var id: String
    package var host: String
    package var source: String
    package var target: String
    /// `RESTORE_FAILED` or `RESTORE_CANCELLED`.
    package var status: String
    /// The server's error as `system.backups` holds it, stack trace and all.
    package var error: String

    package var description: String {
        "ClickHouse \(host) reports restore \(id) of \(source) into \(target) \(status): \(Redactor.redact(Self.message(error)))"
    }

    package var hint: String? {
        // CANNOT_RESTORE_TABLE: the target holds rows, and RESTORE refuses to add to them.
        if error.contains("Code: 608.") {
            return "\(target) already holds data: empty it, or load beside it with --in-place --allow-non-empty"
        }
        return "SELECT error FROM system.backups WHERE id = '\(id)' on \(host) has the whole error"
    }

    /// The server's message without its stack trace: 26.x puts `, Stack trace (when copying
    /// this message, ...):` on the message's own line, and the frames on the lines after it.
    package static func message(_ error: String) -> String {
        var line = error.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        if let trace = line.range(of: ", Stack trace") { line = String(line[..<trace.lowerBound]) }
        line = line.trimmingCharacters(in: .whitespaces)
        return line.isEmpty ? "(no error text)" : line
    }
}

/// Ctrl-C while ClickHouse was restoring: whether the server confirmed it stopped.
package struct NativeRestoreInterrupted: OperatorError, Equatable {
    package var id: String
    package var host: String
    package var target: String
    package var signal: Int32
    /// `KILL QUERY ... SYNC` found the restore and ended it.
    package var killed: Bool

    package var description: String {
        "interrupted while ClickHouse \(host) was restoring into \(target) (restore \(id))"
            + (killed ? "; the server stopped it (KILL QUERY), and \(target) may hold part of the data"
                      : "; the server did not confirm it stopped, and may still be writing into \(target)")
    }

    package var hint: String? { "SELECT status FROM system.backups WHERE id = '\(id)' on \(host) says how it ended" }
    package var exitCode: ExitCode { .interrupted }
}

/// The restore's row left `system.backups` while luminatectl was waiting for it. The table lives
/// in the server's memory only, so the server was restarted, and a restart ends a restore.
package struct NativeRestoreVanished: OperatorError, Equatable {
    package var id: String
    package var host: String
    package var target: String

    package var description: String {
        "restore \(id) into \(target) is gone from system.backups on \(host): the server was restarted "
            + "(system.backups lives in memory) and the restore ended with it"
    }

    package var hint: String? { "\(target) may hold part of the data: check it, then load again" }
}

/// An incremental backup whose chain of bases is not whole in the store. RESTORE reads every base
/// itself, so it would fail part-way; luminatectl refuses before sending anything.
package struct NativeRestoreBaseMissing: OperatorError, Equatable {
    /// The backup asked for.
    package var backup: String
    /// Its bases, nearest first, up to and including the one that is missing or unreadable.
    package var bases: [String]
    package var location: String
    /// `does not hold 20261130T120000Z/.backup`.
    package var problem: String

    package var missing: String { bases.last ?? backup }

    package var description: String {
        "backup \(backup) cannot be restored: it is incremental on \(bases.joined(separator: ", which is incremental on ")), "
            + "and the store \(location) \(problem)"
    }

    package var hint: String? {
        "RESTORE reads every base of an incremental itself; restore a backup whose bases are all in the store (luminatectl backup list)"
    }
}

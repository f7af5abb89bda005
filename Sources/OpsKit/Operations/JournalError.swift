import Foundation

/// The journal file cannot be used. A mutating operation whose `started` record cannot be
/// written does not run (the runner's rule), so these errors name the file and say how to point
/// the journal somewhere writable.
package enum JournalError: OperatorError, Equatable {
    case directory(path: String, reason: String)
    case open(path: String, reason: String)
    case write(path: String, reason: String)
    case sync(path: String, reason: String)
    case read(path: String, reason: String)
    /// Another process kept the file's lock for longer than any append takes.
    case busy(path: String, seconds: Double)
    /// The last line is not a record, so a new one cannot be chained to it.
    case corruptTail(path: String, problem: String)
    /// Nothing has been journaled at this path.
    case missing(path: String)
    /// Neither `XDG_STATE_HOME` nor `HOME` is set and no path was configured.
    case noPath(environment: String)

    package var description: String {
        switch self {
        case .directory(let path, let reason): "cannot create the journal directory \(path): \(reason)"
        case .open(let path, let reason): "cannot open the journal \(path) for appending: \(reason)"
        case .write(let path, let reason): "cannot write to the journal \(path): \(reason)"
        case .sync(let path, let reason): "cannot flush the journal \(path) to disk (fsync): \(reason)"
        case .read(let path, let reason): "cannot read the journal \(path): \(reason)"
        case .busy(let path, let seconds):
            "the journal \(path) stayed locked by another luminatectl process for \(formatSeconds(seconds))"
        case .corruptTail(let path, let problem):
            "the journal \(path) ends with a line that is not a journal record (\(problem)): a new record cannot be chained to it"
        case .missing(let path): "there is no journal at \(path)"
        case .noPath(let environment):
            "no journal path for environment '\(environment)': neither XDG_STATE_HOME nor HOME is set"
        }
    }

    package var hint: String? {
        switch self {
        case .directory, .open, .write, .sync, .noPath:
            "every change is journaled before it runs: make the directory writable, or set LUMINATECTL_JOURNAL (or journal.path in the configuration) to a writable file"
        case .read:
            "check the file's permissions, or LUMINATECTL_JOURNAL / journal.path"
        case .busy:
            "another luminatectl is writing the journal; if none is running, retry"
        case .corruptTail:
            "run 'luminatectl journal verify' to see what changed; keep the file as evidence and point LUMINATECTL_JOURNAL (or journal.path) at a new one"
        case .missing:
            "no operation has been journaled here for this environment, or the file was moved; check LUMINATECTL_JOURNAL / journal.path"
        }
    }

    /// `strerror` text for `code`.
    static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}

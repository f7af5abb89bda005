import Foundation

/// Why the policy gate refuses a deploy; thrown by `GateVerdict.requireAdmitted()`. Exit 1: the
/// command line is right, the change is not allowed now. Each names what would admit it.
package enum GateRefusal: OperatorError, Equatable {
    /// The environment requires a change request (production does) and none was given.
    case changeRequestMissing(environment: String)
    /// No window admitting the change is open now; `open` is a window that is open but admits
    /// only smaller changes (the weekly window for a major change).
    case outsideWindow(size: ChangeSize, now: Date, open: WindowOccurrence?, next: WindowOccurrence)
    /// No configured window ever admits a change of this size.
    case noWindowAdmits(size: ChangeSize, windows: [MaintenanceWindow])

    static let emergencyFlags = "--emergency --approved-by NAME --reason TEXT"

    package var description: String {
        switch self {
        case .changeRequestMissing(let environment):
            return "a deploy to \(environment) needs a change request: give --change-request ID"
        case .outsideWindow(let size, let now, let open, let next):
            let when = open.map { "during the \($0.window.name) window, which admits only \($0.window.admits.rawValue) changes" }
                ?? "outside its maintenance window"
            return "a \(size.rawValue) change \(when): the next window that admits it is \(next) (in \(WindowOccurrence.wait(from: now, until: next.start)))"
        case .noWindowAdmits(let size, let windows) where windows.isEmpty:
            return "a \(size.rawValue) change and no maintenance window is configured (policy.maintenanceWindows is empty)"
        case .noWindowAdmits(let size, let windows):
            return "a \(size.rawValue) change and no maintenance window admits one: policy.maintenanceWindows has "
                + windows.map { "\($0.name) (\($0.admits.rawValue))" }.joined(separator: ", ")
        }
    }

    package var hint: String? {
        switch self {
        case .changeRequestMissing:
            return "the change request is the change-management record; an --emergency deploy needs one too"
        case .outsideWindow(_, let now, _, let next):
            return "deploy from \(UTCInstant(next.start).iso8601) until \(UTCInstant(next.end).iso8601) "
                + "(opens in \(WindowOccurrence.wait(from: now, until: next.start))), "
                + "or, if it cannot wait, with \(Self.emergencyFlags) (journaled)"
        case .noWindowAdmits(let size, _):
            return "add a window with admits: \(size.rawValue) to policy.maintenanceWindows, "
                + "or, if it cannot wait, deploy with \(Self.emergencyFlags) (journaled)"
        }
    }
}

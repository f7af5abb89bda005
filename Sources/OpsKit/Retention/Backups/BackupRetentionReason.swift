import Foundation

/// Why the retention plan keeps a backup. A survivor lists every reason that applies: the
/// backup of 00:00 on the first of the month is often kept by all four tiers at once.
package enum BackupKeepReason: Sendable, Hashable, CustomStringConvertible {
    /// It is the oldest complete backup of `period`, one of the periods its tier keeps.
    case tier(BackupPeriod)
    /// It is the newest complete backup: the recovery point a restore reaches now.
    case newest
    /// A kept backup (`dependent`) is incremental on it, directly.
    case baseOf(dependent: String)
    /// It has no manifest yet and is younger than the incomplete age: it may still be running.
    case mayStillBeRunning
    /// A complete incremental whose base chain is broken (`problem` names the missing link): it
    /// cannot be restored, so it fills no tier, but it is not deleted automatically either: the
    /// operator decides (`backup delete`), since the base may be in another store or a bug.
    case unrestorable(problem: String)

    package var description: String {
        switch self {
        case .tier(let period): "\(period.tier.rawValue) \(period)"
        case .newest: "newest"
        case .baseOf(let dependent): "base of \(dependent)"
        case .mayStillBeRunning: "incomplete, may still be running"
        case .unrestorable(let problem): "unrestorable: \(problem)"
        }
    }

    /// Kept for a dependency only: a survivor whose reasons are all of this kind is there
    /// because something kept builds on it.
    package var isDependency: Bool {
        if case .baseOf = self { return true }
        return false
    }
}

/// Why the retention plan deletes a backup.
package enum BackupDeleteReason: Sendable, Hashable, CustomStringConvertible {
    /// Complete, but no tier keeps it, it is not the newest and nothing kept builds on it.
    case noTierKeepsIt
    /// No manifest, and it started `age` seconds ago, longer than the incomplete age allows.
    case incompleteTooOld(age: Double, limit: Double)

    package var description: String {
        switch self {
        case .noTierKeepsIt: "no tier keeps it"
        case .incompleteTooOld(let age, let limit):
            "incomplete for \(BackupText.age(age)), longer than \(BackupText.age(limit))"
        }
    }
}

import Foundation

/// Which backups retention keeps, which it deletes, why, and in which order the deletions are
/// safe. A pure value: made from the catalogue and a time, printed by `retention plan`, carried
/// out by whatever deletes (one `backup delete` per id, in `deletionOrder`).
package struct BackupRetentionPlan: Sendable, Equatable {
    /// The verdict on one backup.
    package enum Action: Sendable, Equatable {
        /// Every reason that keeps it; never empty.
        case keep([BackupKeepReason])
        case delete(BackupDeleteReason)
    }

    /// One backup of the store and what becomes of it.
    package struct Decision: Sendable, Equatable {
        package var id: BackupID
        /// Has a manifest.
        package var isComplete: Bool
        /// `full` or `incremental`; nil for an incomplete backup.
        package var type: BackupType?
        /// What it is incremental on (for an incomplete one: what its start marker names).
        package var base: String?
        package var action: Action

        package var isKept: Bool {
            if case .keep = action { return true }
            return false
        }

        package var keptBecause: [BackupKeepReason] {
            if case .keep(let reasons) = action { return reasons }
            return []
        }

        /// The tiers that keep it, in tier order.
        package var tiers: [BackupTier] {
            keptBecause.compactMap { if case .tier(let period) = $0 { return period.tier } else { return nil } }
        }

        /// Kept only because a kept backup is incremental on it.
        package var isKeptOnlyAsBase: Bool {
            let reasons = keptBecause
            return !reasons.isEmpty && reasons.allSatisfy(\.isDependency)
        }
    }

    /// The time incomplete backups' ages were measured against.
    package var now: Date
    package var policy: RetentionPolicy
    package var incompleteMaxAge: Double
    /// Every backup of the store, newest first.
    package var decisions: [Decision]
    /// The backups to delete, dependents before their bases: deleting them one by one in this
    /// order never removes a base while a backup built on it is still in the store, so every
    /// `backup delete` is accepted and an interrupted run leaves no broken chain.
    package var deletionOrder: [BackupID]

    package var kept: [Decision] { decisions.filter(\.isKept) }
    package var deleted: [Decision] { decisions.filter { !$0.isKept } }

    package func decision(_ id: String) -> Decision? { decisions.first { $0.id.text == id } }
}

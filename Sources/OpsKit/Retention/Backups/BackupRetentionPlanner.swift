import Foundation

/// Decides which backups retention keeps. The definition, in the order it is applied:
///
/// 1. **Tiers.** Each tier (hourly, daily, weekly, monthly) divides time into UTC periods:
///    clock hours, days, ISO weeks starting Monday 00:00 UTC, calendar months. A complete
///    backup falls into the period of each tier that holds its `snapshotAt`. A tier whose
///    policy count is N keeps, for each of the N most recent periods that hold at least one
///    restorable complete backup, the **oldest** restorable complete backup of that period
///    (ties on `snapshotAt` go to the smaller id). Periods without a backup do not count, so
///    a gap in the schedule never empties a tier. A backup kept by several tiers lists each.
/// 2. **Newest.** The newest restorable complete backup is kept: it is the recovery point.
/// 3. **Unrestorable.** A complete incremental whose base chain is broken (a base missing from
///    the store, incomplete, itself unrestorable, or a chain that loops) fills no tier and is
///    not the newest, since restoring it would fail; it is kept and reported
///    (`unrestorable: base X missing`), never deleted automatically: what is wrong is a fault
///    for an operator to look at, and deleting it could destroy the evidence, or the only copy
///    of data whose base lives elsewhere.
/// 4. **Incomplete.** A backup without a manifest whose id (its start time) is at most
///    `incompleteMaxAge` before `now` is kept, as it may still be running; an older one is
///    deleted.
/// 5. **Bases.** Transitively, the base of every kept backup is kept (`base of <id>`), for an
///    incomplete one the base its start marker names: nothing kept is left without its chain.
/// 6. Everything else is deleted.
///
/// Pure: the catalogue and the time are handed in, nothing is read or deleted here.
package struct BackupRetentionPlanner: Sendable {
    package var policy: RetentionPolicy
    /// Seconds after which a backup without a manifest is taken for dead: a day, far longer than
    /// any backup of the cluster takes, and short enough that a failed one is cleared the next day.
    package var incompleteMaxAge: Double

    package static let defaultIncompleteMaxAge: Double = RetentionPolicy().incompleteBackupsAfter

    /// `incompleteMaxAge` defaults to the policy's `policy.retention.backups.incompleteAfter`.
    package init(policy: RetentionPolicy, incompleteMaxAge: Double? = nil) {
        self.policy = policy
        self.incompleteMaxAge = incompleteMaxAge ?? policy.incompleteBackupsAfter
    }

    /// The plan for `entries` (a catalogue's, in any order; ids unique) at `now`.
    package func plan(_ entries: [CatalogueEntry], now: Date) -> BackupRetentionPlan {
        let entries = entries.sorted { $0.id > $1.id }
        let chains = BackupBaseChains(entries)
        var reasons: [String: [BackupKeepReason]] = [:]

        let restorable = entries.compactMap(\.manifest).filter { chains.unrestorable[$0.id] == nil }
        // Oldest first, so the first backup met in a period is the one the tier keeps.
        let oldestFirst = restorable.sorted { ($0.snapshotAt, $0.id) < ($1.snapshotAt, $1.id) }
        for tier in BackupTier.allCases {
            var oldestOfPeriod: [BackupPeriod: String] = [:]
            for manifest in oldestFirst {
                let period = tier.period(of: manifest.snapshotAt)
                if oldestOfPeriod[period] == nil { oldestOfPeriod[period] = manifest.id }
            }
            for period in oldestOfPeriod.keys.sorted(by: >).prefix(max(0, tier.count(in: policy))) {
                reasons[oldestOfPeriod[period]!, default: []].append(.tier(period))
            }
        }
        if let newest = oldestFirst.last { reasons[newest.id, default: []].append(.newest) }

        for entry in entries {
            switch entry.state {
            case .complete:
                if let problem = chains.unrestorable[entry.id.text] {
                    reasons[entry.id.text, default: []].append(.unrestorable(problem: problem))
                }
            case .incomplete:
                if now.timeIntervalSince(entry.id.time) <= incompleteMaxAge {
                    reasons[entry.id.text, default: []].append(.mayStillBeRunning)
                }
            }
        }

        // Each kept backup enters the work list once, so each "base of" is recorded once.
        let present = Set(entries.map(\.id.text))
        var pending = entries.map(\.id.text).filter { reasons[$0] != nil }
        while let dependent = pending.popLast() {
            // A manifest naming itself as its base is unrestorable, not its own dependency.
            guard let base = chains.base[dependent], base != dependent, present.contains(base) else { continue }
            if reasons[base] == nil { pending.append(base) }
            reasons[base, default: []].append(.baseOf(dependent: dependent))
        }

        let decisions = entries.map { entry in
            let action: BackupRetentionPlan.Action
            if let keep = reasons[entry.id.text] {
                action = .keep(keep.sorted(by: Self.readingOrder))
            } else if entry.manifest != nil {
                action = .delete(.noTierKeepsIt)
            } else {
                action = .delete(.incompleteTooOld(age: now.timeIntervalSince(entry.id.time), limit: incompleteMaxAge))
            }
            return BackupRetentionPlan.Decision(
                id: entry.id, isComplete: entry.manifest != nil, type: entry.manifest?.type,
                base: chains.base[entry.id.text], action: action)
        }
        return BackupRetentionPlan(
            now: now, policy: policy, incompleteMaxAge: incompleteMaxAge, decisions: decisions,
            deletionOrder: Self.dependentsFirst(decisions.filter { !$0.isKept }))
    }

    /// Tiers from hourly to monthly, then newest, unrestorable, still running, then the bases
    /// by dependent id: the same backup reads the same way in every plan.
    private static func readingOrder(_ a: BackupKeepReason, _ b: BackupKeepReason) -> Bool {
        func rank(_ reason: BackupKeepReason) -> (Int, Int, String) {
            switch reason {
            case .tier(let period): (0, BackupTier.allCases.firstIndex(of: period.tier)!, "")
            case .newest: (1, 0, "")
            case .unrestorable(let problem): (2, 0, problem)
            case .mayStillBeRunning: (3, 0, "")
            case .baseOf(let dependent): (4, 0, dependent)
            }
        }
        return rank(a) < rank(b)
    }

    /// `deleted` (newest first) reordered so that a backup comes after every deleted backup that
    /// is incremental on it; among those free to go, the newest goes first. A loop of bases can
    /// only join incomplete backups (complete ones on a loop are unrestorable and kept); nothing
    /// restores from those, so a loop is broken at its newest member.
    private static func dependentsFirst(_ deleted: [BackupRetentionPlan.Decision]) -> [BackupID] {
        let ids = Set(deleted.map(\.id.text))
        var waitingOn: [String: Int] = [:]
        for decision in deleted {
            if let base = decision.base, ids.contains(base) { waitingOn[base, default: 0] += 1 }
        }
        var order: [BackupID] = []
        var remaining = deleted
        while !remaining.isEmpty {
            let index = remaining.firstIndex { waitingOn[$0.id.text, default: 0] == 0 } ?? 0
            let next = remaining.remove(at: index)
            order.append(next.id)
            if let base = next.base, ids.contains(base) { waitingOn[base, default: 0] -= 1 }
        }
        return order
    }
}

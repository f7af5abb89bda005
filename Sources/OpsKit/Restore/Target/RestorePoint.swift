import Foundation

/// Which backup `restore` was asked for: the newest (`latest`), one by id, or the newest taken
/// at or before a point in time (`--to-time`).
package enum RestoreSelector: Sendable, Equatable {
    case latest
    case id(BackupID)
    case toTime(Date)
}

/// The backup a restore reads, with everything it needs of the catalogue: the chain of bases an
/// incremental backup is built on, and the sentence that tells the operator where the data will
/// stand afterwards.
package struct RestorePoint: Sendable, Equatable {
    /// The backup restored.
    package var manifest: BackupManifest
    /// `manifest` first, then its base, its base's base ... down to the full one.
    package var chain: [BackupManifest]
    /// `--to-time`, when given.
    package var requested: Date?
    /// `requested - manifest.snapshotAt`: the writes a restore to this point cannot bring back.
    package var gapSeconds: Double?
    /// What the operator is told.
    package var statement: String

    package init(manifest: BackupManifest, chain: [BackupManifest], requested: Date? = nil, gapSeconds: Double? = nil, statement: String) {
        self.manifest = manifest
        self.chain = chain
        self.requested = requested
        self.gapSeconds = gapSeconds
        self.statement = statement
    }
}

/// Picks the restore point from the catalogue. Only complete backups count, and an incremental
/// backup only when every base down to the full one is in the catalogue and complete: its data
/// is not whole without them. `latest` and `--to-time` pass over a backup with a broken chain (an
/// older whole one is still a restore point); asked for by id, it is refused with the base at
/// fault named.
package enum RestorePointSelection {
    /// `location` is the store's, for the error when an id is unknown.
    package static func select(_ selector: RestoreSelector, entries: [CatalogueEntry], location: String = "the store") throws -> RestorePoint {
        let catalogue = Dictionary(entries.map { ($0.id.text, $0) }, uniquingKeysWith: { first, _ in first })
        switch selector {
        case .latest:
            guard let (manifest, chain) = usable(entries, catalogue).first else { throw NoRestorableBackup(location: location) }
            return RestorePoint(manifest: manifest, chain: chain, statement: RestoreStatement.backup(manifest, chain: chain))

        case .id(let id):
            guard let entry = catalogue[id.text] else { throw BackupNotFound(id: id.text, location: location) }
            guard let manifest = entry.manifest else { throw BackupIncomplete(id: id.text) }
            let chain = try chain(of: manifest, catalogue).get()
            return RestorePoint(manifest: manifest, chain: chain, statement: RestoreStatement.backup(manifest, chain: chain))

        case .toTime(let requested):
            let candidates = usable(entries, catalogue)
            guard let oldest = candidates.last else { throw NoRestorableBackup(location: location) }
            guard let (manifest, chain) = candidates.first(where: { $0.manifest.snapshotAt <= requested }) else {
                throw ValidationError(
                    "\(PointInTime.flag) \(RestoreStatement.time(requested)) UTC is before the oldest usable backup, taken at \(RestoreStatement.time(oldest.manifest.snapshotAt)) UTC (\(oldest.manifest.id))",
                    hint: "luminatectl backup list shows the backups; a restore can reach \(RestoreStatement.time(oldest.manifest.snapshotAt)) UTC at the earliest")
            }
            let gap = requested.timeIntervalSince(manifest.snapshotAt)
            return RestorePoint(manifest: manifest, chain: chain, requested: requested, gapSeconds: gap,
                                statement: RestoreStatement.toTime(manifest.snapshotAt, requested: requested))
        }
    }

    /// Every complete backup whose chain is whole, newest snapshot first.
    private static func usable(_ entries: [CatalogueEntry], _ catalogue: [String: CatalogueEntry]) -> [(manifest: BackupManifest, chain: [BackupManifest])] {
        entries.compactMap(\.manifest)
            .compactMap { manifest in (try? chain(of: manifest, catalogue).get()).map { (manifest, $0) } }
            .sorted { ($0.manifest.snapshotAt, $0.manifest.id) > ($1.manifest.snapshotAt, $1.manifest.id) }
    }

    private static func chain(of manifest: BackupManifest, _ catalogue: [String: CatalogueEntry]) -> Result<[BackupManifest], BrokenBackupChain> {
        var chain = [manifest]
        var current = manifest
        while current.type == .incremental {
            func broken(_ base: String, _ problem: BrokenBackupChain.Problem) -> Result<[BackupManifest], BrokenBackupChain> {
                .failure(BrokenBackupChain(id: manifest.id, base: base, problem: problem))
            }
            guard let base = current.base else { return broken(current.id, .noBaseRecorded) }
            guard let entry = catalogue[base] else { return broken(base, .missing) }
            guard let next = entry.manifest else { return broken(base, .incomplete) }
            // A manifest naming a later backup (or itself) as its base is damaged; following it
            // could loop for ever.
            guard next.snapshotAt < current.snapshotAt, !chain.contains(where: { $0.id == next.id }) else { return broken(base, .notOlder) }
            chain.append(next)
            current = next
        }
        return .success(chain)
    }
}

/// An incremental backup whose data is not whole: a base it is built on is gone, incomplete, or
/// not what a base must be.
package struct BrokenBackupChain: OperatorError, Equatable {
    package enum Problem: Sendable, Equatable {
        /// No folder of that id in the store.
        case missing
        /// The folder has no (readable) manifest.
        case incomplete
        /// The backup named as base is not older than the one built on it.
        case notOlder
        /// An incremental manifest without a base (then `base` is the id of that manifest).
        case noBaseRecorded
    }

    /// The backup asked for.
    package var id: String
    /// The base at fault, somewhere down the chain.
    package var base: String
    package var problem: Problem

    package var description: String {
        switch problem {
        case .missing: "backup \(id) cannot be restored: it is built on \(base), which is not in the store"
        case .incomplete: "backup \(id) cannot be restored: it is built on \(base), which is incomplete"
        case .notOlder: "backup \(id) cannot be restored: its chain is damaged, base \(base) is not older than the backup built on it"
        case .noBaseRecorded: "backup \(id) cannot be restored: \(base) is incremental but its manifest names no base"
        }
    }
    package var hint: String? { "luminatectl backup list shows the backups; restore a full backup or one whose bases are all complete" }
}

/// The catalogue holds no complete backup with a whole chain.
package struct NoRestorableBackup: OperatorError, Equatable {
    package var location: String
    package var description: String { "no complete backup in \(location) to restore from" }
    package var hint: String? { "luminatectl backup list shows what the store holds; luminatectl backup create takes one" }
}

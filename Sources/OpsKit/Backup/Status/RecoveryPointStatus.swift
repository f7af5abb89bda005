import Foundation

/// `backup status`: how much data a restore right now would lose. The newest complete backup's
/// age against the RPO (`policy.recovery.rpo`, the guide's 1 hour), and a week of recoverable
/// points, one cell per hour, so a gap that closed again is still visible.
package struct RecoveryPointStatus: Sendable, Equatable {
    package enum Verdict: String, Sendable {
        /// The newest complete backup is younger than the RPO.
        case ok
        /// It is older: a restore now would lose more than the RPO allows.
        case breached
        /// The store holds no complete backup at all.
        case noBackup = "no-backup"
    }

    package var now: Date
    package var rpo: Double
    package var newest: BackupManifest?
    /// Hour cells of the last seven UTC days (today included), oldest first; true when a complete
    /// backup's snapshot lies in that hour, nil for the hours of today still to come.
    package var hours: [Bool?]
    package var hoursStart: Date
    package var incomplete: [CatalogueEntry]
    package var completeCount: Int
    /// The longest stretch in the window with no recoverable point, in seconds (counting up to
    /// now), and where it began.
    package var longestGap: Double
    package var longestGapStart: Date?

    /// A week of hours: long enough to see the daily and weekly CronJob pattern, short enough for
    /// one terminal line.
    package static let windowHours = 7 * 24

    package init(entries: [CatalogueEntry], now: Date, rpo: Double) {
        self.now = now
        self.rpo = rpo
        let complete = entries.compactMap(\.manifest).sorted { $0.snapshotAt > $1.snapshotAt }
        newest = complete.first
        completeCount = complete.count
        incomplete = entries.filter { $0.manifest == nil }
        // Whole UTC days, so each row of the strip is one date.
        let today = (now.timeIntervalSince1970 / 86400).rounded(.down) * 86400
        hoursStart = Date(timeIntervalSince1970: today - 6 * 86400)
        let current = Int((now.timeIntervalSince(hoursStart) / 3600).rounded(.down))
        var cells: [Bool?] = (0..<Self.windowHours).map { $0 <= current ? false : nil }
        for manifest in complete {
            let offset = Int(((manifest.snapshotAt.timeIntervalSince(hoursStart)) / 3600).rounded(.down))
            if cells.indices.contains(offset), offset <= current { cells[offset] = true }
        }
        hours = cells
        // Gaps between consecutive snapshots inside the window, and from the newest to now. The
        // stretch before the first backup (history before backups began, or pruned by retention)
        // is not a gap between recoverable points.
        let windowStart = hoursStart
        let points = complete.map(\.snapshotAt).filter { $0 >= windowStart && $0 <= now }.sorted()
        var previous = complete.first { $0.snapshotAt < windowStart }?.snapshotAt ?? points.first
        var gap = 0.0
        var gapStart: Date?
        for point in points + [now] {
            guard let from = previous else { break }
            let length = point.timeIntervalSince(max(from, windowStart))
            if length > gap { (gap, gapStart) = (length, max(from, windowStart)) }
            previous = point
        }
        longestGap = gap
        longestGapStart = gapStart
    }

    package var age: Double? { newest.map { now.timeIntervalSince($0.snapshotAt) } }

    package var verdict: Verdict {
        guard let age else { return .noBackup }
        return age > rpo ? .breached : .ok
    }

    /// `▇` for an hour with a recoverable point, `·` without, blank for hours still to come: a
    /// heat strip of the week.
    package var strip: String {
        String(hours.map { $0 == nil ? " " : $0! ? "▇" : "·" })
    }
}

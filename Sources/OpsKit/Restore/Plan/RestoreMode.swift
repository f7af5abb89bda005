import Foundation

/// Where restored data goes, and whether it replaces anything.
package enum RestoreMode: Sendable, Equatable {
    /// The default: into the staging database, verified there, then moved into the live tables
    /// partition by partition; the staging database is dropped at the end.
    case staged
    /// `--into-database DB`: beside the live data, nothing swapped.
    case beside(database: String)
    /// `--in-place --yes`: straight into the live tables of an empty, rebuilt cluster.
    case inPlace(allowNonEmpty: Bool)
    /// `restore drill`: into a scratch database, verified, measured, dropped.
    case drill

    /// `luminate_restore_20261130T140500Z`: where a staged restore of a backup loads its data.
    package static func stagingDatabase(_ backup: String) -> String { "luminate_restore_\(backup)" }
    /// `luminate_drill_20261130T140500Z`: a drill's scratch database.
    package static func scratchDatabase(_ backup: String) -> String { "luminate_drill_\(backup)" }

    /// The database luminatectl creates for this restore and drops at the end (nil when the data
    /// goes straight to its destination).
    package func workDatabase(backup: String) -> String? {
        switch self {
        case .staged: return Self.stagingDatabase(backup)
        case .drill: return Self.scratchDatabase(backup)
        case .beside, .inPlace: return nil
        }
    }

    /// What the plan's heading calls it.
    package var name: String {
        switch self {
        case .staged: return "staged"
        case .beside(let database): return "beside the live data, into database \(database)"
        case .inPlace(let allowNonEmpty): return allowNonEmpty ? "in place (non-empty tables allowed)" : "in place"
        case .drill: return "drill"
        }
    }

    package var isInPlace: Bool {
        if case .inPlace = self { return true }
        return false
    }

    /// Whether the live tables are the data's final destination.
    package var changesLiveTables: Bool {
        switch self {
        case .staged, .inPlace: return true
        case .beside, .drill: return false
        }
    }
}

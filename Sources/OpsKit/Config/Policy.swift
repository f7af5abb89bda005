import Foundation

/// The operations guide's policies for one environment. Built-in defaults are the guide's values;
/// a configuration file may tighten or loosen them per environment.
package struct Policy: Sendable, Equatable {
    package var maintenanceWindows: [MaintenanceWindow] = MaintenanceWindow.guideDefaults
    package var rollback = RollbackCriteria()
    package var scaling = ScalingTriggers()
    package var recovery = RecoveryObjectives()
    package var retention = RetentionPolicy()
    package var deploy = DeployPolicy()
    /// Production deploys carry a change-request ID (the guide's change-management step).
    package var changeRequestRequired = false

    package init() {}
}

/// When changes may be made. The guide: weekly Saturday 02:00–04:00 UTC, monthly on the first
/// Sunday 02:00–06:00 UTC.
package struct MaintenanceWindow: Sendable, Equatable {
    package enum Recurrence: Sendable, Equatable {
        case weekly(weekday: Int)
        /// The first such weekday of each month.
        case monthlyFirst(weekday: Int)
    }

    package var name: String
    package var recurrence: Recurrence
    /// Minutes after midnight UTC.
    package var startMinute: Int
    package var durationSeconds: Double
    /// The largest change the window admits: the weekly window takes minor changes, the monthly
    /// one major version updates (and minor ones).
    package var admits: ChangeSize

    package init(name: String, recurrence: Recurrence, startMinute: Int, durationSeconds: Double, admits: ChangeSize = .minor) {
        self.name = name
        self.recurrence = recurrence
        self.startMinute = startMinute
        self.durationSeconds = durationSeconds
        self.admits = admits
    }

    /// Weekday numbers as Calendar uses them: 1 = Sunday ... 7 = Saturday.
    package static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    package static let guideDefaults = [
        MaintenanceWindow(name: "weekly", recurrence: .weekly(weekday: 7), startMinute: 120, durationSeconds: 2 * 3600, admits: .minor),
        MaintenanceWindow(name: "monthly", recurrence: .monthlyFirst(weekday: 1), startMinute: 120, durationSeconds: 4 * 3600, admits: .major),
    ]

    /// `saturday 02:00-04:00 UTC`, `first sunday 02:00-06:00 UTC`.
    package var summary: String {
        let start = String(format: "%02d:%02d", startMinute / 60, startMinute % 60)
        let endMinute = (startMinute + Int(durationSeconds / 60)) % (24 * 60)
        let end = String(format: "%02d:%02d", endMinute / 60, endMinute % 60)
        switch recurrence {
        case .weekly(let day): return "every \(Self.weekdays[day - 1]) \(start)-\(end) UTC"
        case .monthlyFirst(let day): return "first \(Self.weekdays[day - 1]) of the month \(start)-\(end) UTC"
        }
    }
}

/// How big a change is, for the maintenance windows: a major version update of a container image
/// waits for the monthly window; anything else is minor.
package enum ChangeSize: String, Sendable, Equatable, Comparable {
    case minor
    case major

    package static func < (lhs: ChangeSize, rhs: ChangeSize) -> Bool { lhs == .minor && rhs == .major }
}

/// The guide's automatic-rollback criteria: error rate above 5 % for 5 minutes, p95 latency
/// above 500 ms for 10 minutes, data corruption detected, a security vulnerability introduced.
package struct RollbackCriteria: Sendable, Equatable {
    package var errorRateAbove = 0.05
    package var errorRateFor: Double = 5 * 60
    package var p95LatencyAbove = 0.5
    package var p95LatencyFor: Double = 10 * 60
    /// Consecutive evaluations without data after which a deploy counts as failed. 10 at the
    /// default 30 s interval is 5 minutes, the error-rate window: a monitoring blackout as long
    /// as the fastest criterion could hide the very breach that criterion exists to catch.
    package var maxInconclusive = 10
    /// `policy.rollback.corruption`: ClickHouse queries that must return no rows.
    package var corruption = CorruptionProbes()
    /// `policy.rollback.security.command`: run once per deployed image (`{image}` in an argument
    /// is replaced by it); a non-zero exit is a security finding. Nil: not configured.
    package var securityCommand: [String]?

    package init() {}
}

/// The data-corruption probes. The built-in ones (no read-only replicas, no replication queue
/// entry failing for over 10 minutes, replicas of a shard agreeing on rows per settled partition,
/// no broken detached parts where the server lists them) run unless `defaults: false`; each
/// configured probe is a query whose rows, if any, are the finding.
package struct CorruptionProbes: Sendable, Equatable {
    package struct Probe: Sendable, Equatable {
        package var name: String
        package var query: String
        package init(name: String, query: String) {
            self.name = name
            self.query = query
        }
    }

    package var defaults = true
    package var probes: [Probe] = []

    package init() {}
}

/// How `deploy` watches a change.
package struct DeployPolicy: Sendable, Equatable {
    /// `--bake`: how long the change is watched after its rollout finished. Nil: 10 minutes, or
    /// the longest criterion window if that is longer.
    package var bake: Double?
    /// `--interval`: how often the criteria are evaluated.
    package var interval: Double = 30
    /// StatefulSets have no progress deadline: how long their rollout may take.
    package var statefulSetTimeout: Double = 30 * 60
    /// Whether an image tag that is not a semantic version (`latest`, `main-4f2a`) counts as a
    /// major change. The safe default: it does.
    package var nonSemverTagsAreMajor = true

    package init() {}

    /// The bake in effect: never shorter than the longest criterion window, or no criterion
    /// could ever trigger during it.
    package func effectiveBake(_ rollback: RollbackCriteria) -> Double {
        max(bake ?? 600, rollback.errorRateFor, rollback.p95LatencyFor)
    }
}

/// The guide's scaling triggers: storage above 70 % adds shards, CPU above 70 % scales out,
/// memory above 80 % raises pod limits.
package struct ScalingTriggers: Sendable, Equatable {
    package var storageAbove = 0.70
    package var cpuAbove = 0.70
    package var memoryAbove = 0.80

    package init() {}
}

/// The guide's recovery objectives: RPO under 1 hour, RTO under 4 hours.
package struct RecoveryObjectives: Sendable, Equatable {
    package var rpo: Double = 3600
    package var rto: Double = 4 * 3600

    package init() {}
}

/// How long data and backups are kept.
package struct RetentionPolicy: Sendable, Equatable {
    /// Raw metrics partitions older than this may be dropped (nil: keep forever). The keep of
    /// every table `tables` does not name.
    package var metrics: Double? = 90 * 86400
    /// `policy.retention.tables`: per table or glob, in the order written. `keep(table:)` picks
    /// the one that applies.
    package var tables: [TableRetentionRule] = []
    /// `policy.retention.backups.incompleteAfter`: a backup started this long ago that never
    /// finished counts as abandoned (incomplete), not as still running.
    package var incompleteBackupsAfter: Double = 86400
    package var hourlyBackups = 24
    package var dailyBackups = 7
    package var weeklyBackups = 4
    package var monthlyBackups = 3

    package init() {}

    /// The keep for `table` (`database.table`), nil meaning forever. The most specific rule wins:
    /// an exact name beats any glob; among globs the longest pattern wins (more written
    /// characters, fewer left to `*`); of equally long globs the one written first. A table no
    /// rule matches keeps `metrics`.
    package func keep(table: String) -> Double? {
        var best: TableRetentionRule?
        for rule in tables where rule.matches(table) {
            guard let current = best else { best = rule; continue }
            if rule.isExact && !current.isExact { best = rule; continue }
            if !current.isExact && !rule.isExact && rule.pattern.utf8.count > current.pattern.utf8.count { best = rule }
        }
        return best.map(\.keep) ?? metrics
    }
}

/// One `policy.retention.tables` entry: `luminate.metrics_local: 30d`, `luminate.*_1m: forever`.
/// A pattern is `database.table`; `*` in either part matches any run of characters within that
/// part, never across the dot (`luminate.*` is every table of luminate, `*.metrics` the metrics
/// table of every database).
package struct TableRetentionRule: Sendable, Equatable {
    package var pattern: String
    /// Nil: forever.
    package var keep: Double?

    package init(pattern: String, keep: Double?) {
        self.pattern = pattern
        self.keep = keep
    }

    package var isExact: Bool { !pattern.contains("*") }

    /// Letters, digits and `_` (ClickHouse's bare identifiers) and `*`, two non-empty parts.
    package static func problem(with pattern: String) -> String? {
        let parts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return "expected database.table (a glob may use * within a part), found '\(pattern)'"
        }
        guard parts.allSatisfy({ !$0.isEmpty }) else { return "'\(pattern)' has an empty database or table part" }
        if let bad = pattern.unicodeScalars.first(where: { !($0 == "." || $0 == "*" || $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)) }) {
            return "'\(pattern)' holds '\(bad)': a pattern is letters, digits, _ and *, with * matching within a name part"
        }
        return nil
    }

    /// Whether `table` (`database.table`) is one this rule names.
    package func matches(_ table: String) -> Bool {
        let want = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let have = table.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard want.count == 2, have.count == 2 else { return false }
        return Self.glob(Array(want[0].utf8), Array(have[0].utf8)) && Self.glob(Array(want[1].utf8), Array(have[1].utf8))
    }

    /// `*` matches any run of characters; everything else matches itself. Greedy with one
    /// backtrack point, linear in practice.
    private static func glob(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*")
        var p = 0, t = 0
        var starAt = -1, resumeAt = 0
        while t < text.count {
            if p < pattern.count, pattern[p] != star, pattern[p] == text[t] {
                p += 1; t += 1
            } else if p < pattern.count, pattern[p] == star {
                starAt = p; resumeAt = t; p += 1
            } else if starAt >= 0 {
                p = starAt + 1; resumeAt += 1; t = resumeAt
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}

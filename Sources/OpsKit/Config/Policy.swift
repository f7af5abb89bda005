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
    /// Raw metrics partitions older than this may be dropped (nil: keep forever).
    package var metrics: Double? = 90 * 86400
    package var hourlyBackups = 24
    package var dailyBackups = 7
    package var weeklyBackups = 4
    package var monthlyBackups = 3

    package init() {}
}

import Foundation

/// The operations guide's policies for one environment. Built-in defaults are the guide's values;
/// a configuration file may tighten or loosen them per environment.
package struct Policy: Sendable, Equatable {
    package var maintenanceWindows: [MaintenanceWindow] = MaintenanceWindow.guideDefaults
    package var rollback = RollbackCriteria()
    package var scaling = ScalingTriggers()
    package var recovery = RecoveryObjectives()
    package var retention = RetentionPolicy()
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

    package init(name: String, recurrence: Recurrence, startMinute: Int, durationSeconds: Double) {
        self.name = name
        self.recurrence = recurrence
        self.startMinute = startMinute
        self.durationSeconds = durationSeconds
    }

    /// Weekday numbers as Calendar uses them: 1 = Sunday ... 7 = Saturday.
    package static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    package static let guideDefaults = [
        MaintenanceWindow(name: "weekly", recurrence: .weekly(weekday: 7), startMinute: 120, durationSeconds: 2 * 3600),
        MaintenanceWindow(name: "monthly", recurrence: .monthlyFirst(weekday: 1), startMinute: 120, durationSeconds: 4 * 3600),
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

/// The guide's automatic-rollback criteria: error rate above 5 % for 5 minutes, p95 latency
/// above 500 ms for 10 minutes (data corruption and security findings are reported signals).
package struct RollbackCriteria: Sendable, Equatable {
    package var errorRateAbove = 0.05
    package var errorRateFor: Double = 5 * 60
    package var p95LatencyAbove = 0.5
    package var p95LatencyFor: Double = 10 * 60

    package init() {}
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

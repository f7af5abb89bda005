import Foundation

/// What the backup CronJob reports to the Pushgateway (docs/monitoring.md): the alert
/// `LuminateBackupTooOld` fires on `time() - luminate_backup_last_success_timestamp_seconds`.
/// A failed run reports only its failure time, so the last success stays what it was.
package struct BackupMetrics: Sendable, Equatable {
    /// The grouping key's `job`, as the alert rules expect.
    package static let job = "luminate-backup"

    package var values: [(name: String, help: String, value: Double)]

    package static func == (lhs: BackupMetrics, rhs: BackupMetrics) -> Bool {
        lhs.values.map { "\($0.name)=\($0.value)" } == rhs.values.map { "\($0.name)=\($0.value)" }
    }

    package static func success(finishedAt: Date, durationSeconds: Double, sizeBytes: UInt64) -> BackupMetrics {
        BackupMetrics(values: [
            ("luminate_backup_last_success_timestamp_seconds", "When the last backup completed (Unix time).", finishedAt.timeIntervalSince1970.rounded()),
            ("luminate_backup_last_duration_seconds", "How long the last successful backup took.", (durationSeconds * 1000).rounded() / 1000),
            ("luminate_backup_last_size_bytes", "Size of the last successful backup in the store.", Double(sizeBytes)),
        ])
    }

    package static func failure(at time: Date) -> BackupMetrics {
        BackupMetrics(values: [
            ("luminate_backup_last_failure_timestamp_seconds", "When the last backup failed (Unix time).", time.timeIntervalSince1970.rounded()),
        ])
    }
}

/// Sends `BackupMetrics` somewhere (the Pushgateway, live; a recorder in tests). A failure is the
/// caller's to report as a warning: metrics never fail a backup.
package protocol BackupMetricsReporter: Sendable {
    /// Where it reports, for messages: `http://pushgateway:9091 (job luminate-backup)`.
    var target: String { get }
    func report(_ metrics: BackupMetrics) throws
}

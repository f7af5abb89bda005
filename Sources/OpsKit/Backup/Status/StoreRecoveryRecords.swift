import Foundation

/// The checklist's DP-1 evidence from the backup store itself: the newest complete backup, as
/// `backup status` judges it; and DP-3's restore drills, from the environment's journal.
package struct StoreRecoveryRecords: RecoveryRecords {
    package let configuration: Configuration
    package let context: Context

    package init(configuration: Configuration, context: Context) {
        self.configuration = configuration
        self.context = context
    }

    package func newestCompleteBackup() throws -> BackupRecord? {
        guard configuration.backup.store != nil else {
            throw CheckSkipped("no backup store is configured for environment '\(configuration.environmentName.value)' (backup.store): the live part needs one to read")
        }
        let catalogue = try BackupSetup(configuration: configuration, context: context).catalogue()
        guard let newest = try catalogue.entries().newestComplete else {
            return nil
        }
        // The recovery point is the snapshot: data written after it is not in the backup.
        return BackupRecord(id: newest.id, completedAt: newest.snapshotAt, location: "\(catalogue.store.location)\(newest.id)/")
    }

    /// The drills `luminatectl restore drill` journaled in this environment's journal.
    package func restoreDrills() throws -> [RestoreDrill] {
        try DrillRecords.checklistDrills(path: try LiveOperations.journalPath(configuration))
    }
}

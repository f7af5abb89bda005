import Foundation
@testable import OpsKit

/// Catalogue entries for retention tests, built from ids alone.
enum RetentionFixtures {
    static func complete(_ id: String, base: String? = nil) -> CatalogueEntry {
        CatalogueEntry(id: BackupID(id)!, state: .complete(BackupFixtures.manifest(id, base: base)))
    }

    static func incomplete(_ id: String, base: String? = nil) -> CatalogueEntry {
        let marker = BackupStartMarker(id: id, engine: .native, base: base, startedAt: BackupID(id)!.time,
                                       operationID: "op-\(id)", actor: "cron@backup-0")
        return CatalogueEntry(id: BackupID(id)!, state: .incomplete(IncompleteBackup(marker: marker, objects: 2, bytes: 10, problem: nil)))
    }

    static func policy(hourly: Int, daily: Int, weekly: Int, monthly: Int) -> RetentionPolicy {
        var policy = RetentionPolicy()
        policy.hourlyBackups = hourly
        policy.dailyBackups = daily
        policy.weeklyBackups = weekly
        policy.monthlyBackups = monthly
        return policy
    }

    static func time(_ text: String) -> Date { Timestamp.parse(text)! }

    /// The reasons as an operator reads them, or the one reason for a deletion.
    static func reasons(_ plan: BackupRetentionPlan, _ id: String) -> [String] {
        guard let decision = plan.decision(id) else { return ["not in the plan"] }
        switch decision.action {
        case .keep(let reasons): return reasons.map(\.description)
        case .delete(let reason): return ["delete: \(reason)"]
        }
    }
}

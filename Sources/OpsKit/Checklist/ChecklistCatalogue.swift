import Foundation

/// The catalogue: the guide's 27 checklist items in the guide's order. The IDs are part of the
/// interface (CI gates, waivers and attestations name them): never renumber, only add.
package enum ChecklistCatalogue {
    package static let all: [ChecklistCheck] =
        InfrastructureChecks.all + SecurityChecks.all + MonitoringChecks.all
        + DataProtectionChecks.all + PerformanceChecks.all + OperationsChecks.all

    package static let ids: [String] = all.map(\.id)

    package static func check(_ id: String) -> ChecklistCheck? {
        all.first { $0.id == id.uppercased() }
    }
}

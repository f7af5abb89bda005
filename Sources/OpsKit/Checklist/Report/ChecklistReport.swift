import Foundation

/// One run of the checklist: what was checked, against what, and every verdict, in the guide's
/// order. The text, JSON and JUnit renderings are views of this value.
package struct ChecklistReport: Sendable {
    package var environment: String
    package var generatedAt: Date
    /// Whether static rules had manifests, and whether live probes ran.
    package var staticMode: Bool
    package var liveMode: Bool
    package var strict: Bool
    package var waiversUsed: Bool
    /// What the static rules read (files, `kustomize:<dir>`).
    package var manifestSources: [String]
    package var results: [CheckResult]
    package var wallSeconds: Double

    package init(
        environment: String, generatedAt: Date, staticMode: Bool, liveMode: Bool, strict: Bool, waiversUsed: Bool,
        manifestSources: [String], results: [CheckResult], wallSeconds: Double
    ) {
        self.environment = environment
        self.generatedAt = generatedAt
        self.staticMode = staticMode
        self.liveMode = liveMode
        self.strict = strict
        self.waiversUsed = waiversUsed
        self.manifestSources = manifestSources
        self.results = results
        self.wallSeconds = wallSeconds
    }

    /// How many checks ended in each outcome (every outcome present, zeros included).
    package var summary: [(CheckOutcome, Int)] {
        CheckOutcome.allCases.map { outcome in (outcome, results.filter { $0.outcome == outcome }.count) }
    }

    package func count(_ outcome: CheckOutcome) -> Int { results.filter { $0.outcome == outcome }.count }

    /// The check that took longest, which bounds the run's wall time.
    package var slowest: CheckResult? { results.max { $0.seconds < $1.seconds } }

    /// Results grouped by section, sections in the guide's order.
    package var sections: [(ChecklistSection, [CheckResult])] {
        ChecklistSection.allCases.compactMap { section in
            let inSection = results.filter { $0.check.section == section }
            return inSection.isEmpty ? nil : (section, inSection)
        }
    }

    /// 1 when a check failed or errored (or warned, under `--strict`), else 0.
    package var exitCode: ExitCode {
        results.contains { $0.outcome.failsRun(strict: strict) } ? .failure : .success
    }
}

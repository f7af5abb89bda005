import Foundation

/// One criterion at one evaluation: its verdict, what it was measured against, the values that
/// decided and a line that says it all (`error rate 8.5 % > 5 % for 5m (11 of 11 steps)`).
package struct CriterionResult: Sendable, Equatable {
    package var id: CriterionID
    package var verdict: CriterionVerdict
    /// θ for a metric criterion; nil for the immediate ones.
    package var threshold: Double?
    /// W in seconds for a metric criterion; nil for the immediate ones.
    package var window: Double?
    /// The steps in the window with their values (metric criteria).
    package var values: [SeriesPoint]
    package var summary: String
    /// The metric criterion's evaluation, when there was one.
    package var evaluation: SustainedEvaluation?
    /// The PromQL of a metric criterion.
    package var query: String?
    /// The corruption probes' outcomes.
    package var probes: [ProbeOutcome]
    /// The security command's results, one per image.
    package var scans: [SecurityScan]
    /// Why the criterion could not be evaluated (a source that did not answer), one line.
    package var error: String?

    package init(
        id: CriterionID, verdict: CriterionVerdict, threshold: Double? = nil, window: Double? = nil, values: [SeriesPoint] = [],
        summary: String, evaluation: SustainedEvaluation? = nil, query: String? = nil, probes: [ProbeOutcome] = [],
        scans: [SecurityScan] = [], error: String? = nil
    ) {
        self.id = id
        self.verdict = verdict
        self.threshold = threshold
        self.window = window
        self.values = values
        self.summary = summary
        self.evaluation = evaluation
        self.query = query
        self.probes = probes
        self.scans = scans
        self.error = error
    }

    /// `{"id", "verdict", "threshold", "window", "values": [[t, v], ...], "summary", ...}`: the
    /// first five are the interface `rollback check -o json` promises; the rest is detail.
    package var json: JSONValue {
        var entry: JSONValue = [
            "id": .string(id.rawValue), "verdict": .string(verdict.rawValue),
            "threshold": threshold.map(JSONValue.number) ?? .null, "window": window.map(JSONValue.number) ?? .null,
            "values": .array(values.map(\.json)), "summary": .string(summary),
        ]
        if let query { entry.set("query", .string(query)) }
        if let evaluation {
            entry.set("stepsAbove", .number(Double(evaluation.stepsAbove)))
            entry.set("steps", .number(Double(evaluation.window.count)))
            entry.set("aboveFor", .number(evaluation.aboveFor))
            entry.set("satisfiedAt", evaluation.satisfiedAt.map { .string(LockTime.iso($0)) } ?? .null)
        }
        if id == .corruption { entry.set("probes", .array(probes.map(\.json))) }
        if id == .security { entry.set("scans", .array(scans.map(\.json))) }
        if let error { entry.set("error", .string(error)) }
        return entry
    }
}

/// The four rollback criteria of the operations guide, by the ids `rollback check -o json` and the
/// deploy journal use. The raw values are an interface: scripts and dashboards match on them.
package enum CriterionID: String, Sendable, Equatable, CaseIterable {
    /// The 5xx ratio above `policy.rollback.errorRate.above`, sustained for `.for`.
    case errorRate = "error-rate"
    /// The p95 request latency above `policy.rollback.p95Latency.above`, sustained for `.for`.
    case p95Latency = "p95-latency"
    /// A data-corruption probe found something: immediate, no window.
    case corruption
    /// The security command failed on a deployed image: immediate, no window.
    case security
}

/// What one criterion says at one evaluation. The raw values are an interface, like the ids.
package enum CriterionVerdict: String, Sendable, Equatable {
    /// The criterion holds: the change is to be rolled back.
    case triggered
    /// The criterion does not hold (a metric may be above its threshold without being sustained yet).
    case clear
    /// No data, or its source did not answer: the criterion can say neither.
    case inconclusive
    /// Nothing is configured to evaluate (the security command).
    case notConfigured = "not-configured"
}

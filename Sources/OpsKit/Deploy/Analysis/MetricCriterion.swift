import Foundation

/// A rollback criterion on a Prometheus expression: its query, its sustained rule, and how an
/// operator reads its values (a ratio as a percentage, a latency in milliseconds).
package struct MetricCriterion: Sendable, Equatable {
    package enum Unit: Sendable, Equatable {
        case ratio
        case seconds
    }

    package var id: CriterionID
    /// `error rate`, `p95 latency`: how summaries name it.
    package var name: String
    package var query: String
    package var rule: SustainedRule
    package var unit: Unit

    /// The guide's error-rate criterion, on the 1-minute rate so a breach shows within a minute
    /// and a 5-minute window consists of 5-minute-old data at worst, not 10.
    package static let errorRateQuery =
        #"sum(rate(luminate_http_requests_total{code=~"5.."}[1m])) / sum(rate(luminate_http_requests_total[1m]))"#
    /// The guide's latency criterion, on the same 1-minute rate.
    package static let p95LatencyQuery =
        #"histogram_quantile(0.95, sum by (le) (rate(luminate_http_request_duration_seconds_bucket[1m])))"#

    /// Both metric criteria of `criteria`, evaluated every `step` seconds.
    package static func all(_ criteria: RollbackCriteria, step: Double) -> [MetricCriterion] {
        [
            MetricCriterion(id: .errorRate, name: "error rate", query: errorRateQuery,
                            rule: SustainedRule(threshold: criteria.errorRateAbove, window: criteria.errorRateFor, step: step), unit: .ratio),
            MetricCriterion(id: .p95Latency, name: "p95 latency", query: p95LatencyQuery,
                            rule: SustainedRule(threshold: criteria.p95LatencyAbove, window: criteria.p95LatencyFor, step: step), unit: .seconds),
        ]
    }

    /// `8.5 %`, `0.52 %`, `800 ms`, `1.25 s`, `+Inf`, `no data`.
    package func format(_ value: Double?) -> String {
        guard let value else { return "no data" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        switch unit {
        case .ratio:
            return Self.decimal(value * 100) + " %"
        case .seconds:
            return value < 1 ? Self.decimal(value * 1000) + " ms" : Self.decimal(value) + " s"
        }
    }

    /// Up to three significant digits, no trailing zeros: 8.5, 0.52, 800, 12.3.
    static func decimal(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }
}

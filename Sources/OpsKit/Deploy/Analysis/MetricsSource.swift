import Foundation

/// Where the metric criteria read their values: Prometheus in production, a fake in tests.
package protocol MetricsSource: Sendable {
    /// The expression's single value at `time`; nil when there is none (an empty vector).
    func value(_ query: String, at time: Date) throws -> Double?
    /// The expression's points over [start, end] every `step` seconds, in time order; steps
    /// without a value are simply absent, as Prometheus leaves them out of a range answer.
    func series(_ query: String, from start: Date, to end: Date, step: Double) throws -> [SeriesPoint]
}

extension PrometheusClient: MetricsSource {
    package func value(_ query: String, at time: Date) throws -> Double? {
        try instantValue(query: query, at: time)
    }

    /// The criteria's queries aggregate to one series; several are an error, not a pick.
    package func series(_ query: String, from start: Date, to end: Date, step: Double) throws -> [SeriesPoint] {
        let series = try range(query: query, start: start, end: end, step: step)
        guard series.count <= 1 else {
            throw PrometheusError.ambiguousResult(host: host, query: query, series: series.count)
        }
        return (series.first?.points ?? []).map { SeriesPoint(time: $0.time, value: $0.value) }
    }
}

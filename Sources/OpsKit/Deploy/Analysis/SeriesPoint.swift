import Foundation

/// One evaluation step of a metric: its time and its value, nil when Prometheus had none (an
/// empty vector, or NaN, which a ratio over no traffic is).
package struct SeriesPoint: Sendable, Equatable {
    package var time: Date
    package var value: Double?

    /// NaN becomes nil: it means "no data" and must never compare as above or below a threshold.
    package init(time: Date, value: Double?) {
        self.time = time
        self.value = value.flatMap { $0.isNaN ? nil : $0 }
    }

    /// `[1795134420, 0.085]`: Unix seconds and the value, null when missing; ±Inf as the strings
    /// `"+Inf"`/`"-Inf"` (a p95 in the histogram's last bucket is +Inf, and JSON has no infinity).
    package var json: JSONValue {
        let value: JSONValue
        switch self.value {
        case nil: value = .null
        case let v? where v.isInfinite: value = .string(v > 0 ? "+Inf" : "-Inf")
        case let v?: value = .number(v)
        }
        return .array([.number(time.timeIntervalSince1970), value])
    }
}

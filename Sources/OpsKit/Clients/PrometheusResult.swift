import Foundation

/// One series' value at one instant: an element of an instant vector.
package struct PrometheusSample: Sendable, Equatable, CustomStringConvertible {
    /// The series' labels, `__name__` included when the expression kept it.
    package var labels: [String: String]
    package var value: Double
    package var time: Date

    package init(labels: [String: String], value: Double, time: Date) {
        self.labels = labels
        self.value = value
        self.time = time
    }

    /// NaN equals NaN here: Prometheus answers NaN for 0/0 ratios (no traffic), and a test or a
    /// change detector comparing two answers must see the same NaN as the same value.
    package static func == (lhs: PrometheusSample, rhs: PrometheusSample) -> Bool {
        lhs.labels == rhs.labels && lhs.time == rhs.time && sameValue(lhs.value, rhs.value)
    }

    package var description: String { "\(formatLabels(labels)) \(formatValue(value))" }
}

/// One point of a range-query series.
package struct PrometheusPoint: Sendable, Equatable {
    package var time: Date
    package var value: Double

    package init(time: Date, value: Double) {
        self.time = time
        self.value = value
    }

    /// NaN equals NaN, as for `PrometheusSample`.
    package static func == (lhs: PrometheusPoint, rhs: PrometheusPoint) -> Bool {
        lhs.time == rhs.time && sameValue(lhs.value, rhs.value)
    }
}

/// One series of a range query: its labels and its points in time order.
package struct PrometheusSeries: Sendable, Equatable {
    package var labels: [String: String]
    package var points: [PrometheusPoint]

    package init(labels: [String: String], points: [PrometheusPoint]) {
        self.labels = labels
        self.points = points
    }
}

/// What a PromQL expression evaluated to, by the API's `resultType`.
package enum PrometheusResult: Sendable, Equatable {
    /// Instant query over series; empty when nothing matched (no data in the lookback window).
    case vector([PrometheusSample])
    /// Range query (or an instant query of a range selector like `x[5m]`).
    case matrix([PrometheusSeries])
    case scalar(PrometheusPoint)
    case string(time: Date, value: String)

    /// The API's name for the type, for error messages.
    package var resultType: String {
        switch self {
        case .vector: "vector"
        case .matrix: "matrix"
        case .scalar: "scalar"
        case .string: "string"
        }
    }

    /// The samples of a vector result; nil for any other type.
    package var samples: [PrometheusSample]? {
        if case .vector(let samples) = self { return samples }
        return nil
    }
}

// MARK: - Decoding the API's JSON

/// `{"resultType": "...", "result": ...}`, the `data` of `/api/v1/query` and `/api/v1/query_range`.
extension PrometheusResult: Decodable {
    /// The API's field names.
    private enum Keys: String, CodingKey { case resultType, result }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let type = try container.decode(String.self, forKey: .resultType)
        switch type {
        case "vector":
            self = .vector(try container.decode([WireSample].self, forKey: .result).map(\.sample))
        case "matrix":
            self = .matrix(try container.decode([WireSeries].self, forKey: .result).map(\.series))
        case "scalar":
            self = .scalar(try container.decode(WirePoint.self, forKey: .result).point)
        case "string":
            let pair = try container.decode(WireStringPair.self, forKey: .result)
            self = .string(time: pair.time, value: pair.value)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .resultType, in: container, debugDescription: "unknown resultType '\(type)'")
        }
    }
}

/// `[1795133700.123, "0.05"]`: a time in float seconds and the value as a string, because JSON
/// numbers cannot carry NaN or ±Inf.
private struct WirePoint: Decodable {
    let point: PrometheusPoint

    init(from decoder: any Decoder) throws {
        var pair = try decoder.unkeyedContainer()
        let seconds = try pair.decode(Double.self)
        let text = try pair.decode(String.self)
        // Go writes NaN, +Inf and -Inf, which Double(String) reads; anything else is not a number.
        guard let value = Double(text) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "sample value '\(text)' is not a number"))
        }
        point = PrometheusPoint(time: Date(timeIntervalSince1970: seconds), value: value)
    }
}

/// `[time, "text"]` of a string result.
private struct WireStringPair: Decodable {
    let time: Date
    let value: String

    init(from decoder: any Decoder) throws {
        var pair = try decoder.unkeyedContainer()
        time = Date(timeIntervalSince1970: try pair.decode(Double.self))
        value = try pair.decode(String.self)
    }
}

/// `{"metric": {...}, "value": [t, "v"]}`.
private struct WireSample: Decodable {
    let sample: PrometheusSample

    /// The API's field names; `histogram` only to name what is unsupported.
    private enum Keys: String, CodingKey { case metric, value, histogram }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let labels = try container.decodeIfPresent([String: String].self, forKey: .metric) ?? [:]
        guard container.contains(.value) else {
            // Native histograms (a feature flag in 2.x) carry `histogram` instead of `value`.
            throw DecodingError.dataCorruptedError(
                forKey: .value, in: container,
                debugDescription: container.contains(.histogram)
                    ? "native histogram samples are not supported" : "sample without a value")
        }
        let point = try container.decode(WirePoint.self, forKey: .value).point
        sample = PrometheusSample(labels: labels, value: point.value, time: point.time)
    }
}

/// `{"metric": {...}, "values": [[t, "v"], ...]}`.
private struct WireSeries: Decodable {
    let series: PrometheusSeries

    /// The API's field names.
    private enum Keys: String, CodingKey { case metric, values }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let labels = try container.decodeIfPresent([String: String].self, forKey: .metric) ?? [:]
        let points = try container.decodeIfPresent([WirePoint].self, forKey: .values) ?? []
        series = PrometheusSeries(labels: labels, points: points.map(\.point))
    }
}

// MARK: - Formatting

private func sameValue(_ lhs: Double, _ rhs: Double) -> Bool {
    lhs == rhs || (lhs.isNaN && rhs.isNaN)
}

/// `{code="500", pod="luminate-0"}`, keys sorted, as PromQL writes a selector.
private func formatLabels(_ labels: [String: String]) -> String {
    let name = labels["__name__"] ?? ""
    let pairs = labels.filter { $0.key != "__name__" }.sorted { $0.key < $1.key }
        .map { "\($0.key)=\"\($0.value)\"" }
    return name + "{" + pairs.joined(separator: ", ") + "}"
}

/// Values the way Prometheus writes them: `NaN`, `+Inf`, `-Inf`, otherwise Swift's shortest form.
private func formatValue(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
    return "\(value)"
}

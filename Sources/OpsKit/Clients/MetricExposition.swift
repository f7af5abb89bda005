import Foundation

/// One metric family as the Prometheus text exposition format (version 0.0.4) writes it: a
/// `# HELP` line, a `# TYPE` line, and one line per sample. What the backup job pushes to the
/// Pushgateway, e.g.
///
/// ```
/// # HELP luminate_backup_last_success_timestamp_seconds Unix time the newest successful backup finished.
/// # TYPE luminate_backup_last_success_timestamp_seconds gauge
/// luminate_backup_last_success_timestamp_seconds 1795133700.25
/// ```
///
/// Samples carry no timestamps: the Pushgateway refuses pushed timestamps, and Prometheus stamps
/// each sample with its scrape time.
package struct MetricFamily: Sendable, Equatable {
    /// `# TYPE` values luminatectl pushes.
    package enum Kind: String, Sendable, Equatable {
        case gauge, counter, untyped
    }

    /// One `name{labels} value` line.
    package struct Sample: Sendable, Equatable {
        /// In the order written.
        package var labels: [MetricLabel]
        package var value: Double

        package init(labels: [MetricLabel] = [], value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    package var name: String
    package var kind: Kind
    package var help: String?
    package var samples: [Sample]

    package init(name: String, kind: Kind, help: String? = nil, samples: [Sample]) {
        self.name = name
        self.kind = kind
        self.help = help
        self.samples = samples
    }

    /// A family with a single sample: the shape of a status gauge.
    package static func gauge(_ name: String, help: String? = nil, labels: [MetricLabel] = [], value: Double) -> MetricFamily {
        MetricFamily(name: name, kind: .gauge, help: help, samples: [Sample(labels: labels, value: value)])
    }
}

/// A label name and value.
package struct MetricLabel: Sendable, Hashable {
    package var name: String
    package var value: String

    package init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Why a metric cannot be written in the exposition format.
package struct MetricExpositionError: OperatorError, Equatable {
    package var message: String
    package var description: String { message }
}

/// The Prometheus text exposition format: names checked, label values and help escaped, values
/// written so that they parse back to the same `Double`.
package enum MetricExposition {
    /// `text/plain; version=0.0.4`, what the Pushgateway expects for this format.
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    package static func isValidMetricName(_ name: String) -> Bool {
        name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil
    }

    /// Label names: `[a-zA-Z_][a-zA-Z0-9_]*`; names starting with `__` are reserved for Prometheus.
    package static func isValidLabelName(_ name: String) -> Bool {
        name.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil && !name.hasPrefix("__")
    }

    /// The body for `families`, each family once, in the order given.
    package static func render(_ families: [MetricFamily]) throws -> String {
        var seen: Set<String> = []
        var out = ""
        for family in families {
            guard isValidMetricName(family.name) else {
                throw MetricExpositionError(message: "invalid metric name '\(family.name)': must match [a-zA-Z_:][a-zA-Z0-9_:]*")
            }
            guard seen.insert(family.name).inserted else {
                throw MetricExpositionError(message: "metric \(family.name) is given twice; put all its samples in one family")
            }
            if let help = family.help {
                out += "# HELP \(family.name) \(escapeHelp(help))\n"
            }
            out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            var series: Set<[MetricLabel]> = []
            for sample in family.samples {
                var names: Set<String> = []
                for label in sample.labels {
                    guard isValidLabelName(label.name) else {
                        throw MetricExpositionError(
                            message: "invalid label name '\(label.name)' on \(family.name): must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __")
                    }
                    guard names.insert(label.name).inserted else {
                        throw MetricExpositionError(message: "label \(label.name) is given twice on \(family.name)")
                    }
                }
                let sorted = sample.labels.sorted { $0.name < $1.name }
                guard series.insert(sorted).inserted else {
                    throw MetricExpositionError(message: "\(family.name) has two samples with the same labels")
                }
                let labels = sample.labels.isEmpty ? ""
                    : "{" + sample.labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
                out += "\(family.name)\(labels) \(format(sample.value))\n"
            }
        }
        return out
    }

    /// `\` → `\\`, `"` → `\"`, line feed → `\n`: the format's escapes for label values.
    package static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// `\` → `\\` and line feed → `\n` (quotes stay as they are in HELP text).
    package static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A sample value that parses back to exactly `value`: integers up to 2^53 as integers
    /// (`1795133700`), everything else as Swift's shortest round-trip decimal (`1795133700.25`,
    /// `1e-07`, `1.7976931348623157e+308`), which Go's `ParseFloat` reads back to the same bits;
    /// `+Inf`, `-Inf` and `NaN` as the format spells them.
    package static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) <= 9_007_199_254_740_992 {
            // -0.0 is written 0: the format has no negative zero worth keeping.
            return String(Int64(value))
        }
        return "\(value)"
    }
}

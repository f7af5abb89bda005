import Foundation

/// A rule group as Prometheus loaded it (`/api/v1/rules`): the rules an alerting check or the
/// monitoring checklist looks for, with their current state.
package struct PrometheusRuleGroup: Sendable, Equatable, Decodable {
    package var name: String
    /// The rule file on the Prometheus host that defined the group.
    package var file: String
    /// Evaluation interval in seconds.
    package var interval: Double?
    package var rules: [PrometheusRule]

    package init(name: String, file: String, interval: Double? = nil, rules: [PrometheusRule]) {
        self.name = name
        self.file = file
        self.interval = interval
        self.rules = rules
    }

    /// The API's field names.
    private enum Keys: String, CodingKey { case name, file, interval, rules }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decode(String.self, forKey: .name)
        file = try container.decodeIfPresent(String.self, forKey: .file) ?? ""
        interval = try container.decodeIfPresent(Double.self, forKey: .interval)
        rules = try container.decodeIfPresent([PrometheusRule].self, forKey: .rules) ?? []
    }
}

/// One alerting or recording rule.
package struct PrometheusRule: Sendable, Equatable, Decodable {
    /// Alerting rules fire alerts; recording rules precompute a series.
    package enum Kind: String, Sendable, Equatable, Decodable {
        case alerting, recording
    }

    /// The alert name, or the recorded series' name.
    package var name: String
    /// The PromQL expression.
    package var query: String
    package var kind: Kind
    package var labels: [String: String]
    package var annotations: [String: String]
    /// `for:` of an alerting rule in seconds; 0 for recording rules.
    package var duration: Double
    /// `inactive`, `pending` or `firing` for alerting rules; nil for recording rules.
    package var state: String?
    /// `ok`, `err` or `unknown`: whether the last evaluation succeeded.
    package var health: String?
    package var lastError: String?
    /// The alerts this rule currently has pending or firing.
    package var alerts: [PrometheusAlert]

    package init(
        name: String, query: String, kind: Kind, labels: [String: String] = [:],
        annotations: [String: String] = [:], duration: Double = 0, state: String? = nil,
        health: String? = nil, lastError: String? = nil, alerts: [PrometheusAlert] = []
    ) {
        self.name = name
        self.query = query
        self.kind = kind
        self.labels = labels
        self.annotations = annotations
        self.duration = duration
        self.state = state
        self.health = health
        self.lastError = lastError
        self.alerts = alerts
    }

    /// The `severity` label that routes an alert (page, ticket, ...), when the rule sets one.
    package var severity: String? { labels["severity"] }

    /// The API's field names (`type` is the kind).
    private enum Keys: String, CodingKey {
        case name, query, type, labels, annotations, duration, state, health, lastError, alerts
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decode(String.self, forKey: .name)
        query = try container.decode(String.self, forKey: .query)
        kind = try container.decode(Kind.self, forKey: .type)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        duration = try container.decodeIfPresent(Double.self, forKey: .duration) ?? 0
        state = try container.decodeIfPresent(String.self, forKey: .state)
        health = try container.decodeIfPresent(String.self, forKey: .health)
        lastError = try container.decodeIfPresent(String.self, forKey: .lastError).flatMap { $0.isEmpty ? nil : $0 }
        alerts = try container.decodeIfPresent([PrometheusAlert].self, forKey: .alerts) ?? []
    }
}

/// A pending or firing alert of an alerting rule.
package struct PrometheusAlert: Sendable, Equatable, Decodable {
    package var labels: [String: String]
    package var annotations: [String: String]
    /// `pending` or `firing`.
    package var state: String
    package var activeAt: Date?
    /// The value of the rule's expression when the alert was last evaluated.
    package var value: Double?

    package init(
        labels: [String: String], annotations: [String: String] = [:], state: String,
        activeAt: Date? = nil, value: Double? = nil
    ) {
        self.labels = labels
        self.annotations = annotations
        self.state = state
        self.activeAt = activeAt
        self.value = value
    }

    /// The API's field names.
    private enum Keys: String, CodingKey { case labels, annotations, state, activeAt, value }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        state = try container.decode(String.self, forKey: .state)
        activeAt = try container.decodeIfPresent(String.self, forKey: .activeAt).flatMap(parseRFC3339Nano)
        value = try container.decodeIfPresent(String.self, forKey: .value).flatMap { Double($0) }
    }
}

/// Go's RFC 3339 with up to nine fraction digits (`2026-11-20T00:37:00.123456789Z`), which
/// `ISO8601DateFormatter` does not read; the fraction is parsed apart.
private func parseRFC3339Nano(_ text: String) -> Date? {
    var whole = text
    var fraction = 0.0
    if let dot = text.firstIndex(of: ".") {
        let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
        fraction = Double("0." + digits) ?? 0
        whole = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
    }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: whole).map { $0.addingTimeInterval(fraction) }
}

import Foundation

/// A client of the Prometheus HTTP API (`/api/v1/...`), over the `HTTPTransport` seam.
///
/// Every query carries an explicit evaluation time: at "now" `rate()` windows drift between two
/// runs of the same check, and recorded data ages out of the 5-minute lookback, so callers pass
/// `context.clock.now()` (or a fixture's time) and the answer is reproducible.
package struct PrometheusClient: Sendable {
    /// `http://prometheus:9090`, possibly with a path prefix (`.../prometheus` behind a proxy).
    package var baseURL: String
    package var http: any HTTPTransport
    package var interrupt: Interrupt
    /// Whole-request limit in seconds; Prometheus' own default query timeout is 2 minutes.
    package var timeout: Double
    /// Sent with every request, e.g. `Authorization` for a Prometheus behind an auth proxy.
    package var headers: [(name: String, value: String)]
    /// A matrix over many series can be large; more than this is an error, not a truncation.
    package var responseLimit: Int

    package init(
        baseURL: String,
        http: any HTTPTransport,
        interrupt: Interrupt = Interrupt(),
        timeout: Double = 30,
        headers: [(name: String, value: String)] = [],
        responseLimit: Int = 64 << 20
    ) {
        self.baseURL = baseURL
        self.http = http
        self.interrupt = interrupt
        self.timeout = timeout
        self.headers = headers
        self.responseLimit = responseLimit
    }

    /// A client using the context's transport and interrupt.
    package init(baseURL: String, context: Context) {
        self.init(baseURL: baseURL, http: context.http, interrupt: context.interrupt)
    }

    /// `host:port` of the server, as errors name it.
    package var host: String { hostOf(url: baseURL) }

    // MARK: - URLs (pure, for plans and --dry-run)

    /// The exact URL `instant(query:at:)` requests.
    package func instantURL(query: String, at time: Date) -> String {
        url("/api/v1/query", ["query": query, "time": Self.formatTime(time)])
    }

    /// The exact URL `range(query:start:end:step:)` requests.
    package func rangeURL(query: String, start: Date, end: Date, step: Double) -> String {
        url("/api/v1/query_range", [
            "query": query, "start": Self.formatTime(start), "end": Self.formatTime(end), "step": Self.formatStep(step),
        ])
    }

    // MARK: - Calls

    /// Evaluates `query` at `time` (`/api/v1/query`).
    package func instant(query: String, at time: Date) throws -> PrometheusResult {
        try get(instantURL(query: query, at: time), path: "/api/v1/query", query: query, as: PrometheusResult.self)
    }

    /// The single value of an expression that aggregates to at most one series, such as a 5xx
    /// ratio or a p95: nil when the vector is empty (no data at that time, a monitoring gap).
    /// A scalar result is accepted; several series are an error rather than an arbitrary pick.
    package func instantValue(query: String, at time: Date) throws -> Double? {
        switch try instant(query: query, at: time) {
        case .scalar(let point):
            return point.value
        case .vector(let samples):
            guard samples.count <= 1 else {
                throw PrometheusError.ambiguousResult(host: host, query: query, series: samples.count)
            }
            return samples.first?.value
        case let other:
            throw PrometheusError.unexpectedResultType(host: host, query: query, expected: "vector", got: other.resultType)
        }
    }

    /// Evaluates `query` over `[start, end]` every `step` seconds (`/api/v1/query_range`).
    package func range(query: String, start: Date, end: Date, step: Double) throws -> [PrometheusSeries] {
        let result = try get(
            rangeURL(query: query, start: start, end: end, step: step), path: "/api/v1/query_range", query: query,
            as: PrometheusResult.self)
        guard case .matrix(let series) = result else {
            throw PrometheusError.unexpectedResultType(host: host, query: query, expected: "matrix", got: result.resultType)
        }
        return series
    }

    /// Whether Prometheus serves queries (`/-/ready`): 200 yes, 503 not yet (replaying its WAL).
    /// Any other answer means the URL is not a Prometheus and is an error.
    package func ready() throws -> Bool {
        let response = try exchange(url("/-/ready", [:]))
        switch response.status {
        case 200: return true
        case 503: return false
        default: throw unexpectedStatus(response, path: "/-/ready")
        }
    }

    /// The loaded rule groups with their alerting and recording rules (`/api/v1/rules`).
    package func rules() throws -> [PrometheusRuleGroup] {
        try get(url("/api/v1/rules", [:]), path: "/api/v1/rules", query: nil, as: RuleGroups.self).groups
    }

    // MARK: - Plumbing

    private func exchange(_ url: String) throws -> HTTPResponse {
        let request = HTTPRequest(
            url: url, headers: [("Accept", "application/json")] + headers, timeout: timeout, responseLimit: responseLimit)
        do {
            return try http.send(request, interrupt: interrupt)
        } catch let error as HTTPTransportError {
            if case .interrupted = error { throw error }
            throw PrometheusError.unreachable(host: host, url: Redactor.redactURL(baseURL), cause: error)
        }
    }

    /// GETs an API endpoint and decodes the `data` of its `{"status": ..., "data": ...}` envelope.
    private func get<T: Decodable>(_ url: String, path: String, query: String?, as type: T.Type) throws -> T {
        let response = try exchange(url)
        let decoder = JSONDecoder()
        if (200..<300).contains(response.status) {
            let envelope: Envelope<T>
            do {
                envelope = try decoder.decode(Envelope<T>.self, from: response.body)
            } catch {
                throw PrometheusError.malformedResponse(host: host, path: path, detail: Self.describe(error))
            }
            if let apiError = apiError(envelope.head, response: response, query: query) { throw apiError }
            guard let data = envelope.data else {
                throw PrometheusError.malformedResponse(host: host, path: path, detail: "no data in the answer")
            }
            return data
        }
        // Errors come as 400 (bad_data), 422 (execution), 503 (timeout, unavailable) or 500.
        if let head = try? decoder.decode(EnvelopeHead.self, from: response.body),
           let apiError = apiError(head, response: response, query: query) {
            throw apiError
        }
        throw unexpectedStatus(response, path: path)
    }

    private func apiError(_ head: EnvelopeHead, response: HTTPResponse, query: String?) -> PrometheusError? {
        guard head.status == "error" else { return nil }
        return .api(
            host: host, status: response.status, errorType: head.errorType ?? "unknown",
            message: head.error ?? "", query: query)
    }

    private func unexpectedStatus(_ response: HTTPResponse, path: String) -> PrometheusError {
        let text = Redactor.redact(response.text.trimmingCharacters(in: .whitespacesAndNewlines))
        let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return .unexpectedStatus(
            host: host, status: response.status, path: path,
            body: firstLine.count > 200 ? String(firstLine.prefix(197)) + "..." : firstLine)
    }

    private func url(_ path: String, _ parameters: KeyValuePairs<String, String>) -> String {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        guard !parameters.isEmpty else { return base + path }
        return base + path + "?" + parameters.map { "\($0.key)=\(Self.encode($0.value))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters. PromQL is full of
    /// characters that mean something in a query string: `+` would arrive as a space, `&` and `=`
    /// would split the parameter, and `{`, `"`, `~`, spaces must not reach the wire raw.
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet()
        allowed.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Unix seconds with milliseconds (`1795133700.000`), the precision Prometheus keeps.
    static func formatTime(_ time: Date) -> String {
        let milliseconds = Int64((time.timeIntervalSince1970 * 1000).rounded())
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        let fraction = milliseconds - seconds * 1000
        let padded = String(fraction)
        return "\(seconds)." + String(repeating: "0", count: 3 - padded.count) + padded
    }

    /// `15` or `0.5`: the step in seconds, without a needless fraction.
    static func formatStep(_ step: Double) -> String {
        if step == step.rounded(), abs(step) < 1e15 { return String(Int64(step)) }
        return formatTime(Date(timeIntervalSince1970: step)).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression)
    }

    /// A decoding error in a few words: where in the JSON and what was wrong.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func at(_ path: [any CodingKey]) -> String {
            guard !path.isEmpty else { return "" }
            return " at " + path.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not JSON"
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            return context.debugDescription + at(context.codingPath)
        case .keyNotFound(let key, let context):
            return "missing \(key.stringValue)" + at(context.codingPath)
        @unknown default:
            return "\(error)"
        }
    }
}

/// `status`, `errorType` and `error` of every API answer.
private struct EnvelopeHead: Decodable {
    let status: String
    let errorType: String?
    let error: String?
}

/// The full API answer; `data` is absent in an error answer.
private struct Envelope<T: Decodable>: Decodable {
    let head: EnvelopeHead
    let data: T?

    /// The field that holds the answer.
    private enum Keys: String, CodingKey { case data }

    init(from decoder: any Decoder) throws {
        head = try EnvelopeHead(from: decoder)
        data = try decoder.container(keyedBy: Keys.self).decodeIfPresent(T.self, forKey: .data)
    }
}

/// `data` of `/api/v1/rules`.
private struct RuleGroups: Decodable {
    let groups: [PrometheusRuleGroup]
}

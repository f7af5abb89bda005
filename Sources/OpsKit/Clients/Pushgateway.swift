import Foundation

/// A Pushgateway group: `job` and further grouping labels, which become the URL path
/// `/metrics/job/<job>/<label>/<value>...`. The backup job's is
/// `job="luminate-backup", namespace="<namespace>"` (docs/monitoring.md).
package struct PushgatewayGroupingKey: Sendable, Equatable, CustomStringConvertible {
    package var job: String
    /// In path order.
    package var labels: [MetricLabel]

    package init(job: String, labels: [MetricLabel] = []) {
        self.job = job
        self.labels = labels
    }

    /// `job="luminate-backup", namespace="luminate"`
    package var description: String {
        ([MetricLabel("job", job)] + labels).map { "\($0.name)=\"\(MetricExposition.escapeLabelValue($0.value))\"" }
            .joined(separator: ", ")
    }
}

/// `GET /api/v1/status`: the Pushgateway's build.
package struct PushgatewayStatus: Sendable, Equatable {
    /// `1.5.1`
    package var version: String?
}

/// One group the Pushgateway holds (`GET /api/v1/metrics`): its grouping labels and the names of
/// the metrics pushed into it (besides the Pushgateway's own `push_time_seconds` and
/// `push_failure_time_seconds`).
package struct PushgatewayGroup: Sendable, Equatable {
    package var labels: [String: String]
    package var metrics: [String]
}

/// A client of the Prometheus Pushgateway over the `HTTPTransport` seam: replace (PUT) or delete
/// (DELETE) one group of metrics, and the status endpoints `config check` reads.
///
/// PUT replaces every metric of the group, so a push carries the whole group; the backup job
/// pushes its status gauge and nothing else. An interrupted request is not wrapped: it surfaces
/// as `HTTPTransportError.interrupted` so the CLI exits 130 like for any other Ctrl-C.
package struct PushgatewayClient: Sendable {
    /// `http://prometheus-pushgateway.monitoring.svc:9091`, possibly with a path prefix.
    package var baseURL: String
    package var http: any HTTPTransport
    package var interrupt: Interrupt
    /// Whole-request limit in seconds: a push is tiny, so a slow answer means trouble.
    package var timeout: Double

    package init(baseURL: String, http: any HTTPTransport, interrupt: Interrupt = Interrupt(), timeout: Double = 15) {
        self.baseURL = baseURL
        self.http = http
        self.interrupt = interrupt
        self.timeout = timeout
    }

    /// `host:port` of the Pushgateway, as errors name it.
    package var host: String { hostOf(url: baseURL) }

    // MARK: - Plans (pure, for --dry-run and tests)

    /// `<base>/metrics/job/<job>/<label>/<value>...`. Values are percent-encoded; a value that
    /// contains `/` or is empty takes the `<label>@base64/<base64url>` form (RFC 4648 URL-safe
    /// alphabet; an empty value is the single `=` the Pushgateway asks for), because a `/`, even
    /// percent-encoded, would split the path and an empty segment would be dropped.
    package func groupURL(_ key: PushgatewayGroupingKey) throws -> String {
        guard !key.job.isEmpty else {
            throw MetricExpositionError(message: "the Pushgateway job name must not be empty")
        }
        var path = "/metrics"
        var names: Set<String> = ["job"]
        path += Self.segment("job", key.job)
        for label in key.labels {
            guard MetricExposition.isValidLabelName(label.name) else {
                throw MetricExpositionError(message: "invalid grouping label name '\(label.name)': must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __")
            }
            guard names.insert(label.name).inserted else {
                throw MetricExpositionError(message: "grouping label \(label.name) is given twice")
            }
            path += Self.segment(label.name, label.value)
        }
        return base + path
    }

    /// The exact PUT that `replace(_:in:)` sends.
    package func replaceRequest(_ families: [MetricFamily], in key: PushgatewayGroupingKey) throws -> HTTPRequest {
        let grouping = Set(["job"] + key.labels.map(\.name))
        for family in families {
            for sample in family.samples {
                if let clash = sample.labels.first(where: { grouping.contains($0.name) }) {
                    // The Pushgateway would overwrite it with the grouping key's value.
                    throw MetricExpositionError(
                        message: "label \(clash.name) of \(family.name) is part of the grouping key \(key); leave it out of the sample")
                }
            }
        }
        return HTTPRequest(
            method: "PUT", url: try groupURL(key), headers: [("Content-Type", MetricExposition.contentType)],
            body: Data(try MetricExposition.render(families).utf8), timeout: timeout, responseLimit: 1 << 20)
    }

    // MARK: - Calls

    /// Replaces every metric of the group `key` with `families` (HTTP PUT).
    package func replace(_ families: [MetricFamily], in key: PushgatewayGroupingKey) throws {
        let request = try replaceRequest(families, in: key)
        try expectSuccess(try exchange(request), request: request)
    }

    /// Deletes the group `key` and all its metrics (HTTP DELETE); deleting a group that does not
    /// exist succeeds too.
    package func delete(_ key: PushgatewayGroupingKey) throws {
        let request = HTTPRequest(method: "DELETE", url: try groupURL(key), timeout: timeout, responseLimit: 1 << 20)
        try expectSuccess(try exchange(request), request: request)
    }

    /// Whether the Pushgateway serves (`/-/ready`): 200 yes, 503 not yet (loading its
    /// persistence file). Any other answer means the URL is not a Pushgateway and is an error.
    package func ready() throws -> Bool {
        let request = HTTPRequest(url: base + "/-/ready", timeout: timeout, responseLimit: 1 << 16)
        let response = try exchange(request)
        switch response.status {
        case 200: return true
        case 503: return false
        default: throw PushgatewayError.rejected(host: host, method: "GET", path: "/-/ready", status: response.status, body: Self.excerpt(response))
        }
    }

    /// The build (`/api/v1/status`, Pushgateway 1.0 and later).
    package func status() throws -> PushgatewayStatus {
        let data = try api("/api/v1/status")
        return PushgatewayStatus(version: data[path: "build_information.version"]?.string)
    }

    /// Every group the Pushgateway holds (`/api/v1/metrics`).
    package func groups() throws -> [PushgatewayGroup] {
        guard let items = try api("/api/v1/metrics").array else {
            throw PushgatewayError.malformedResponse(host: host, path: "/api/v1/metrics", detail: "data is not a list")
        }
        let own: Set<String> = ["labels", "last_push_successful", "push_time_seconds", "push_failure_time_seconds"]
        return items.map { item in
            var labels: [String: String] = [:]
            for (name, value) in item["labels"]?.object ?? [] { labels[name] = value.string ?? "" }
            let metrics = (item.object ?? []).map(\.0).filter { !own.contains($0) }.sorted()
            return PushgatewayGroup(labels: labels, metrics: metrics)
        }
    }

    // MARK: - Plumbing

    private var base: String { baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL }

    private static func segment(_ name: String, _ value: String) -> String {
        if value.isEmpty { return "/\(name)@base64/=" }
        if value.contains("/") {
            let encoded = Data(value.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return "/\(name)@base64/\(encoded)"
        }
        return "/\(name)/\(percentEncode(value))"
    }

    /// Everything but RFC 3986's unreserved characters.
    private static func percentEncode(_ value: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    private func exchange(_ request: HTTPRequest) throws -> HTTPResponse {
        do {
            return try http.send(request, interrupt: interrupt)
        } catch let error as HTTPTransportError {
            if case .interrupted = error { throw error }
            throw PushgatewayError.unreachable(host: host, url: Redactor.redactURL(baseURL), cause: error)
        }
    }

    private func expectSuccess(_ response: HTTPResponse, request: HTTPRequest) throws {
        guard (200..<300).contains(response.status) else {
            // The path after the base URL, as the operator would retry it with curl.
            let path = request.url.hasPrefix(base) ? String(request.url.dropFirst(base.count)) : request.url
            throw PushgatewayError.rejected(host: host, method: request.method, path: path, status: response.status,
                                            body: Self.excerpt(response))
        }
    }

    /// GETs an API endpoint and returns the `data` of its `{"status": "success", "data": ...}`.
    private func api(_ path: String) throws -> JSONValue {
        let response = try exchange(HTTPRequest(url: base + path, headers: [("Accept", "application/json")],
                                                timeout: timeout, responseLimit: 16 << 20))
        guard (200..<300).contains(response.status) else {
            throw PushgatewayError.rejected(host: host, method: "GET", path: path, status: response.status, body: Self.excerpt(response))
        }
        guard let json = try? JSONValue.parse(response.body) else {
            throw PushgatewayError.malformedResponse(host: host, path: path, detail: "not JSON")
        }
        guard json["status"]?.string == "success", let data = json["data"] else {
            throw PushgatewayError.malformedResponse(
                host: host, path: path, detail: "status \(json["status"]?.string ?? "missing")" + (json["error"]?.string.map { ": \($0)" } ?? ""))
        }
        return data
    }

    /// The first line of an error body, redacted, for the error message. A long one loses its
    /// middle, not its end: the Pushgateway puts the reason last ("... } is not a GAUGE").
    private static func excerpt(_ response: HTTPResponse) -> String {
        let text = Redactor.redact(response.text.trimmingCharacters(in: .whitespacesAndNewlines))
        let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return firstLine.count > 600 ? firstLine.prefix(300) + " ... " + firstLine.suffix(295) : firstLine
    }
}

import Foundation

/// Why a Prometheus call gave no usable answer. Every case names the Prometheus host; query errors
/// carry the PromQL so the operator can run it by hand. An interrupted request is not wrapped: it
/// surfaces as `HTTPTransportError.interrupted` so the CLI exits 130 like for any other Ctrl-C.
package enum PrometheusError: OperatorError, Equatable {
    /// Prometheus answered `{"status": "error"}`: `bad_data` (PromQL syntax, bad parameters),
    /// `execution` (e.g. many-to-many matching), `timeout`, `canceled`, `unavailable`, `internal`.
    case api(host: String, status: Int, errorType: String, message: String, query: String?)
    /// Nothing (complete) came back from the server at `url`.
    case unreachable(host: String, url: String, cause: HTTPTransportError)
    /// A status with no Prometheus error document: a proxy's page, or not a Prometheus at all.
    case unexpectedStatus(host: String, status: Int, path: String, body: String)
    /// A 2xx answer that is not the API's JSON.
    case malformedResponse(host: String, path: String, detail: String)
    /// The expression evaluated to another type than the caller can use.
    case unexpectedResultType(host: String, query: String, expected: String, got: String)
    /// A single value was asked for and the expression returned several series.
    case ambiguousResult(host: String, query: String, series: Int)

    package var description: String {
        switch self {
        case .api(let host, _, let errorType, let message, let query?):
            "prometheus at \(host) rejected query \(quoted(query)) (\(errorType)): \(Redactor.redact(message))"
        case .api(let host, _, let errorType, let message, nil):
            "prometheus at \(host) answered with an error (\(errorType)): \(Redactor.redact(message))"
        case .unreachable(let host, _, let cause):
            switch cause {
            case .transport(_, let code, let message):
                "cannot reach prometheus at \(host): \(Redactor.redact(message)) (curl error \(code))"
            case .timedOut(_, let seconds):
                "prometheus at \(host) did not answer within \(formatSeconds(seconds))"
            case .responseTooLarge(_, let limit):
                "answer from prometheus at \(host) exceeded \(limit) bytes"
            case .interrupted:
                "request to prometheus at \(host) interrupted"
            }
        case .unexpectedStatus(let host, let status, let path, let body):
            "prometheus at \(host) answered \(status) to \(path)" + (body.isEmpty ? "" : ": \(body)")
        case .malformedResponse(let host, let path, let detail):
            "prometheus at \(host) sent an unreadable answer to \(path): \(detail)"
        case .unexpectedResultType(let host, let query, let expected, let got):
            "query \(quoted(query)) on prometheus at \(host) returned a \(got), expected a \(expected)"
        case .ambiguousResult(let host, let query, let series):
            "query \(quoted(query)) on prometheus at \(host) returned \(series) series, expected at most one"
        }
    }

    package var hint: String? {
        switch self {
        case .api(_, _, "bad_data", _, _):
            "check the PromQL, e.g. with promtool or the Prometheus web UI"
        case .api(_, _, "timeout", _, _), .api(_, _, "canceled", _, _):
            "the query is too expensive for Prometheus' limits: narrow the time range or the label selector"
        case .api(_, _, "unavailable", _, _):
            "prometheus is starting or overloaded; retry in a minute"
        case .api:
            nil
        case .unreachable(_, _, .responseTooLarge):
            "select fewer series or use a larger step"
        case .unreachable(_, let url, _):
            "is Prometheus running at \(url)? check --prometheus-url / LUMINATECTL_PROMETHEUS_URL"
        case .unexpectedStatus(_, _, _, _), .malformedResponse:
            "is this a Prometheus server? check --prometheus-url / LUMINATECTL_PROMETHEUS_URL"
        case .ambiguousResult:
            "aggregate the expression to one series, e.g. with sum() or max()"
        case .unexpectedResultType:
            nil
        }
    }

    package var host: String {
        switch self {
        case .api(let host, _, _, _, _), .unreachable(let host, _, _), .unexpectedStatus(let host, _, _, _),
             .malformedResponse(let host, _, _), .unexpectedResultType(let host, _, _, _),
             .ambiguousResult(let host, _, _):
            host
        }
    }
}

/// PromQL in an error line: quoted, with long expressions shortened (the full text is in the plan).
private func quoted(_ query: String) -> String {
    let flat = Redactor.redact(query).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .joined(separator: " ")
    return "'" + (flat.count > 300 ? flat.prefix(297) + "..." : flat) + "'"
}

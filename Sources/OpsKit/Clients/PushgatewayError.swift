import Foundation

/// Why a Pushgateway call did not succeed. Every case names the Pushgateway host; a refused push
/// carries the status and the first line of the body, which is where the Pushgateway says what it
/// did not like (a metric whose type clashes with the same name in another group, a bad name).
package enum PushgatewayError: OperatorError, Equatable {
    /// Nothing (complete) came back from the server at `url`.
    case unreachable(host: String, url: String, cause: HTTPTransportError)
    /// A non-2xx answer to `method path`.
    case rejected(host: String, method: String, path: String, status: Int, body: String)
    /// A 2xx answer that is not the API's JSON.
    case malformedResponse(host: String, path: String, detail: String)

    package var description: String {
        switch self {
        case .unreachable(let host, _, let cause):
            switch cause {
            case .transport(_, let code, let message):
                "cannot reach the pushgateway at \(host): \(Redactor.redact(message)) (curl error \(code))"
            case .timedOut(_, let seconds):
                "the pushgateway at \(host) did not answer within \(formatSeconds(seconds))"
            case .responseTooLarge(_, let limit):
                "answer from the pushgateway at \(host) exceeded \(limit) bytes"
            case .interrupted:
                "request to the pushgateway at \(host) interrupted"
            }
        case .rejected(let host, let method, let path, let status, let body):
            "the pushgateway at \(host) answered \(status) to \(method) \(path)" + (body.isEmpty ? "" : ": \(body)")
        case .malformedResponse(let host, let path, let detail):
            "the pushgateway at \(host) sent an unreadable answer to \(path): \(detail)"
        }
    }

    package var hint: String? {
        switch self {
        case .unreachable(_, let url, _):
            "is the Pushgateway running at \(url)? check LUMINATECTL_PUSHGATEWAY_URL / pushgateway.url (and the network policy to the monitoring namespace)"
        case .rejected(_, _, _, 400, _):
            "the Pushgateway refused the pushed metrics: a metric of the same name but another type or help in another group, or invalid text"
        case .rejected(_, _, _, 404, _), .rejected(_, _, _, 405, _), .malformedResponse:
            "is this a Pushgateway? check LUMINATECTL_PUSHGATEWAY_URL / pushgateway.url"
        case .rejected(_, _, _, let status, _) where status >= 500:
            "the Pushgateway failed; see its log"
        case .rejected:
            nil
        }
    }

    package var host: String {
        switch self {
        case .unreachable(let host, _, _), .rejected(let host, _, _, _, _), .malformedResponse(let host, _, _): host
        }
    }
}

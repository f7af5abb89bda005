import Foundation

/// One HTTP exchange to perform.
package struct HTTPRequest: Sendable, Equatable {
    package var method: String
    package var url: String
    /// Ordered; names are case-insensitive on the wire.
    package var headers: [(name: String, value: String)]
    package var body: Data?
    package var connectTimeout: Double
    /// Whole-exchange limit.
    package var timeout: Double
    /// Most response bytes kept; a larger body is an error rather than a silent truncation.
    package var responseLimit: Int

    package init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: Data? = nil,
        connectTimeout: Double = 5,
        timeout: Double = 30,
        responseLimit: Int = 256 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.responseLimit = responseLimit
    }

    package static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name.lowercased()): \($0.value)" } == rhs.headers.map { "\($0.name.lowercased()): \($0.value)" }
    }

    /// The first value of a header, by case-insensitive name.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// `GET http://host/path?query` with secrets in the URL redacted, for `--verbose` and errors.
    package var requestLine: String { "\(method) \(Redactor.redactURL(url))" }
}

/// What came back; any status, 2xx or not (callers decide what a status means).
package struct HTTPResponse: Sendable, Equatable {
    package var status: Int
    /// Lower-cased names; the last value wins.
    package var headers: [String: String]
    package var body: Data

    package init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package var text: String { String(decoding: body, as: UTF8.self) }
}

/// Failures below HTTP: nothing (or nothing complete) came back.
package enum HTTPTransportError: Error, Equatable, CustomStringConvertible {
    /// A libcurl failure: its code and message, and the host that was being reached.
    case transport(host: String, curlCode: Int, message: String)
    case timedOut(host: String, seconds: Double)
    case interrupted(host: String)
    case responseTooLarge(host: String, limit: Int)

    package var description: String {
        switch self {
        case .transport(let host, let code, let message):
            "cannot reach \(host): \(Redactor.redact(message)) (curl error \(code))"
        case .timedOut(let host, let seconds):
            "\(host) did not answer within \(formatSeconds(seconds))"
        case .interrupted(let host):
            "request to \(host) interrupted"
        case .responseTooLarge(let host, let limit):
            "response from \(host) exceeded \(limit) bytes"
        }
    }

    package var host: String {
        switch self {
        case .transport(let host, _, _), .timedOut(let host, _), .interrupted(let host), .responseTooLarge(let host, _): host
        }
    }
}

/// The HTTP seam. The live implementation is `CurlTransport` (libcurl); tests use a fake that
/// checks each request and fails on any it did not expect.
package protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse
}

/// `host:port` of a URL, for error messages that say which server to check.
package func hostOf(url: String) -> String {
    guard let components = URLComponents(string: url), let host = components.host else { return url }
    if let port = components.port { return "\(host):\(port)" }
    return host
}

extension HTTPRequest: CustomStringConvertible, CustomReflectable {
    /// Header values that carry credentials, masked wherever a request is printed or dumped.
    static let credentialHeaders: Set<String> = ["x-clickhouse-key", "authorization", "proxy-authorization", "x-api-key", "cookie"]

    package var description: String {
        let shown = headers.map { header in
            HTTPRequest.credentialHeaders.contains(header.name.lowercased())
                ? "\(header.name): \(Redactor.mask)" : "\(header.name): \(Redactor.redact(header.value))"
        }
        return "\(requestLine) [\(shown.joined(separator: ", "))]" + (body.map { " (body \($0.count) B)" } ?? "")
    }

    package var customMirror: Mirror { Mirror(self, children: ["request": description]) }
}

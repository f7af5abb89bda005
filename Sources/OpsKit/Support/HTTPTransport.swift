import Foundation

/// One HTTP exchange to perform.
package struct HTTPRequest: Sendable, Equatable {
    package var method: String
    package var url: String
    /// Ordered; names are case-insensitive on the wire.
    package var headers: [(name: String, value: String)]
    package var body: Data?
    /// A body read from a file while it is sent (backups far larger than memory); exclusive with
    /// `body`. The transport reads it in small pieces and never holds it whole.
    package var bodyFile: HTTPFileBody?
    /// Sign the request with AWS Signature Version 4 (S3 and S3-compatible stores).
    package var awsSigV4: AWSSigV4Credential?
    package var connectTimeout: Double
    /// Whole-exchange limit.
    package var timeout: Double
    /// Gives up when no byte has moved in either direction for this long: for transfers too
    /// large for a whole-exchange limit (a restore of many gigabytes) that must still not hang.
    package var stallTimeout: Double?
    /// Most response bytes kept; a larger body is an error rather than a silent truncation.
    package var responseLimit: Int

    package init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: Data? = nil,
        bodyFile: HTTPFileBody? = nil,
        awsSigV4: AWSSigV4Credential? = nil,
        connectTimeout: Double = 5,
        timeout: Double = 30,
        stallTimeout: Double? = nil,
        responseLimit: Int = 256 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.bodyFile = bodyFile
        self.awsSigV4 = awsSigV4
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.stallTimeout = stallTimeout
        self.responseLimit = responseLimit
    }

    package static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body && lhs.bodyFile == rhs.bodyFile
            && lhs.awsSigV4 == rhs.awsSigV4
            && lhs.headers.map { "\($0.name.lowercased()): \($0.value)" } == rhs.headers.map { "\($0.name.lowercased()): \($0.value)" }
    }

    /// The first value of a header, by case-insensitive name.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// `GET http://host/path?query` with secrets in the URL redacted, for `--verbose` and errors.
    package var requestLine: String { "\(method) \(Redactor.redactURL(url))" }
}

/// A request body taken from part of a file: `length` bytes from `offset` (the rest of the file
/// when nil). Multipart uploads send one range of a large file per request.
package struct HTTPFileBody: Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var offset: Int64
    package var length: Int64?

    package init(path: String, offset: Int64 = 0, length: Int64? = nil) {
        self.path = path
        self.offset = offset
        self.length = length
    }

    package var description: String {
        let range = length.map { "\($0) B" } ?? "to the end"
        return offset == 0 && length == nil ? "file \(path)" : "file \(path), \(range) from offset \(offset)"
    }
}

/// The body file of a request could not be read: missing, unreadable, or shorter than the range
/// asked for. Nothing was sent, or the transfer was stopped.
package struct HTTPBodyFileError: Error, Equatable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "cannot read \(path): \(reason)" }
}

/// What libcurl needs to sign a request with AWS Signature Version 4 (`CURLOPT_AWS_SIGV4`).
///
/// The secret never appears in `description`, in reflection (`dump`, `String(reflecting:)`, the
/// failure messages of `XCTAssertEqual`) or in `HTTPRequest`'s; it is also registered with
/// `Redactor` on creation, so any text that still carries it (a server echoing it back) is scrubbed.
package struct AWSSigV4Credential: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// `aws:amz:REGION:SERVICE`, libcurl's provider string: `aws:amz:us-east-1:s3`.
    package var provider: String
    package var accessKeyID: String
    package var secretAccessKey: String

    package init(provider: String, accessKeyID: String, secretAccessKey: String) {
        self.provider = provider
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        Redactor.register(secret: secretAccessKey)
    }

    /// `aws:amz:us-east-1:s3 as AKIDEXAMPLE`: the access key id names who signs; it is not a secret.
    package var description: String { "\(provider) as \(accessKeyID)" }

    package var customMirror: Mirror {
        Mirror(self, children: ["provider": provider, "accessKeyID": accessKeyID, "secretAccessKey": Redactor.mask])
    }
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
            + (bodyFile.map { " (body from \($0))" } ?? "") + (awsSigV4.map { " (aws-sigv4 \($0))" } ?? "")
    }

    package var customMirror: Mirror { Mirror(self, children: ["request": description]) }
}

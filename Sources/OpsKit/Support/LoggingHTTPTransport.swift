import Foundation

/// `--verbose` for HTTP: wraps another transport and reports each exchange to a diagnostics
/// closure, curl `-v` style:
///
///     > POST http://127.0.0.1:8123/?database=luminate&password=<redacted>
///     > X-ClickHouse-User: ops
///     > X-ClickHouse-Key: <redacted>
///     > (body 214 B)
///     < 200 in 12 ms (3.1 KB)
///
/// A body read from a file shows as `> (body from file PATH, N B from offset O)`, a request signed
/// with AWS SigV4 as `> (aws-sigv4 aws:amz:REGION:s3 as ACCESS_KEY_ID)`.
///
/// Bodies are never printed (queries can carry data, answers can carry anything), only their
/// sizes; credential headers show the header name and a mask, and everything else passes through
/// `Redactor` so registered secrets are scrubbed wherever they appear.
package struct LoggingHTTPTransport: StreamingHTTPTransport {
    package let base: any HTTPTransport
    /// Only used to measure how long an exchange took.
    package let clock: any TimeSource
    package let log: @Sendable (String) -> Void

    package init(_ base: any HTTPTransport, clock: any TimeSource, log: @escaping @Sendable (String) -> Void) {
        self.base = base
        self.clock = clock
        self.log = log
    }

    package func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        logRequest(request)
        let started = clock.now()
        do {
            let response = try base.send(request, interrupt: interrupt)
            logResponse(response.status, bytes: response.body.count, since: started)
            return response
        } catch {
            logFailure(error, since: started)
            throw error
        }
    }

    package func stream(
        _ request: HTTPRequest, interrupt: Interrupt, onChunk: (Data) throws -> Void
    ) throws -> HTTPResponse {
        logRequest(request)
        let started = clock.now()
        var streamed = 0
        do {
            let response = try base.streaming(request, interrupt: interrupt) { chunk in
                streamed += chunk.count
                try onChunk(chunk)
            }
            logResponse(response.status, bytes: streamed + response.body.count, since: started)
            return response
        } catch {
            logFailure(error, since: started)
            throw error
        }
    }

    private func logRequest(_ request: HTTPRequest) {
        log("> \(request.requestLine)")
        for (name, value) in request.headers {
            log("> \(name): \(Self.isCredential(name) ? Redactor.mask : Redactor.redact(value))")
        }
        if let body = request.body { log("> (body \(Self.formatBytes(body.count)))") }
        if let file = request.bodyFile { log("> (body from \(Redactor.redact(file.description)))") }
        // The signature itself is computed inside libcurl and never passes through here; the
        // access key id says who signed, the secret stays out.
        if let signing = request.awsSigV4 { log("> (aws-sigv4 \(Redactor.redact(signing.description)))") }
    }

    private func logResponse(_ status: Int, bytes: Int, since started: Date) {
        log("< \(status) in \(formatSeconds(elapsed(since: started))) (\(Self.formatBytes(bytes)))")
    }

    private func logFailure(_ error: any Error, since started: Date) {
        log("< failed after \(formatSeconds(elapsed(since: started))): \(Redactor.redact(String(describing: error)))")
    }

    private func elapsed(since started: Date) -> Double {
        max(0, clock.now().timeIntervalSince(started))
    }

    /// Header names whose values are credentials. Matched by name rather than by value because a
    /// password that was never registered with `Redactor` would otherwise print as is.
    private static func isCredential(_ name: String) -> Bool {
        let lowered = name.lowercased()
        if ["authorization", "proxy-authorization", "cookie", "set-cookie"].contains(lowered) { return true }
        return ["key", "token", "secret", "password", "auth"].contains { lowered.contains($0) }
    }

    /// `512 B`, `3.1 KB`, `20.0 MB`, binary multiples as `ls -lh` and ClickHouse's
    /// `formatReadableSize` count them.
    static func formatBytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        var value = Double(count) / 1024
        for unit in ["KB", "MB", "GB"] {
            if value < 1024 || unit == "GB" { return String(format: "%.1f", value) + " " + unit }
            value /= 1024
        }
        return "\(count) B"
    }
}

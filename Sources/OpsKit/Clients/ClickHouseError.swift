import Foundation

/// Everything that can go wrong talking to ClickHouse, over HTTP or through `clickhouse-client`,
/// in the words an operator needs: which host, which query id, which ClickHouse error code.
/// Descriptions pass through `Redactor`, because servers echo SQL (and so whatever was in it)
/// back in syntax errors; passwords are never part of any case.
package enum ClickHouseError: OperatorError, Equatable {
    /// The server ran (or refused) the query and said why. `status` is the HTTP status; nil for
    /// the native protocol.
    case server(code: Int, name: String?, message: String, host: String, queryID: String?, status: Int?)
    /// Unknown user (192), wrong password (193), password required (194) or, on servers since
    /// 20.x, the combined AUTHENTICATION_FAILED (516). `passwordSource` says where the password
    /// came from (a file, an environment variable), never what it is.
    case authentication(user: String, host: String, code: Int, passwordSource: String?)
    /// Nothing answered: connection refused, DNS, reset. `hint` names the setting to check.
    case unreachable(host: String, underlying: String, hint: String)
    /// The client gave up waiting; `killed` says whether the server-side query was then killed.
    case timedOut(host: String, queryID: String?, seconds: Double, killed: Bool)
    /// Ctrl-C during the query; `killed` says whether `KILL QUERY` confirmed it stopped.
    case interrupted(host: String, queryID: String?, killed: Bool)
    case responseTooLarge(host: String, queryID: String?, limit: Int)
    /// The server answered 2xx but the body was not the JSON we asked for.
    case decoding(host: String, queryID: String?, detail: String)
    /// An answer that is neither a result nor a ClickHouse exception (a proxy's 502 page, a
    /// `/ping` that did not say `Ok.`).
    case unexpectedResponse(host: String, queryID: String?, status: Int?, detail: String)
    /// `clickhouse-client` is not installed or not on PATH.
    case clientMissing(program: String)
    /// `clickhouse-client` failed without a ClickHouse exception on stderr (bad option, missing
    /// config file, killed by a signal).
    case clientFailed(host: String, commandLine: String, status: String, stderr: String)
    /// The private config file for `clickhouse-client` could not be written.
    case localFile(path: String, reason: String)

    /// The hint for an unreachable HTTP endpoint.
    package static func unreachableHint(url: String) -> String {
        "is ClickHouse running at \(Redactor.redactURL(url))? check --clickhouse-url / LUMINATECTL_CLICKHOUSE_URL"
    }

    /// The hint for an unreachable native (TCP) endpoint.
    package static func unreachableNativeHint(host: String) -> String {
        "is ClickHouse listening for clickhouse-client at \(host)? check LUMINATECTL_CLICKHOUSE_NATIVE (clickhouse.native in the configuration)"
    }

    package var description: String {
        Redactor.redact(plainDescription)
    }

    private var plainDescription: String {
        switch self {
        case .server(let code, let name, let message, let host, let queryID, let status):
            let codeText = "code \(code)" + (name.map { " (\($0))" } ?? "")
            let statusText = status.map { ", http \($0)" } ?? ""
            return "clickhouse \(host) failed query \(queryID ?? "(no query id)"): \(codeText)\(statusText): \(Self.clip(message))"
        case .authentication(let user, let host, let code, _):
            let what = switch code {
            case 192: "unknown user"
            case 193: "wrong password"
            case 194: "password required"
            default: "authentication failed"
            }
            return "clickhouse \(host) refused user \(user): \(what) (code \(code))"
        case .unreachable(let host, let underlying, _):
            return "cannot reach clickhouse at \(host): \(underlying)"
        case .timedOut(let host, let queryID, let seconds, let killed):
            return "clickhouse \(host) did not finish query \(queryID ?? "(no query id)") within \(formatSeconds(seconds))"
                + (killed ? "; the query was killed" : "; the query may still be running")
        case .interrupted(let host, let queryID, let killed):
            return "query \(queryID ?? "(no query id)") on clickhouse \(host) interrupted"
                + (killed ? "; the query was killed" : "; the query may still be running")
        case .responseTooLarge(let host, let queryID, let limit):
            return "result of query \(queryID ?? "(no query id)") from clickhouse \(host) exceeded \(limit) bytes"
        case .decoding(let host, let queryID, let detail):
            return "cannot decode the result of query \(queryID ?? "(no query id)") from clickhouse \(host): \(detail)"
        case .unexpectedResponse(let host, let queryID, let status, let detail):
            let query = queryID.map { " to query \($0)" } ?? ""
            let statusText = status.map { " (http \($0))" } ?? ""
            return "unexpected answer from clickhouse \(host)\(query)\(statusText): \(Self.clip(detail))"
        case .clientMissing(let program):
            return "\(program) not found on PATH"
        case .clientFailed(let host, let commandLine, let status, let stderr):
            let output = stderr.isEmpty ? "" : " output: \(Self.clip(stderr))"
            return "clickhouse-client for \(host) \(status): \(commandLine)\(output)"
        case .localFile(let path, let reason):
            return "cannot write the clickhouse-client config under \(path): \(reason)"
        }
    }

    package var hint: String? {
        switch self {
        case .authentication(let user, _, let code, let passwordSource):
            if code == 192 { return "the server has no user \(user): check --clickhouse-user / LUMINATECTL_CLICKHOUSE_USER" }
            if let passwordSource { return "check the password for \(user) (\(passwordSource))" }
            return "no password was given for \(user): set LUMINATECTL_CLICKHOUSE_PASSWORD_FILE or LUMINATECTL_CLICKHOUSE_PASSWORD"
        case .unreachable(_, _, let hint):
            return hint
        case .server(let code, _, _, _, _, _):
            return switch code {
            case 60, 81: "check the database and table names (SHOW DATABASES, SHOW TABLES FROM <database>)"
            case 159: "the server stopped the query at max_execution_time; raise the timeout if the query is expected to be slow"
            case 164: "the user is readonly (readonly = 1): this needs a user that may write and change settings"
            case 202: "the server is at max_concurrent_queries; retry later"
            case 241: "the query hit the server's memory limit; narrow it (partition, date range)"
            default: nil
            }
        case .timedOut:
            return "raise the timeout, or check system.processes on the server"
        case .clientMissing:
            return "install clickhouse-client (apt-get install clickhouse-client) or put it on PATH"
        default:
            return nil
        }
    }

    package var exitCode: ExitCode {
        if case .interrupted = self { return .interrupted }
        return .failure
    }

    /// The ClickHouse error code, when the server gave one.
    package var code: Int? {
        switch self {
        case .server(let code, _, _, _, _, _), .authentication(_, _, let code, _): code
        default: nil
        }
    }

    /// Codes that mean "these credentials do not work here".
    package static let authenticationCodes: Set<Int> = [192, 193, 194, 516]

    /// Codes a client raises itself when the server cannot be reached (NETWORK_ERROR,
    /// SOCKET_TIMEOUT, DNS_ERROR, ALL_CONNECTION_TRIES_FAILED).
    package static let connectionCodes: Set<Int> = [198, 209, 210, 279]

    /// Very long server messages (a syntax error lists every keyword it expected) are cut.
    private static func clip(_ text: String) -> String {
        text.count > 600 ? String(text.prefix(597)) + "..." : text
    }
}

/// A ClickHouse exception as written into an HTTP body or `clickhouse-client`'s stderr, in any
/// of the forms servers have used:
///
/// - 18.x–20.x: `Code: 60, e.displayText() = DB::Exception: Table luminate.nope doesn't exist., e.what() = DB::Exception`
/// - 21.x and later: `Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official build))`
/// - `clickhouse-client`: `Received exception from server (version 18.16.1):\nCode: 60. DB::Exception: Received from host:9000. DB::Exception: ...`
///
/// Parsing never traps, whatever the bytes: it is fed whatever a proxy or a crashing server sends.
package struct ClickHouseException: Sendable, Equatable {
    package var code: Int
    /// `UNKNOWN_TABLE`: printed by servers since 21.x, otherwise filled in from a table of the
    /// codes luminatectl meets.
    package var name: String?
    package var message: String

    package init(code: Int, name: String?, message: String) {
        self.code = code
        self.name = name
        self.message = message
    }

    /// Finds the exception in `text`. An error after streamed output is appended at the end of
    /// the body, so `last` picks the final `Code: N` rather than one that might be in the data.
    package static func parse(_ text: String, last: Bool = false) -> ClickHouseException? {
        var found: (code: Int, modern: Bool, rest: Substring)?
        var searchRange = text.startIndex..<text.endIndex
        while let marker = text.range(of: "Code: ", range: searchRange) {
            searchRange = marker.upperBound..<text.endIndex
            let digits = text[marker.upperBound...].prefix { $0.isASCII && $0.isNumber }
            guard (1...9).contains(digits.count), let code = Int(digits) else { continue }
            let after = text[digits.endIndex...]
            guard let separator = after.first, separator == "." || separator == "," else { continue }
            found = (code, separator == ".", after.dropFirst())
            if !last { break }
        }
        guard let found else { return nil }
        let (name, message) = extractMessage(found.rest, code: found.code, modern: found.modern)
        return ClickHouseException(code: found.code, name: name ?? knownNames[found.code], message: message)
    }

    /// Cuts the decoration around the message: the `e.displayText() = ` wrapper, `DB::Exception:`
    /// prefixes (two of them when relayed from a remote server), `e.what()`, `(version ...)`,
    /// stack traces, and the trailing `(NAME)` which becomes the name. A trailing `(WORD)` counts
    /// as the name only in the modern `Code: N.` form or when it is the known name of the code,
    /// so an 18.16 message that happens to end in capitals keeps them.
    private static func extractMessage(_ rest: Substring, code: Int, modern: Bool) -> (name: String?, message: String) {
        var text = rest
        if let wrapper = text.range(of: "e.displayText() = ") { text = text[wrapper.upperBound...] }
        for terminator in [", e.what() = ", "Stack trace", " (version ", "\n(query:", "\n\n"] {
            if let end = text.range(of: terminator) { text = text[..<end.lowerBound] }
        }
        var message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var stripped = true
        while stripped {
            stripped = false
            for prefix in ["DB::Exception: ", "DB::NetException: ", "Poco::Exception. ", "Exception: "] where message.hasPrefix(prefix) {
                message = String(message.dropFirst(prefix.count))
                stripped = true
            }
            // `Received from host:port. DB::Exception: ...` when the client relays a server error.
            if message.hasPrefix("Received from "), let dot = message.range(of: ". ") {
                message = String(message[dot.upperBound...])
                stripped = true
            }
        }
        var name: String?
        if message.hasSuffix(")"), let open = message.range(of: " (", options: .backwards) {
            let candidate = message[open.upperBound..<message.index(before: message.endIndex)]
            let looksLikeName = !candidate.isEmpty
                && candidate.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isUppercase || $0.isNumber)) }
            if looksLikeName, modern || knownNames[code] == String(candidate) {
                name = String(candidate)
                message = String(message[..<open.lowerBound])
            }
        }
        var previous = ""
        while previous != message {
            previous = message
            message = message.trimmingCharacters(in: .whitespacesAndNewlines)
            while message.hasSuffix(".") { message.removeLast() }
        }
        return (name, message)
    }

    /// Names of the codes luminatectl meets, for servers (18.16) that print only the number.
    /// From ClickHouse's src/Common/ErrorCodes.cpp.
    package static let knownNames: [Int: String] = [
        36: "BAD_ARGUMENTS", 46: "UNKNOWN_FUNCTION", 47: "UNKNOWN_IDENTIFIER", 48: "NOT_IMPLEMENTED",
        53: "TYPE_MISMATCH", 57: "TABLE_ALREADY_EXISTS", 60: "UNKNOWN_TABLE", 62: "SYNTAX_ERROR",
        73: "UNKNOWN_FORMAT", 81: "UNKNOWN_DATABASE", 82: "DATABASE_ALREADY_EXISTS", 115: "UNKNOWN_SETTING",
        159: "TIMEOUT_EXCEEDED", 164: "READONLY", 192: "UNKNOWN_USER", 193: "WRONG_PASSWORD",
        194: "REQUIRED_PASSWORD", 195: "IP_ADDRESS_NOT_ALLOWED", 198: "DNS_ERROR", 202: "TOO_MANY_SIMULTANEOUS_QUERIES",
        209: "SOCKET_TIMEOUT", 210: "NETWORK_ERROR", 216: "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
        225: "NO_ZOOKEEPER", 232: "NO_SUCH_DATA_PART", 233: "BAD_DATA_PART_NAME", 236: "ABORTED",
        241: "MEMORY_LIMIT_EXCEEDED", 242: "TABLE_IS_READ_ONLY", 248: "INVALID_PARTITION_VALUE",
        252: "TOO_MANY_PARTS", 254: "NO_ACTIVE_REPLICAS", 279: "ALL_CONNECTION_TRIES_FAILED",
        341: "UNFINISHED", 373: "SESSION_IS_LOCKED", 394: "QUERY_WAS_CANCELLED", 497: "ACCESS_DENIED",
        516: "AUTHENTICATION_FAILED", 999: "KEEPER_EXCEPTION",
    ]
}

extension ClickHouseError {
    /// The error for a non-2xx HTTP answer (or a 2xx whose body ends in an exception): the code
    /// from `X-ClickHouse-Exception-Code` when the server sent it (20.3+), else from the body.
    package static func fromHTTP(
        status: Int, headers: [String: String], body: String,
        host: String, queryID: String?, user: String, passwordSource: String?
    ) -> ClickHouseError {
        let parsed = ClickHouseException.parse(body, last: (200..<300).contains(status))
        let headerCode = headers["x-clickhouse-exception-code"].flatMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard let code = headerCode ?? parsed?.code else {
            let detail = body.trimmingCharacters(in: .whitespacesAndNewlines)
            return .unexpectedResponse(host: host, queryID: queryID, status: status,
                                       detail: detail.isEmpty ? "empty body" : String(detail.prefix(300)))
        }
        if authenticationCodes.contains(code) {
            return .authentication(user: user, host: host, code: code, passwordSource: passwordSource)
        }
        let exception = parsed.map { $0.code == code ? $0 : ClickHouseException(code: code, name: nil, message: $0.message) }
            ?? ClickHouseException(code: code, name: nil, message: String(body.prefix(300)))
        return .server(code: code, name: exception.name ?? ClickHouseException.knownNames[code],
                       message: exception.message, host: host, queryID: queryID, status: status)
    }

    /// The error for a `clickhouse-client` that exited non-zero. Its exit code is the ClickHouse
    /// code modulo 256 (516 exits 4), so the real code comes from stderr when it is there.
    package static func fromClient(
        status: TerminationStatus, stderr: String, commandLine: String,
        host: String, queryID: String?, user: String, passwordSource: String?
    ) -> ClickHouseError {
        guard case .exited = status, let exception = ClickHouseException.parse(stderr) else {
            return .clientFailed(host: host, commandLine: Redactor.redact(commandLine), status: status.description,
                                 stderr: stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if authenticationCodes.contains(exception.code) {
            return .authentication(user: user, host: host, code: exception.code, passwordSource: passwordSource)
        }
        if connectionCodes.contains(exception.code) {
            return .unreachable(host: host, underlying: exception.message, hint: unreachableNativeHint(host: host))
        }
        return .server(code: exception.code, name: exception.name, message: exception.message,
                       host: host, queryID: queryID, status: nil)
    }
}

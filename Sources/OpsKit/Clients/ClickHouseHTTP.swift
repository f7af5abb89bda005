import Foundation
import Synchronization

/// Where and as whom to reach ClickHouse's HTTP interface. The password travels only in the
/// `X-ClickHouse-Key` header: URL parameters end up in access logs and `system.query_log`.
/// It is left out of `description` and of the reflection `dump()` and `String(reflecting:)` use.
package struct ClickHouseEndpoint: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// `http://127.0.0.1:8123`, no credentials and no query string in it.
    package var url: String
    package var user: String
    package var password: String?
    /// Where the password came from (`LUMINATECTL_CLICKHOUSE_PASSWORD_FILE (/run/secrets/ch)`), for hints.
    package var passwordSource: String?
    /// Default database for unqualified names; sent as the `database` URL parameter because
    /// 18.16 ignores the `X-ClickHouse-Database` header.
    package var database: String?
    package var connectTimeout: Double
    /// Per-query limit unless a query sets its own.
    package var timeout: Double

    package init(
        url: String, user: String = "default", password: String? = nil, passwordSource: String? = nil,
        database: String? = nil, connectTimeout: Double = 5, timeout: Double = 30
    ) {
        self.url = url
        self.user = user
        self.password = password
        self.passwordSource = passwordSource
        self.database = database
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }

    package var description: String {
        "\(user)@\(Redactor.redactURL(url))" + (database.map { " (database \($0))" } ?? "")
    }

    package var customMirror: Mirror {
        Mirror(self, children: [
            "url": url, "user": user, "password": password == nil ? "(none)" : Redactor.mask,
            "passwordSource": passwordSource as Any, "database": database as Any, "timeout": timeout,
        ])
    }
}

/// Per-query knobs; the defaults fit a short read.
package struct ClickHouseQueryOptions: Sendable, Equatable {
    /// Sent as `luminatectl-<queryID>`; a fresh UUID when nil.
    package var queryID: String?
    /// Seconds; the endpoint's timeout when nil.
    package var timeout: Double?
    /// Overrides the endpoint's database.
    package var database: String?
    /// Extra ClickHouse settings as URL parameters (`insert_distributed_sync=1`), which is where
    /// 18.16 honours them: inside `INSERT ... SELECT ... SETTINGS` it does not.
    package var settings: [String: String]
    package var responseLimit: Int?

    package init(
        queryID: String? = nil, timeout: Double? = nil, database: String? = nil,
        settings: [String: String] = [:], responseLimit: Int? = nil
    ) {
        self.queryID = queryID
        self.timeout = timeout
        self.database = database
        self.settings = settings
        self.responseLimit = responseLimit
    }
}

/// One HTTP exchange as it will be sent: what `--dry-run` prints (without the headers, which
/// carry the password) and what tests assert on.
package struct ClickHouseHTTPPlan: Sendable, Equatable, CustomStringConvertible {
    package let queryID: String
    package let sql: String
    package let user: String
    package let request: HTTPRequest

    package var description: String { "\(request.requestLine) (user \(user))\n\(Redactor.redact(sql))" }
}

/// A `FORMAT JSON` answer: `meta`, `data`, `rows`, `statistics`.
package struct ClickHouseResult<Row: Decodable>: Decodable {
    /// One result column as the server typed it.
    package struct Column: Decodable, Sendable, Equatable {
        package var name: String
        package var type: String
    }

    /// What the server reports it read; absent when a query read nothing.
    package struct Statistics: Decodable, Sendable, Equatable {
        package var elapsed: Double
        package var rowsRead: FlexibleUInt64
        package var bytesRead: FlexibleUInt64

        enum CodingKeys: String, CodingKey {
            case elapsed, rowsRead = "rows_read", bytesRead = "bytes_read"
        }
    }

    package var meta: [Column]
    package var data: [Row]
    package var rows: Int
    package var rowsBeforeLimitAtLeast: FlexibleUInt64?
    package var statistics: Statistics?

    enum CodingKeys: String, CodingKey {
        case meta, data, rows, rowsBeforeLimitAtLeast = "rows_before_limit_at_least", statistics
    }

    /// Decodes `body`, or says which field did not fit.
    static func decode(_ body: Data, host: String, queryID: String) throws -> ClickHouseResult<Row> {
        do {
            return try JSONDecoder().decode(ClickHouseResult<Row>.self, from: body)
        } catch let error as DecodingError {
            throw ClickHouseError.decoding(host: host, queryID: queryID, detail: describeDecodingError(error))
        }
    }
}

/// A 64-bit integer read from JSON whether ClickHouse quoted it or not. ClickHouse quotes
/// (U)Int64 by default (`output_format_json_quote_64bit_integers=1`) because JavaScript loses
/// precision past 2^53; luminatectl asks for bare numbers, but a server, a proxy or a
/// `clickhouse-client` config can still send strings, so row types use this for such columns.
package struct FlexibleInteger<Value: FixedWidthInteger & Codable & Sendable>: Codable, Sendable, Hashable, Comparable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    package var value: Value

    package init(_ value: Value) { self.value = value }
    package init(integerLiteral literal: Value.IntegerLiteralType) { value = Value(integerLiteral: literal) }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Value.self) {
            value = number
        } else if let text = try? container.decode(String.self), let number = Value(text) {
            value = number
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected \(Value.self) as a number or a quoted number")
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    package var description: String { String(value) }
}

package typealias FlexibleInt64 = FlexibleInteger<Int64>
package typealias FlexibleUInt64 = FlexibleInteger<UInt64>

/// `/replicas_status`: `Ok.` with 200 when every replicated table is within the server's delay
/// thresholds, else 503 and one line per lagging table (every table with `verbose`).
package struct ClickHouseReplicasStatus: Sendable, Equatable {
    /// One `db.table:\tAbsolute delay: N. Relative delay: M.` line.
    package struct Delay: Sendable, Equatable {
        package var table: String
        package var absoluteDelay: Int
        package var relativeDelay: Int
    }

    package var healthy: Bool
    package var delays: [Delay]

    /// Lines that do not parse are skipped: this endpoint is advisory, `system.replicas` is the truth.
    package static func parse(status: Int, body: String) -> ClickHouseReplicasStatus {
        var delays: [Delay] = []
        for line in body.split(separator: "\n") {
            guard let colon = line.range(of: ":\t") else { continue }
            let numbers = line[colon.upperBound...].split(whereSeparator: { !$0.isASCII || !$0.isNumber })
                .compactMap { Int($0) }
            guard numbers.count >= 2 else { continue }
            delays.append(Delay(table: String(line[..<colon.lowerBound]), absoluteDelay: numbers[0], relativeDelay: numbers[1]))
        }
        return ClickHouseReplicasStatus(healthy: status == 200, delays: delays)
    }
}

/// A row of `KILL QUERY ... FORMAT JSON`.
package struct ClickHouseKilledQuery: Decodable, Sendable, Equatable {
    package var killStatus: String
    package var queryID: String
    package var user: String

    enum CodingKeys: String, CodingKey {
        case killStatus = "kill_status", queryID = "query_id", user
    }

    /// `KILL QUERY ... FORMAT JSON` that matched nothing answers with an empty body, not an
    /// empty `data` array (18.16, over HTTP and from clickhouse-client alike).
    static func decode(_ body: Data, host: String, queryID: String) throws -> [ClickHouseKilledQuery] {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [] }
        return try ClickHouseResult<ClickHouseKilledQuery>.decode(body, host: host, queryID: queryID).data
    }
}

/// ClickHouse over its HTTP interface, through the `HTTPTransport` seam.
///
/// Every query carries a `query_id` (so it can be found in `system.processes` and killed) and
/// `wait_end_of_query=1`: without it the server streams the result as it is computed, and an
/// error after the first ~1 MB arrives appended to an HTTP 200 that looks like success.
package struct ClickHouseHTTP: Sendable {
    package static let queryIDPrefix = "luminatectl-"
    /// How much longer than the server-side `max_execution_time` the client waits: the server's
    /// own timeout error (code 159) names the query and is clearer than a dropped connection.
    package static let transportGrace: Double = 5

    package let endpoint: ClickHouseEndpoint
    private let transport: any HTTPTransport
    private var interrupt: Interrupt
    private let newQueryID: @Sendable () -> String
    /// False for the client that sends `KILL QUERY` itself, so a kill that times out is not
    /// followed by a kill of the kill.
    private var killsAbandonedQueries = true
    /// Set once the server has refused our own settings for this user; shared by copies.
    private let readonlyUser = ReadonlyMemo()

    package init(
        endpoint: ClickHouseEndpoint, transport: any HTTPTransport, interrupt: Interrupt,
        newQueryID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.endpoint = endpoint
        self.transport = transport
        self.interrupt = interrupt
        self.newQueryID = newQueryID
    }

    package init(endpoint: ClickHouseEndpoint, context: Context) {
        self.init(endpoint: endpoint, transport: context.http, interrupt: context.interrupt)
    }

    /// `host:port`, as errors name it.
    package var host: String { hostOf(url: endpoint.url) }

    /// A copy that finishes what it is asked even after Ctrl-C, for statements that must not be
    /// cut in two (a restore's REPLACE PARTITION on every shard); the caller checks the
    /// interrupt between them.
    package func ignoringInterrupt() -> ClickHouseHTTP {
        var copy = self
        copy.interrupt = Interrupt()
        return copy
    }

    // MARK: - Queries

    /// Runs a `SELECT` and decodes its rows (`FORMAT JSON` is appended).
    package func query<Row: Decodable>(_ sql: String, as type: Row.Type = Row.self, options: ClickHouseQueryOptions = .init()) throws -> [Row] {
        try result(sql, as: type, options: options).data
    }

    package func query<Row: Decodable>(_ sql: SQLFragment, as type: Row.Type = Row.self, options: ClickHouseQueryOptions = .init()) throws -> [Row] {
        try query(sql.sql, as: type, options: options)
    }

    /// Like `query`, with the column types, row count and read statistics.
    package func result<Row: Decodable>(_ sql: String, as type: Row.Type = Row.self, options: ClickHouseQueryOptions = .init()) throws -> ClickHouseResult<Row> {
        let (plan, response) = try perform(sql, format: "JSON", options: options)
        do {
            return try ClickHouseResult<Row>.decode(response.body, host: host, queryID: plan.queryID)
        } catch let error as ClickHouseError {
            // A body that is not our JSON but ends in an exception is an error that slipped
            // past wait_end_of_query (a proxy, a server that ignores it): report the exception.
            if ClickHouseException.parse(response.text, last: true) != nil { throw failure(response, plan) }
            throw error
        }
    }

    /// Runs DDL or DML (`ALTER`, `INSERT ... VALUES`, `SYSTEM ...`) and discards any output.
    package func execute(_ sql: String, options: ClickHouseQueryOptions = .init()) throws {
        _ = try raw(sql, options: options)
    }

    package func execute(_ sql: SQLFragment, options: ClickHouseQueryOptions = .init()) throws {
        try execute(sql.sql, options: options)
    }

    /// Runs `sql` as written (its own `FORMAT`, if any) and returns the body as text.
    package func raw(_ sql: String, options: ClickHouseQueryOptions = .init()) throws -> String {
        try perform(sql, format: nil, options: options).response.text
    }

    package func raw(_ sql: SQLFragment, options: ClickHouseQueryOptions = .init()) throws -> String {
        try raw(sql.sql, options: options)
    }

    /// `/ping` answers `Ok.` without authentication, so no credentials are sent to it.
    package func ping() throws {
        let request = HTTPRequest(url: try baseURL() + "ping", connectTimeout: endpoint.connectTimeout, timeout: endpoint.connectTimeout + 5)
        let response = try exchange(request, queryID: nil)
        guard response.status == 200, response.text.trimmingCharacters(in: .whitespacesAndNewlines) == "Ok." else {
            throw ClickHouseError.unexpectedResponse(host: host, queryID: nil, status: response.status,
                                                     detail: "/ping answered \(String(response.text.prefix(100)).debugDescription)")
        }
    }

    /// `SELECT version()`.
    package func version() throws -> ClickHouseVersion {
        struct Row: Decodable { var version: String }
        let rows = try query("SELECT version() AS version", as: Row.self)
        guard let text = rows.first?.version, let version = ClickHouseVersion(text) else {
            throw ClickHouseError.unexpectedResponse(host: host, queryID: nil, status: 200,
                                                     detail: "version() answered \(rows.first?.version.debugDescription ?? "no rows")")
        }
        return version
    }

    /// `/replicas_status` (no authentication needed): 200 `Ok.` or 503 with the lagging tables.
    package func replicasStatus(verbose: Bool = false) throws -> ClickHouseReplicasStatus {
        let url = try baseURL() + "replicas_status" + (verbose ? "?verbose=1" : "")
        let response = try exchange(HTTPRequest(url: url, connectTimeout: endpoint.connectTimeout, timeout: endpoint.timeout), queryID: nil)
        guard response.status == 200 || response.status == 503 else {
            throw ClickHouseError.fromHTTP(status: response.status, headers: response.headers, body: response.text, host: host,
                                           queryID: nil, user: endpoint.user, passwordSource: endpoint.passwordSource)
        }
        return ClickHouseReplicasStatus.parse(status: response.status, body: response.text)
    }

    /// `KILL QUERY WHERE query_id = '...' SYNC`, as its own request and with its own interrupt,
    /// so a Ctrl-C that is still set does not stop the kill. Returns the queries it killed
    /// (none when the query had already finished).
    @discardableResult
    package func kill(queryID: String, timeout: Double = 10) throws -> [ClickHouseKilledQuery] {
        var killer = self
        killer.interrupt = Interrupt()
        killer.killsAbandonedQueries = false
        let planned = try killer.plan("KILL QUERY WHERE query_id = \(literal: queryID) SYNC" as SQLFragment, format: "JSON",
                                      options: .init(timeout: timeout))
        // A kill answers at once or not at all: no grace beyond its limit, or a server that
        // stopped answering would hold the operator twice as long.
        var request = planned.request
        request.timeout = timeout
        let plan = ClickHouseHTTPPlan(queryID: planned.queryID, sql: planned.sql, user: planned.user, request: request)
        let response = try killer.send(plan)
        return try ClickHouseKilledQuery.decode(response.body, host: host, queryID: plan.queryID)
    }

    // MARK: - Plans

    /// The exact request for `sql`: POST body = SQL (plus `FORMAT`), settings as URL parameters.
    package func plan(_ sql: SQLFragment, format: String?, options: ClickHouseQueryOptions = .init()) throws -> ClickHouseHTTPPlan {
        try plan(sql.sql, format: format, options: options)
    }

    package func plan(_ sql: String, format: String?, options: ClickHouseQueryOptions = .init()) throws -> ClickHouseHTTPPlan {
        try checkPassword()
        let queryID = try Self.fullQueryID(options.queryID ?? newQueryID())
        let timeout = options.timeout ?? endpoint.timeout
        var statement = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while statement.hasSuffix(";") { statement = String(statement.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        if let format {
            guard SQL.isValidIdentifier(format) else { throw SQLError.invalidIdentifier(format, rule: SQL.identifierRule) }
            statement += "\nFORMAT " + format
        }

        var settings: [String: String] = [:]
        if !readonlyUser.refusesSettings {
            settings["max_execution_time"] = String(Int(max(1, timeout.rounded(.up))))
            if format == "JSON" { settings["output_format_json_quote_64bit_integers"] = "0" }
        }
        settings.merge(options.settings) { _, caller in caller }
        var parameters = [("query_id", queryID)]
        if let database = options.database ?? endpoint.database {
            guard SQL.isValidIdentifier(database) else { throw SQLError.invalidIdentifier(database, rule: SQL.identifierRule) }
            parameters.append(("database", database))
        }
        parameters.append(("wait_end_of_query", "1"))
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard SQL.isValidIdentifier(name) else { throw SQLError.invalidIdentifier(name, rule: SQL.identifierRule) }
            parameters.append((name, value))
        }
        var headers = [(name: "X-ClickHouse-User", value: endpoint.user)]
        if let password = endpoint.password { headers.append((name: "X-ClickHouse-Key", value: password)) }
        var request = HTTPRequest(
            method: "POST", url: try baseURL() + "?" + Self.encode(parameters), headers: headers,
            body: Data(statement.utf8), connectTimeout: endpoint.connectTimeout, timeout: timeout + Self.transportGrace)
        if let limit = options.responseLimit { request.responseLimit = limit }
        return ClickHouseHTTPPlan(queryID: queryID, sql: statement, user: endpoint.user, request: request)
    }

    /// `luminatectl-<id>`; a caller's id keeps to letters, digits and `-_.:` because it is also
    /// put into `KILL QUERY` and looked up in `system.processes` by operators.
    package static func fullQueryID(_ id: String) throws -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
        guard !id.isEmpty, id.count <= 100, id.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
            throw ValidationError("invalid query id \(SQL.quoteForMessage(id)): must be 1-100 letters, digits or -_.:")
        }
        return id.hasPrefix(queryIDPrefix) ? id : queryIDPrefix + id
    }

    // MARK: - Exchange

    /// Sends a query; a Ctrl-C or timeout while it runs is followed by `KILL QUERY`, because the
    /// server does not notice a vanished HTTP client until it writes output, and with
    /// `wait_end_of_query=1` it writes nothing until the end.
    ///
    /// A user with `readonly = 1` may not change any setting, not even `max_execution_time`
    /// (code 164, "Cannot override setting (...) in readonly mode"): the query is then sent once
    /// more without luminatectl's own settings, and later ones skip them. Rows for such a user
    /// come with quoted 64-bit integers, which `FlexibleInt64`/`FlexibleUInt64` columns accept.
    private func perform(_ sql: String, format: String?, options: ClickHouseQueryOptions) throws -> (plan: ClickHouseHTTPPlan, response: HTTPResponse) {
        let plan = try self.plan(sql, format: format, options: options)
        do {
            return (plan, try send(plan))
        } catch let error as ClickHouseError where error.code == 164 && options.settings.isEmpty && !readonlyUser.refusesSettings
            && error.description.contains("readonly mode")
        {
            readonlyUser.refusesSettings = true
            return try perform(sql, format: format, options: options)
        }
    }

    private func send(_ plan: ClickHouseHTTPPlan) throws -> HTTPResponse {
        let response = try exchange(plan.request, queryID: plan.queryID)
        guard (200..<300).contains(response.status) else { throw failure(response, plan) }
        return response
    }

    private func exchange(_ request: HTTPRequest, queryID: String?) throws -> HTTPResponse {
        if interrupt.isSet { throw ClickHouseError.interrupted(host: host, queryID: queryID, killed: false) }
        do {
            return try transport.send(request, interrupt: interrupt)
        } catch let error as HTTPTransportError {
            switch error {
            case .interrupted:
                throw ClickHouseError.interrupted(host: host, queryID: queryID, killed: stop(queryID))
            case .timedOut(_, let seconds):
                throw ClickHouseError.timedOut(host: host, queryID: queryID, seconds: seconds, killed: stop(queryID))
            case .responseTooLarge(_, let limit):
                _ = stop(queryID)
                throw ClickHouseError.responseTooLarge(host: host, queryID: queryID, limit: limit)
            case .transport(_, let code, let message):
                throw ClickHouseError.unreachable(host: host, underlying: "\(message) (curl error \(code))",
                                                  hint: ClickHouseError.unreachableHint(url: endpoint.url))
            }
        }
    }

    /// Best effort: true when the server confirmed the query is no longer running.
    private func stop(_ queryID: String?) -> Bool {
        guard let queryID, killsAbandonedQueries else { return false }
        return (try? kill(queryID: queryID, timeout: 3)) != nil
    }

    private func failure(_ response: HTTPResponse, _ plan: ClickHouseHTTPPlan) -> ClickHouseError {
        ClickHouseError.fromHTTP(status: response.status, headers: response.headers, body: response.text, host: host,
                                 queryID: plan.queryID, user: endpoint.user, passwordSource: endpoint.passwordSource)
    }

    /// `scheme://host:port/path/`, refusing URLs that carry credentials or parameters of their own.
    private func baseURL() throws -> String {
        guard let components = URLComponents(string: endpoint.url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let hostName = components.host, !hostName.isEmpty
        else {
            throw ValidationError("invalid clickhouse url \(SQL.quoteForMessage(endpoint.url)): must be http(s)://host:port",
                                  hint: "check --clickhouse-url / LUMINATECTL_CLICKHOUSE_URL")
        }
        guard components.user == nil, components.password == nil, components.query == nil else {
            throw ValidationError("the clickhouse url must not carry a user, password or query parameters",
                                  hint: "give the password in LUMINATECTL_CLICKHOUSE_PASSWORD_FILE")
        }
        let port = components.port.map { ":\($0)" } ?? ""
        let path = components.percentEncodedPath.hasSuffix("/") ? components.percentEncodedPath : components.percentEncodedPath + "/"
        return "\(scheme)://\(hostName.contains(":") ? "[\(hostName)]" : hostName)\(port)\(path)"
    }

    /// Header values lose leading and trailing blanks on the server (Poco trims them), and a line
    /// break would end the header: such a password can never work over HTTP, so say so up front.
    private func checkPassword() throws {
        guard let password = endpoint.password else { return }
        if password.contains(where: { $0 == "\r" || $0 == "\n" }) || password.first?.isWhitespace == true
            || password.last?.isWhitespace == true
        {
            throw ValidationError("the clickhouse password for \(endpoint.user) starts or ends with blanks or contains a line break, which the http interface cannot carry",
                                  hint: endpoint.passwordSource.map { "check \($0)" })
        }
    }

    /// `name=value&...` with everything but RFC 3986 unreserved characters percent-encoded
    /// (ClickHouse, like most form parsers, reads `+` as a space).
    private static func encode(_ parameters: [(String, String)]) -> String {
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        return parameters.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}

/// Whether the server has refused settings for this client's user (`readonly = 1`).
private final class ReadonlyMemo: Sendable {
    private let state = Mutex(false)
    var refusesSettings: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// `data[3].u: expected UInt64 ...`: where in the JSON a decoding error happened and why.
func describeDecodingError(_ error: DecodingError) -> String {
    func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }
    switch error {
    case .typeMismatch(let type, let context):
        return "\(path(context.codingPath)): expected \(type): \(context.debugDescription)"
    case .valueNotFound(let type, let context):
        return "\(path(context.codingPath)): missing \(type) value"
    case .keyNotFound(let key, let context):
        return "\(path(context.codingPath + [key])): no such column in the result"
    case .dataCorrupted(let context):
        return (context.codingPath.isEmpty ? "" : path(context.codingPath) + ": ") + context.debugDescription
    @unknown default:
        return "\(error)"
    }
}

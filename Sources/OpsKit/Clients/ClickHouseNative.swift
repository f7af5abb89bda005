import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where and as whom `clickhouse-client` connects (the native TCP port, 9000 by default).
/// The password is never put on the command line, where every user of the machine can read it
/// in `/proc/<pid>/cmdline` and `ps`: it goes into a private temporary config file instead.
package struct ClickHouseNativeEndpoint: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    package var host: String
    package var port: Int
    package var user: String
    package var password: String?
    /// Where the password came from, for hints; never the password.
    package var passwordSource: String?
    package var database: String?
    /// `clickhouse-client`, or a path to it.
    package var executable: String
    /// Per-query limit unless a query sets its own.
    package var timeout: Double

    package init(
        host: String, port: Int = 9000, user: String = "default", password: String? = nil, passwordSource: String? = nil,
        database: String? = nil, executable: String = "clickhouse-client", timeout: Double = 60
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.passwordSource = passwordSource
        self.database = database
        self.executable = executable
        self.timeout = timeout
    }

    /// `host:port` as `LUMINATECTL_CLICKHOUSE_NATIVE` gives it.
    package static func parseAddress(_ address: String) throws -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (1...65535).contains(port), colon != address.startIndex
        else {
            throw ValidationError("invalid clickhouse native address \(SQL.quoteForMessage(address)): must be host:port",
                                  hint: "check LUMINATECTL_CLICKHOUSE_NATIVE (clickhouse.native in the configuration)")
        }
        return (String(address[..<colon]), port)
    }

    package var address: String { "\(host):\(port)" }

    package var description: String { "\(user)@\(address)" + (database.map { " (database \($0))" } ?? "") }

    package var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "user": user, "password": password == nil ? "(none)" : Redactor.mask,
            "passwordSource": passwordSource as Any, "database": database as Any, "executable": executable,
        ])
    }
}

/// One `clickhouse-client` run as it will be started, for `--dry-run` and tests. The config
/// file argument is a placeholder here: the real file exists only while the query runs.
package struct ClickHouseNativePlan: Sendable, Equatable, CustomStringConvertible {
    package static let configFilePlaceholder = "<private temporary config holding the password>"

    package let queryID: String
    package let sql: String
    package let request: ProcessRequest

    package var description: String { Redactor.redact(request.commandLine) }
}

/// ClickHouse through `clickhouse-client` (the native protocol), through the `ProcessRunning`
/// seam: for the work the HTTP interface does not do as well (long DDL whose progress the
/// client reports, the same path operators use by hand).
///
/// `clickhouse-client` 18.16 reads the password only from `--password` or its config file; it
/// has no `CLICKHOUSE_PASSWORD` variable (checked against the binary: it answers code 194,
/// password required). So each run writes `<config><password>…</password></config>` to a file
/// created with O_EXCL and mode 0600 in a fresh 0700 directory, passes `--config-file`, and
/// removes both afterwards, whether the query succeeded or not. Passing `--config-file` always
/// also keeps an operator's `~/.clickhouse-client/config.xml` from changing what we run.
///
/// Never run `clickhouse-client --help`: on 18.16 it loops forever printing blank lines.
package struct ClickHouseNative: Sendable {
    package let endpoint: ClickHouseNativeEndpoint
    private let processes: any ProcessRunning
    private var interrupt: Interrupt
    /// Where the private config directory is made (`$TMPDIR`, else `/tmp`).
    private let temporaryDirectory: String
    private let newQueryID: @Sendable () -> String
    private var killsAbandonedQueries = true

    package init(
        endpoint: ClickHouseNativeEndpoint, processes: any ProcessRunning, interrupt: Interrupt,
        temporaryDirectory: String = "/tmp", newQueryID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.endpoint = endpoint
        self.processes = processes
        self.interrupt = interrupt
        self.temporaryDirectory = temporaryDirectory
        self.newQueryID = newQueryID
    }

    package init(endpoint: ClickHouseNativeEndpoint, context: Context) {
        self.init(endpoint: endpoint, processes: context.processes, interrupt: context.interrupt,
                  temporaryDirectory: context.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp")
    }

    /// A copy that finishes what it is asked even after Ctrl-C, for statements that must not be
    /// cut in two (a restore's REPLACE PARTITION on every shard); the caller checks the
    /// interrupt between them.
    package func ignoringInterrupt() -> ClickHouseNative {
        var copy = self
        copy.interrupt = Interrupt()
        return copy
    }

    // MARK: - Queries

    /// Runs a `SELECT` with `--format JSON` and decodes its rows.
    package func query<Row: Decodable>(_ sql: String, as type: Row.Type = Row.self, options: ClickHouseQueryOptions = .init()) throws -> [Row] {
        let plan = try self.plan(sql, format: "JSON", options: options)
        let output = try run(plan)
        return try ClickHouseResult<Row>.decode(Data(output.utf8), host: endpoint.address, queryID: plan.queryID).data
    }

    package func query<Row: Decodable>(_ sql: SQLFragment, as type: Row.Type = Row.self, options: ClickHouseQueryOptions = .init()) throws -> [Row] {
        try query(sql.sql, as: type, options: options)
    }

    /// Runs DDL or DML and discards any output.
    package func execute(_ sql: String, options: ClickHouseQueryOptions = .init()) throws {
        _ = try run(plan(sql, format: nil, options: options))
    }

    package func execute(_ sql: SQLFragment, options: ClickHouseQueryOptions = .init()) throws {
        try execute(sql.sql, options: options)
    }

    /// Runs `sql` and returns stdout in `format` (`TabSeparated` by default).
    package func raw(_ sql: String, format: String = "TabSeparated", options: ClickHouseQueryOptions = .init()) throws -> String {
        try run(plan(sql, format: format, options: options))
    }

    /// `KILL QUERY WHERE query_id = '...' SYNC` in a separate client run with its own interrupt.
    @discardableResult
    package func kill(queryID: String, timeout: Double = 10) throws -> [ClickHouseKilledQuery] {
        var killer = self
        killer.interrupt = Interrupt()
        killer.killsAbandonedQueries = false
        let plan = try killer.plan(("KILL QUERY WHERE query_id = \(literal: queryID) SYNC" as SQLFragment).sql, format: "JSON", options: .init(timeout: timeout))
        return try ClickHouseKilledQuery.decode(Data(killer.run(plan).utf8), host: endpoint.address, queryID: plan.queryID)
    }

    // MARK: - Plans

    /// The exact argv, with a placeholder for the config file and no secret anywhere in it.
    package func plan(_ sql: String, format: String?, options: ClickHouseQueryOptions = .init()) throws -> ClickHouseNativePlan {
        try checkPassword()
        let queryID = try ClickHouseHTTP.fullQueryID(options.queryID ?? newQueryID())
        let timeout = options.timeout ?? endpoint.timeout
        var settings = ["max_execution_time": String(Int(max(1, timeout.rounded(.up))))]
        if format == "JSON" { settings["output_format_json_quote_64bit_integers"] = "0" }
        settings.merge(options.settings) { _, caller in caller }

        var arguments = ["--config-file", ClickHouseNativePlan.configFilePlaceholder,
                         "--host", endpoint.host, "--port", String(endpoint.port), "--user", endpoint.user]
        if let database = options.database ?? endpoint.database {
            guard SQL.isValidIdentifier(database) else { throw SQLError.invalidIdentifier(database, rule: SQL.identifierRule) }
            arguments += ["--database", database]
        }
        arguments += ["--query_id", queryID]
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard SQL.isValidIdentifier(name) else { throw SQLError.invalidIdentifier(name, rule: SQL.identifierRule) }
            arguments.append("--\(name)=\(value)")
        }
        var statement = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        while statement.hasSuffix(";") { statement = String(statement.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        arguments += ["--query", statement]
        if let format {
            guard SQL.isValidIdentifier(format) else { throw SQLError.invalidIdentifier(format, rule: SQL.identifierRule) }
            arguments += ["--format", format]
        }
        let request = ProcessRequest(endpoint.executable, arguments, timeout: timeout + ClickHouseHTTP.transportGrace)
        return ClickHouseNativePlan(queryID: queryID, sql: statement, request: request)
    }

    /// Runs a plan: writes the private config, runs the client, removes the config, and turns a
    /// failure into a `ClickHouseError`. Returns stdout.
    package func run(_ plan: ClickHouseNativePlan) throws -> String {
        if interrupt.isSet { throw ClickHouseError.interrupted(host: endpoint.address, queryID: plan.queryID, killed: false) }
        let result: ProcessResult
        do {
            result = try withPrivateConfig(queryID: plan.queryID) { path in
                var request = plan.request
                if let flag = request.arguments.firstIndex(of: "--config-file"), flag + 1 < request.arguments.count {
                    request.arguments[flag + 1] = path
                }
                return try processes.run(request, interrupt: interrupt)
            }
        } catch let error as ProcessError {
            throw translate(error, queryID: plan.queryID)
        }
        guard result.succeeded else {
            throw ClickHouseError.fromClient(
                status: result.status, stderr: result.stderrText, commandLine: plan.request.commandLine,
                host: endpoint.address, queryID: plan.queryID, user: endpoint.user, passwordSource: endpoint.passwordSource)
        }
        return result.stdoutText
    }

    // MARK: - Private config file

    /// The client config as XML. Only the password goes here; the user is on the command line
    /// so the plan shows it.
    package static func configXML(password: String?) -> String {
        guard let password else { return "<config></config>\n" }
        var escaped = ""
        for character in password {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return "<config><password>\(escaped)</password></config>\n"
    }

    /// Where the config for a query lives while it runs.
    package static func configPath(temporaryDirectory: String, queryID: String) -> String {
        "\(temporaryDirectory)/luminatectl-clickhouse-\(queryID)/client.xml"
    }

    /// Runs `body` with the path of a fresh config file: `client.xml`, created with
    /// O_EXCL|O_NOFOLLOW and mode 0600, in a new 0700 directory named after the query id, both
    /// removed on every exit path. `mkdir` fails on an existing name, so a directory planted in
    /// advance is never used; the name is predictable only to whoever chose the query id, which
    /// keeps plans and tests deterministic.
    private func withPrivateConfig<T>(queryID: String, _ body: (String) throws -> T) throws -> T {
        let path = Self.configPath(temporaryDirectory: temporaryDirectory, queryID: queryID)
        let directory = String(path.dropLast("/client.xml".count))
        guard mkdir(directory, 0o700) == 0 else {
            throw ClickHouseError.localFile(path: directory, reason: String(cString: strerror(errno)))
        }
        defer {
            unlink(path)
            rmdir(directory)
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ClickHouseError.localFile(path: path, reason: String(cString: strerror(errno))) }
        // The umask can only remove bits from 0600; fchmod makes the mode exact regardless.
        fchmod(descriptor, 0o600)
        let bytes = Array(Self.configXML(password: endpoint.password).utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw ClickHouseError.localFile(path: path, reason: reason)
            }
            written += count
        }
        close(descriptor)
        return try body(path)
    }

    /// XML 1.0 cannot carry most control characters, and a carriage return would be read back as
    /// a newline: refuse such a password instead of sending a different one.
    private func checkPassword() throws {
        guard let password = endpoint.password else { return }
        if password.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t" && $0 != "\n") || $0.value == 0x7F || $0 == "\r" }) {
            throw ValidationError("the clickhouse password for \(endpoint.user) contains control characters, which clickhouse-client's config file cannot carry",
                                  hint: endpoint.passwordSource.map { "check \($0)" })
        }
    }

    /// Maps runner failures. On a timeout or Ctrl-C the query is killed by id from a second
    /// client: the runner stops our client, but the server may keep going until it notices.
    private func translate(_ error: ProcessError, queryID: String) -> ClickHouseError {
        switch error {
        case .notFound(let program, _):
            return .clientMissing(program: program)
        case .launchFailed(let program, let code):
            return .clientFailed(host: endpoint.address, commandLine: program, status: "could not start",
                                 stderr: String(cString: strerror(code)))
        case .timedOut(_, let seconds, _):
            return .timedOut(host: endpoint.address, queryID: queryID, seconds: seconds, killed: stop(queryID))
        case .interrupted:
            return .interrupted(host: endpoint.address, queryID: queryID, killed: stop(queryID))
        case .outputLimitExceeded(_, let limit):
            _ = stop(queryID)
            return .responseTooLarge(host: endpoint.address, queryID: queryID, limit: limit)
        }
    }

    private func stop(_ queryID: String) -> Bool {
        guard killsAbandonedQueries else { return false }
        return (try? kill(queryID: queryID)) != nil
    }
}

import Foundation

/// `luminatectl config ...`: what luminatectl will use, and where each value came from.
enum ConfigCommands {
    static let group = Command(
        "config",
        abstract: "Show luminatectl's effective configuration.",
        subcommands: [view, ConfigCheck.command]
    )

    static let view = Command(
        "view",
        abstract: "Show the effective configuration and the source of each value.",
        discussion: """
            Values come from flags, then LUMINATECTL_* environment variables, then the
            configuration file's environment, then the operations guide's defaults. Secrets are
            never shown: only where they are read from.
            """,
        examples: ["luminatectl config view --env staging", "luminatectl config view -o json"],
        action: { invocation, context in
            let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
            let rows = ConfigView.rows(configuration, environment: context.environment)
            if invocation.json {
                context.console.line(ConfigView.json(configuration, rows: rows).rendered(pretty: true))
            } else {
                context.console.write(ConfigView.text(configuration, rows: rows))
            }
            return .success
        }
    )
}

/// The rows `config view` prints.
enum ConfigView {
    struct Row {
        var key: String
        var value: JSONValue
        var source: String
    }

    static func rows(_ c: Configuration, environment: [String: String]) -> [Row] {
        func row(_ key: String, _ value: Sourced<String>?) -> Row {
            Row(key: key, value: value.map { .string($0.value) } ?? .null, source: value?.source.description ?? "not set")
        }
        func policy(_ key: String, _ value: JSONValue) -> Row {
            let source = c.policySources.first { key.hasSuffix($0.key) || key == "policy.\($0.key)" || key.hasPrefix("policy.\($0.key)") }
            return Row(key: key, value: value, source: source.map { "file \($0.value)" } ?? "default")
        }
        let password = c.clickhousePassword.map { secret("clickhouse.password", $0, environment: environment) }
            ?? Row(key: "clickhouse.password", value: .null, source: "not set")
        let p = c.policy
        var rows = [
            row("environment", c.environmentName),
            row("kubernetes.context", c.kubeContext),
            row("kubernetes.namespace", c.namespace),
            row("kubernetes.kubeconfig", c.kubeconfig),
            row("clickhouse.url", c.clickhouseURL.map { Sourced(Redactor.redactURL($0.value), $0.source) }),
            row("clickhouse.native", c.clickhouseNative),
            row("clickhouse.user", c.clickhouseUser),
            password,
            Row(key: "clickhouse.cluster", value: .string(c.clickhouseCluster.value ?? "(none: single server)"),
                source: c.clickhouseCluster.source.description),
            row("clickhouse.database", c.clickhouseDatabase),
            row("prometheus.url", c.prometheusURL.map { Sourced(Redactor.redactURL($0.value), $0.source) }),
            row("pushgateway.url", c.pushgatewayURL.map { Sourced(Redactor.redactURL($0.value), $0.source) }),
        ]
        rows += backupRows(c.backup, environment: environment)
        rows += [
            row("tls.caFile", c.caFile),
            Row(key: "tls.verify", value: .bool(!c.insecureSkipTLSVerify),
                source: c.insecureSkipTLSVerify ? "flag --insecure-skip-tls-verify" : "default"),
            row("journal.path", c.journalPath),
            Row(key: "journal.mirror", value: .string(c.journalMirror.map { "\($0.value)" } ?? "off"),
                source: c.journalMirror?.source.description ?? "default"),
        ]
        for (index, window) in p.maintenanceWindows.enumerated() {
            rows.append(policy("policy.maintenanceWindows[\(index)]", .string("\(window.name): \(window.summary), admits \(window.admits.rawValue)")))
        }
        rows += [
            policy("policy.rollback.errorRate.above", .number(p.rollback.errorRateAbove)),
            policy("policy.rollback.errorRate.for", .string(DurationParser.format(p.rollback.errorRateFor))),
            policy("policy.rollback.p95Latency.above", .string(DurationParser.format(p.rollback.p95LatencyAbove))),
            policy("policy.rollback.p95Latency.for", .string(DurationParser.format(p.rollback.p95LatencyFor))),
            policy("policy.rollback.maxInconclusive", .number(Double(p.rollback.maxInconclusive))),
            policy("policy.rollback.corruption", .string(corruptionSummary(p.rollback.corruption))),
            policy("policy.rollback.security.command", .string(p.rollback.securityCommand.map(commandLine) ?? "not configured")),
            policy("policy.scaling.storage", .number(p.scaling.storageAbove)),
            policy("policy.scaling.cpu", .number(p.scaling.cpuAbove)),
            policy("policy.scaling.memory", .number(p.scaling.memoryAbove)),
            policy("policy.recovery.rpo", .string(DurationParser.format(p.recovery.rpo))),
            policy("policy.recovery.rto", .string(DurationParser.format(p.recovery.rto))),
            policy("policy.retention.metrics", p.retention.metrics.map { .string(DurationParser.format($0)) } ?? "forever"),
        ]
        rows += tableRetentionRows(p.retention, sources: c.policySources)
        rows += [
            policy("policy.retention.backups", .string(
                "hourly \(p.retention.hourlyBackups), daily \(p.retention.dailyBackups), weekly \(p.retention.weeklyBackups), monthly \(p.retention.monthlyBackups)")),
            Row(key: "policy.retention.backups.incompleteAfter", value: .string(DurationParser.format(p.retention.incompleteBackupsAfter)),
                source: c.policySources["retention.backups.incompleteAfter"].map { "file \($0)" } ?? "default"),
            policy("policy.deploy.bake", .string(bakeSummary(p.deploy, p.rollback))),
            policy("policy.deploy.interval", .string(DurationParser.format(p.deploy.interval))),
            policy("policy.deploy.statefulSetTimeout", .string(DurationParser.format(p.deploy.statefulSetTimeout))),
            policy("policy.deploy.nonSemverTags", .string(p.deploy.nonSemverTagsAreMajor ? "major" : "minor")),
            policy("policy.changeRequestRequired", .bool(p.changeRequestRequired)),
        ]
        return rows
    }

    /// One row per `policy.retention.tables` pattern as written, or one saying every table keeps
    /// `policy.retention.metrics`. Sources are looked up exactly: a pattern may end like another key.
    static func tableRetentionRows(_ retention: RetentionPolicy, sources: [String: SourceMark]) -> [Row] {
        guard !retention.tables.isEmpty else {
            return [Row(key: "policy.retention.tables", value: .string("none: every table keeps policy.retention.metrics"), source: "default")]
        }
        return retention.tables.map { rule in
            Row(key: "policy.retention.tables[\(rule.pattern)]",
                value: .string(rule.keep.map(DurationParser.format) ?? "forever"),
                source: sources["retention.tables.\(rule.pattern)"].map { "file \($0)" } ?? "default")
        }
    }

    /// The rows whose numbers are ratios, shown as percentages (`maxInconclusive: 1` is a count).
    static let ratioKeys: Set = [
        "policy.rollback.errorRate.above", "policy.scaling.storage", "policy.scaling.cpu", "policy.scaling.memory",
    ]

    /// `built-in probes`, `built-in probes and orphan-rows`, `orphan-rows (built-in probes off)`.
    static func corruptionSummary(_ corruption: CorruptionProbes) -> String {
        let names = corruption.probes.map(\.name).joined(separator: ", ")
        switch (corruption.defaults, corruption.probes.isEmpty) {
        case (true, true): return "built-in probes"
        case (true, false): return "built-in probes and \(names)"
        case (false, false): return "\(names) (built-in probes off)"
        case (false, true): return "off: no corruption probes"
        }
    }

    /// The bake in effect, and the configured one when the longest criterion window raised it.
    static func bakeSummary(_ deploy: DeployPolicy, _ rollback: RollbackCriteria) -> String {
        let effective = DurationParser.format(deploy.effectiveBake(rollback))
        guard let bake = deploy.bake, bake < deploy.effectiveBake(rollback) else { return effective }
        return "\(effective) (\(DurationParser.format(bake)) raised to the longest criterion window)"
    }

    /// An argv as a shell would read it back: arguments with spaces single-quoted.
    static func commandLine(_ argv: [String]) -> String {
        argv.map { $0.contains(where: \.isWhitespace) || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    /// `backup.store.*`, `backup.disk`, `backup.engine`, `backup.tables`. The secret access key
    /// shows only its source and whether it is there; the access key id, which is not secret, is
    /// shown when it can be read.
    static func backupRows(_ backup: BackupSettings, environment: [String: String]) -> [Row] {
        func row(_ key: String, _ value: Sourced<String>) -> Row {
            Row(key: key, value: .string(value.value), source: value.source.description)
        }
        var rows: [Row]
        switch backup.store {
        case nil:
            rows = [Row(key: "backup.store", value: .null, source: "not set")]
        case .path(let directory):
            rows = [row("backup.store.path", directory)]
        case .s3(let s3):
            let keyID: Row
            if case .literal(let id) = s3.accessKeyID.value {
                keyID = Row(key: "backup.store.s3.accessKeyId", value: .string(id), source: s3.accessKeyID.source.description)
            } else if let id = try? s3.accessKeyID.value.read(environment: environment, what: "", key: "", configurationFile: nil, register: false) {
                keyID = Row(key: "backup.store.s3.accessKeyId", value: .string("\(id) (\(s3.accessKeyID.value))"),
                            source: s3.accessKeyID.source.description)
            } else {
                keyID = secret("backup.store.s3.accessKeyId", s3.accessKeyID, environment: environment)
            }
            rows = [
                row("backup.store.s3.endpoint", Sourced(Redactor.redactURL(s3.endpoint.value), s3.endpoint.source)),
                row("backup.store.s3.region", s3.region),
                row("backup.store.s3.bucket", s3.bucket),
                row("backup.store.s3.prefix", s3.prefix),
                keyID,
                secret("backup.store.s3.secretAccessKey", s3.secretAccessKey, environment: environment),
            ]
        }
        rows += [
            row("backup.disk", backup.disk),
            row("backup.diskPath", backup.diskPath),
            Row(key: "backup.engine", value: .string(backup.engine.value.rawValue), source: backup.engine.source.description),
            Row(key: "backup.tables", value: .string(backup.tables.map { $0.value.joined(separator: ", ") } ?? "every table of the database"),
                source: backup.tables?.source.description ?? "default"),
        ]
        return rows
    }

    /// A secret's row: where it is read from and whether it is there, never its value.
    static func secret(_ key: String, _ source: Sourced<SecretSource>, environment: [String: String]) -> Row {
        var state = source.value.description
        if case .environment(let name) = source.value {
            state += environment[name].map { $0.isEmpty ? " (empty)" : " (set)" } ?? " (not set)"
        } else if case .file(let path) = source.value {
            state += FileManager.default.isReadableFile(atPath: path) ? " (readable)" : " (missing)"
        }
        return Row(key: key, value: .string(state), source: source.source.description)
    }

    static func text(_ c: Configuration, rows: [Row]) -> String {
        var out = "Configuration file: \(c.file ?? "none (flags, environment and defaults only)")\n\n"
        let keyWidth = rows.map(\.key.count).max() ?? 0
        let shown = rows.map { row -> (String, String, String) in
            let value: String = switch row.value {
            case .null: "-"
            case .string(let s): s
            case .number(let n) where ratioKeys.contains(row.key): "\(formatPercent(n))"
            default: row.value.rendered()
            }
            return (row.key, value, row.source)
        }
        let valueWidth = min(shown.map(\.1.count).max() ?? 0, 56)
        out += "KEY".padding(toLength: keyWidth + 2, withPad: " ", startingAt: 0)
            + "VALUE".padding(toLength: valueWidth + 2, withPad: " ", startingAt: 0) + "SOURCE\n"
        for (key, value, source) in shown {
            let paddedValue = value.count >= valueWidth ? value + "  " : value.padding(toLength: valueWidth + 2, withPad: " ", startingAt: 0)
            out += key.padding(toLength: keyWidth + 2, withPad: " ", startingAt: 0) + paddedValue + source + "\n"
        }
        return out
    }

    static func json(_ c: Configuration, rows: [Row]) -> JSONValue {
        .object([
            ("file", c.file.map { .string($0) } ?? .null),
            ("environment", .string(c.environmentName.value)),
            ("settings", .object(rows.map { ($0.key, .object([("value", $0.value), ("source", .string($0.source))])) })),
        ])
    }

    /// 0.05 → `5%`, 0.725 → `72.5%`.
    static func formatPercent(_ ratio: Double) -> String {
        let percent = (ratio * 1000).rounded() / 10
        return percent == percent.rounded() ? "\(Int(percent))%" : "\(percent)%"
    }
}

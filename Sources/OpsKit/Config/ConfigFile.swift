import Foundation

/// One named environment as written in a configuration file; every field optional, each with
/// the place it was written.
package struct EnvironmentSettings: Sendable, Equatable {
    package var name: String
    package var kubeContext: Sourced<String>?
    package var namespace: Sourced<String>?
    package var kubeconfig: Sourced<String>?
    package var clickhouseURL: Sourced<String>?
    package var clickhouseNative: Sourced<String>?
    package var clickhouseUser: Sourced<String>?
    /// As written: an empty string is kept, and means a single server without `ON CLUSTER`.
    package var clickhouseCluster: Sourced<String>?
    package var clickhouseDatabase: Sourced<String>?
    package var clickhousePassword: Sourced<SecretSource>?
    package var prometheusURL: Sourced<String>?
    /// `pushgateway.url`: where the backup job reports its status metric.
    package var pushgatewayURL: Sourced<String>?
    /// `backup:` as written (store, disk, engine, tables).
    package var backup = BackupSection()
    package var caFile: Sourced<String>?
    package var policy = Policy()
    /// Which policy fields the file set, for `config view` sources.
    package var policySources: [String: SourceMark] = [:]
    /// `checklist:` (attestations, waivers, manifests, runbooks, thresholds).
    package var checklist = ChecklistConfig()
    /// `journal.path` and `journal.mirror` (off unless given).
    package var journalPath: Sourced<String>?
    package var journalMirror: Sourced<JournalMirrorSettings>?

    package init(name: String) { self.name = name }

    /// An environment named production with nothing configured: the guide's defaults, and deploys
    /// require a change request.
    package static var productionDefault: EnvironmentSettings {
        var settings = EnvironmentSettings(name: "production")
        settings.policy.changeRequestRequired = true
        return settings
    }
}

/// A parsed configuration file.
package struct ConfigFile: Sendable, Equatable {
    package var path: String
    package var defaultEnvironment: Sourced<String>?
    package var environments: [EnvironmentSettings]

    /// Parses `data` read from `path`. `isPrivate` says whether the file is readable by its owner
    /// only, which a literal password requires.
    package static func parse(_ data: Data, path: String, isPrivate: Bool) throws -> ConfigFile {
        let reader = ConfigReader()
        var file = ConfigFile(path: path, defaultEnvironment: nil, environments: [])
        guard let root = try reader.document(data, path: path) else { return file }
        let top = try reader.mapping(root, "", keys: ["defaultEnvironment", "environments"])
        if let node = top["defaultEnvironment"] {
            file.defaultEnvironment = try reader.string(node, "defaultEnvironment")
        }
        if let node = top["environments"] {
            for (key, value) in try orderedMapping(node, "environments", reader) {
                file.environments.append(try parseEnvironment(name: key, value, reader, isPrivate: isPrivate))
            }
        }
        if let wanted = file.defaultEnvironment, !file.environments.contains(where: { $0.name == wanted.value }) {
            let mark: SourceMark? = if case .file(let m) = wanted.source { m } else { nil }
            throw ConfigError(
                mark: mark, keyPath: "defaultEnvironment",
                message: "names environment '\(wanted.value)', which is not under environments")
        }
        return file
    }

    package func environment(named name: String) -> EnvironmentSettings? {
        environments.first { $0.name == name }
    }

    private static func orderedMapping(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> [(String, YAMLNode)] {
        _ = try reader.mapping(node, path, keys: [])
        return node.mappingEntries!.map { ($0.key.scalar ?? "", $0.value) }
    }

    private static func parseEnvironment(name: String, _ node: YAMLNode, _ reader: ConfigReader, isPrivate: Bool) throws -> EnvironmentSettings {
        let path = "environments.\(name)"
        guard name.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options: .regularExpression) != nil else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "environment names are lowercase letters, digits and '-'")
        }
        var env = EnvironmentSettings(name: name)
        let fields = try reader.mapping(node, path, keys: [
            "kubernetes", "clickhouse", "prometheus", "pushgateway", "backup", "tls", "policy", "checklist", "journal",
        ])

        if let node = fields["kubernetes"] {
            let p = "\(path).kubernetes"
            let k = try reader.mapping(node, p, keys: ["context", "namespace", "kubeconfig"])
            env.kubeContext = try k["context"].map { try reader.string($0, "\(p).context") }
            env.namespace = try k["namespace"].map { try reader.string($0, "\(p).namespace") }
            env.kubeconfig = try k["kubeconfig"].map { try reader.string($0, "\(p).kubeconfig") }
            if let namespace = env.namespace, !KubernetesName.isValid(namespace.value) {
                throw ConfigError(mark: k["namespace"]!.mark, keyPath: "\(p).namespace", message: KubernetesName.rule)
            }
        }
        if let node = fields["clickhouse"] {
            let p = "\(path).clickhouse"
            let c = try reader.mapping(node, p, keys: ["url", "native", "user", "cluster", "database", "password"])
            env.clickhouseURL = try c["url"].map { try reader.string($0, "\(p).url") }
            env.clickhouseNative = try c["native"].map { try reader.string($0, "\(p).native") }
            env.clickhouseUser = try c["user"].map { try reader.string($0, "\(p).user") }
            if let cluster = c["cluster"], cluster.isNull {
                throw ConfigError(mark: cluster.mark, keyPath: "\(p).cluster", message: "expected a string, found null",
                                  hint: "write cluster: \"\" for a single server (no ON CLUSTER)")
            }
            env.clickhouseCluster = try c["cluster"].map { try reader.string($0, "\(p).cluster") }
            env.clickhouseDatabase = try c["database"].map { try reader.string($0, "\(p).database") }
            if let url = c["url"] { try checkURL(url, "\(p).url") }
            if let password = c["password"] {
                env.clickhousePassword = try parseSecret(password, "\(p).password", reader, isPrivate: isPrivate)
            }
        }
        if let node = fields["prometheus"] {
            let p = "\(path).prometheus"
            let m = try reader.mapping(node, p, keys: ["url"])
            env.prometheusURL = try m["url"].map { try reader.string($0, "\(p).url") }
            if let url = m["url"] { try checkURL(url, "\(p).url") }
        }
        if let node = fields["pushgateway"] {
            let p = "\(path).pushgateway"
            let g = try reader.mapping(node, p, keys: ["url"])
            env.pushgatewayURL = try g["url"].map { try reader.string($0, "\(p).url") }
            if let url = g["url"] { try checkURL(url, "\(p).url") }
        }
        if let node = fields["backup"] {
            env.backup = try BackupSection.parse(node, "\(path).backup", reader, isPrivate: isPrivate)
        }
        if let node = fields["tls"] {
            let t = try reader.mapping(node, "\(path).tls", keys: ["caFile"])
            env.caFile = try t["caFile"].map { try reader.string($0, "\(path).tls.caFile") }
        }
        if name == "production" { env.policy.changeRequestRequired = true }
        if let node = fields["policy"] {
            try parsePolicy(node, "\(path).policy", reader, into: &env)
        }
        if let node = fields["checklist"] {
            env.checklist = try ChecklistConfig.parse(node, "\(path).checklist", reader)
        }
        if let node = fields["journal"] {
            try parseJournal(node, "\(path).journal", reader, into: &env)
        }
        return env
    }

    private static func checkURL(_ node: YAMLNode, _ path: String) throws {
        guard let text = node.scalar, let url = URLComponents(string: text),
              url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected an http:// or https:// URL")
        }
        if url.password != nil || url.user != nil {
            throw ConfigError(
                mark: node.mark, keyPath: path, message: "credentials in a URL are refused",
                hint: "give the user as clickhouse.user and the password through password: {env: VAR} or {file: PATH}")
        }
    }

    /// A secret as `{env: VAR}`, `{file: PATH}` or a literal string, which only a private file
    /// may hold (`literalNeedsPrivateFile: false` for values that are not secret, such as an S3
    /// access key id). `noun` words the refusal: "a literal password in a file that others can read".
    static func parseSecret(
        _ node: YAMLNode, _ path: String, _ reader: ConfigReader, isPrivate: Bool,
        noun: String = "password", literalNeedsPrivateFile: Bool = true
    ) throws -> Sourced<SecretSource> {
        let key = path.split(separator: ".").last.map(String.init) ?? path
        if node.scalar != nil, !node.isNull {
            // A bare string is a literal secret.
            guard isPrivate || !literalNeedsPrivateFile else {
                throw ConfigError(
                    mark: node.mark, keyPath: path,
                    message: "a literal \(noun) in a file that others can read is refused",
                    hint: "chmod 600 the configuration file, or use \(key): {env: VAR} or \(key): {file: PATH}")
            }
            return Sourced(.literal(node.scalar!), .file(node.mark))
        }
        let fields = try reader.mapping(node, path, keys: ["env", "file"])
        if fields.count != 1 {
            throw ConfigError(mark: node.mark, keyPath: path, message: "give exactly one of env or file")
        }
        if let env = fields["env"] {
            return Sourced(.environment(try reader.string(env, "\(path).env").value), .file(env.mark))
        }
        let file = fields["file"]!
        return Sourced(.file(try reader.string(file, "\(path).file").value), .file(file.mark))
    }

    private static func parsePolicy(_ node: YAMLNode, _ path: String, _ reader: ConfigReader, into env: inout EnvironmentSettings) throws {
        let p = try reader.mapping(node, path, keys: [
            "maintenanceWindows", "rollback", "scaling", "recovery", "retention", "deploy", "changeRequestRequired",
        ])
        func note(_ key: String, _ node: YAMLNode) { env.policySources[key] = node.mark }

        if let node = p["maintenanceWindows"] {
            env.policy.maintenanceWindows = try reader.sequence(node, "\(path).maintenanceWindows").enumerated().map { index, item in
                try parseWindow(item, "\(path).maintenanceWindows[\(index)]", reader)
            }
            note("maintenanceWindows", node)
        }
        if let node = p["rollback"] {
            let q = "\(path).rollback"
            let r = try reader.mapping(node, q, keys: ["errorRate", "p95Latency", "maxInconclusive", "corruption", "security"])
            if let e = r["errorRate"] {
                let f = try reader.mapping(e, "\(q).errorRate", keys: ["above", "for"])
                if let v = f["above"] { env.policy.rollback.errorRateAbove = try reader.ratio(v, "\(q).errorRate.above"); note("rollback.errorRate.above", v) }
                if let v = f["for"] { env.policy.rollback.errorRateFor = try reader.duration(v, "\(q).errorRate.for"); note("rollback.errorRate.for", v) }
            }
            if let l = r["p95Latency"] {
                let f = try reader.mapping(l, "\(q).p95Latency", keys: ["above", "for"])
                if let v = f["above"] { env.policy.rollback.p95LatencyAbove = try reader.latency(v, "\(q).p95Latency.above"); note("rollback.p95Latency.above", v) }
                if let v = f["for"] { env.policy.rollback.p95LatencyFor = try reader.duration(v, "\(q).p95Latency.for"); note("rollback.p95Latency.for", v) }
            }
            if let v = r["maxInconclusive"] {
                env.policy.rollback.maxInconclusive = try reader.integer(v, "\(q).maxInconclusive", atLeast: 1)
                note("rollback.maxInconclusive", v)
            }
            if let v = r["corruption"] {
                env.policy.rollback.corruption = try parseCorruption(v, "\(q).corruption", reader)
                note("rollback.corruption", v)
            }
            if let v = r["security"] {
                let security = try parseSecurity(v, "\(q).security", reader)
                env.policy.rollback.securityCommand = security.command
                env.policySources["rollback.security.command"] = security.mark
            }
        }
        if let node = p["scaling"] {
            let q = "\(path).scaling"
            let s = try reader.mapping(node, q, keys: ["storage", "cpu", "memory"])
            if let v = s["storage"] { env.policy.scaling.storageAbove = try reader.ratio(v, "\(q).storage"); note("scaling.storage", v) }
            if let v = s["cpu"] { env.policy.scaling.cpuAbove = try reader.ratio(v, "\(q).cpu"); note("scaling.cpu", v) }
            if let v = s["memory"] { env.policy.scaling.memoryAbove = try reader.ratio(v, "\(q).memory"); note("scaling.memory", v) }
        }
        if let node = p["recovery"] {
            let q = "\(path).recovery"
            let r = try reader.mapping(node, q, keys: ["rpo", "rto"])
            if let v = r["rpo"] { env.policy.recovery.rpo = try reader.duration(v, "\(q).rpo"); note("recovery.rpo", v) }
            if let v = r["rto"] { env.policy.recovery.rto = try reader.duration(v, "\(q).rto"); note("recovery.rto", v) }
        }
        if let node = p["retention"] {
            try parseRetention(node, "\(path).retention", reader, into: &env)
        }
        if let node = p["deploy"] {
            try parseDeploy(node, "\(path).deploy", reader, into: &env)
        }
        if let node = p["changeRequestRequired"] {
            env.policy.changeRequestRequired = try reader.bool(node, "\(path).changeRequestRequired")
            note("changeRequestRequired", node)
        }
    }

    /// `{name: weekly, every: saturday, start: "02:00", duration: 2h, admits: minor}`;
    /// `every: first-sunday` for a monthly window. `admits` (minor or major: the largest change the
    /// window takes) defaults as the guide's windows do: `major` for a first-<weekday> window,
    /// `minor` for a weekly one.
    private static func parseWindow(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> MaintenanceWindow {
        let f = try reader.mapping(node, path, keys: ["name", "every", "start", "duration", "admits"])
        for key in ["name", "every", "start", "duration"] where f[key] == nil {
            throw ConfigError(mark: node.mark, keyPath: path, message: "missing key '\(key)'")
        }
        let name = try reader.string(f["name"]!, "\(path).name").value
        let every = try reader.string(f["every"]!, "\(path).every").value.lowercased()
        let recurrence: MaintenanceWindow.Recurrence
        if let day = MaintenanceWindow.weekdays.firstIndex(of: every) {
            recurrence = .weekly(weekday: day + 1)
        } else if every.hasPrefix("first-"), let day = MaintenanceWindow.weekdays.firstIndex(of: String(every.dropFirst(6))) {
            recurrence = .monthlyFirst(weekday: day + 1)
        } else {
            throw ConfigError(mark: f["every"]!.mark, keyPath: "\(path).every",
                              message: "expected a weekday (saturday) or first-<weekday> (first-sunday), found '\(every)'")
        }
        let start = try reader.string(f["start"]!, "\(path).start").value
        let parts = start.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, (0..<24).contains(parts[0]), (0..<60).contains(parts[1]) else {
            throw ConfigError(mark: f["start"]!.mark, keyPath: "\(path).start", message: "expected a UTC time HH:MM, found '\(start)'")
        }
        let duration = try reader.duration(f["duration"]!, "\(path).duration")
        guard duration <= 24 * 3600 else {
            throw ConfigError(mark: f["duration"]!.mark, keyPath: "\(path).duration", message: "a window lasts at most 24h")
        }
        let admits: ChangeSize
        if let node = f["admits"] {
            admits = try parseChangeSize(node, "\(path).admits", reader)
        } else if case .monthlyFirst = recurrence {
            admits = .major
        } else {
            admits = .minor
        }
        return MaintenanceWindow(
            name: name, recurrence: recurrence, startMinute: parts[0] * 60 + parts[1], durationSeconds: duration, admits: admits)
    }
}

/// Kubernetes object and namespace names (RFC 1123 labels).
package enum KubernetesName {
    package static let rule = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"

    package static func isValid(_ name: String) -> Bool {
        name.count <= 63 && name.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options: .regularExpression) != nil
    }
}

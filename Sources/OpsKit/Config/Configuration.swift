import Foundation

/// The effective configuration of one run: for each setting the value in force and where it came
/// from. Precedence: flags > environment variables > configuration file > built-in defaults.
package struct Configuration: Sendable, Equatable {
    package var file: String?
    package var environmentName: Sourced<String>
    package var kubeContext: Sourced<String>?
    package var namespace: Sourced<String>
    package var kubeconfig: Sourced<String>?
    package var clickhouseURL: Sourced<String>?
    package var clickhouseNative: Sourced<String>?
    package var clickhouseUser: Sourced<String>
    /// The cluster `ON CLUSTER` DDL and backups address; nil means a single server (an explicit
    /// empty `clickhouse.cluster` or `LUMINATECTL_CLICKHOUSE_CLUSTER`), default `luminate`.
    package var clickhouseCluster: Sourced<String?>
    package var clickhouseDatabase: Sourced<String>
    package var clickhousePassword: Sourced<SecretSource>?
    package var prometheusURL: Sourced<String>?
    /// Where the backup job pushes its status metric (`pushgateway.url`, `LUMINATECTL_PUSHGATEWAY_URL`).
    package var pushgatewayURL: Sourced<String>? = nil
    package var caFile: Sourced<String>?
    package var insecureSkipTLSVerify: Bool
    package var policy: Policy
    package var policySources: [String: SourceMark]
    /// `checklist:` of the selected environment.
    package var checklist = ChecklistConfig()
    /// The journal file (nil when neither XDG_STATE_HOME nor HOME says where) and its mirror.
    package var journalPath: Sourced<String>? = nil
    package var journalMirror: Sourced<JournalMirrorSettings>? = nil
    /// The backup store, disk, engine and tables.
    package var backup = BackupSettings()

    /// Reads the password from its source. Registered with the `Redactor` so it can never be
    /// printed afterwards, wherever it would appear.
    package func clickhousePasswordValue(environment: [String: String]) throws -> String? {
        guard let source = clickhousePassword else { return nil }
        return try source.value.read(
            environment: environment, what: "the ClickHouse password", key: "clickhouse.password", configurationFile: file)
    }
}

/// Builds the effective `Configuration` from flags, environment, file and defaults.
package struct ConfigurationLoader {
    package let context: Context

    package init(context: Context) { self.context = context }

    /// Finds the configuration file: `--config`, `$LUMINATECTL_CONFIG` (both must exist),
    /// `./luminatectl.yaml`, `$XDG_CONFIG_HOME/luminatectl/config.yaml` (or ~/.config/...).
    package func locateFile(_ globals: GlobalOptions) throws -> String? {
        if let explicit = globals.configFile {
            let path = context.resolve(path: explicit)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("--config names \(path), which does not exist")
            }
            return path
        }
        if let fromEnv = context.environment["LUMINATECTL_CONFIG"], !fromEnv.isEmpty {
            let path = context.resolve(path: fromEnv)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("LUMINATECTL_CONFIG names \(path), which does not exist")
            }
            return path
        }
        let local = context.resolve(path: "luminatectl.yaml")
        if FileManager.default.fileExists(atPath: local) { return local }
        let xdg = context.environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? context.environment["HOME"].map { "\($0)/.config" }
        if let xdg {
            let path = "\(xdg)/luminatectl/config.yaml"
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    package func readFile(at path: String) throws -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the configuration file \(path)", hint: "check its permissions")
        }
        let mode = (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o644
        return try ConfigFile.parse(data, path: path, isPrivate: mode & 0o077 == 0)
    }

    package func load(_ globals: GlobalOptions) throws -> Configuration {
        let path = try locateFile(globals)
        let file = try path.map(readFile(at:))
        let env = context.environment

        func pick(_ flag: String?, _ flagName: String, _ envName: String, _ fromFile: Sourced<String>?) -> Sourced<String>? {
            if let flag { return Sourced(flag, .flag(flagName)) }
            if let value = env[envName], !value.isEmpty { return Sourced(value, .environment(envName)) }
            return fromFile
        }

        // Which environment: --env, LUMINATECTL_ENV, the file's defaultEnvironment, its only one.
        let name: Sourced<String>
        if let chosen = pick(globals.environment, "env", "LUMINATECTL_ENV", nil) {
            name = chosen
            if let file, !file.environments.isEmpty, file.environment(named: chosen.value) == nil {
                throw ValidationError(
                    "\(chosen.source) names environment '\(chosen.value)', which \(file.path) does not define",
                    hint: "configured environments: \(file.environments.map(\.name).joined(separator: ", "))")
            }
        } else if let fallback = file?.defaultEnvironment {
            name = fallback
        } else if let file, file.environments.count == 1 {
            name = Sourced(file.environments[0].name, .file(SourceMark(file: file.path, line: 1, column: 1)))
        } else if let file, file.environments.count > 1 {
            throw ValidationError(
                "\(file.path) defines several environments and none is chosen",
                hint: "pass --env (one of \(file.environments.map(\.name).joined(separator: ", "))), set LUMINATECTL_ENV, or set defaultEnvironment")
        } else {
            name = Sourced("default", .builtIn)
        }

        let settings = file?.environment(named: name.value) ?? {
            var blank = EnvironmentSettings(name: name.value)
            if name.value == "production" { blank.policy.changeRequestRequired = true }
            return blank
        }()

        var password = settings.clickhousePassword
        if env["LUMINATECTL_CLICKHOUSE_PASSWORD"].map({ !$0.isEmpty }) == true {
            password = Sourced(.environment("LUMINATECTL_CLICKHOUSE_PASSWORD"), .environment("LUMINATECTL_CLICKHOUSE_PASSWORD"))
        } else if let passwordFile = env["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"], !passwordFile.isEmpty {
            password = Sourced(.file(context.resolve(path: passwordFile)), .environment("LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"))
        }

        let kubeconfig = pick(globals.kubeconfig, "kubeconfig", "KUBECONFIG", settings.kubeconfig)
        let configuration = Configuration(
            file: path,
            environmentName: name,
            kubeContext: pick(globals.context, "context", "LUMINATECTL_CONTEXT", settings.kubeContext),
            namespace: pick(globals.namespace, "namespace", "LUMINATECTL_NAMESPACE", settings.namespace)
                ?? Sourced("luminate", .builtIn),
            kubeconfig: kubeconfig,
            clickhouseURL: pick(globals.clickhouseURL, "clickhouse-url", "LUMINATECTL_CLICKHOUSE_URL", settings.clickhouseURL),
            clickhouseNative: pick(nil, "", "LUMINATECTL_CLICKHOUSE_NATIVE", settings.clickhouseNative),
            clickhouseUser: pick(globals.clickhouseUser, "clickhouse-user", "LUMINATECTL_CLICKHOUSE_USER", settings.clickhouseUser)
                ?? Sourced("default", .builtIn),
            clickhouseCluster: clickhouseCluster(settings.clickhouseCluster),
            clickhouseDatabase: pick(nil, "", "LUMINATECTL_CLICKHOUSE_DATABASE", settings.clickhouseDatabase)
                ?? Sourced("luminate", .builtIn),
            clickhousePassword: password,
            prometheusURL: pick(globals.prometheusURL, "prometheus-url", "LUMINATECTL_PROMETHEUS_URL", settings.prometheusURL),
            pushgatewayURL: pick(nil, "", "LUMINATECTL_PUSHGATEWAY_URL", settings.pushgatewayURL),
            caFile: pick(globals.caFile, "ca-file", "LUMINATECTL_CA_FILE", settings.caFile),
            insecureSkipTLSVerify: globals.insecureSkipTLSVerify,
            policy: settings.policy,
            policySources: settings.policySources,
            checklist: settings.checklist,
            journalPath: journalPath(environment: name.value, settings: settings),
            journalMirror: settings.journalMirror,
            backup: try backupSettings(settings.backup))
        try validate(configuration)
        return configuration
    }

    /// `LUMINATECTL_CLICKHOUSE_CLUSTER`, else `clickhouse.cluster`, else `luminate`. Unlike the
    /// other variables, a set but empty `LUMINATECTL_CLICKHOUSE_CLUSTER` is not "unset": it is the
    /// only way the environment can say "a single server, no ON CLUSTER", as `cluster: ""` does
    /// in the file.
    private func clickhouseCluster(_ fromFile: Sourced<String>?) -> Sourced<String?> {
        let name = "LUMINATECTL_CLICKHOUSE_CLUSTER"
        if let value = context.environment[name] {
            return Sourced(value.isEmpty ? nil : value, .environment(name))
        }
        if let fromFile { return Sourced(fromFile.value.isEmpty ? nil : fromFile.value, fromFile.source) }
        return Sourced("luminate", .builtIn)
    }

    /// Rules for values that came from flags or the environment (the file's are checked as parsed).
    private func validate(_ configuration: Configuration) throws {
        for url in [configuration.clickhouseURL, configuration.prometheusURL, configuration.pushgatewayURL].compactMap({ $0 }) {
            guard let components = URLComponents(string: url.value),
                  components.scheme == "http" || components.scheme == "https", components.host?.isEmpty == false else {
                throw ValidationError("\(url.source): '\(Redactor.redactURL(url.value))' is not an http:// or https:// URL")
            }
            if components.user != nil || components.password != nil {
                throw ValidationError(
                    "\(url.source): credentials in a URL are refused",
                    hint: "use --clickhouse-user and LUMINATECTL_CLICKHOUSE_PASSWORD or LUMINATECTL_CLICKHOUSE_PASSWORD_FILE")
            }
        }
        if !KubernetesName.isValid(configuration.namespace.value) {
            throw ValidationError("\(configuration.namespace.source): namespace '\(configuration.namespace.value)' \(KubernetesName.rule)")
        }
        if let native = configuration.clickhouseNative {
            let parts = native.value.split(separator: ":")
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ValidationError("\(native.source): '\(native.value)' must be host:port of ClickHouse's native protocol")
            }
        }
    }
}

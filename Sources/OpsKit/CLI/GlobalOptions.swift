/// Options every command accepts, before or after the subcommand's name. They say where to
/// operate (environment, Kubernetes, ClickHouse, Prometheus) and how to report.
package struct GlobalOptions: Sendable, Equatable {
    package var configFile: String?
    package var environment: String?
    package var context: String?
    package var namespace: String?
    package var kubeconfig: String?
    package var clickhouseURL: String?
    package var clickhouseUser: String?
    package var prometheusURL: String?
    package var output: String?
    package var noColor = false
    package var verbose = false
    package var caFile: String?
    package var insecureSkipTLSVerify = false

    package init() {}

    package static let specs: [OptionSpec] = [
        OptionSpec("config", .value(placeholder: "file"),
                   help: "Configuration file (default: $LUMINATECTL_CONFIG, ./luminatectl.yaml, $XDG_CONFIG_HOME/luminatectl/config.yaml)."),
        OptionSpec("env", short: "e", .value(placeholder: "name"),
                   help: "Named environment of the configuration, e.g. staging or production (env: LUMINATECTL_ENV)."),
        OptionSpec("context", .value(placeholder: "name"), help: "Kubernetes context (env: LUMINATECTL_CONTEXT)."),
        OptionSpec("namespace", short: "n", .value(placeholder: "name"), help: "Kubernetes namespace (env: LUMINATECTL_NAMESPACE)."),
        OptionSpec("kubeconfig", .value(placeholder: "file"), help: "kubeconfig file (env: KUBECONFIG)."),
        OptionSpec("clickhouse-url", .value(placeholder: "url"),
                   help: "ClickHouse HTTP endpoint, e.g. https://ch.example:8443 (env: LUMINATECTL_CLICKHOUSE_URL)."),
        OptionSpec("clickhouse-user", .value(placeholder: "name"), help: "ClickHouse user (env: LUMINATECTL_CLICKHOUSE_USER)."),
        OptionSpec("prometheus-url", .value(placeholder: "url"), help: "Prometheus endpoint (env: LUMINATECTL_PROMETHEUS_URL)."),
        OptionSpec("output", short: "o", .value(placeholder: "format"), help: "Output format: text or json (some commands add more).", default: "text"),
        OptionSpec("no-color", help: "Never colour the output (also NO_COLOR)."),
        OptionSpec("verbose", short: "v", help: "Print each subprocess and HTTP request, with secrets redacted, to stderr."),
        OptionSpec("ca-file", .value(placeholder: "file"), help: "CA bundle to verify ClickHouse and Prometheus TLS certificates."),
        OptionSpec("insecure-skip-tls-verify", help: "Do not verify TLS certificates (warned on every run; never in production)."),
    ]

    /// Stores a parsed global option; returns false when `long` is not a global option.
    mutating func set(_ long: String, _ value: String?) -> Bool {
        switch long {
        case "config": configFile = value
        case "env": environment = value
        case "context": context = value
        case "namespace": namespace = value
        case "kubeconfig": kubeconfig = value
        case "clickhouse-url": clickhouseURL = value
        case "clickhouse-user": clickhouseUser = value
        case "prometheus-url": prometheusURL = value
        case "output": output = value
        case "no-color": noColor = true
        case "verbose": verbose = true
        case "ca-file": caFile = value
        case "insecure-skip-tls-verify": insecureSkipTLSVerify = true
        default: return false
        }
        return true
    }
}

import Foundation

/// The clients of one environment, built from its effective configuration through the context's
/// seams. A missing endpoint is a `ValidationError` that says which flag or variable sets it.
package struct Connections: Sendable {
    package let configuration: Configuration
    package let context: Context

    package init(configuration: Configuration, context: Context) {
        self.configuration = configuration
        self.context = context
    }

    /// The transport with the environment's TLS settings.
    private var http: any HTTPTransport {
        context.http(caFile: configuration.caFile?.value, insecureSkipTLSVerify: configuration.insecureSkipTLSVerify)
    }

    package var kubectlTarget: KubectlTarget {
        KubectlTarget(
            context: configuration.kubeContext?.value,
            namespace: configuration.namespace.value,
            kubeconfig: configuration.kubeconfig.map { context.resolve(path: $0.value) })
    }

    package func kubectl() -> Kubectl {
        Kubectl(context: context, target: kubectlTarget)
    }

    package func clickhouse() throws -> ClickHouseHTTP {
        ClickHouseHTTP(endpoint: try clickhouseEndpoint(), transport: http, interrupt: context.interrupt)
    }

    /// The environment's ClickHouse HTTP endpoint with its credentials; `timeout` and
    /// `connectTimeout` for callers that must not wait long (the journal mirror).
    package func clickhouseEndpoint(connectTimeout: Double = 5, timeout: Double = 30) throws -> ClickHouseEndpoint {
        guard let url = configuration.clickhouseURL else {
            throw ValidationError(
                "no ClickHouse endpoint is configured for environment '\(configuration.environmentName.value)'",
                hint: "pass --clickhouse-url, set LUMINATECTL_CLICKHOUSE_URL, or set clickhouse.url in the configuration")
        }
        return ClickHouseEndpoint(
            url: url.value,
            user: configuration.clickhouseUser.value,
            password: try configuration.clickhousePasswordValue(environment: context.environment),
            passwordSource: configuration.clickhousePassword?.value.description,
            database: configuration.clickhouseDatabase.value,
            connectTimeout: connectTimeout, timeout: timeout)
    }

    /// The transport with the environment's TLS settings, for clients built here or elsewhere.
    package var transport: any HTTPTransport { http }

    package func clickhouseNative() throws -> ClickHouseNative {
        guard let address = configuration.clickhouseNative else {
            throw ValidationError(
                "no ClickHouse native endpoint (host:port) is configured for environment '\(configuration.environmentName.value)'",
                hint: "set LUMINATECTL_CLICKHOUSE_NATIVE or clickhouse.native in the configuration")
        }
        let (host, port) = try ClickHouseNativeEndpoint.parseAddress(address.value)
        let endpoint = ClickHouseNativeEndpoint(
            host: host, port: port,
            user: configuration.clickhouseUser.value,
            password: try configuration.clickhousePasswordValue(environment: context.environment),
            passwordSource: configuration.clickhousePassword?.value.description,
            database: configuration.clickhouseDatabase.value)
        return ClickHouseNative(endpoint: endpoint, context: context)
    }

    package func prometheus() throws -> PrometheusClient {
        guard let url = configuration.prometheusURL else {
            throw ValidationError(
                "no Prometheus endpoint is configured for environment '\(configuration.environmentName.value)'",
                hint: "pass --prometheus-url, set LUMINATECTL_PROMETHEUS_URL, or set prometheus.url in the configuration")
        }
        return PrometheusClient(baseURL: url.value, http: http, interrupt: context.interrupt)
    }
}

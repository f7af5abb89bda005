import Foundation

extension CriteriaEvaluator {
    /// The evaluator for an environment, as `deploy` and `rollback check` build it: Prometheus
    /// (required: without it no metric criterion can be evaluated at all), the ClickHouse HTTP
    /// connection for the corruption probes (none configured: that criterion is inconclusive),
    /// and the security command when the policy has one. `interval` defaults to
    /// `policy.deploy.interval`. Nothing is contacted here.
    package static func live(
        configuration: Configuration, context: Context, images: [String], interval: Double? = nil
    ) throws -> CriteriaEvaluator {
        let connections = Connections(configuration: configuration, context: context)
        let policy = configuration.policy
        let prometheus = try connections.prometheus()
        var corruption: (any CorruptionSource)?
        if configuration.clickhouseURL != nil {
            // Short limits: a probe is one tick's work, and a server that does not answer within
            // them is reported as such rather than holding the bake.
            let endpoint = try connections.clickhouseEndpoint(connectTimeout: 3, timeout: 10)
            let server = ClickHouseHTTP(endpoint: endpoint, transport: connections.transport, interrupt: context.interrupt)
            corruption = ClickHouseCorruptionSource(probes: policy.rollback.corruption, server: server,
                                                    cluster: configuration.clickhouseCluster.value)
        }
        var security: (any SecurityScanner)?
        if let command = policy.rollback.securityCommand, !command.isEmpty {
            security = CommandSecurityScanner(command: command, processes: context.processes, interrupt: context.interrupt)
        }
        var client = prometheus
        client.timeout = 10
        return CriteriaEvaluator(
            criteria: policy.rollback, interval: interval ?? policy.deploy.interval, metrics: client,
            corruption: corruption, security: security, images: images, interrupt: context.interrupt)
    }
}

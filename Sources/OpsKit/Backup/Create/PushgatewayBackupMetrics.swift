import Foundation

/// `BackupMetrics` to the Pushgateway, in the group `job="luminate-backup", namespace="<ns>"`
/// that the alert rules read (`max by (namespace)`, so the extra `result` label is harmless).
package struct PushgatewayBackupMetrics: BackupMetricsReporter {
    package let client: PushgatewayClient
    package let namespace: String

    package init(client: PushgatewayClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    package var key: PushgatewayGroupingKey {
        PushgatewayGroupingKey(job: BackupMetrics.job, labels: [MetricLabel("namespace", namespace)])
    }

    package var target: String { "\(Redactor.redactURL(client.baseURL)) (\(key))" }

    package func report(_ metrics: BackupMetrics) throws {
        try client.replace(metrics.values.map { value in
            MetricFamily(name: value.name, kind: .gauge, help: value.help, samples: [.init(value: value.value)])
        }, in: groupKey(for: metrics))
    }

    /// Success and failure gauges live in two groups (`result="success"|"failure"`), so that
    /// replacing one never erases the other: the last success time must survive a failed run.
    package func groupKey(for metrics: BackupMetrics) -> PushgatewayGroupingKey {
        var key = self.key
        let failure = metrics.values.contains { $0.name == "luminate_backup_last_failure_timestamp_seconds" }
        key.labels.append(MetricLabel("result", failure ? "failure" : "success"))
        return key
    }
}

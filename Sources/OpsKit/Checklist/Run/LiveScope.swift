import Foundation

/// What a live probe sees: clients of the environment built for this one check (its timeout on
/// every call, its own interrupt so a timed-out check stops its subprocesses and requests), the
/// manifests when the run has them, and the recovery records.
package struct LiveScope: Sendable {
    package var settings: ChecklistSettings
    /// The static manifests, when the run loaded them (INF-3 totals their requests; SEC-1 reads
    /// which Secret holds the JWT key).
    package var manifests: ManifestIndex?
    package var connections: Connections
    /// Seconds allowed for the whole check, and so for any one call it makes.
    package var timeout: Double
    package var records: any RecoveryRecords
    package var tools: ToolBox

    package init(
        settings: ChecklistSettings, manifests: ManifestIndex?, connections: Connections, timeout: Double,
        records: any RecoveryRecords, tools: ToolBox
    ) {
        self.settings = settings
        self.manifests = manifests
        self.connections = connections
        self.timeout = timeout
        self.records = records
        self.tools = tools
    }

    package var namespace: String { settings.namespace }

    package func kubectl() -> Kubectl {
        var kubectl = connections.kubectl()
        kubectl.processTimeout = timeout
        kubectl.target.requestTimeout = timeout
        if let cacheDir = connections.context.environment["KUBECACHEDIR"], !cacheDir.isEmpty {
            kubectl.target.cacheDir = cacheDir
        }
        return kubectl
    }

    /// ClickHouse over HTTP; a skip when the environment has no ClickHouse endpoint.
    package func clickhouse() throws -> ClickHouseHTTP {
        let configuration = connections.configuration
        guard configuration.clickhouseURL != nil else {
            throw CheckSkipped("ClickHouse is not configured (pass --clickhouse-url or set LUMINATECTL_CLICKHOUSE_URL)")
        }
        var endpoint = try connections.clickhouse().endpoint
        endpoint.timeout = timeout
        endpoint.connectTimeout = min(endpoint.connectTimeout, timeout)
        let transport = connections.context.http(caFile: configuration.caFile?.value, insecureSkipTLSVerify: configuration.insecureSkipTLSVerify)
        return ClickHouseHTTP(endpoint: endpoint, transport: transport, interrupt: connections.context.interrupt)
    }

    /// Prometheus; a skip when the environment has no Prometheus endpoint.
    package func prometheus() throws -> PrometheusClient {
        guard connections.configuration.prometheusURL != nil else {
            throw CheckSkipped("Prometheus is not configured (pass --prometheus-url or set LUMINATECTL_PROMETHEUS_URL)")
        }
        var client = try connections.prometheus()
        client.timeout = timeout
        return client
    }

    /// The objects of these kinds in the namespace, in one kubectl call, as an index the static
    /// rules can judge.
    package func liveObjects(_ kinds: [String], selector: String? = nil) throws -> ManifestIndex {
        let objects = try kubectl().list(kinds.joined(separator: ","), selector: selector)
        return ManifestIndex(objects: objects.compactMap { ManifestObject(live: $0, defaultNamespace: namespace) })
    }
}

/// One finished backup, as the backup capability records it.
package struct BackupRecord: Sendable, Equatable {
    package var id: String
    package var completedAt: Date
    package var location: String

    package init(id: String, completedAt: Date, location: String) {
        self.id = id
        self.completedAt = completedAt
        self.location = location
    }
}

/// One restore drill, as `luminatectl restore drill` journals it.
package struct RestoreDrill: Sendable, Equatable {
    package var id: String
    package var finishedAt: Date
    package var succeeded: Bool
    package var durationSeconds: Double

    package init(id: String, finishedAt: Date, succeeded: Bool, durationSeconds: Double) {
        self.id = id
        self.finishedAt = finishedAt
        self.succeeded = succeeded
        self.durationSeconds = durationSeconds
    }
}

/// Where DP-1 and DP-3 read their evidence. The backup capability provides the real records
/// (its catalogue and the journal); until it exists, `NoRecoveryRecordsYet` makes both checks
/// skip with a reason instead of failing on something no one could have done yet.
package protocol RecoveryRecords: Sendable {
    /// The newest backup that completed, or nil when none has.
    func newestCompleteBackup() throws -> BackupRecord?
    /// Restore drills, in any order.
    func restoreDrills() throws -> [RestoreDrill]
}

/// The records before `luminatectl backup` and `restore drill` exist.
package struct NoRecoveryRecordsYet: RecoveryRecords {
    package init() {}

    package func newestCompleteBackup() throws -> BackupRecord? {
        throw CheckSkipped("no backups recorded yet: arrives with luminatectl backup")
    }

    package func restoreDrills() throws -> [RestoreDrill] {
        throw CheckSkipped("no restore drills recorded yet: arrives with luminatectl restore drill")
    }
}

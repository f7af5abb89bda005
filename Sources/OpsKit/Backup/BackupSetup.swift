import Foundation

/// The pieces every backup command needs, built from the environment's configuration: the store,
/// its catalogue, the engines, and where metrics go.
package struct BackupSetup: Sendable {
    package let configuration: Configuration
    package let context: Context
    package var connections: Connections { Connections(configuration: configuration, context: context) }

    package init(configuration: Configuration, context: Context) {
        self.configuration = configuration
        self.context = context
    }

    package func store() throws -> any BackupStore {
        switch try connections.backupStore() {
        case .path(let directory):
            return LocalDirectoryStore(root: directory)
        case .s3(let target):
            return S3BackupStore(client: S3Client(endpoint: S3Endpoint(target), http: connections.transport, interrupt: context.interrupt))
        }
    }

    package func catalogue() throws -> BackupCatalogue { BackupCatalogue(store: try store()) }

    /// The Pushgateway reporter, or nil when none is configured (the dry run says so).
    package func metrics() throws -> (any BackupMetricsReporter)? {
        guard configuration.pushgatewayURL != nil else { return nil }
        return PushgatewayBackupMetrics(client: try connections.pushgateway(), namespace: configuration.namespace.value)
    }

    /// `native` or `freeze`, from the flag, else the configuration, `auto` deciding by the
    /// server's version.
    package func engineKind(flag: String?, clickhouse: ClickHouseHTTP) throws -> BackupEngineKind {
        let choice = try flag.map { name -> BackupEngineChoice in
            guard let choice = BackupEngineChoice(rawValue: name) else {
                throw ValidationError("--engine must be one of \(BackupEngineChoice.choices), not '\(name)'")
            }
            return choice
        } ?? configuration.backup.engine.value
        switch choice.resolved(for: try clickhouse.version()) {
        case .native, .auto: return .native
        case .freeze: return .freeze
        }
    }

    package func engine(_ kind: BackupEngineKind, clickhouse: ClickHouseHTTP) throws -> any BackupEngine {
        switch kind {
        case .native:
            return NativeEngine(clickhouse: clickhouse, disk: configuration.backup.disk.value,
                                diskPath: configuration.backup.diskPath.value)
        case .freeze:
            return FreezeEngine(server: try connections.clickhouseNative(), context: context)
        }
    }
}

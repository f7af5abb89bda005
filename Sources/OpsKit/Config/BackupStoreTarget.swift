import Foundation

/// An S3 backup store resolved for use: every value a client needs, the secret read from its
/// source (and registered with the `Redactor`). Left out of `description` and of the reflection
/// `dump()` uses, like `ClickHouseEndpoint`'s password.
///
/// It maps field for field onto the S3 client's endpoint type:
/// `S3Endpoint(url: endpoint, region: region, bucket: bucket, prefix: prefix,
/// accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, secretSource: secretSource)`.
package struct S3StoreTarget: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// `https://s3.eu-west-1.amazonaws.com`
    package var endpoint: String
    package var region: String
    package var bucket: String
    /// Empty or ending in `/`.
    package var prefix: String
    package var accessKeyID: String
    package var secretAccessKey: String
    /// Where the secret came from (`from file /var/run/secrets/luminatectl/s3-secret`), for hints.
    package var secretSource: String

    package init(
        endpoint: String, region: String, bucket: String, prefix: String,
        accessKeyID: String, secretAccessKey: String, secretSource: String
    ) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.prefix = prefix
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.secretSource = secretSource
    }

    /// `s3://luminate-backups/clickhouse/ at https://s3.eu-west-1.amazonaws.com (eu-west-1)`
    package var description: String {
        "s3://\(bucket)/\(prefix) at \(Redactor.redactURL(endpoint)) (\(region))"
    }

    package var customMirror: Mirror {
        Mirror(self, children: [
            "endpoint": endpoint, "region": region, "bucket": bucket, "prefix": prefix,
            "accessKeyID": accessKeyID, "secretAccessKey": Redactor.mask, "secretSource": secretSource,
        ])
    }
}

/// The backup store of an environment, resolved for use.
package enum BackupStoreTarget: Sendable, Equatable, CustomStringConvertible {
    case s3(S3StoreTarget)
    /// An absolute directory.
    case path(String)

    package var description: String {
        switch self {
        case .s3(let target): target.description
        case .path(let directory): directory
        }
    }
}

extension Connections {
    /// The environment's backup store with its credentials read; a `ValidationError` saying how to
    /// configure one when there is none.
    package func backupStore() throws -> BackupStoreTarget {
        switch configuration.backup.store {
        case nil:
            throw ValidationError(
                "no backup store is configured for environment '\(configuration.environmentName.value)'",
                hint: "set backup.store.s3 (or LUMINATECTL_S3_ENDPOINT, _REGION, _BUCKET, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY_FILE) or backup.store.path (LUMINATECTL_BACKUP_PATH)")
        case .path(let directory):
            return .path(directory.value)
        case .s3(let store):
            let environment = context.environment
            return .s3(S3StoreTarget(
                endpoint: store.endpoint.value, region: store.region.value, bucket: store.bucket.value,
                prefix: store.prefix.value,
                accessKeyID: try configuration.s3AccessKeyIDValue(environment: environment) ?? "",
                secretAccessKey: try configuration.s3SecretAccessKeyValue(environment: environment) ?? "",
                secretSource: store.secretAccessKey.value.description))
        }
    }

    /// The S3 store; a `ValidationError` when the environment's store is a directory or missing.
    package func s3Store() throws -> S3StoreTarget {
        switch try backupStore() {
        case .s3(let target):
            return target
        case .path(let directory):
            throw ValidationError(
                "the backup store of environment '\(configuration.environmentName.value)' is the directory \(directory), not S3",
                hint: "set backup.store.s3 (or the LUMINATECTL_S3_* variables) for an S3 store")
        }
    }

    /// The Pushgateway the backup job reports to.
    package func pushgateway() throws -> PushgatewayClient {
        guard let url = configuration.pushgatewayURL else {
            throw ValidationError(
                "no Pushgateway is configured for environment '\(configuration.environmentName.value)'",
                hint: "set LUMINATECTL_PUSHGATEWAY_URL or pushgateway.url in the configuration")
        }
        return PushgatewayClient(baseURL: url.value, http: transport, interrupt: context.interrupt)
    }
}

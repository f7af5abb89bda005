import Foundation

/// How an environment's ClickHouse is backed up, as the configuration says in force: where
/// backups go, through which ClickHouse disk, by which engine, and which tables. Each value has
/// its source, like every other setting `config view` shows.
package struct BackupSettings: Sendable, Equatable {
    /// The disk `manifests/base/clickhouse/config/backups.xml` defines for `BACKUP ... TO Disk(...)`.
    package static let defaultDisk = "backups"

    /// Where backups are kept; nil when neither the file nor the environment names a store.
    package var store: BackupStoreSettings?
    /// ClickHouse's backup disk: the native engine writes `BACKUP ... TO Disk('<disk>', ...)`.
    package var disk: Sourced<String>
    /// Where on that disk the store's root is: a native backup goes to
    /// `Disk('<disk>', '<diskPath><id>/')`, which luminatectl finds as `<store>/<id>/`. The
    /// default is the operations guide's `luminate/` (docs/backup-restore.md), with the store's
    /// prefix being the disk endpoint's path plus `luminate/`.
    package var diskPath: Sourced<String> = Sourced(BackupSettings.defaultDiskPath, .builtIn)
    package static let defaultDiskPath = "luminate/"
    package var engine: Sourced<BackupEngineChoice>
    /// `db.table` or `table` (in the environment's database); nil means every table of the database.
    package var tables: Sourced<[String]>?

    package init(
        store: BackupStoreSettings? = nil, disk: Sourced<String> = Sourced(defaultDisk, .builtIn),
        engine: Sourced<BackupEngineChoice> = Sourced(.auto, .builtIn), tables: Sourced<[String]>? = nil
    ) {
        self.store = store
        self.disk = disk
        self.engine = engine
        self.tables = tables
    }
}

/// Which mechanism takes a backup.
package enum BackupEngineChoice: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// `native` where the server has BACKUP/RESTORE, `freeze` elsewhere (decided per server from
    /// `version()`, see `resolved(for:)`).
    case auto
    /// `BACKUP DATABASE ... TO Disk('<disk>', '<name>/')`: ClickHouse writes the store itself.
    case native
    /// `ALTER TABLE ... FREEZE`, then luminatectl copies the shadow directory into the store: the
    /// only way on servers before BACKUP (18.16).
    case freeze

    /// `auto | native | freeze`, for error messages.
    package static let choices = allCases.map(\.rawValue).joined(separator: " | ")

    package var description: String { rawValue }

    /// The engine to use against a server of `version`: `auto` picks native from 22.8 on, else
    /// freeze; an explicit choice stays as it is (a native backup against 18.16 then fails at
    /// its first statement, which is the operator's explicit request).
    package func resolved(for version: ClickHouseVersion) -> BackupEngineChoice {
        guard self == .auto else { return self }
        return version.supportsBackupRestore ? .native : .freeze
    }
}

/// Where backups are kept: exactly one of an S3 bucket (prefix) or a mounted directory.
package enum BackupStoreSettings: Sendable, Equatable {
    case s3(S3StoreSettings)
    /// An absolute directory, typically a mounted volume.
    case path(Sourced<String>)

    /// `s3` or `path`, as the configuration key and `config view` name it.
    package var kind: String {
        switch self {
        case .s3: "s3"
        case .path: "path"
        }
    }
}

/// An S3 bucket (and key prefix) holding backups, with where each value came from. The secret
/// access key is only its source here; `Configuration.s3SecretAccessKeyValue` reads it.
package struct S3StoreSettings: Sendable, Equatable {
    /// `https://s3.eu-west-1.amazonaws.com`; no credentials, no query.
    package var endpoint: Sourced<String>
    package var region: Sourced<String>
    package var bucket: Sourced<String>
    /// Empty, or a "folder" ending in `/` (`clickhouse/`).
    package var prefix: Sourced<String>
    /// Not a secret (it may be shown), but it may come from the same kinds of sources.
    package var accessKeyID: Sourced<SecretSource>
    package var secretAccessKey: Sourced<SecretSource>

    package init(
        endpoint: Sourced<String>, region: Sourced<String>, bucket: Sourced<String>, prefix: Sourced<String>,
        accessKeyID: Sourced<SecretSource>, secretAccessKey: Sourced<SecretSource>
    ) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.prefix = prefix
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }
}

/// The rules backup values follow, whether they come from the file, the environment or a flag.
package enum BackupRules {
    /// S3's bucket naming rules (3-63 characters of lowercase letters, digits, `.` and `-`,
    /// starting and ending with a letter or digit), which also keep the name safe in a URL.
    package static let bucketRule = "must be 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit"
    package static func isValidBucket(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.range(of: "^[a-z0-9][a-z0-9.-]*[a-z0-9]$", options: .regularExpression) != nil
    }

    package static let regionRule = "must be a region name such as eu-west-1 (letters, digits, '-' and '_')"
    package static func isValidRegion(_ name: String) -> Bool {
        name.count <= 64 && name.range(of: "^[A-Za-z0-9][A-Za-z0-9_-]*$", options: .regularExpression) != nil
    }

    /// A prefix names a folder of the bucket: `clickhouse/` or `a/b/`, or nothing. Without the
    /// trailing `/` it is unclear whether `clickhouse` means `clickhouse/...` or `clickhouse...`.
    package static let prefixRule = "must be empty or a folder such as clickhouse/ (ending in '/', not starting with '/')"
    package static func isValidPrefix(_ prefix: String) -> Bool {
        prefix.isEmpty || (prefix.hasSuffix("/") && !prefix.hasPrefix("/") && !prefix.contains("//")
            && !prefix.contains(where: { $0.isNewline || $0 == "\0" }))
    }

    /// ClickHouse disk names are XML element names in its configuration.
    package static let diskRule = "must be a ClickHouse disk name (letters, digits, '_', '-' and '.', starting with a letter or '_')"
    package static func isValidDisk(_ name: String) -> Bool {
        name.count <= 128 && name.range(of: "^[A-Za-z_][A-Za-z0-9_.-]*$", options: .regularExpression) != nil
    }

    package static let tableRule = "must be table or database.table, each a ClickHouse identifier"
    package static func isValidTable(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        return (1...2).contains(parts.count) && parts.allSatisfy(SQL.isValidIdentifier)
    }

    /// `https://host[:port][/path]`, without credentials or a query: the URL a client signs.
    package static func endpointProblem(_ text: String) -> String? {
        guard let url = URLComponents(string: text), url.scheme == "http" || url.scheme == "https",
              url.host?.isEmpty == false else {
            return "expected an http:// or https:// URL"
        }
        if url.user != nil || url.password != nil { return "credentials in a URL are refused" }
        if url.query != nil || url.fragment != nil { return "the endpoint takes no query or fragment" }
        return nil
    }
}

extension Configuration {
    /// Reads the S3 secret access key from its source and registers it with the `Redactor`
    /// (from then on it cannot be printed anywhere). Nil when the store is not S3.
    package func s3SecretAccessKeyValue(environment: [String: String]) throws -> String? {
        guard case .s3(let store)? = backup.store else { return nil }
        return try store.secretAccessKey.value.read(
            environment: environment, what: "the S3 secret access key",
            key: "backup.store.s3.secretAccessKey", configurationFile: file, register: true)
    }

    /// The S3 access key id: not a secret, so not registered for redaction. Nil when the store is
    /// not S3.
    package func s3AccessKeyIDValue(environment: [String: String]) throws -> String? {
        guard case .s3(let store)? = backup.store else { return nil }
        return try store.accessKeyID.value.read(
            environment: environment, what: "the S3 access key id",
            key: "backup.store.s3.accessKeyId", configurationFile: file, register: false)
    }
}

import Foundation

/// The `backup:` section of one environment as the configuration file writes it: every key
/// optional, each with its place, because `LUMINATECTL_S3_*` and `LUMINATECTL_BACKUP_*` may
/// complete or override it. `ConfigurationLoader.backupSettings` turns it into `BackupSettings`.
package struct BackupSection: Sendable, Equatable {
    /// `store.s3`, possibly partial.
    package var s3: S3StoreSection?
    /// `store.path`, as written.
    package var path: Sourced<String>?
    package var disk: Sourced<String>?
    package var diskPath: Sourced<String>?
    package var engine: Sourced<BackupEngineChoice>?
    package var tables: Sourced<[String]>?

    package init() {}
}

/// `backup.store.s3` as written; the keys left out must come from the environment.
package struct S3StoreSection: Sendable, Equatable {
    /// Where `s3:` is written, for "the S3 store at file:line:col has no bucket".
    package var mark: SourceMark?
    package var endpoint: Sourced<String>?
    package var region: Sourced<String>?
    package var bucket: Sourced<String>?
    package var prefix: Sourced<String>?
    package var accessKeyID: Sourced<SecretSource>?
    package var secretAccessKey: Sourced<SecretSource>?

    package init(mark: SourceMark? = nil) { self.mark = mark }
}

extension BackupSection {
    /// ```yaml
    /// backup:
    ///   store:                  # exactly one of s3 / path
    ///     s3: {endpoint: https://s3.eu-west-1.amazonaws.com, region: eu-west-1, bucket: luminate-backups,
    ///          prefix: clickhouse/, accessKeyId: {env: VAR}, secretAccessKey: {file: PATH}}
    ///     path: /var/backups/luminate
    ///   disk: backups
    ///   diskPath: luminate/     # the store root's path on that disk
    ///   engine: auto            # auto | native | freeze
    ///   tables: [luminate.metrics_local]
    /// ```
    static func parse(_ node: YAMLNode, _ path: String, _ reader: ConfigReader, isPrivate: Bool) throws -> BackupSection {
        var section = BackupSection()
        let fields = try reader.mapping(node, path, keys: ["store", "disk", "diskPath", "engine", "tables"])
        if let store = fields["store"] {
            let p = "\(path).store"
            let kinds = try reader.mapping(store, p, keys: ["s3", "path"])
            guard kinds.count == 1 else {
                throw ConfigError(mark: store.mark, keyPath: p, message: "give exactly one of s3 or path")
            }
            if let s3 = kinds["s3"] {
                section.s3 = try parseS3(s3, "\(p).s3", reader, isPrivate: isPrivate)
            }
            if let directory = kinds["path"] {
                let value = try reader.string(directory, "\(p).path")
                guard !value.value.isEmpty, !value.value.contains("\0") else {
                    throw ConfigError(mark: directory.mark, keyPath: "\(p).path", message: "expected a directory, found an empty string")
                }
                section.path = value
            }
        }
        if let disk = fields["disk"] {
            let value = try reader.string(disk, "\(path).disk")
            guard BackupRules.isValidDisk(value.value) else {
                throw ConfigError(mark: disk.mark, keyPath: "\(path).disk", message: "'\(value.value)' \(BackupRules.diskRule)")
            }
            section.disk = value
        }
        if let diskPath = fields["diskPath"] {
            let value = try reader.string(diskPath, "\(path).diskPath")
            guard BackupRules.isValidPrefix(value.value) else {
                throw ConfigError(mark: diskPath.mark, keyPath: "\(path).diskPath", message: "'\(value.value)' \(BackupRules.prefixRule)")
            }
            section.diskPath = value
        }
        if let engine = fields["engine"] {
            let text = try reader.string(engine, "\(path).engine").value
            guard let value = BackupEngineChoice(rawValue: text) else {
                throw ConfigError(mark: engine.mark, keyPath: "\(path).engine",
                                  message: "expected one of \(BackupEngineChoice.choices), found '\(text)'")
            }
            section.engine = Sourced(value, .file(engine.mark))
        }
        if let tables = fields["tables"] {
            let p = "\(path).tables"
            var names: [String] = []
            for (index, item) in try reader.sequence(tables, p).enumerated() {
                let name = try reader.string(item, "\(p)[\(index)]").value
                guard BackupRules.isValidTable(name) else {
                    throw ConfigError(mark: item.mark, keyPath: "\(p)[\(index)]", message: "'\(name)' \(BackupRules.tableRule)")
                }
                guard !names.contains(name) else {
                    throw ConfigError(mark: item.mark, keyPath: "\(p)[\(index)]", message: "'\(name)' is listed twice")
                }
                names.append(name)
            }
            guard !names.isEmpty else {
                throw ConfigError(mark: tables.mark, keyPath: p, message: "an empty list backs up nothing",
                                  hint: "leave tables out to back up every table of the database")
            }
            section.tables = Sourced(names, .file(tables.mark))
        }
        return section
    }

    private static func parseS3(_ node: YAMLNode, _ path: String, _ reader: ConfigReader, isPrivate: Bool) throws -> S3StoreSection {
        var s3 = S3StoreSection(mark: node.mark)
        let fields = try reader.mapping(
            node, path, keys: ["endpoint", "region", "bucket", "prefix", "accessKeyId", "secretAccessKey"])
        func checked(_ key: String, _ problem: (String) -> String?) throws -> Sourced<String>? {
            guard let item = fields[key] else { return nil }
            let value = try reader.string(item, "\(path).\(key)")
            if let problem = problem(value.value) {
                throw ConfigError(mark: item.mark, keyPath: "\(path).\(key)", message: problem)
            }
            return value
        }
        s3.endpoint = try checked("endpoint", BackupRules.endpointProblem)
        s3.region = try checked("region") { BackupRules.isValidRegion($0) ? nil : "'\($0)' \(BackupRules.regionRule)" }
        s3.bucket = try checked("bucket") { BackupRules.isValidBucket($0) ? nil : "'\($0)' \(BackupRules.bucketRule)" }
        s3.prefix = try checked("prefix") { BackupRules.isValidPrefix($0) ? nil : "'\($0)' \(BackupRules.prefixRule)" }
        if let key = fields["accessKeyId"] {
            s3.accessKeyID = try ConfigFile.parseSecret(
                key, "\(path).accessKeyId", reader, isPrivate: isPrivate, literalNeedsPrivateFile: false)
        }
        if let secret = fields["secretAccessKey"] {
            s3.secretAccessKey = try ConfigFile.parseSecret(
                secret, "\(path).secretAccessKey", reader, isPrivate: isPrivate, noun: "secret")
        }
        return s3
    }
}

extension ConfigurationLoader {
    /// The S3 variables, in the order `config view` and errors name them.
    static let s3Variables = [
        "LUMINATECTL_S3_ENDPOINT", "LUMINATECTL_S3_REGION", "LUMINATECTL_S3_BUCKET", "LUMINATECTL_S3_PREFIX",
        "LUMINATECTL_S3_ACCESS_KEY_ID", "LUMINATECTL_S3_SECRET_ACCESS_KEY", "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE",
    ]

    /// The effective backup settings: `LUMINATECTL_BACKUP_*`
    /// and `LUMINATECTL_S3_*`, then the file's `backup:` section, then the defaults.
    ///
    /// The store as a whole follows that precedence: `LUMINATECTL_BACKUP_PATH` makes it a
    /// directory and any `LUMINATECTL_S3_*` makes it S3 (both at once is an error), replacing a
    /// store of the other kind from the file; S3 variables override the file's S3 keys one by one.
    /// An S3 store must end up with an endpoint, region, bucket, access key id and secret.
    func backupSettings(_ section: BackupSection) throws -> BackupSettings {
        let env = context.environment
        func variable(_ name: String) -> Sourced<String>? {
            env[name].flatMap { $0.isEmpty ? nil : Sourced($0, .environment(name)) }
        }
        var settings = BackupSettings()
        if let disk = section.disk { settings.disk = disk }
        if let diskPath = variable("LUMINATECTL_BACKUP_DISK_PATH") {
            guard BackupRules.isValidPrefix(diskPath.value) else {
                throw ValidationError("\(diskPath.source): '\(diskPath.value)' \(BackupRules.prefixRule)")
            }
            settings.diskPath = diskPath
        } else if let diskPath = section.diskPath {
            settings.diskPath = diskPath
        }
        if let tables = section.tables { settings.tables = tables }

        if let value = variable("LUMINATECTL_BACKUP_ENGINE") {
            settings.engine = try engine(value.value, source: value.source)
        } else if let engine = section.engine {
            settings.engine = engine
        }

        let setS3 = Self.s3Variables.filter { variable($0) != nil }
        let directory = variable("LUMINATECTL_BACKUP_PATH")
        if let directory {
            if !setS3.isEmpty, case .environment = directory.source {
                throw ValidationError(
                    "LUMINATECTL_BACKUP_PATH and \(setS3.joined(separator: ", ")) both set the backup store",
                    hint: "a store is either a directory or an S3 bucket: unset one of them")
            }
            settings.store = .path(Sourced(context.resolve(path: directory.value), directory.source))
        } else if !setS3.isEmpty || section.s3 != nil {
            var s3 = section.s3 ?? S3StoreSection()
            s3.endpoint = variable("LUMINATECTL_S3_ENDPOINT") ?? s3.endpoint
            s3.region = variable("LUMINATECTL_S3_REGION") ?? s3.region
            s3.bucket = variable("LUMINATECTL_S3_BUCKET") ?? s3.bucket
            s3.prefix = variable("LUMINATECTL_S3_PREFIX") ?? s3.prefix
            if variable("LUMINATECTL_S3_ACCESS_KEY_ID") != nil {
                s3.accessKeyID = Sourced(.environment("LUMINATECTL_S3_ACCESS_KEY_ID"), .environment("LUMINATECTL_S3_ACCESS_KEY_ID"))
            }
            if variable("LUMINATECTL_S3_SECRET_ACCESS_KEY") != nil {
                s3.secretAccessKey = Sourced(
                    .environment("LUMINATECTL_S3_SECRET_ACCESS_KEY"), .environment("LUMINATECTL_S3_SECRET_ACCESS_KEY"))
            } else if let file = variable("LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE") {
                s3.secretAccessKey = Sourced(.file(context.resolve(path: file.value)), file.source)
            }
            let origin = s3.mark.map { "the S3 backup store at \($0)" } ?? "the S3 backup store set by \(setS3[0])"
            settings.store = .s3(try complete(s3, origin: origin))
        } else if let directory = section.path {
            settings.store = .path(Sourced(context.resolve(path: directory.value), directory.source))
        }
        return settings
    }

    private func engine(_ text: String, source: ValueSource) throws -> Sourced<BackupEngineChoice> {
        guard let engine = BackupEngineChoice(rawValue: text) else {
            throw ValidationError("\(source): expected one of \(BackupEngineChoice.choices), found '\(text)'")
        }
        return Sourced(engine, source)
    }

    /// Checks the values that came from the environment (the file's were checked as parsed) and
    /// that nothing is missing.
    private func complete(_ s3: S3StoreSection, origin: String) throws -> S3StoreSettings {
        func required<T>(_ value: T?, _ key: String, _ variable: String) throws -> T {
            guard let value else {
                throw ValidationError("\(origin) has no \(key)", hint: "set backup.store.s3.\(key) or \(variable)")
            }
            return value
        }
        func check(_ value: Sourced<String>?, _ problem: (String) -> String?) throws {
            guard let value, case .environment = value.source, let problem = problem(value.value) else { return }
            throw ValidationError("\(value.source): \(problem)")
        }
        try check(s3.endpoint) { url in BackupRules.endpointProblem(url).map { "'\(Redactor.redactURL(url))': \($0)" } }
        try check(s3.region) { BackupRules.isValidRegion($0) ? nil : "'\($0)' \(BackupRules.regionRule)" }
        try check(s3.bucket) { BackupRules.isValidBucket($0) ? nil : "'\($0)' \(BackupRules.bucketRule)" }
        try check(s3.prefix) { BackupRules.isValidPrefix($0) ? nil : "'\($0)' \(BackupRules.prefixRule)" }
        return S3StoreSettings(
            endpoint: try required(s3.endpoint, "endpoint", "LUMINATECTL_S3_ENDPOINT"),
            region: try required(s3.region, "region", "LUMINATECTL_S3_REGION"),
            bucket: try required(s3.bucket, "bucket", "LUMINATECTL_S3_BUCKET"),
            prefix: s3.prefix ?? Sourced("", .builtIn),
            accessKeyID: try required(s3.accessKeyID, "accessKeyId", "LUMINATECTL_S3_ACCESS_KEY_ID"),
            secretAccessKey: try required(
                s3.secretAccessKey, "secretAccessKey", "LUMINATECTL_S3_SECRET_ACCESS_KEY or LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"))
    }
}

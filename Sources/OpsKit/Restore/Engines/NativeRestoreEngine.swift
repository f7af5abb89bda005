import Foundation

/// The production path back: ClickHouse's own `RESTORE TABLE src AS target PARTITIONS ... FROM
/// Disk(...)` (22.8+), from the same place on the backup disk the native backup engine wrote to,
/// `ON CLUSTER` when a cluster is configured, `ASYNC`, polled in `system.backups` until it is
/// restored or failed. ClickHouse reads the data (and an incremental's bases) itself; luminatectl
/// checks beforehand that every base is still in the store, and afterwards the plan counts what
/// arrived.
package struct NativeRestoreEngine: RestoreEngine {
    package let clickhouse: ClickHouseHTTP
    /// The server's backup disk (`<backups><type>s3_plain</type>` in backups.xml).
    package let disk: String
    /// Where on that disk the store's root is (`luminate/`), as for the native backup engine.
    package let diskPath: String
    /// Seconds between two looks at `system.backups`.
    package let pollInterval: Double

    package init(clickhouse: ClickHouseHTTP, disk: String, diskPath: String, pollInterval: Double = 1) {
        self.clickhouse = clickhouse
        self.disk = disk
        self.diskPath = NativeEngine.folder(diskPath)
        self.pollInterval = pollInterval
    }

    package var kind: BackupEngineKind { .native }

    /// The RESTORE statement, exactly as sent. `PARTITIONS` follows `AS target`: ClickHouse 26.9
    /// reads `TABLE src AS target PARTITIONS ...`, and `PARTITIONS` before `AS` is a syntax error.
    package func statement(_ load: RestoreLoad) throws -> SQLFragment {
        guard load.manifest.engine == .native else {
            throw ValidationError("backup \(load.manifest.id) was taken by the \(load.manifest.engine.rawValue) engine; RESTORE reads native backups only",
                                  hint: "restore it with the engine that took it")
        }
        var sql: SQLFragment = try "RESTORE TABLE \(table: load.source.database, load.source.table) AS \(load.target.sql)"
        if !load.allPartitions {
            sql = sql.appending("PARTITIONS").appending(SQL.list(load.partitions.map { "ID \(literal: $0)" }))
        }
        if let cluster = load.servers.cluster {
            sql = sql.appending(try "ON CLUSTER \(identifier: cluster)")
        }
        sql = sql.appending("FROM").appending(NativeEngine.destination(disk: disk, diskPath: diskPath, id: load.manifest.id))
        if load.allowNonEmpty {
            // Without it ClickHouse refuses a target holding any row (code 608, CANNOT_RESTORE_TABLE).
            sql = sql.appending("SETTINGS allow_non_empty_tables = true")
        }
        return sql.appending("ASYNC")
    }

    package func describe(_ load: RestoreLoad) -> [String] {
        var lines: [String] = []
        if let base = load.manifest.base {
            lines.append("check the store holds \(base)/.backup and that of every base below it (RESTORE reads them itself)")
        }
        lines.append((try? statement(load).sql) ?? "(invalid request)")
        lines.append("poll system.backups every \(DurationParser.format(pollInterval)) until RESTORED, RESTORE_FAILED or RESTORE_CANCELLED")
        return lines
    }

    package func load(
        _ load: RestoreLoad, store: any BackupStore, session: OperationSession,
        progress: @escaping @Sendable (RestoreProgress) -> Void
    ) throws {
        let sql = try statement(load)
        if load.manifest.base != nil {
            try session.step("check the store holds every base of \(load.manifest.id)") {
                let bases = try checkBases(load.manifest, store: store)
                session.record("bases", .array(bases.map { .string($0) }))
            }
        }

        let started: BackupRow = try session.step("start RESTORE of \(load.source.qualifiedName) into \(load.target)") {
            session.record("statement", .string(sql.sql))
            // ASYNC answers at once; max_execution_time=0 so no limit of this request's context can
            // reach the restore that goes on in the background.
            guard let row = try clickhouse.query(sql, as: BackupRow.self, options: .init(timeout: 120, settings: ["max_execution_time": "0"])).first else {
                throw ClickHouseError.unexpectedResponse(host: clickhouse.host, queryID: nil, status: nil,
                                                         detail: "RESTORE ... ASYNC returned no row")
            }
            session.record("clickhouseRestoreID", .string(row.id))
            return row
        }

        try session.step("wait for ClickHouse to finish the restore") {
            let row = try waitForRestore(started.id, load: load, session: session, progress: progress)
            session.record("files", .number(Double(row.numFiles?.value ?? 0)))
            session.record("bytes", .number(Double(row.totalSize?.value ?? 0)))
        }
    }

    // MARK: - Steps

    /// Walks the chain of bases through their manifests in the store; returns the bases, nearest
    /// first, once every one holds the `.backup` file ClickHouse reads.
    func checkBases(_ manifest: BackupManifest, store: any BackupStore) throws -> [String] {
        var bases: [String] = []
        var next = manifest.base
        while let base = next {
            // A manifest naming a base already seen is damaged; RESTORE would fail on it too.
            guard !bases.contains(base), base != manifest.id else {
                throw NativeRestoreBaseMissing(backup: manifest.id, bases: bases + [base], location: store.location,
                                               problem: "holds manifests whose bases go round in a circle")
            }
            bases.append(base)
            guard try store.stat("\(base)/.backup") != nil else {
                throw NativeRestoreBaseMissing(backup: manifest.id, bases: bases, location: store.location,
                                               problem: "does not hold \(base)/.backup")
            }
            guard let data = try store.read(BackupLayout.manifestKey(base)) else {
                throw NativeRestoreBaseMissing(backup: manifest.id, bases: bases, location: store.location,
                                               problem: "holds no manifest of \(base) (an incomplete backup), so what it builds on is unknown")
            }
            let baseManifest: BackupManifest
            do {
                baseManifest = try BackupManifest.decode(data)
            } catch {
                throw NativeRestoreBaseMissing(backup: manifest.id, bases: bases, location: store.location,
                                               problem: "holds a manifest of \(base) that does not read (\(error))")
            }
            next = baseManifest.base
        }
        return bases
    }

    private func waitForRestore(
        _ id: String, load: RestoreLoad, session: OperationSession, progress: @escaping @Sendable (RestoreProgress) -> Void
    ) throws -> BackupRow {
        let target = load.target.description
        let poll = SystemBackupsPoll(clickhouse: clickhouse, interval: pollInterval)
        let outcome = try poll.wait(id, done: ["RESTORED"], failed: ["RESTORE_FAILED", "RESTORE_CANCELLED"],
                                    context: session.context) { row in
            progress(RestoreProgress(phase: "RESTORE running", files: row.numFiles?.value ?? 0, bytes: row.totalSize?.value ?? 0))
        }
        switch outcome {
        case .done(let row):
            return row
        case .failed(let row):
            throw NativeRestoreFailed(id: id, host: clickhouse.host, source: load.source.qualifiedName, target: target,
                                      status: row.status, error: row.error ?? "")
        case .vanished:
            throw NativeRestoreVanished(id: id, host: clickhouse.host, target: target)
        case .interrupted(let signal, let killed):
            throw NativeRestoreInterrupted(id: id, host: clickhouse.host, target: target, signal: signal, killed: killed)
        }
    }
}

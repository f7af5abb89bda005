import Foundation

/// The freeze engine's restore side, for servers without `RESTORE` (the sandbox's 18.16): the
/// parts a freeze backup uploaded are downloaded into the target's `detached/` directory on the
/// primary replica of each shard, every file checked against the manifest's size and SHA-256,
/// and only when every file of every shard is right does `ALTER TABLE ... ATTACH PARTITION ID`
/// move them into the table (replication carries them to the other replicas).
///
/// Like the backup, it must run where the servers' data directories are mounted: the files are
/// written to disk, not sent through ClickHouse. After a damaged file, any failure or Ctrl-C it
/// removes every part directory it made under `detached/`, on every shard.
package struct FreezeRestoreEngine: RestoreEngine {
    /// The live seams; the console warns when a cleanup fails.
    package let context: Context
    /// Files downloaded at once.
    package let transfers: Int

    package var kind: BackupEngineKind { .freeze }

    package init(context: Context, transfers: Int = 8) {
        self.context = context
        self.transfers = max(1, transfers)
    }

    /// One shard ready to receive its files: the target's directories there and their owner.
    private struct Located {
        var files: FreezeRestoreShard
        var server: RestoreShard
        var dataPath: String
        var detached: String
        var owner: DataDirectoryOwner
    }

    // MARK: - Load

    package func load(_ load: RestoreLoad, store: any BackupStore, session: OperationSession,
                      progress report: @escaping @Sendable (RestoreProgress) -> Void) throws {
        // Every shard of the backup must have a server before anything is asked or downloaded.
        let shards = try FreezeRestoreLayout.shards(of: load)
        let servers = Dictionary(load.servers.shards.map { ($0.shard, $0) }, uniquingKeysWith: { first, _ in first })

        var located: [Located] = []
        for files in shards {
            let server = servers[files.shard]!
            located.append(try session.step("find \(load.target) on disk on \(server.label)") {
                try locate(load.target, files: files, on: server, session: session)
            })
        }

        let progress = DownloadProgress(totalBytes: shards.reduce(0) { $0 + $1.bytes }, report: report)
        var cleanup = DetachedCleanup()
        do {
            for shard in located {
                let files = shard.files
                let step = "download and check \(FreezeRestoreDownload.grouped(UInt64(files.files.count))) files "
                    + "(\(ByteSize.format(files.bytes))) to \(shard.server.label)"
                try session.step(step) {
                    try download(shard, backup: load.manifest.id, store: store, step: step, cleanup: &cleanup,
                                 progress: progress, session: session)
                }
            }
            progress.phase("attaching")
            for shard in located {
                let step = "attach partitions on \(shard.server.label)"
                try session.step(step) { try attach(shard, target: load.target, step: step, session: session) }
            }
        } catch {
            // Ctrl-C included: what is left in detached/ goes, and is named in the failure record.
            cleanup.removeAfterFailure(session: session, console: context.console)
            throw error
        }
    }

    // MARK: - Stages

    private func locate(_ target: QualifiedTable, files: FreezeRestoreShard, on server: RestoreShard,
                        session: OperationSession) throws -> Located {
        struct Column: Decodable { var name: String }
        let primary = server.primary
        let columns = try primary.query(FreezeRestoreStatements.dataPathColumns, as: Column.self).map(\.name)
        guard columns.contains("data_paths") || columns.contains("data_path") else {
            throw ClickHouseError.unexpectedResponse(host: primary.address, queryID: nil, status: nil,
                                                     detail: "system.tables has neither data_paths nor data_path")
        }
        struct Row: Decodable { var paths: [String] }
        let sql = FreezeRestoreStatements.dataPaths(of: target, array: columns.contains("data_paths"))
        guard let row = try primary.query(sql, as: Row.self).first else {
            throw FreezeRestoreError.unknownTarget(table: target.description, server: primary.address)
        }
        let paths = row.paths.filter { !$0.isEmpty }
        guard let path = paths.first else {
            throw FreezeRestoreError.noDataDirectory(server: primary.address, table: target.description)
        }
        guard paths.count == 1 else {
            throw FreezeRestoreError.severalDataDirectories(server: primary.address, table: target.description, directories: paths)
        }
        let dataPath = path.hasSuffix("/") ? path : path + "/"
        guard let owner = DetachedDirectory.owner(of: dataPath) else {
            throw FreezeRestoreError.dataNotLocal(server: primary.address, table: target.description, path: dataPath)
        }
        let detached = FreezeRestoreLayout.detachedDirectory(dataPath: dataPath)
        let inTheWay = try DetachedDirectory.inTheWay(detached, partitions: Set(files.partitions))
        guard inTheWay.isEmpty else {
            throw FreezeRestoreError.detachedInTheWay(server: primary.address, directory: detached, entries: inTheWay)
        }
        session.record("shard", .number(Double(server.shard)))
        session.record("server", .string(primary.address))
        session.record("directory", .string(dataPath))
        session.record("owner", owner.evidence)
        session.record("files", .number(Double(files.files.count)))
        session.record("bytes", .number(Double(files.bytes)))
        session.record("partitions", .array(files.partitions.map { .string($0) }))
        return Located(files: files, server: server, dataPath: dataPath, detached: detached, owner: owner)
    }

    private func download(_ shard: Located, backup: String, store: any BackupStore, step: String, cleanup: inout DetachedCleanup,
                          progress: DownloadProgress, session: OperationSession) throws {
        let label = shard.server.label
        if try DetachedDirectory.make(shard.detached, like: shard.owner, existing: true) {
            try DetachedDirectory.adopt(shard.detached, like: shard.owner)
        }
        // Every directory first, each registered for removal the moment it exists; the parallel
        // transfers then only write files.
        var directories = shard.files.parts.map { shard.detached + $0 + "/" }
        for file in shard.files.files {
            let below = file.path.split(separator: "/").dropLast()
            for depth in below.indices {
                let directory = shard.detached + file.part + "/" + below[...depth].joined(separator: "/") + "/"
                if !directories.contains(directory) { directories.append(directory) }
            }
        }
        for directory in directories {
            if try DetachedDirectory.make(directory, like: shard.owner, existing: false) {
                cleanup.register(directory, server: label)
            }
            try DetachedDirectory.adopt(directory, like: shard.owner)
        }
        let items = shard.files.files.map { file in
            DownloadItem(key: BackupLayout.folder(backup) + file.manifest.key, manifest: file.manifest,
                         destination: FreezeRestoreLayout.destination(file, detached: shard.detached))
        }
        try FreezeRestoreDownload.run(items, from: store, width: transfers, backup: backup, owner: shard.owner,
                                      interrupt: session.context.interrupt, step: step, progress: progress)
        session.record("shard", .number(Double(shard.server.shard)))
        session.record("directory", .string(shard.detached))
        session.record("files", .number(Double(items.count)))
        session.record("bytes", .number(Double(shard.files.bytes)))
        session.record("parts", .number(Double(shard.files.parts.count)))
        session.record("partitions", .array(shard.files.partitions.map { .string($0) }))
    }

    private func attach(_ shard: Located, target: QualifiedTable, step: String, session: OperationSession) throws {
        let primary = shard.server.primary
        var sent: [JSONValue] = []
        session.record("shard", .number(Double(shard.server.shard)))
        session.record("server", .string(primary.address))
        session.record("partitions", .array(shard.files.partitions.map { .string($0) }))
        do {
            for partition in shard.files.partitions {
                if let signal = session.context.interrupt.signal { throw OperationInterrupted(signal: signal, step: step) }
                let sql = try FreezeRestoreStatements.attach(target, partition: partition)
                try primary.execute(sql, options: .init(timeout: FreezeRestoreStatements.attachTimeout))
                sent.append(.string(sql.sql))
            }
        } catch {
            session.record("statements", .array(sent))
            throw error
        }
        session.record("statements", .array(sent))
        let left = shard.files.parts.filter { ShadowDirectory.isDirectory(shard.detached + $0) }
        guard left.isEmpty else {
            throw FreezeRestoreError.notAttached(server: primary.address, table: target.description, parts: left)
        }
    }
}

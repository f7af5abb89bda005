import Foundation

/// `restore`: a backup read back into ClickHouse. By default staged: loaded into
/// `luminate_restore_<id>`, verified there against the manifest, moved into the live tables one
/// partition at a time with `REPLACE PARTITION`, and the staging database dropped. Nothing live is
/// replaced before its replacement is verified; a restore that stops keeps each partition whole
/// (old or restored) and leaves the staging database for inspection, named in the error.
package struct RestorePlan: OperationPlan {
    package var point: RestorePoint
    package var mode: RestoreMode
    package var selection: RestoreSelection
    package var tables: [TableRestore]
    package var engine: any RestoreEngine
    package var store: any BackupStore
    package var servers: RestoreServers
    package var json: Bool

    package init(point: RestorePoint, mode: RestoreMode, selection: RestoreSelection, tables: [TableRestore],
                 engine: any RestoreEngine, store: any BackupStore, servers: RestoreServers, json: Bool = false) {
        self.point = point
        self.mode = mode
        self.selection = selection
        self.tables = tables
        self.engine = engine
        self.store = store
        self.servers = servers
        self.json = json
    }

    package var manifest: BackupManifest { point.manifest }
    var workDatabase: String? { mode.workDatabase(backup: manifest.id) }

    package var spec: OperationSpec {
        OperationSpec(kind: "restore", targets: tables.map { "clickhouse/\($0.destination)" }, inputs: [
            "backup": .string(manifest.id),
            "chain": .array(point.chain.map { .string($0.id) }),
            "mode": .string(mode.name),
            "requestedTime": point.requested.map { .string(JournalTime.format($0)) } ?? .null,
            "tables": .array(selection.tables.map { .string($0) }),
            "partitions": .array(selection.partitions.map { .string($0) }),
            "store": .string(store.location),
        ])
    }

    package func describe() -> String { RestoreText.plan(self) }
    package func describeJSON() -> JSONValue { RestoreJSON.plan(self) }

    /// What each table is loaded into: the staging copy, or the destination itself.
    func loadTarget(_ restore: TableRestore) -> QualifiedTable {
        guard let workDatabase, mode == .staged else { return restore.destination }
        return QualifiedTable(workDatabase, restore.source.table)
    }

    /// The steps in order, for the plan's text.
    var steps: [String] {
        var steps: [String] = []
        if let workDatabase { steps.append("create database \(workDatabase) on every server") }
        if case .beside(let database) = mode { steps.append("create database \(database) if it does not exist") }
        for restore in tables where restore.holdsData && !restore.restored.isEmpty {
            let target = loadTarget(restore)
            if target != restore.destination || !restore.exists {
                steps.append("create \(target) from the backup's definition\(target != restore.destination || !mode.isInPlace ? " (not replicated)" : "")")
            }
            let load = RestoreLoad(manifest: manifest, source: restore.source, partitions: restore.restoredIDs, target: target, servers: servers)
            steps += engine.describe(load)
            steps.append("count rows per partition of \(target) on every shard; stop unless each matches the manifest")
        }
        if mode == .staged {
            for restore in tables where !restore.exists && restore.holdsData {
                steps.append("create \(restore.destination) from the backup's definition (it does not exist)")
            }
        }
        if mode.changesLiveTables {
            for restore in tables where !restore.exists && !restore.holdsData {
                steps.append("create \(restore.destination) from the backup's definition")
            }
        }
        if mode == .staged {
            for restore in tables {
                for partition in restore.restored {
                    steps.append("ALTER TABLE \(restore.destination) REPLACE PARTITION ID '\(partition.id)' FROM \(loadTarget(restore)), then count it")
                }
            }
        }
        if mode.changesLiveTables, tables.contains(where: { $0.definition.isReplicated }), servers.shards.contains(where: { $0.replicas.count > 1 }) {
            steps.append("SYSTEM SYNC REPLICA on the other replicas and compare their counts")
        }
        if let workDatabase { steps.append("drop database \(workDatabase)") }
        return steps
    }

    package func execute(in session: OperationSession) throws -> ExitCode {
        let context = session.context
        if !json { context.console.write(describe()) }
        let work = RestoreWork(manifest: manifest, engine: engine, store: store, servers: servers, session: session)
        let started = context.clock.now()
        var replaced: [String] = []
        var workCreated = false
        do {
            try session.step("restore point") {
                session.record("backup", .string(manifest.id))
                session.record("snapshotAt", .string(JournalTime.format(manifest.snapshotAt)))
                session.record("statement", .string(point.statement))
                if let gap = point.gapSeconds { session.record("gapSeconds", .number(gap)) }
            }
            if let workDatabase {
                try work.createDatabase(workDatabase)
                workCreated = true
            }
            if case .beside(let database) = mode { try work.createDatabase(database, ifNotExists: true) }

            var staged: [QualifiedTable: PartitionCounts] = [:]
            let progress = context.console.progress("restore \(manifest.id)", clock: context.clock, logEvery: 10)
            for restore in tables where restore.holdsData && !restore.restored.isEmpty {
                let target = loadTarget(restore)
                if target != restore.destination {
                    try work.createTable(restore, as: target, unreplicated: true)
                } else if !restore.exists {
                    try work.createTable(restore, as: target, unreplicated: !mode.isInPlace)
                }
                let allowNonEmpty = mode == .inPlace(allowNonEmpty: true)
                staged[restore.destination] = try work.loadAndVerify(restore, into: target, allowNonEmpty: allowNonEmpty) { report in
                    let elapsed = max(0.001, context.clock.now().timeIntervalSince(started))
                    let total = report.totalBytes.map { " of \(ByteSize.format($0))" } ?? ""
                    progress.update("\(restore.source.table): \(report.phase) \(report.files) files, \(ByteSize.format(report.bytes))\(total), \(ByteSize.format(UInt64(Double(report.bytes) / elapsed)))/s")
                }
            }
            progress.finish("loaded and verified")

            if mode.changesLiveTables {
                // The data tables first: a Distributed table names its local table.
                for restore in tables where !restore.exists && restore.holdsData && mode == .staged {
                    try work.createTable(restore, as: restore.destination, unreplicated: false)
                }
                for restore in tables where !restore.exists && !restore.holdsData {
                    try work.createTable(restore, as: restore.destination, unreplicated: false)
                }
            }
            if mode == .staged {
                for restore in tables {
                    guard let counts = staged[restore.destination] else { continue }
                    for partition in restore.restored {
                        try work.replace(partition, of: restore, from: loadTarget(restore), staged: counts)
                        replaced.append("\(restore.destination) partition \(partition.id)")
                    }
                }
            }
            let lagging = mode.changesLiveTables ? try work.checkReplicas(tables) : []
            if let workDatabase { try work.dropDatabase(workDatabase) }

            let duration = context.clock.now().timeIntervalSince(started)
            session.record("durationSeconds", .number(duration))
            session.record("rows", .number(Double(tables.reduce(0) { $0 + $1.restoredRows })))
            if json {
                context.console.line(RestoreJSON.result(self, durationSeconds: duration, lagging: lagging).rendered(pretty: true))
            } else {
                context.console.write(RestoreText.result(self, durationSeconds: duration, lagging: lagging))
            }
            return .success
        } catch {
            throw RestoreStopped(underlying: error, backup: manifest.id, workDatabase: workCreated ? workDatabase : nil,
                                 replaced: replaced, liveChanged: mode.changesLiveTables)
        }
    }
}

import Foundation

/// `restore drill`: the proof that a backup restores, and how long it takes. Restores into the
/// scratch database `luminate_drill_<id>`, verifies every partition's rows against the manifest
/// (and, where the live table still holds a partition unchanged since the backup, its checksum
/// against the live one), measures the wall time, projects it to the whole backup, compares that
/// with the RTO, journals the evidence (`kind: restore.drill`) and drops the scratch database.
/// Nothing live is touched.
package struct RestoreDrillPlan: OperationPlan {
    package var restore: RestorePlan
    package var rto: Double

    package init(restore: RestorePlan, rto: Double) {
        self.restore = restore
        self.rto = rto
    }

    var manifest: BackupManifest { restore.manifest }
    var scratch: String { RestoreMode.scratchDatabase(manifest.id) }

    package var spec: OperationSpec {
        var spec = restore.spec
        spec.kind = DrillRecords.kind
        spec.targets = ["clickhouse/\(scratch)"]
        spec.inputs.set("rto", .number(rto))
        return spec
    }

    package func describe() -> String {
        var out = "  restore drill of backup \(manifest.id) (\(manifest.engine.rawValue)) into scratch database \(scratch) on \(restore.servers.summary)\n"
        out += "  \(restore.point.statement)\n"
        let partitions = restore.tables.reduce(0) { $0 + $1.restored.count }
        let bytes = restore.tables.reduce(0) { $0 + $1.restoredBytes }
        out += "  restores \(partitions) partition\(partitions == 1 ? "" : "s") (\(ByteSize.format(bytes)) of the backup's \(ByteSize.format(Self.fullBytes(manifest)))); the live tables are only read\n"
        out += "\n  steps:\n"
        var steps = restore.steps
        steps.insert("compare sum(cityHash64(*)) per partition with the live table where it is unchanged since the backup", at: max(0, steps.count - 1))
        steps.append("project the measured time to the whole backup and compare it with the RTO (\(DurationParser.format(rto)))")
        for (index, step) in steps.enumerated() { out += "    \(index + 1). \(step)\n" }
        return out
    }

    package func describeJSON() -> JSONValue {
        var plan = restore.describeJSON()
        plan.set("scratchDatabase", .string(scratch))
        plan.set("rtoSeconds", .number(rto))
        return plan
    }

    /// Every byte the backup holds, as its partitions count them.
    static func fullBytes(_ manifest: BackupManifest) -> UInt64 { manifest.tables.reduce(0) { $0 + $1.bytes } }

    package func execute(in session: OperationSession) throws -> ExitCode {
        let context = session.context
        let json = restore.json
        if !json { context.console.write(describe()) }
        let work = RestoreWork(manifest: manifest, engine: restore.engine, store: restore.store, servers: restore.servers, session: session)
        let started = context.clock.now()
        var problems: [String] = []
        var created = false
        do {
            try work.createDatabase(scratch)
            created = true
            let progress = context.console.progress("drill \(manifest.id)", clock: context.clock, logEvery: 10)
            for table in restore.tables where table.holdsData && !table.restored.isEmpty {
                try work.createTable(table, as: table.destination, unreplicated: true)
                do {
                    try work.loadAndVerify(table, into: table.destination) { report in
                        progress.update("\(table.source.table): \(report.phase) \(report.files) files, \(ByteSize.format(report.bytes))")
                    }
                } catch let failed as RestoreVerificationFailed {
                    problems += failed.problems.map { "\(failed.table): \($0)" }
                }
            }
            progress.finish("loaded")
            let measured = context.clock.now().timeIntervalSince(started)
            problems += try compareWithLive(session: session)
            if problems.isEmpty { try work.dropDatabase(scratch) }

            let projection = DrillProjection(measuredSeconds: measured, restoredBytes: restore.tables.reduce(0) { $0 + $1.restoredBytes },
                                             fullBytes: Self.fullBytes(manifest), rto: rto)
            if !projection.withinRTO {
                problems.append("the projected restore of the whole backup takes \(DurationParser.format(projection.projectedSeconds.rounded())), more than the RTO of \(DurationParser.format(rto))")
            }
            let verdict = problems.isEmpty ? "pass" : "fail"
            session.record("backup", .string(manifest.id))
            session.record("verdict", .string(verdict))
            session.record("measuredSeconds", .number(measured))
            session.record("projectedSeconds", .number(projection.projectedSeconds))
            session.record("rtoSeconds", .number(rto))
            session.record("restoredBytes", .number(Double(projection.restoredBytes)))
            session.record("fullBytes", .number(Double(projection.fullBytes)))
            session.record("method", .string(projection.method))
            session.record("problems", .array(problems.map { .string($0) }))
            if json {
                context.console.line(JSONValue.object([
                    ("backup", .string(manifest.id)), ("verdict", .string(verdict)), ("measuredSeconds", .number(measured)),
                    ("projectedSeconds", .number(projection.projectedSeconds)), ("rtoSeconds", .number(rto)),
                    ("method", .string(projection.method)), ("problems", .array(problems.map { .string($0) })),
                    ("scratchDatabase", problems.isEmpty ? .null : .string(scratch)),
                ]).rendered(pretty: true))
            } else {
                context.console.write(DrillText.result(backup: manifest.id, verdict: verdict, projection: projection, problems: problems,
                                                       scratchLeft: problems.isEmpty ? nil : scratch))
            }
            return problems.isEmpty ? .success : .failure
        } catch {
            throw RestoreStopped(underlying: error, backup: manifest.id, workDatabase: created ? scratch : nil, replaced: [], liveChanged: false)
        }
    }

    /// Checksums of the restored partitions against the live table's, where the live partition
    /// holds the backup's row count on every shard and no part of it is newer than the snapshot
    /// (a merge since counts as newer: the comparison is skipped, never wrongly failed).
    private func compareWithLive(session: OperationSession) throws -> [String] {
        try session.step("compare checksums with the live tables") {
            var problems: [String] = []
            var compared: [JSONValue] = []
            var skipped = 0
            for table in restore.tables where table.holdsData && !table.restored.isEmpty {
                let live = QualifiedTable(table.source.database, table.source.table)
                for shard in restore.servers.shards {
                    let state = try LiveState.read(live, on: shard.primary)
                    var comparable: [String] = []
                    for partition in table.restoredIDs {
                        let expected = table.expected(shard: shard.shard, partition: partition)
                        guard expected.lowerBound == expected.upperBound, expected.lowerBound > 0,
                              let now = state[partition], now.rows == expected.lowerBound,
                              now.newest <= manifest.snapshotAt.timeIntervalSince1970 else {
                            skipped += 1
                            continue
                        }
                        comparable.append(partition)
                    }
                    guard !comparable.isEmpty else { continue }
                    // One scan of each copy, both at once: hashing every row is the drill's cost.
                    let server = shard.primary, partitions = comparable
                    let sums = try parallelMap([table.destination, live], width: 2) { copy in
                        try LiveState.checksums(copy, partitions: partitions, on: server)
                    }
                    for partition in comparable {
                        let restored = sums[0][partition] ?? 0, current = sums[1][partition] ?? 0
                        compared.append(["table": .string(live.description), "partition": .string(partition), "shard": .number(Double(shard.shard)),
                                         "restored": .string(String(restored)), "live": .string(String(current)), "equal": .bool(restored == current)])
                        if restored != current {
                            problems.append("\(live) partition \(partition) on shard \(shard.shard): checksum \(restored) restored, \(current) live, though the live partition is unchanged since the backup")
                        }
                    }
                }
            }
            session.record("compared", .array(compared))
            session.record("skipped", .number(Double(skipped)))
            return problems
        }
    }
}

/// What the live table holds of each partition: rows and its newest part's modification time.
enum LiveState {
    struct Partition { var rows: UInt64; var newest: Double }

    static func read(_ table: QualifiedTable, on server: any RestoreSQL) throws -> [String: Partition] {
        struct Row: Decodable { var partition_id: String; var rows: FlexibleUInt64; var newest: FlexibleUInt64 }
        let sql: SQLFragment = "SELECT partition_id, sum(rows) AS rows, toUInt64(toUnixTimestamp(max(modification_time))) AS newest FROM system.parts WHERE active AND database = \(literal: table.database) AND table = \(literal: table.table) GROUP BY partition_id"
        var result: [String: Partition] = [:]
        for row in try server.query(sql, as: Row.self) {
            result[row.partition_id] = Partition(rows: row.rows.value, newest: Double(row.newest.value))
        }
        return result
    }

    /// `sum(cityHash64(*))` per partition, in one scan. Parts are named `<partition id>_...` on
    /// every version (18.16 has no `_partition_id`).
    static func checksums(_ table: QualifiedTable, partitions: [String], on server: any RestoreSQL) throws -> [String: UInt64] {
        struct Row: Decodable { var partition: String; var checksum: FlexibleUInt64 }
        let sql: SQLFragment = try "SELECT substring(_part, 1, position(_part, '_') - 1) AS partition, sum(cityHash64(*)) AS checksum FROM \(table.sql) WHERE partition IN (\(SQL.list(partitions.map { SQL.string($0) }))) GROUP BY partition"
        let rows = try server.query(sql, as: Row.self, options: .init(timeout: RestoreWork.longTimeout))
        return Dictionary(rows.map { ($0.partition, $0.checksum.value) }) { first, _ in first }
    }
}

import Foundation

/// How restores read on a terminal: the plan (per table, the partitions replaced, added or left
/// alone with their row counts, then the steps) and the result.
package enum RestoreText {
    package static func plan(_ plan: RestorePlan) -> String {
        let manifest = plan.manifest
        var out = "  restore backup \(manifest.id) (\(manifest.engine.rawValue), \(manifest.type.rawValue)) \(plan.mode.name), into \(plan.servers.summary)\n"
        out += "  \(plan.point.statement)\n"
        for restore in plan.tables {
            out += "\n" + table(restore)
        }
        out += "\n  steps:\n"
        for (index, step) in plan.steps.enumerated() { out += "    \(index + 1). \(step)\n" }
        return out
    }

    static func table(_ restore: TableRestore) -> String {
        let name = restore.destination.description + (restore.destination.description != restore.source.qualifiedName ? " (from \(restore.source.qualifiedName))" : "")
        guard restore.holdsData else {
            return "  \(name): \(restore.definition.engine), no data; \(restore.exists ? "exists with the backup's structure, left as it is" : "does not exist: created from the backup's definition")\n"
        }
        let counts = Dictionary(grouping: restore.partitions, by: \.action).mapValues(\.count)
        var out = "  \(name): \(restore.exists ? "" : "does not exist, created; ")"
        out += [PartitionChange.Action.replace, .add, .leave].compactMap { action in counts[action].map { "\($0) \(action.rawValue)" } }.joined(separator: ", ") + "\n"
        var rows = [["PARTITION", "ACTION", "CURRENT ROWS", "RESTORED ROWS"]]
        for run in runs(restore.partitions) {
            guard run.count == 1 else {
                // A long stretch left alone reads as one line (-o json lists every partition).
                rows.append(["\(run[0].id) ... \(run[run.count - 1].id) (\(run.count))", PartitionChange.Action.leave.rawValue,
                             "\(run.reduce(0) { $0 + $1.currentRows })", "-"])
                continue
            }
            let partition = run[0]
            let restored = partition.restoredRows.map { rows in partition.restoredRowsUpperBound.map { "\(rows)-\($0)" } ?? "\(rows)" } ?? "-"
            rows.append([partition.id, partition.action.rawValue, "\(partition.currentRows)", restored])
        }
        out += BackupText.table(rows, indent: "    ")
        return out
    }

    /// Partitions in order, where more than three in a row left alone make one run.
    static func runs(_ partitions: [PartitionChange]) -> [[PartitionChange]] {
        var runs: [[PartitionChange]] = []
        var pending: [PartitionChange] = []
        func flush() {
            if pending.count > 3 { runs.append(pending) } else { runs += pending.map { [$0] } }
            pending = []
        }
        for partition in partitions {
            if partition.action == .leave {
                pending.append(partition)
            } else {
                flush()
                runs.append([partition])
            }
        }
        flush()
        return runs
    }

    package static func result(_ plan: RestorePlan, durationSeconds: Double, lagging: [String]) -> String {
        let restored = plan.tables.reduce(0) { $0 + $1.restored.count }
        let rows = plan.tables.reduce(0) { $0 + $1.restoredRows }
        var out = "Restored backup \(plan.manifest.id): \(restored) partition\(restored == 1 ? "" : "s"), \(rows) rows, verified against its manifest, in \(DurationParser.format(durationSeconds.rounded()))\n"
        switch plan.mode {
        case .staged: out += "The live tables now hold the backup's rows in those partitions; every other partition is as it was.\n"
        case .beside(let database): out += "The data is in database \(database), beside the live tables; nothing live was changed.\n"
        case .inPlace: out += "The data was loaded straight into the live tables.\n"
        case .drill: break
        }
        if !lagging.isEmpty { out += "Replicas still catching up (ClickHouse goes on fetching):\n" + lagging.map { "  " + $0 + "\n" }.joined() }
        return out
    }
}

/// The same for `-o json`.
package enum RestoreJSON {
    package static func plan(_ plan: RestorePlan) -> JSONValue {
        .object([
            ("backup", .string(plan.manifest.id)),
            ("engine", .string(plan.manifest.engine.rawValue)),
            ("mode", .string(plan.mode.name)),
            ("chain", .array(plan.point.chain.map { .string($0.id) })),
            ("restoresTo", .string(JournalTime.format(plan.manifest.snapshotAt))),
            ("requestedTime", plan.point.requested.map { .string(JournalTime.format($0)) } ?? .null),
            ("gapSeconds", plan.point.gapSeconds.map(JSONValue.number) ?? .null),
            ("statement", .string(plan.point.statement)),
            ("workDatabase", plan.workDatabase.map(JSONValue.string) ?? .null),
            ("tables", .array(plan.tables.map(table))),
            ("steps", .array(plan.steps.map { .string($0) })),
        ])
    }

    static func table(_ restore: TableRestore) -> JSONValue {
        .object([
            ("table", .string(restore.destination.description)),
            ("source", .string(restore.source.qualifiedName)),
            ("engine", .string(restore.definition.engine)),
            ("exists", .bool(restore.exists)),
            ("partitions", .array(restore.partitions.map { partition in
                .object([
                    ("id", .string(partition.id)),
                    ("action", .string(partition.action.rawValue)),
                    ("currentRows", .number(Double(partition.currentRows))),
                    ("restoredRows", partition.restoredRows.map { .number(Double($0)) } ?? .null),
                ])
            })),
        ])
    }

    package static func result(_ plan: RestorePlan, durationSeconds: Double, lagging: [String]) -> JSONValue {
        .object([
            ("backup", .string(plan.manifest.id)),
            ("mode", .string(plan.mode.name)),
            ("result", "restored"),
            ("durationSeconds", .number(durationSeconds)),
            ("tables", .array(plan.tables.map(table))),
            ("laggingReplicas", .array(lagging.map { .string($0) })),
        ])
    }
}

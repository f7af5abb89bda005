import Foundation

/// The text forms of `backup list`, `backup show` and `backup status`.
package enum BackupText {
    package static func list(_ entries: [CatalogueEntry], now: Date) -> String {
        guard !entries.isEmpty else { return "No backups in the store.\n" }
        var rows = [["ID", "TIME (UTC)", "ENGINE", "TYPE", "TABLES", "ROWS", "SIZE", "STATUS", "AGE"]]
        for entry in entries {
            switch entry.state {
            case .complete(let manifest):
                rows.append([
                    manifest.id, time(manifest.snapshotAt), manifest.engine.rawValue,
                    manifest.base.map { "incremental on \($0)" } ?? "full",
                    "\(manifest.tables.count)", "\(manifest.rows)", ByteSize.format(manifest.sizeBytes),
                    "complete", age(now.timeIntervalSince(manifest.snapshotAt)),
                ])
            case .incomplete(let details):
                let started = details.marker?.startedAt ?? entry.id.time
                rows.append([
                    entry.id.text, time(started), details.marker?.engine.rawValue ?? "-", "-", "-", "-",
                    ByteSize.format(details.bytes), "incomplete", age(now.timeIntervalSince(started)),
                ])
            }
        }
        var out = table(rows)
        let incomplete = entries.filter { $0.manifest == nil }
        if !incomplete.isEmpty {
            out += "\n\(incomplete.count) incomplete backup\(incomplete.count == 1 ? "" : "s") (no manifest: never restored from, never counted towards the RPO); remove with: luminatectl backup delete ID\n"
        }
        return out
    }

    package static func show(_ manifest: BackupManifest, location: String) -> String {
        var out = "Backup \(manifest.id) in \(location)\n"
        out += "  status:     complete (manifest format \(manifest.format))\n"
        out += "  engine:     \(manifest.engine.rawValue), ClickHouse \(manifest.serverVersion)\n"
        out += "  type:       \(manifest.base.map { "incremental on \($0)" } ?? "full")\n"
        out += "  snapshot:   \(time(manifest.snapshotAt)) UTC\n"
        out += "  took:       \(DurationParser.format(manifest.durationSeconds)) (\(time(manifest.startedAt)) to \(time(manifest.finishedAt)))\n"
        out += "  size:       \(ByteSize.format(manifest.sizeBytes)), \(manifest.rows) rows\n"
        out += "  operation:  \(manifest.operationID) (luminatectl journal show \(manifest.operationID))\n"
        if let cluster = manifest.cluster {
            let shards = cluster.shards.map { "shard \($0.shard) from \($0.replica) (1 of \($0.replicas))" }
            out += "  cluster:    \(cluster.name): \(shards.joined(separator: "; "))\n"
        }
        if let native = manifest.native {
            out += "  clickhouse: \(native.destination), backup id \(native.clickhouseBackupID), \(native.files) files\n"
        }
        if !manifest.files.isEmpty {
            out += "  files:      \(manifest.files.count), each with its SHA-256\n"
        }
        for backedUp in manifest.tables {
            out += "\n  \(backedUp.qualifiedName) (\(backedUp.engine)): \(backedUp.rows) rows, \(ByteSize.format(backedUp.bytes)), \(backedUp.partitions.count) partition\(backedUp.partitions.count == 1 ? "" : "s")\n"
            var rows = [["SHARD", "PARTITION", "ROWS", "SIZE"]]
            for partition in backedUp.partitions {
                let count = partition.rowsUpperBound.map { "\(partition.rows)..\($0)" } ?? "\(partition.rows)"
                rows.append(["\(partition.shard)", partition.id, count, ByteSize.format(partition.bytes)])
            }
            out += table(rows, indent: "    ")
        }
        return out
    }

    package static func status(_ status: RecoveryPointStatus) -> String {
        var out = ""
        switch status.verdict {
        case .ok, .breached:
            let newest = status.newest!
            let word = status.verdict == .ok ? "within" : "BREACHED:"
            out += "RPO \(DurationParser.format(status.rpo)): \(word) the newest complete backup, \(newest.id), is \(age(status.age!)) old\n"
        case .noBackup:
            out += "RPO \(DurationParser.format(status.rpo)): BREACHED: the store holds no complete backup\n"
        }
        out += "\nRecoverable points, last 7 days (UTC; one cell per hour from 00 to 23; ▇ backup, · none):\n"
        let strip = Array(status.strip)
        for day in 0..<7 {
            let start = status.hoursStart.addingTimeInterval(Double(day * 24) * 3600)
            out += "  \(time(start).prefix(10))  \(String(strip[(day * 24)..<((day + 1) * 24)]))\n"
        }
        out += "\n\(status.completeCount) complete backup\(status.completeCount == 1 ? "" : "s")"
        if let start = status.longestGapStart {
            out += "; longest gap in the window: \(age(status.longestGap)) from \(time(start))"
        }
        out += "\n"
        if !status.incomplete.isEmpty {
            out += "\nIncomplete (failed, killed or still running):\n"
            for entry in status.incomplete {
                if case .incomplete(let details) = entry.state {
                    let operation = details.marker.map { ", operation \($0.operationID)" } ?? ""
                    out += "  \(entry.id.text): \(details.objects) objects, \(ByteSize.format(details.bytes))\(operation)\(details.problem.map { "; \($0)" } ?? "")\n"
                }
            }
        }
        return out
    }

    /// `2026-11-30 14:05:00`.
    static func time(_ date: Date) -> String {
        let text = Timestamp.format(date)
        return text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
    }

    /// `2h 5m`, `3d 4h`, `45s`: two units at most.
    static func age(_ seconds: Double) -> String {
        let total = max(0, Int(seconds.rounded()))
        let units = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]
        var parts: [String] = []
        var rest = total
        for (unit, size) in units where rest >= size && parts.count < 2 {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        return parts.isEmpty ? "0s" : parts.joined(separator: " ")
    }

    static func table(_ rows: [[String]], indent: String = "") -> String {
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            indent + row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

extension BackupText {
    package static func verification(_ report: VerificationReport) -> String {
        if report.passed {
            return "Backup \(report.id) verified: \(report.checked) objects, \(ByteSize.format(report.bytes)) (\(report.method)).\n"
        }
        var out = "Backup \(report.id) is DAMAGED: \(report.problems.count) of \(report.checked) objects (\(report.method)):\n"
        for problem in report.problems {
            out += "  \(problem.kind.rawValue): \(problem.key): \(problem.detail)\n"
        }
        return out + "Restore from another backup; luminatectl backup list shows them.\n"
    }
}

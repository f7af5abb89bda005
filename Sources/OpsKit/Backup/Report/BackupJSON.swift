import Foundation

/// The `-o json` forms of `backup list`, `show` and `status`: stable names, times in RFC 3339,
/// sizes in bytes, ages in seconds.
package enum BackupJSON {
    package static func list(_ entries: [CatalogueEntry], now: Date, location: String) -> JSONValue {
        .object([
            ("store", .string(location)),
            ("backups", .array(entries.map { entry(for: $0, now: now) })),
        ])
    }

    package static func entry(for entry: CatalogueEntry, now: Date) -> JSONValue {
        switch entry.state {
        case .complete(let manifest):
            return .object([
                ("id", .string(manifest.id)),
                ("time", .string(Timestamp.format(manifest.snapshotAt))),
                ("engine", .string(manifest.engine.rawValue)),
                ("type", .string(manifest.type.rawValue)),
                ("base", manifest.base.map(JSONValue.string) ?? .null),
                ("tables", .array(manifest.tables.map { .string($0.qualifiedName) })),
                ("rows", .number(Double(manifest.rows))),
                ("sizeBytes", .number(Double(manifest.sizeBytes))),
                ("status", "complete"),
                ("ageSeconds", .number(now.timeIntervalSince(manifest.snapshotAt).rounded())),
            ])
        case .incomplete(let details):
            let started = details.marker?.startedAt ?? entry.id.time
            return .object([
                ("id", .string(entry.id.text)),
                ("time", .string(Timestamp.format(started))),
                ("engine", details.marker.map { .string($0.engine.rawValue) } ?? .null),
                ("status", "incomplete"),
                ("objects", .number(Double(details.objects))),
                ("sizeBytes", .number(Double(details.bytes))),
                ("operationID", details.marker.map { .string($0.operationID) } ?? .null),
                ("problem", details.problem.map(JSONValue.string) ?? .null),
                ("ageSeconds", .number(now.timeIntervalSince(started).rounded())),
            ])
        }
    }

    /// The manifest itself, as stored.
    package static func show(_ manifest: BackupManifest) throws -> JSONValue {
        try JSONValue.parse(try manifest.encoded())
    }

    package static func status(_ status: RecoveryPointStatus) -> JSONValue {
        .object([
            ("verdict", .string(status.verdict.rawValue)),
            ("rpoSeconds", .number(status.rpo)),
            ("at", .string(Timestamp.format(status.now))),
            ("newest", status.newest.map { .string($0.id) } ?? .null),
            ("newestAgeSeconds", status.age.map { .number($0.rounded()) } ?? .null),
            ("completeBackups", .number(Double(status.completeCount))),
            ("longestGapSeconds", .number(status.longestGap.rounded())),
            ("timeline", .object([
                ("start", .string(Timestamp.format(status.hoursStart))),
                ("hourly", .array(status.hours.map { $0.map(JSONValue.bool) ?? .null })),
            ])),
            ("incomplete", .array(status.incomplete.map { .string($0.id.text) })),
        ])
    }
}

extension BackupJSON {
    package static func verification(_ report: VerificationReport) -> JSONValue {
        .object([
            ("id", .string(report.id)),
            ("verdict", .string(report.passed ? "ok" : "damaged")),
            ("method", .string(report.method)),
            ("checked", .number(Double(report.checked))),
            ("bytes", .number(Double(report.bytes))),
            ("problems", .array(report.problems.map { problem in
                .object([("key", .string(problem.key)), ("kind", .string(problem.kind.rawValue)), ("detail", .string(problem.detail))])
            })),
        ])
    }
}

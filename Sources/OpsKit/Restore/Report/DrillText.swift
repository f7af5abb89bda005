import Foundation

/// How drills read on a terminal: one drill's verdict, and `restore drill --list`.
package enum DrillText {
    static func result(backup: String, verdict: String, projection: DrillProjection, problems: [String], scratchLeft: String?) -> String {
        var out = "Drill of backup \(backup): \(verdict == "pass" ? "PASS" : "FAIL")\n"
        out += "  measured \(DurationParser.format(projection.measuredSeconds.rounded())), projected for the whole backup \(DurationParser.format(projection.projectedSeconds.rounded())) against the RTO of \(DurationParser.format(projection.rto))\n"
        out += "  projection: \(projection.method)\n"
        for problem in problems { out += "  problem: \(problem)\n" }
        if let scratchLeft { out += "  \(scratchLeft) is left for inspection; remove it with: luminatectl restore cleanup \(backup)\n" }
        return out
    }

    package static func list(_ drills: [DrillRecord], journal: String) -> String {
        guard !drills.isEmpty else { return "No restore drills in \(journal) yet: luminatectl restore drill runs one.\n" }
        var rows = [["DATE", "BACKUP", "VERDICT", "MEASURED", "PROJECTED"]]
        for drill in drills {
            rows.append([JournalTime.format(drill.finishedAt), drill.backup, drill.verdict,
                         drill.measuredSeconds.map { DurationParser.format($0.rounded()) } ?? "-",
                         drill.projectedSeconds.map { DurationParser.format($0.rounded()) } ?? "-"])
        }
        return BackupText.table(rows)
    }

    package static func listJSON(_ drills: [DrillRecord], journal: String) -> JSONValue {
        .object([
            ("journal", .string(journal)),
            ("drills", .array(drills.map { drill in
                .object([
                    ("operation", .string(drill.operationID)), ("finishedAt", .string(JournalTime.format(drill.finishedAt))),
                    ("backup", .string(drill.backup)), ("verdict", .string(drill.verdict)),
                    ("measuredSeconds", drill.measuredSeconds.map(JSONValue.number) ?? .null),
                    ("projectedSeconds", drill.projectedSeconds.map(JSONValue.number) ?? .null),
                    ("problems", .array(drill.problems.map { .string($0) })),
                ])
            })),
        ])
    }
}

import Foundation

/// The JSON report, schema version 1 (docs/checklist.md documents every field; fields are only
/// ever added, and a change to an existing one bumps `schemaVersion`).
package enum ReportJSON {
    package static let schemaVersion = 1

    package static func render(_ report: ChecklistReport) -> JSONValue {
        .object([
            ("schemaVersion", .number(Double(schemaVersion))),
            ("environment", .string(report.environment)),
            ("generatedAt", .string(timestamp(report.generatedAt))),
            ("mode", .object([
                ("static", .bool(report.staticMode)),
                ("live", .bool(report.liveMode)),
                ("strict", .bool(report.strict)),
                ("waivers", .bool(report.waiversUsed)),
            ])),
            ("manifests", .array(report.manifestSources.map { .string($0) })),
            ("summary", .object(report.summary.map { ($0.0.rawValue, .number(Double($0.1))) })),
            ("passed", .bool(report.exitCode == .success)),
            ("slowest", report.slowest.map { .object([("id", .string($0.check.id)), ("durationSeconds", seconds($0.seconds))]) } ?? .null),
            ("durationSeconds", seconds(report.wallSeconds)),
            ("checks", .array(report.results.map(check))),
        ])
    }

    static func check(_ result: CheckResult) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(result.check.id)),
            ("title", .string(result.check.title)),
            ("section", .string(result.check.section.title)),
            ("outcome", .string(result.outcome.rawValue)),
            ("modes", .array(result.modesRun.map { .string($0.rawValue) })),
            ("message", .string(result.message)),
            ("evidence", .array(result.evidence.map { .string($0) })),
            ("fix", result.fix.map { .string($0) } ?? .null),
        ]
        if let waiver = result.waiver {
            fields.append(("waiver", .object([
                ("status", .string(result.waiverStatus ?? "applied")),
                ("reason", .string(waiver.reason)),
                ("owner", .string(waiver.owner)),
                ("ticket", .string(waiver.ticket)),
                ("expires", .string(waiver.expiresText)),
                ("source", .string(waiver.mark.description)),
            ])))
        }
        if let attestation = result.attestation {
            var attested: [(String, JSONValue)] = [
                ("who", .string(attestation.who)),
                ("when", .string(attestation.whenText)),
                ("evidence", .string(attestation.evidence)),
                ("expires", .string(attestation.expiresText)),
                ("source", .string(attestation.mark.description)),
            ]
            if !attestation.figures.isEmpty {
                attested.append(("figures", .object(attestation.figures.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
            }
            fields.append(("attestation", .object(attested)))
        }
        fields.append(("parts", .array(result.parts.map { part in
            .object([
                ("mode", .string(part.mode.rawValue)),
                ("outcome", .string(part.outcome.rawValue)),
                ("message", .string(part.message)),
                ("evidence", .array(part.evidence.map { .string($0) })),
                ("durationSeconds", seconds(part.seconds)),
            ])
        })))
        fields.append(("durationSeconds", seconds(result.seconds)))
        return .object(fields)
    }

    /// Milliseconds are enough; more digits are noise that makes reports differ run to run.
    static func seconds(_ value: Double) -> JSONValue { .number((value * 1000).rounded() / 1000) }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// The catalogue as `checklist list -o json` prints it.
package enum CatalogueJSON {
    package static func render(_ checks: [ChecklistCheck]) -> JSONValue {
        .object([
            ("schemaVersion", .number(Double(ReportJSON.schemaVersion))),
            ("checks", .array(checks.map { check in
                .object([
                    ("id", .string(check.id)),
                    ("title", .string(check.title)),
                    ("section", .string(check.section.title)),
                    ("modes", .array(check.modes.map { .string($0.rawValue) })),
                ])
            })),
        ])
    }

    /// `checklist explain ID -o json`.
    package static func explain(_ check: ChecklistCheck) -> JSONValue {
        .object([
            ("id", .string(check.id)),
            ("title", .string(check.title)),
            ("section", .string(check.section.title)),
            ("modes", .array(check.modes.map { .string($0.rawValue) })),
            ("what", .string(check.explanation.what)),
            ("why", .string(check.explanation.why)),
            ("how", .string(check.explanation.how)),
            ("fix", .string(check.explanation.fix)),
            ("attestation", check.attestation.map { .string($0.statement) } ?? .null),
        ])
    }
}

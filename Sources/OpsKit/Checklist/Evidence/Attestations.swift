import Foundation

/// A signed-off statement that an item no file or API can prove was done: the on-call rotation
/// exists, the load test passed with these figures, the dashboards are imported. Who, when, a
/// link to the evidence, and when it must be renewed.
package struct Attestation: Sendable, Equatable {
    package var id: String
    package var who: String
    package var when: Date
    package var whenText: String
    /// A link (ticket, wiki page, report) or a path in the repository.
    package var evidence: String
    package var expires: Date
    package var expiresText: String
    /// Measured values some items require (PERF-1's p95s and throughput), as written.
    package var figures: [String: String]
    package var note: String?
    package var mark: SourceMark

    /// `attested by jane@example.com on 2026-10-01 (evidence: https://...; expires 2027-04-01)`
    package var summary: String {
        "attested by \(who) on \(whenText) (evidence: \(evidence); expires \(expiresText))"
    }
}

/// An attestations file:
///
/// ```yaml
/// attestations:
///   - id: OPS-2
///     who: jane.doe@example.com
///     when: 2026-10-01
///     evidence: https://wiki.example.com/oncall
///     expires: 2027-04-01
/// ```
package struct AttestationFile: Sendable {
    package var path: String
    package var entries: [Attestation]

    package static let keys = ["id", "who", "when", "evidence", "expires", "figures", "note"]

    /// Parses the file; `attestable` are the IDs of checks that take an attestation (any other
    /// ID is an error, so a typo cannot leave an item unattested without anyone noticing).
    package static func parse(_ data: Data, path: String, attestable: [String], allIDs: [String]) throws -> AttestationFile {
        let reader = ConfigReader()
        let root = try reader.document(data, path: path)
        guard let root else { return AttestationFile(path: path, entries: []) }
        let top = try reader.mapping(root, "", keys: ["attestations"])
        guard let list = top["attestations"] else { return AttestationFile(path: path, entries: []) }
        var entries: [Attestation] = []
        for (index, node) in try reader.sequence(list, "attestations").enumerated() {
            let p = "attestations[\(index)]"
            let f = try reader.mapping(node, p, keys: keys)
            let idNode = try reader.required(f, "id", in: node, p)
            let id = try ChecklistIDs.validate(idNode, "\(p).id", allowed: attestable, all: allIDs, what: "an attestation")
            let when = try reader.date(try reader.required(f, "when", in: node, p), "\(p).when")
            let expiresNode = try reader.required(f, "expires", in: node, p)
            let expiresText = try reader.date(expiresNode, "\(p).expires").text
            let expires = EvidenceDate.expiry(expiresText)!
            if expires <= when.date {
                throw ConfigError(mark: expiresNode.mark, keyPath: "\(p).expires", message: "expires before it was attested (\(when.text))")
            }
            var figures: [String: String] = [:]
            if let node = f["figures"] {
                for (key, value) in try reader.mapping(node, "\(p).figures", keys: []) {
                    figures[key] = try reader.string(value, "\(p).figures.\(key)").value
                }
            }
            entries.append(Attestation(
                id: id,
                who: try nonEmpty(reader, f, "who", node, p),
                when: when.date, whenText: when.text,
                evidence: try nonEmpty(reader, f, "evidence", node, p),
                expires: expires, expiresText: expiresText,
                figures: figures,
                note: try f["note"].map { try reader.string($0, "\(p).note").value },
                mark: node.mark))
        }
        return AttestationFile(path: path, entries: entries)
    }

    /// The most recent attestation of `id`.
    package func attestation(for id: String) -> Attestation? {
        entries.filter { $0.id == id }.max { $0.when < $1.when }
    }
}

/// A required, non-empty string field.
func nonEmpty(_ reader: ConfigReader, _ fields: [String: YAMLNode], _ key: String, _ node: YAMLNode, _ path: String) throws -> String {
    let value = try reader.string(try reader.required(fields, key, in: node, path), "\(path).\(key)")
    guard !value.value.trimmingCharacters(in: .whitespaces).isEmpty else {
        throw ConfigError(mark: fields[key]!.mark, keyPath: "\(path).\(key)", message: "must not be empty")
    }
    return value.value
}

/// Check IDs as written in attestations, waivers and `--only`.
package enum ChecklistIDs {
    /// Reads an ID node: one of `allowed`, else an error that says why (unknown, or known but
    /// not of the right kind).
    static func validate(_ node: YAMLNode, _ path: String, allowed: [String], all: [String], what: String) throws -> String {
        let id = try ConfigReader().string(node, path).value.uppercased()
        if allowed.contains(id) { return id }
        if all.contains(id) {
            throw ConfigError(mark: node.mark, keyPath: path, message: "\(id) cannot take \(what)",
                              hint: "checks that do: \(allowed.joined(separator: ", "))")
        }
        let suggestion = closest(to: id, among: all).map { " (did you mean \($0)?)" } ?? ""
        throw ConfigError(mark: node.mark, keyPath: path, message: "unknown check ID '\(id)'\(suggestion)",
                          hint: "luminatectl checklist list shows every ID")
    }
}

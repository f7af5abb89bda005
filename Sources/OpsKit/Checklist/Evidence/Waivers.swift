import Foundation

/// A signed exception: a check that fails (or warns) is accepted for a while, for a reason, with
/// an owner and a ticket that tracks the real fix. At most 90 days, so nothing is waived forever;
/// an expired waiver fails its check until it is renewed or removed.
package struct Waiver: Sendable, Equatable {
    package var id: String
    package var reason: String
    package var owner: String
    package var ticket: String
    package var expires: Date
    package var expiresText: String
    /// When it was granted; when given, the 90 days count from here, else from the run.
    package var granted: Date?
    package var mark: SourceMark

    /// The guide's limit on one waiver.
    package static let maximumDays = 90

    /// Whether the waiver holds at `now`.
    package enum Standing: Sendable, Equatable {
        case valid
        case expired
        /// Expires more than 90 days after it was granted (or after `now`).
        case tooLong(days: Int)
    }

    package func standing(at now: Date) -> Standing {
        if expires <= now { return .expired }
        let days = EvidenceDate.days(from: granted ?? now, to: expires.addingTimeInterval(-1))
        return days > Self.maximumDays ? .tooLong(days: days) : .valid
    }

    /// `waived until 2026-12-31 by sre-team (LUM-123): reason`
    package var summary: String { "waived until \(expiresText) by \(owner) (\(ticket)): \(reason)" }
}

/// A waivers file:
///
/// ```yaml
/// waivers:
///   - id: SEC-3
///     reason: network policies land with the CNI migration
///     owner: sre-team@example.com
///     ticket: LUM-123
///     expires: 2026-12-31
/// ```
package struct WaiverFile: Sendable {
    package var path: String
    package var entries: [Waiver]

    package static let keys = ["id", "reason", "owner", "ticket", "expires", "granted"]

    package static func parse(_ data: Data, path: String, allIDs: [String]) throws -> WaiverFile {
        let reader = ConfigReader()
        let root = try reader.document(data, path: path)
        guard let root else { return WaiverFile(path: path, entries: []) }
        let top = try reader.mapping(root, "", keys: ["waivers"])
        guard let list = top["waivers"] else { return WaiverFile(path: path, entries: []) }
        var entries: [Waiver] = []
        for (index, node) in try reader.sequence(list, "waivers").enumerated() {
            let p = "waivers[\(index)]"
            let f = try reader.mapping(node, p, keys: keys)
            let idNode = try reader.required(f, "id", in: node, p)
            let id = try ChecklistIDs.validate(idNode, "\(p).id", allowed: allIDs, all: allIDs, what: "a waiver")
            if let earlier = entries.first(where: { $0.id == id }) {
                throw ConfigError(mark: idNode.mark, keyPath: "\(p).id", message: "\(id) is waived twice (also at \(earlier.mark))",
                                  hint: "keep one waiver per check")
            }
            let expiresText = try reader.date(try reader.required(f, "expires", in: node, p), "\(p).expires").text
            let granted = try f["granted"].map { try reader.date($0, "\(p).granted").date }
            entries.append(Waiver(
                id: id,
                reason: try nonEmpty(reader, f, "reason", node, p),
                owner: try nonEmpty(reader, f, "owner", node, p),
                ticket: try nonEmpty(reader, f, "ticket", node, p),
                expires: EvidenceDate.expiry(expiresText)!, expiresText: expiresText,
                granted: granted, mark: node.mark))
        }
        return WaiverFile(path: path, entries: entries)
    }

    package func waiver(for id: String) -> Waiver? { entries.first { $0.id == id } }
}

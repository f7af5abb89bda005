import Foundation

/// `journal sync`: the mirror is compared with the file by record id and hash; records it lacks
/// are sent, records it holds differently are reported (one side was changed).
package struct JournalSync: Sendable, Equatable {
    /// A record the mirror holds under the same id with another hash.
    package struct Difference: Sendable, Equatable {
        package var line: Int
        package var id: String
        package var fileHash: String
        package var mirrorHash: String
    }

    package var records: Int
    package var present: Int
    package var sent: Int
    package var differing: [Difference]

    /// Records per insert: one request each would take minutes for a long history.
    static let batchSize = 1000

    package static func run(_ records: [(record: JournalRecord, line: Int)], mirror: JournalMirror) throws -> JournalSync {
        let held = try mirror.hashes(of: records.map(\.record.id))
        var missing: [JournalRecord] = []
        var result = JournalSync(records: records.count, present: 0, sent: 0, differing: [])
        for (record, line) in records {
            guard let hash = held[record.id] else {
                missing.append(record)
                continue
            }
            result.present += 1
            if hash != record.hash {
                result.differing.append(Difference(line: line, id: record.id, fileHash: record.hash, mirrorHash: hash))
            }
        }
        var start = 0
        while start < missing.count {
            let batch = Array(missing[start..<min(missing.count, start + batchSize)])
            try mirror.insert(batch)
            result.sent += batch.count
            start += batchSize
        }
        return result
    }

    package func text(path: String, mirror: JournalMirror) -> String {
        var out = "Mirror \(mirror.target): \(records) record\(records == 1 ? "" : "s") in \(path), \(present) already there, \(sent) sent.\n"
        for difference in differing {
            out += "  line \(difference.line) (\(difference.id)): the mirror holds hash \(JournalVerifier.short(difference.mirrorHash)), the file \(JournalVerifier.short(difference.fileHash))\n"
        }
        return out
    }

    package func json(path: String, mirror: JournalMirror) -> JSONValue {
        .object([
            ("journal", .string(path)),
            ("mirror", .object([("host", .string(mirror.client.host)), ("database", .string(mirror.database)), ("table", .string(mirror.table))])),
            ("records", .number(Double(records))),
            ("present", .number(Double(present))),
            ("sent", .number(Double(sent))),
            ("differing", .array(differing.map {
                .object([("line", .number(Double($0.line))), ("id", .string($0.id)), ("fileHash", .string($0.fileHash)), ("mirrorHash", .string($0.mirrorHash))])
            })),
        ])
    }
}

/// The journal and its mirror hold different records under one id. Exit 1.
package struct JournalMirrorDisagrees: OperatorError, Equatable {
    package var count: Int
    package var mirror: String

    package var description: String {
        "the journal and its mirror \(mirror) disagree on \(count) record\(count == 1 ? "" : "s")"
    }

    package var hint: String? {
        "one of them was changed after the record was written: run 'luminatectl journal verify', and compare the mirror's record column with the file"
    }
}

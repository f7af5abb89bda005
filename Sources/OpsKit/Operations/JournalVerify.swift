import Foundation

/// What `journal verify` found: every record checked against its own hash and against the
/// line before it.
package struct JournalVerification: Sendable, Equatable {
    /// One thing wrong, named by line and record id.
    package struct Problem: Sendable, Equatable {
        package enum Kind: String, Sendable {
            /// The record does not match its own hash.
            case edited
            /// Records are missing before this one (its seq jumps; the missing ones are nowhere in the file).
            case removed
            /// Records are out of order or repeated.
            case reordered
            /// `prev` does not match the line before, and the seq does not say why: the record before
            /// was replaced, or an unreadable line sits between them.
            case chainBroken = "chain-broken"
            /// A complete line that is not a record.
            case unreadable
            /// The last line has no newline: a write was cut short.
            case incomplete
        }

        package var line: Int
        package var id: String?
        package var kind: Kind
        package var detail: String

        package var description: String {
            "line \(line)" + (id.map { " (\($0))" } ?? "") + ": \(kind.rawValue): \(detail)"
        }
    }

    package var path: String
    package var lines: Int
    package var records: Int
    /// The last record's seq and hash: write them down, or compare with the mirror, to detect a
    /// journal whose newest records were cut off (the chain alone cannot show that).
    package var lastSeq: Int?
    package var lastID: String?
    package var lastHash: String?
    package var problems: [Problem]

    package var intact: Bool { problems.isEmpty }
}

/// `journal verify` failed: the problems are on stdout, this is the `Error:` line.
package struct JournalVerificationFailed: OperatorError, Equatable {
    package var path: String
    package var problems: [JournalVerification.Problem]

    package var description: String {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return "the journal \(path) failed verification: \(count), the first at line \(problems.first?.line ?? 0)"
    }

    package var hint: String? {
        "records were changed after they were written; compare with the ClickHouse mirror ('luminatectl journal sync') or a copy of the file, and keep this one as evidence"
    }
}

/// Checks a journal's hash chain (see `JournalRecord` for what `prev` and `hash` cover).
package enum JournalVerifier {
    package static func verify(path: String) throws -> JournalVerification {
        /// A record whose `prev` does not match its predecessor, resolved once the whole file is
        /// read (whether skipped seqs are elsewhere in the file decides removed vs reordered).
        struct Break {
            var line: Int
            var id: String
            var seq: Int
            var prev: String
            var predecessor: (line: Int, seq: Int, hash: String, edited: Bool)?
            var unreadableBetween: [Int]
        }

        var result = JournalVerification(path: path, lines: 0, records: 0, problems: [])
        var problems: [(line: Int, order: Int, problem: JournalVerification.Problem?)] = []
        var breaks: [Break] = []
        var seqLines: [Int: [Int]] = [:]
        var predecessor: (line: Int, seq: Int, hash: String, edited: Bool)?
        var unreadableSince: [Int] = []

        try JournalReader(path: path).forEachLine { line in
            result.lines = line.number
            guard line.complete else {
                problems.append((line.number, 0, .init(line: line.number, id: nil, kind: .incomplete,
                                                       detail: "the last line has no newline: a write was cut short (a crash or a full disk)")))
                return
            }
            let record: JournalRecord
            do throws(JournalRecord.LineProblem) {
                record = try JournalRecord.parse(line.text)
            } catch {
                problems.append((line.number, 0, .init(line: line.number, id: nil, kind: .unreadable,
                                                       detail: "not a journal record (\(error.description))")))
                unreadableSince.append(line.number)
                return
            }
            result.records += 1
            seqLines[record.seq, default: []].append(line.number)
            let edited = JournalRecord.expectedHash(of: line.text) != record.hash
            if edited {
                problems.append((line.number, 0, .init(line: line.number, id: record.id, kind: .edited,
                                                       detail: "its content does not match its hash: it was changed after it was written")))
            }
            let expectedPrev = predecessor?.hash ?? JournalRecord.genesis
            if record.prev != expectedPrev || record.seq != (predecessor?.seq ?? 0) + 1 {
                breaks.append(Break(line: line.number, id: record.id, seq: record.seq, prev: record.prev,
                                    predecessor: predecessor, unreadableBetween: unreadableSince))
                problems.append((line.number, 1, nil))
            }
            predecessor = (line.number, record.seq, SHA256.hex(Data(line.bytes)), edited)
            unreadableSince = []
            result.lastSeq = record.seq
            result.lastID = record.id
            result.lastHash = record.hash
        }

        var resolved: [Int: JournalVerification.Problem] = [:]
        for item in breaks {
            resolved[item.line] = describe(item.line, item.id, item.seq, item.prev, item.predecessor, item.unreadableBetween, seqLines)
        }
        result.problems = problems
            .sorted { ($0.line, $0.order) < ($1.line, $1.order) }
            .compactMap { $0.problem ?? resolved[$0.line] }
        return result
    }

    private static func describe(
        _ line: Int, _ id: String, _ seq: Int, _ prev: String,
        _ predecessor: (line: Int, seq: Int, hash: String, edited: Bool)?, _ unreadable: [Int], _ seqLines: [Int: [Int]]
    ) -> JournalVerification.Problem {
        let previousSeq = predecessor?.seq ?? 0
        let expected = predecessor.map { "line \($0.line) hashes to \(short($0.hash))" } ?? "a journal's first prev is \(short(JournalRecord.genesis))"
        let mismatch = "prev is \(short(prev)) but \(expected)"
        // Lines that are not records between the two explain a gap better than its seqs can.
        if !unreadable.isEmpty {
            let lines = unreadable.map(String.init).joined(separator: ", ")
            return .init(line: line, id: id, kind: .chainBroken,
                         detail: "\(mismatch); line \(lines) before it is not a record (edited or replaced)")
        }
        if seq > previousSeq + 1 {
            let skipped = Array((previousSeq + 1)..<seq)
            let elsewhere = skipped.filter { seqLines[$0] != nil }
            if elsewhere.isEmpty {
                let what = skipped.count == 1 ? "record seq \(skipped[0]) is missing" : "records seq \(skipped[0])-\(skipped.last!) are missing"
                let place = predecessor.map { "after line \($0.line)" } ?? "at the start of the journal"
                return .init(line: line, id: id, kind: .removed, detail: "seq \(seq) follows seq \(previousSeq): \(what) \(place) (\(mismatch))")
            }
            let places = elsewhere.prefix(3).map { "seq \($0) at line \(seqLines[$0]!.map(String.init).joined(separator: ","))" }
            return .init(line: line, id: id, kind: .reordered,
                         detail: "seq \(seq) follows seq \(previousSeq), but \(places.joined(separator: ", ")) (\(mismatch))")
        }
        if seq <= previousSeq {
            let repeated = (seqLines[seq]?.count ?? 0) > 1
            return .init(line: line, id: id, kind: .reordered,
                         detail: "seq \(seq) comes after seq \(previousSeq)\(repeated ? ", and seq \(seq) appears more than once" : "") (\(mismatch))")
        }
        if let predecessor, predecessor.edited {
            return .init(line: line, id: id, kind: .chainBroken, detail: "\(mismatch), which was edited")
        }
        if prev != (predecessor?.hash ?? JournalRecord.genesis) {
            let before = predecessor.map { "the record at line \($0.line) was replaced" } ?? "the first record was replaced"
            return .init(line: line, id: id, kind: .chainBroken, detail: "\(mismatch): \(before)")
        }
        return .init(line: line, id: id, kind: .chainBroken, detail: "seq \(seq) does not follow seq \(previousSeq)")
    }

    /// The first 12 hex digits, enough to tell hashes apart in a message.
    static func short(_ hash: String) -> String { String(hash.prefix(12)) + "..." }
}

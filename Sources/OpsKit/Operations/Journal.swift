import Foundation

/// One line of the journal: a `JournalEvent` as written, with its place in the hash chain.
///
/// A record is one JSON object on one line, always with the same keys in the same order (absent
/// values are `null`), so `grep`, `jq` and ClickHouse's `JSONEachRow` read it without a schema:
///
///     {"v":1,"id":"op-…#2","seq":17,"time":"2026-11-29T02:00:01.500Z","operation":"op-…",
///      "event":"step","kind":"backup","environment":"staging",
///      "actor":{"user":"alice","host":"ops-1","ci":null},"commandLine":"luminatectl …",
///      "targets":[…],"inputs":{…},"step":"freeze","evidence":{…},"outcome":null,"message":null,
///      "reason":null,"durationSeconds":1.5,"luminatectl":"0.1.0","prev":"<64 hex>","hash":"<64 hex>"}
///
/// - `prev` is the SHA-256 of the previous line's bytes (without its newline), or 64 zeros for
///   the first record: removing or reordering a record breaks the next one's `prev`.
/// - `hash` is the SHA-256 of this line with its final `,"hash":"…"` member removed, i.e. of the
///   bytes up to `"prev":"…"` followed by `}`. It is defined on the bytes, not on a re-encoding,
///   so any tool can check it without agreeing with luminatectl on JSON formatting.
///
/// docs/journal.md is the reference for the format.
package struct JournalRecord: Sendable, Equatable {
    /// The format version, `v`. A reader refuses versions it does not know.
    package static let formatVersion = 1
    /// `prev` of the first record of a journal.
    package static let genesis = String(repeating: "0", count: 64)

    /// `<operation id>#<n>`: the n-th record of that operation. Unique across machines because the
    /// operation id is, so it is also the key in the shared ClickHouse mirror.
    package var id: String
    /// The position in this journal file, from 1: a gap names the records that were removed.
    package var seq: Int
    package var event: JournalEvent
    /// The luminatectl version that wrote the record.
    package var version: String
    package var prev: String
    package var hash: String
    /// The line exactly as it is in the file, without the newline.
    package var line: String

    /// Builds the record for `event` at position `seq` after a line whose SHA-256 is `prev`.
    /// Every string in it (keys too) goes through `Redactor.redact` first, and values of keys
    /// named like secrets are masked: a secret never reaches the disk or the mirror.
    package static func make(event: JournalEvent, id: String, seq: Int, prev: String, version: String = luminatectlVersion) -> JournalRecord {
        var redacted = event
        redacted.commandLine = Redactor.redact(event.commandLine)
        redacted.targets = event.targets.map(Redactor.redact)
        redacted.inputs = JournalRedaction.redact(event.inputs)
        redacted.evidence = JournalRedaction.redact(event.evidence)
        redacted.step = event.step.map(Redactor.redact)
        redacted.outcome = event.outcome.map(Redactor.redact)
        redacted.message = event.message.map(Redactor.redact)
        redacted.reason = event.reason.map(Redactor.redact)
        redacted.environment = Redactor.redact(event.environment)
        redacted.operation = Redactor.redact(event.operation)
        redacted.actor = Actor(user: Redactor.redact(event.actor.user), host: Redactor.redact(event.actor.host),
                               ci: event.actor.ci.map(Redactor.redact))
        redacted.durationSeconds = event.durationSeconds.map { ($0 * 1000).rounded() / 1000 }
        // The chain depends on the exact bytes: the time is written to the millisecond and read
        // back from them, so the record in memory equals the record a reader gets.
        redacted.time = JournalTime.parse(JournalTime.format(event.time)) ?? event.time

        let body = fields(redacted, id: id, seq: seq, version: version, prev: prev).rendered()
        let hash = SHA256.hex(body)
        let line = String(body.dropLast()) + ",\"hash\":\"\(hash)\"}"
        return JournalRecord(id: id, seq: seq, event: redacted, version: version, prev: prev, hash: hash, line: line)
    }

    /// The record as a JSON value, keys in the file's order (for `-o json`).
    package var json: JSONValue {
        var value = Self.fields(event, id: id, seq: seq, version: version, prev: prev)
        value.set("hash", .string(hash))
        return value
    }

    private static func fields(_ e: JournalEvent, id: String, seq: Int, version: String, prev: String) -> JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
        return .object([
            ("v", .number(Double(formatVersion))),
            ("id", .string(id)),
            ("seq", .number(Double(seq))),
            ("time", .string(JournalTime.format(e.time))),
            ("operation", .string(e.operationID)),
            ("event", .string(e.event.rawValue)),
            ("kind", .string(e.operation)),
            ("environment", .string(e.environment)),
            ("actor", .object([("user", .string(e.actor.user)), ("host", .string(e.actor.host)), ("ci", optional(e.actor.ci))])),
            ("commandLine", .string(e.commandLine)),
            ("targets", .array(e.targets.map { .string($0) })),
            ("inputs", e.inputs),
            ("step", optional(e.step)),
            ("evidence", e.evidence),
            ("outcome", optional(e.outcome)),
            ("message", optional(e.message)),
            ("reason", optional(e.reason)),
            ("durationSeconds", e.durationSeconds.map { .number($0) } ?? .null),
            ("luminatectl", .string(version)),
            ("prev", .string(prev)),
        ])
    }

    // MARK: - Reading

    /// Why a line is not a record.
    package enum LineProblem: Error, Equatable, CustomStringConvertible {
        case notJSON
        case unknownVersion(String)
        case missingField(String)
        /// The line does not end in `,"hash":"<64 hex>"}`.
        case noHash

        package var description: String {
            switch self {
            case .notJSON: "not a JSON object"
            case .unknownVersion(let v): "unknown record version \(v) (this luminatectl reads version \(JournalRecord.formatVersion))"
            case .missingField(let name): "field '\(name)' is missing or has the wrong type"
            case .noHash: "it does not end with its hash"
            }
        }
    }

    /// The `hash` a line carries (its last member), and the bytes it covers.
    package static func splitHash(_ line: String) -> (hash: String, covered: String)? {
        let suffixLength = ",\"hash\":\"".count + 64 + "\"}".count
        guard line.utf8.count > suffixLength, line.hasSuffix("\"}") else { return nil }
        let suffixStart = line.utf8.index(line.utf8.endIndex, offsetBy: -suffixLength)
        let suffix = String(line[suffixStart...])
        guard suffix.hasPrefix(",\"hash\":\"") else { return nil }
        let hash = String(suffix.dropFirst(",\"hash\":\"".count).dropLast(2))
        guard hash.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        return (hash, String(line[..<suffixStart]) + "}")
    }

    /// The SHA-256 this line should carry as `hash`, or nil when it has no hash member.
    package static func expectedHash(of line: String) -> String? {
        splitHash(line).map { SHA256.hex($0.covered) }
    }

    /// Reads a line written by `make`. Does not check the hashes: `JournalVerifier` does.
    package static func parse(_ line: String) throws(LineProblem) -> JournalRecord {
        guard let value = try? JSONValue.parse(Data(line.utf8)), value.object != nil else { throw .notJSON }
        guard let v = value["v"], let version = v.int else { throw .missingField("v") }
        guard version == formatVersion else { throw .unknownVersion(v.rendered()) }
        func string(_ key: String) throws(LineProblem) -> String {
            guard let text = value[key]?.string else { throw .missingField(key) }
            return text
        }
        func optionalString(_ key: String) throws(LineProblem) -> String? {
            guard let field = value[key] else { throw .missingField(key) }
            if field.isNull { return nil }
            guard let text = field.string else { throw .missingField(key) }
            return text
        }
        guard let seq = value["seq"]?.int else { throw .missingField("seq") }
        guard let time = JournalTime.parse(try string("time")) else { throw .missingField("time") }
        guard let kind = JournalEvent.Kind(rawValue: try string("event")) else { throw .missingField("event") }
        guard let actor = value["actor"], let user = actor["user"]?.string, let host = actor["host"]?.string else {
            throw .missingField("actor")
        }
        guard let targets = value["targets"]?.array?.compactMap(\.string) else { throw .missingField("targets") }
        guard let inputs = value["inputs"] else { throw .missingField("inputs") }
        guard let evidence = value["evidence"] else { throw .missingField("evidence") }
        let duration = value["durationSeconds"]
        guard duration == nil || duration!.isNull || duration!.number != nil else { throw .missingField("durationSeconds") }
        guard let (hash, _) = splitHash(line), value["hash"]?.string == hash else { throw .noHash }

        let event = JournalEvent(
            operationID: try string("operation"), event: kind, time: time, actor: Actor(user: user, host: host, ci: actor["ci"]?.string),
            environment: try string("environment"), commandLine: try string("commandLine"), operation: try string("kind"),
            targets: targets, inputs: inputs, step: try optionalString("step"), evidence: evidence,
            outcome: try optionalString("outcome"), message: try optionalString("message"), reason: try optionalString("reason"),
            durationSeconds: duration?.number)
        return JournalRecord(id: try string("id"), seq: seq, event: event, version: (try? string("luminatectl")) ?? "",
                             prev: try string("prev"), hash: hash, line: line)
    }
}

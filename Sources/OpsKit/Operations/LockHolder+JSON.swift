import Foundation

extension LockHolder {
    /// The holder as the lock file stores it and `lock status -o json` prints it.
    package var json: JSONValue {
        [
            "actor": .string(actor.description),
            "user": .string(actor.user),
            "host": .string(actor.host),
            "ci": actor.ci.map(JSONValue.string) ?? .null,
            "operation": .string(operation),
            "operationID": .string(operationID),
            "environment": .string(environment),
            "since": .string(LockTime.iso(since)),
        ]
    }

    /// Reads `json` back; nil when a field the refusal message needs is missing.
    package init?(json: JSONValue) {
        guard let user = json["user"]?.string, let host = json["host"]?.string,
              let operation = json["operation"]?.string, let operationID = json["operationID"]?.string,
              let since = json["since"]?.string.flatMap(LockTime.parse) else { return nil }
        self.init(
            actor: Actor(user: user, host: host, ci: json["ci"]?.string), operationID: operationID,
            operation: operation, environment: json["environment"]?.string ?? "", since: since)
    }
}

extension Actor {
    /// Reads `description` back: `alice@build-7`, `runner@ci-3 (github-actions: org/repo run 9)`.
    package init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var ci: String?
        if rest.hasSuffix(")"), let open = rest.range(of: " (") {
            ci = String(rest[open.upperBound..<rest.index(before: rest.endIndex)])
            rest = rest[..<open.lowerBound]
        }
        // The last `@`: a host name never holds one, some CI user names do.
        guard let at = rest.lastIndex(of: "@"), at != rest.startIndex, rest.index(after: at) != rest.endIndex else { return nil }
        self.init(user: String(rest[..<at]), host: String(rest[rest.index(after: at)...]), ci: ci)
    }

    /// Whether `other` is the same person on the same machine (CI job identity aside): who may
    /// end a maintenance hold without `--force`.
    package func isSamePerson(as other: Actor) -> Bool {
        user == other.user && host == other.host
    }
}

/// The time formats of the lock: `2026-11-29T01:30:00Z` for people and annotations, and the
/// Lease's MicroTime (`2026-11-29T01:30:00.000000Z`), which the API server requires for
/// `acquireTime` and `renewTime`.
package enum LockTime {
    package static func iso(_ date: Date) -> String {
        format(date, fraction: false)
    }

    package static func micro(_ date: Date) -> String {
        format(date, fraction: true)
    }

    private static func format(_ date: Date, fraction: Bool) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        var seconds = time_t(micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000)
        let fractionPart = micros - Int64(seconds) * 1_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let base = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return fraction ? base + String(format: ".%06lldZ", fractionPart) : base + "Z"
    }

    /// Parses RFC 3339 with or without a fraction, `Z` or an offset; nil for anything else.
    package static func parse(_ text: String) -> Date? {
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/#
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(match.1)! - 1900
        parts.tm_mon = Int32(match.2)! - 1
        parts.tm_mday = Int32(match.3)!
        parts.tm_hour = Int32(match.4)!
        parts.tm_min = Int32(match.5)!
        parts.tm_sec = Int32(match.6)!
        var seconds = Double(timegm(&parts))
        if let fraction = match.7 { seconds += Double("0" + fraction) ?? 0 }
        let zone = match.8
        if zone != "Z", zone != "z" {
            let sign: Double = zone.hasPrefix("-") ? -1 : 1
            let hours = Double(zone.dropFirst().prefix(2))!, minutes = Double(zone.suffix(2))!
            seconds -= sign * (hours * 3600 + minutes * 60)
        }
        return Date(timeIntervalSince1970: seconds)
    }
}

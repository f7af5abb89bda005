import Foundation

/// Validation at the edge: values from flags are checked before anything runs, with errors that
/// name the flag and the rule. Logic behind the edge can then trust its inputs.
extension Invocation {
    /// A ClickHouse database or table name: `--table must be an identifier ...`.
    package func identifier(_ long: String) throws -> String? {
        guard let text = value(long) else { return nil }
        guard SQL.isValidIdentifier(text) else {
            throw ValidationError("--\(long) must be a ClickHouse identifier (letters, digits and _, not starting with a digit), not '\(text)'")
        }
        return text
    }

    /// `database.table`, both parts identifiers.
    package func qualifiedTable(_ long: String) throws -> (database: String, table: String)? {
        guard let text = value(long) else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts.allSatisfy(SQL.isValidIdentifier) else {
            throw ValidationError("--\(long) must be database.table, each a ClickHouse identifier, not '\(text)'")
        }
        return (parts[0], parts[1])
    }

    /// A partition ID as ClickHouse lists it in `system.parts.partition_id` (`20261126`,
    /// `202611`, `all`, or a hash of letters and digits).
    package func partitionID(_ long: String) throws -> String? {
        guard let text = value(long) else { return nil }
        guard PartitionID.isValid(text) else {
            throw ValidationError("--\(long) must be a partition ID as in system.parts (e.g. 20261126), not '\(text)'")
        }
        return text
    }

    /// A Kubernetes object or namespace name.
    package func kubernetesName(_ long: String) throws -> String? {
        guard let text = value(long) else { return nil }
        guard KubernetesName.isValid(text) else {
            throw ValidationError("--\(long) \(KubernetesName.rule), not '\(text)'")
        }
        return text
    }

    /// A size in bytes: `500MB`, `10GiB`, `1.5TB`, `1048576`.
    package func size(_ long: String) throws -> UInt64? {
        guard let text = value(long) else { return nil }
        guard let bytes = ByteSize.parse(text) else {
            throw ValidationError("--\(long) must be a size like 500MB, 10GiB or 1.5TB, not '\(text)'")
        }
        return bytes
    }

    /// A point in time: RFC 3339 (`2026-11-29T02:00:00Z`, with an offset or fractional seconds),
    /// or a UTC date (`2026-11-29`, meaning its midnight).
    package func timestamp(_ long: String) throws -> Date? {
        guard let text = value(long) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw ValidationError("--\(long) must be a time like 2026-11-29T02:00:00Z or a date like 2026-11-29, not '\(text)'")
        }
        return date
    }
}

/// ClickHouse partition IDs.
package enum PartitionID {
    package static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 128 && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
    }
}

/// Sizes as operators write them; decimal (`MB`) and binary (`MiB`) units are both accepted
/// and mean what they say.
package enum ByteSize {
    package static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number), value >= 0 else { return nil }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces).lowercased()
        let factors: [String: Double] = [
            "": 1, "b": 1,
            "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
            "ki": 1024, "kib": 1024, "mi": 1_048_576, "mib": 1_048_576, "gi": 1_073_741_824, "gib": 1_073_741_824,
            "ti": 1_099_511_627_776, "tib": 1_099_511_627_776,
        ]
        guard let factor = factors[unit] else { return nil }
        let bytes = value * factor
        guard bytes < 1.8e19, bytes == bytes.rounded(.down) || factor > 1 else { return nil }
        return UInt64(bytes.rounded())
    }

    /// `1.5 GiB`, `312 MiB`, `20 B`.
    package static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[index])" : "\(rounded) \(units[index])"
    }
}

/// RFC 3339 times and UTC dates.
package enum Timestamp {
    package static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        if text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil {
            return plain.date(from: text + "T00:00:00Z")
        }
        return nil
    }

    /// `2026-11-29T02:00:00Z`. A format style, not an ISO8601DateFormatter per call: `backup
    /// list` formats a time per backup, and each new formatter opened an ICU one.
    package static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

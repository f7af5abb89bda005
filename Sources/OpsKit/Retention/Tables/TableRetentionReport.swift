/// A table retention plan as `retention plan` will print it: JSON for `-o json`, text lines
/// otherwise. Dates and numbers are written without Foundation's formatters (100,000 lines).
extension TableRetentionPlan {
    /// `2026-11-26`, or `2026-11-01..2026-11-30` for a partition spanning several days.
    package static func daysText(_ days: ClosedRange<UTCDay>) -> String {
        days.lowerBound == days.upperBound ? days.lowerBound.description : "\(days.lowerBound)..\(days.upperBound)"
    }

    private var keyText: String {
        switch key {
        case .manageable(let k): k.expression
        case .notManageable: "not manageable"
        }
    }

    /// The plan as a JSON value: the table, the key, the keep, the totals and every partition.
    package func json() -> JSONValue {
        .object(headerFields() + [("partitions", .array(partitions.map(Self.json)))])
    }

    /// `json()` as compact text, written field by field: 100,000 partitions as one `JSONValue`
    /// tree cost a third more memory, and quoting scalar by scalar most of a second.
    package func renderedJSON() -> String {
        var out = JSONValue.object(headerFields()).rendered()
        out.removeLast()
        out.reserveCapacity(out.utf8.count + partitions.count * 240)
        out += ",\"partitions\":["
        for (index, p) in partitions.enumerated() {
            if index > 0 { out += "," }
            out += "{\"id\":" + Self.quote(p.id) + ",\"action\":\"" + p.action.rawValue + "\",\"reason\":" + Self.quote(p.reason)
            out += ",\"first\":" + (p.days.map { "\"\($0.lowerBound)\"" } ?? "null")
            out += ",\"last\":" + (p.days.map { "\"\($0.upperBound)\"" } ?? "null")
            out += ",\"newestRow\":" + (p.newestRow.map(Self.quote) ?? "null")
            out += ",\"rows\":" + String(p.rows) + ",\"bytes\":" + String(p.bytes) + ",\"shards\":["
            out += p.shards.map(Self.quote).joined(separator: ",") + "]}"
        }
        return out + "]}"
    }

    /// A JSON string: as is when nothing in it needs escaping (ids, dates, most reasons).
    private static func quote(_ text: String) -> String {
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        return plain ? "\"" + text + "\"" : JSONValue.quote(text)
    }

    private func headerFields() -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("table", .string(table)),
            ("keep", .string(keep.map(DurationParser.format) ?? "forever")),
            ("now", .string(UTCDay.timestamp(now))),
            ("cutoff", cutoff.map { .string(UTCDay.timestamp($0)) } ?? .null),
        ]
        switch key {
        case .manageable(let k):
            fields.append(("partitionKey", .string(k.expression)))
            fields.append(("manageable", .bool(true)))
        case .notManageable(let reason):
            fields.append(("manageable", .bool(false)))
            fields.append(("reason", .string(reason)))
        }
        fields.append(("totals", .object([
            ("partitions", .number(Double(partitions.count))),
            ("dropPartitions", .number(Double(dropPartitions))),
            ("rows", .number(Double(totalRows))),
            ("dropRows", .number(Double(dropRows))),
            ("bytes", .number(Double(totalBytes))),
            ("dropBytes", .number(Double(dropBytes))),
            ("dropShare", .number(dropShare)),
        ])))
        return fields
    }

    private static func json(_ p: Partition) -> JSONValue {
        .object([
            ("id", .string(p.id)),
            ("action", .string(p.action.rawValue)),
            ("reason", .string(p.reason)),
            ("first", p.days.map { .string($0.lowerBound.description) } ?? .null),
            ("last", p.days.map { .string($0.upperBound.description) } ?? .null),
            ("newestRow", p.newestRow.map { .string($0) } ?? .null),
            ("rows", .number(Double(p.rows))),
            ("bytes", .number(Double(p.bytes))),
            ("shards", .array(p.shards.map { .string($0) })),
        ])
    }

    /// A header, one line a partition (oldest first), and the totals.
    package func textLines() -> [String] {
        guard case .manageable = key else {
            guard case .notManageable(let reason) = key else { return [] }
            return ["\(table): not manageable by partition retention: \(reason) (\(totalRows) rows kept)"]
        }
        var lines = ["\(table): partition key \(keyText), keep \(keep.map(DurationParser.format) ?? "forever")"
            + (cutoff.map { ", rows older than \(UTCDay.timestamp($0)) dropped" } ?? "")]
        lines.reserveCapacity(partitions.count + 2)
        for p in partitions {
            let days = p.days.map(Self.daysText) ?? "?"
            lines.append("  \(p.action.rawValue) \(p.id) \(days) rows \(p.rows) bytes \(p.bytes) shards \(p.shards.joined(separator: ",")): \(p.reason)")
        }
        lines.append("  drop \(dropPartitions) of \(partitions.count) partitions, \(dropRows) of \(totalRows) rows (\(Self.percent(dropShare))), \(dropBytes) bytes")
        return lines
    }

    /// 0.5 → `50%`, 1/3 → `33.3%`.
    private static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }
}

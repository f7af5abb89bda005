import Foundation

/// `policy.retention`: `metrics` (the keep of any table not named), `tables` (per table or glob)
/// and `backups` (the tiers, and `incompleteAfter`).
extension ConfigFile {
    static func parseRetention(_ node: YAMLNode, _ path: String, _ reader: ConfigReader, into env: inout EnvironmentSettings) throws {
        let r = try reader.mapping(node, path, keys: ["metrics", "tables", "backups"])
        if let v = r["metrics"] {
            env.policy.retention.metrics = try keep(v, "\(path).metrics", reader)
            env.policySources["retention.metrics"] = v.mark
        }
        if let t = r["tables"] {
            env.policy.retention.tables = try parseTableRules(t, "\(path).tables", reader, sources: &env.policySources)
        }
        if let b = r["backups"] {
            let q = "\(path).backups"
            let f = try reader.mapping(b, q, keys: ["hourly", "daily", "weekly", "monthly", "incompleteAfter"])
            if let v = f["hourly"] { env.policy.retention.hourlyBackups = try reader.integer(v, "\(q).hourly", atLeast: 0) }
            if let v = f["daily"] { env.policy.retention.dailyBackups = try reader.integer(v, "\(q).daily", atLeast: 0) }
            if let v = f["weekly"] { env.policy.retention.weeklyBackups = try reader.integer(v, "\(q).weekly", atLeast: 0) }
            if let v = f["monthly"] { env.policy.retention.monthlyBackups = try reader.integer(v, "\(q).monthly", atLeast: 0) }
            if f.keys.contains(where: { $0 != "incompleteAfter" }) { env.policySources["retention.backups"] = b.mark }
            if let v = f["incompleteAfter"] {
                env.policy.retention.incompleteBackupsAfter = try reader.duration(v, "\(q).incompleteAfter")
                env.policySources["retention.backups.incompleteAfter"] = v.mark
            }
        }
    }

    /// A keep: a duration, or `forever` (nil).
    private static func keep(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> Double? {
        if node.scalar == "forever", !node.isNull { return nil }
        guard let text = node.scalar, !node.isNull, let seconds = DurationParser.seconds(text), seconds > 0 else {
            throw ConfigError(
                mark: node.mark, keyPath: path,
                message: "expected a duration like 30d or forever, found \(node.scalar.map { node.isNull ? "null" : "'\($0)'" } ?? node.kindName)")
        }
        return seconds
    }

    /// `tables: {luminate.metrics_local: 30d, "luminate.*_1m": forever}` in the order written;
    /// each pattern noted in `sources` as `retention.tables.<pattern>`. The same pattern twice is
    /// refused with both places: which one was meant cannot be told.
    private static func parseTableRules(
        _ node: YAMLNode, _ path: String, _ reader: ConfigReader, sources: inout [String: SourceMark]
    ) throws -> [TableRetentionRule] {
        guard let entries = node.mappingEntries else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected a mapping of table or glob to a keep, found \(node.kindName)")
        }
        var seen: [String: SourceMark] = [:]
        var rules: [TableRetentionRule] = []
        for (key, value) in entries {
            guard let pattern = key.scalar, !key.isNull else {
                throw ConfigError(mark: key.mark, keyPath: path, message: "keys must be plain strings")
            }
            let p = "\(path).\(pattern)"
            if let problem = TableRetentionRule.problem(with: pattern) {
                throw ConfigError(mark: key.mark, keyPath: p, message: problem,
                                  hint: "write database.table, e.g. luminate.metrics_local or luminate.*_1m (quote a key that starts with *)")
            }
            if let first = seen[pattern] {
                throw ConfigError(mark: key.mark, keyPath: p,
                                  message: "pattern '\(pattern)' is already given at line \(first.line), column \(first.column)")
            }
            seen[pattern] = key.mark
            rules.append(TableRetentionRule(pattern: pattern, keep: try keep(value, p, reader)))
            sources["retention.tables.\(pattern)"] = value.mark
        }
        return rules
    }
}

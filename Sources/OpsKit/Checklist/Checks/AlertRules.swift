import Foundation

/// MON-3's reading of alerting rules: where they are in the manifests (PrometheusRule objects,
/// plain rules files, rules files inside ConfigMaps), which of the guide's alert topics they
/// cover, and whether promtool accepts them.
enum AlertRules {
    /// A set of rule groups and where they were written.
    struct Source: Sendable {
        var reference: String
        var groups: [JSONValue]
    }

    /// One alerting rule: its name and expression.
    struct Alert: Sendable {
        var name: String
        var expr: String
        var source: String
    }

    /// The topics the guide wants alerts for.
    enum Topic: String, CaseIterable, Sendable {
        case errorRate = "error rate"
        case latency = "latency"
        case storage = "storage"
        case backupAge = "backup age"
        case replicationLag = "replication lag"
        case zookeeper = "ZooKeeper"

        /// Whether an alert named `name` with expression `expr` is about this topic.
        func matches(name: String, expr: String) -> Bool {
            let name = name.lowercased()
            let expr = expr.lowercased().filter { !$0.isWhitespace }
            switch self {
            case .errorRate:
                return name.contains("error") || expr.contains("code=~\"5") || expr.contains("status=~\"5") || expr.contains("5xx")
            case .latency:
                return name.contains("latency") || (expr.contains("histogram_quantile") && expr.contains("duration"))
            case .storage:
                return name.contains("storage") || name.contains("disk") || name.contains("volume")
                    || expr.contains("kubelet_volume_stats") || expr.contains("filesystem")
            case .backupAge:
                return name.contains("backup") || expr.contains("backup")
            case .replicationLag:
                return name.contains("replication") || name.contains("replicalag") || name.contains("replicadelay")
                    || expr.contains("absolutedelay") || expr.contains("absolute_delay") || expr.contains("replication")
            case .zookeeper:
                return name.contains("zookeeper") || expr.contains("zookeeper") || expr.contains("zk_")
            }
        }
    }

    /// Rule groups in the manifests, wherever they are written.
    static func sources(_ index: ManifestIndex) -> [Source] {
        var sources: [Source] = []
        for rule in index.objects("PrometheusRule") {
            sources.append(Source(reference: rule.reference, groups: rule[path: "spec.groups"]?.array ?? []))
        }
        for document in index.documents {
            if let groups = document.json["groups"]?.array { sources.append(Source(reference: document.location, groups: groups)) }
        }
        for map in index.objects("ConfigMap") {
            for (key, value) in map["data"]?.object ?? [] {
                guard let text = value.string, [".yml", ".yaml", ".rules", ".json"].contains(where: { key.hasSuffix($0) }), text.contains("groups") else { continue }
                guard let parsed = try? YAML.parse(Data(text.utf8), file: key)?.jsonValue, let groups = parsed["groups"]?.array else { continue }
                sources.append(Source(reference: "\(map.reference) key \(key)", groups: groups))
            }
        }
        return sources
    }

    static func alerts(_ sources: [Source]) -> [Alert] {
        sources.flatMap { source in
            source.groups.flatMap { group in
                (group["rules"]?.array ?? []).compactMap { rule in
                    guard let name = rule["alert"]?.string else { return nil }
                    let expr = rule["expr"]?.string ?? rule["expr"].map { $0.rendered() } ?? ""
                    return Alert(name: name, expr: expr, source: source.reference)
                }
            }
        }
    }

    /// For each topic, the alerts that cover it (empty: missing).
    static func coverage(_ alerts: [(name: String, expr: String)]) -> [(Topic, [String])] {
        Topic.allCases.map { topic in (topic, alerts.filter { topic.matches(name: $0.name, expr: $0.expr) }.map(\.name)) }
    }

    /// `promtool check rules` over every group, through /dev/stdin so no temporary file is left
    /// behind. Groups are renamed after their source: names need only be unique per file, and
    /// promtool's messages then say which object a bad rule came from. Nil when promtool is
    /// not installed. Rules promtool accepted are remembered by hash (promtool costs more than
    /// the rest of a static run), so an unchanged set is not checked again; a rejection is never
    /// remembered.
    static func validate(_ sources: [Source], tools: ToolBox) throws -> (ok: Bool, output: [String])? {
        guard let promtool = tools.locate("promtool") else { return nil }
        var groups: [JSONValue] = []
        for source in sources {
            for group in source.groups {
                guard case .object(var fields) = group else { continue }
                let name = group["name"]?.string ?? "(unnamed)"
                fields.removeAll { $0.0 == "name" }
                fields.insert(("name", .string("\(source.reference): \(name)")), at: 0)
                groups.append(.object(fields))
            }
        }
        let input = Data(JSONValue.object([("groups", .array(groups))]).rendered(pretty: true).utf8)
        let marker = tools.acceptedMarker("promtool", path: promtool, input: input)
        if let marker, FileManager.default.fileExists(atPath: marker) {
            return (true, ["promtool accepted these exact rules before (remembered in \((marker as NSString).deletingLastPathComponent))"])
        }
        let result = try tools.run(ProcessRequest(promtool, ["check", "rules", "/dev/stdin"], stdin: input, timeout: 60))
        let lines = (result.stdoutText + "\n" + result.stderrText).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("Checking ") }
        if result.succeeded, let marker {
            // Best effort: a cache that cannot be written only costs the next run time.
            try? FileManager.default.createDirectory(atPath: (marker as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: marker, contents: Data())
        }
        return (result.succeeded, lines)
    }

    static func evaluate(_ index: ManifestIndex, tools: ToolBox) throws -> Finding {
        let sources = self.sources(index)
        let alerts = self.alerts(sources)
        guard !alerts.isEmpty else {
            return Finding(.static, .fail, "no alerting rules in the manifests (no PrometheusRule, no rules file)")
        }
        let coverage = self.coverage(alerts.map { ($0.name, $0.expr) })
        var evidence = coverage.filter { !$0.1.isEmpty }.map { "\($0.0.rawValue): \($0.1.prefix(5).joined(separator: ", "))" }
        evidence.append("\(alerts.count) alerting rule(s) in \(sources.count) source(s): \(capped(sources.map(\.reference), 5).joined(separator: "; "))")
        let missing = coverage.filter { $0.1.isEmpty }.map(\.0.rawValue)
        var validated = "validated by promtool"
        if let (ok, output) = try validate(sources, tools: tools) {
            if !ok {
                return Finding(.static, .fail, "promtool check rules rejects the alerting rules", evidence: capped(output, 20) + evidence,
                               fix: "fix the rules promtool names (the group names say which object they come from)")
            }
            evidence += output.filter { $0.hasPrefix("promtool accepted") }
        } else {
            validated = "not validated: promtool not installed"
            evidence.append("promtool not installed: rules not validated (apt-get install prometheus, or put promtool on PATH)")
        }
        if !missing.isEmpty {
            return Finding(.static, .fail, "no alert for \(missing.joined(separator: ", "))", evidence: evidence,
                           fix: "add alerting rules for \(missing.joined(separator: ", ")) (the guide's alert list)")
        }
        return Finding(.static, .pass, "alerts cover error rate, latency, storage, backup age, replication lag and ZooKeeper (\(validated))", evidence: evidence)
    }
}

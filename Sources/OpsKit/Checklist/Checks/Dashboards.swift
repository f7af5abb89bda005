import Foundation

/// MON-2's reading of Grafana dashboards in the manifests: ConfigMaps the Grafana sidecar picks
/// up (label `grafana_dashboard`), grafana-operator `GrafanaDashboard` objects, and plain
/// dashboard JSON files; each must be valid JSON, and together they must chart the key metrics.
enum Dashboards {
    /// The metrics the guide's dashboards show: traffic and errors, latency, storage writes and queries.
    static let keyMetrics = [
        "luminate_http_requests_total", "luminate_http_request_duration_seconds",
        "luminate_storage_write_duration_seconds", "luminate_storage_query_duration_seconds",
    ]

    /// What the check reads from one dashboard.
    struct Dashboard {
        var reference: String
        var title: String
        var panels: Int
        var expressions: [String]
    }

    static func evaluate(_ index: ManifestIndex) -> Finding {
        var dashboards: [Dashboard] = []
        var broken: [String] = []
        for map in index.objects("ConfigMap") {
            let labelled = map.labels["grafana_dashboard"] != nil
            for (key, value) in map["data"]?.object ?? [] where key.hasSuffix(".json") {
                guard let text = value.string else { continue }
                let where_ = "\(map.reference) key \(key)"
                do {
                    let json = try parse(text)
                    if labelled || isDashboard(json) { dashboards.append(read(json, at: where_)) }
                } catch {
                    if labelled { broken.append("\(where_): not valid JSON (\(describe(error)))") }
                }
            }
        }
        for object in index.objects("GrafanaDashboard") {
            guard let text = object[path: "spec.json"]?.string else { continue }
            do {
                dashboards.append(read(try parse(text), at: object.reference))
            } catch {
                broken.append("\(object.reference): spec.json is not valid JSON (\(describe(error)))")
            }
        }
        for document in index.documents where document.json["panels"]?.array != nil || document.json[path: "dashboard.panels"]?.array != nil {
            // Already parsed as YAML (JSON is YAML); read it the same way.
            if let data = document.json.rendered().data(using: .utf8), let json = try? JSONSerialization.jsonObject(with: data) {
                dashboards.append(read(json, at: document.location))
            }
        }
        if !broken.isEmpty {
            return Finding(.static, .fail, "\(broken.count) dashboard(s) are not valid JSON", evidence: broken + dashboards.map(\.reference))
        }
        guard !dashboards.isEmpty else {
            return Finding(.static, .fail, "no Grafana dashboard in the manifests (no ConfigMap labelled grafana_dashboard, no GrafanaDashboard)")
        }
        let expressions = dashboards.flatMap(\.expressions)
        let missing = keyMetrics.filter { metric in !expressions.contains { $0.contains(metric) } }
        let evidence = dashboards.map { "\($0.reference): '\($0.title)', \($0.panels) panel(s)" }
        if !missing.isEmpty {
            return Finding(.static, .fail, "the dashboards chart none of \(missing.joined(separator: ", "))", evidence: evidence,
                           fix: "add panels for \(missing.joined(separator: ", ")) to Luminate's dashboard")
        }
        return Finding(.static, .pass, "\(dashboards.count) dashboard(s) chart the key metrics", evidence: evidence)
    }

    /// Strict JSON (a dashboard Grafana can import), through JSONSerialization: several times
    /// faster than decoding into `JSONValue`, which matters for large dashboards.
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func isDashboard(_ json: Any) -> Bool {
        guard let object = json as? [String: Any] else { return false }
        return object["panels"] is [Any] || object["rows"] is [Any] || (object["dashboard"] as? [String: Any])?["panels"] is [Any]
    }

    static func read(_ json: Any, at reference: String) -> Dashboard {
        let object = json as? [String: Any] ?? [:]
        let inner = object["dashboard"] as? [String: Any]
        var expressions: [String] = []
        collect(json, into: &expressions)
        return Dashboard(
            reference: reference,
            title: object["title"] as? String ?? inner?["title"] as? String ?? "untitled",
            panels: ((object["panels"] ?? inner?["panels"]) as? [Any])?.count ?? 0,
            expressions: expressions)
    }

    /// Every `expr` anywhere in the dashboard (panels, rows, nested row panels, targets).
    static func collect(_ json: Any, into out: inout [String]) {
        if let object = json as? [String: Any] {
            for (key, value) in object {
                if key == "expr", let text = value as? String { out.append(text) } else { collect(value, into: &out) }
            }
        } else if let items = json as? [Any] {
            for item in items { collect(item, into: &out) }
        }
    }

    private static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        return nsError.userInfo["NSDebugDescription"] as? String ?? nsError.localizedDescription
    }
}

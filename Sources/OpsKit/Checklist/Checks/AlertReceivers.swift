import Foundation

/// MON-4's reading of Alertmanager: receivers that page through PagerDuty or Opsgenie, and
/// whether their keys come from secrets (a `*_file` mounted from a Secret, or a secret selector
/// of an AlertmanagerConfig) rather than being written into the configuration.
enum AlertReceivers {
    /// What the receivers showed: good pagers, keys written in clear, configurations that
    /// cannot be read (sealed).
    struct Findings {
        var pagers: [String] = []
        var literals: [String] = []
        var sealed: [String] = []
    }

    static func evaluate(_ index: ManifestIndex) -> Finding {
        let found = scan(index)
        if !found.literals.isEmpty {
            return Finding(.static, .fail, "a paging key is written into the Alertmanager configuration", evidence: found.literals + found.pagers,
                           fix: "keep the key in a Secret: routing_key_file / api_key_file pointing at a mounted Secret, or secret selectors in an AlertmanagerConfig")
        }
        if !found.pagers.isEmpty {
            return Finding(.static, .pass, "alerts page through \(Set(found.pagers.map { $0.contains("opsgenie") ? "Opsgenie" : "PagerDuty" }).sorted().joined(separator: " and ")), keys from secrets",
                           evidence: found.pagers)
        }
        if !found.sealed.isEmpty {
            return Finding(.static, .warn, "the Alertmanager configuration is sealed, so its receivers cannot be read here", evidence: found.sealed,
                           fix: "attest MON-4, or keep receivers in an AlertmanagerConfig with secret selectors")
        }
        return Finding(.static, .fail, "no PagerDuty or Opsgenie receiver in the Alertmanager configuration (AlertmanagerConfig, alertmanager.yaml)")
    }

    static func scan(_ index: ManifestIndex) -> Findings {
        var found = Findings()
        for config in index.objects("AlertmanagerConfig") {
            for receiver in config[path: "spec.receivers"]?.array ?? [] {
                let name = receiver["name"]?.string ?? "?"
                for pager in receiver["pagerdutyConfigs"]?.array ?? [] {
                    let key = pager["routingKey"] ?? pager["serviceKey"]
                    if let secret = key?["name"]?.string {
                        found.pagers.append("\(config.reference) receiver \(name): pagerduty key from Secret \(secret)")
                    } else {
                        found.literals.append("\(config.reference) receiver \(name): pagerduty config without a routingKey secret")
                    }
                }
                for pager in receiver["opsgenieConfigs"]?.array ?? [] {
                    if let secret = pager[path: "apiKey.name"]?.string {
                        found.pagers.append("\(config.reference) receiver \(name): opsgenie key from Secret \(secret)")
                    } else {
                        found.literals.append("\(config.reference) receiver \(name): opsgenie config without an apiKey secret")
                    }
                }
            }
        }
        for document in index.documents where document.json["receivers"] != nil {
            scan(configuration: document.json, at: document.location, into: &found)
        }
        for object in index.objects("ConfigMap", "Secret") {
            for (key, value) in (object["data"]?.object ?? []) + (object["stringData"]?.object ?? []) where key.hasPrefix("alertmanager") {
                guard var text = value.string else { continue }
                if object.kind == "Secret", object["data"]?[key] != nil, let decoded = Data(base64Encoded: text) {
                    text = String(decoding: decoded, as: UTF8.self)
                }
                guard let configuration = try? YAML.parse(Data(text.utf8), file: key)?.jsonValue else { continue }
                scan(configuration: configuration, at: "\(object.reference) key \(key)", into: &found)
            }
        }
        // A sealed or external Secret whose keys (visible, unlike their values) hold an
        // alertmanager.yaml: the configuration exists but cannot be read here.
        for object in index.objects("SealedSecret", "ExternalSecret") {
            let keys = (object[path: "spec.encryptedData"]?.object ?? []).map(\.0)
                + (object[path: "spec.data"]?.array ?? []).compactMap { $0["secretKey"]?.string }
                + (object[path: "spec.target.template.data"]?.object ?? []).map(\.0)
            if keys.contains(where: { $0.hasPrefix("alertmanager.") }) {
                found.sealed.append("\(object.reference): Alertmanager configuration from a \(object.kind)")
            }
        }
        return found
    }

    /// A plain `alertmanager.yml`.
    static func scan(configuration: JSONValue, at location: String, into found: inout Findings) {
        let global = configuration["global"]
        for receiver in configuration["receivers"]?.array ?? [] {
            let name = receiver["name"]?.string ?? "?"
            for pager in receiver["pagerduty_configs"]?.array ?? [] {
                if pager["routing_key_file"] != nil || pager["service_key_file"] != nil {
                    found.pagers.append("\(location) receiver \(name): pagerduty key from a file (mounted Secret)")
                } else if pager["routing_key"] != nil || pager["service_key"] != nil {
                    found.literals.append("\(location) receiver \(name): pagerduty routing_key written in the configuration")
                }
            }
            for pager in receiver["opsgenie_configs"]?.array ?? [] {
                if pager["api_key_file"] != nil || (pager["api_key"] == nil && global?["opsgenie_api_key_file"] != nil) {
                    found.pagers.append("\(location) receiver \(name): opsgenie key from a file (mounted Secret)")
                } else if pager["api_key"] != nil || global?["opsgenie_api_key"] != nil {
                    found.literals.append("\(location) receiver \(name): opsgenie api_key written in the configuration")
                }
            }
        }
    }
}

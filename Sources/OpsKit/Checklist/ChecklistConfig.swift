import Foundation

/// The `checklist:` settings of one environment in luminatectl.yaml:
///
/// ```yaml
/// checklist:
///   attestations: checklist/attestations-production.yaml
///   waivers: checklist/waivers-production.yaml
///   manifests: manifests/overlays/production
///   runbooks: runbooks
///   incidentProcess: docs/incident-management.md
///   minKubernetesVersion: "1.28"
///   secretKinds: [SealedSecret, ExternalSecret]
/// ```
///
/// Relative paths are relative to the configuration file, so the file works from any directory.
package struct ChecklistConfig: Sendable, Equatable {
    package var attestations: Sourced<String>?
    package var waivers: Sourced<String>?
    package var manifests: Sourced<String>?
    package var runbooks: Sourced<String>?
    package var incidentProcess: Sourced<String>?
    package var minKubernetesVersion: Sourced<String>?
    package var secretKinds: Sourced<[String]>?

    package init() {}

    package static let keys = ["attestations", "waivers", "manifests", "runbooks", "incidentProcess", "minKubernetesVersion", "secretKinds"]
    /// Kinds that produce Secrets from encrypted or external sources (SEC-2).
    package static let defaultSecretKinds = ["SealedSecret", "ExternalSecret"]
    /// The guide's minimum Kubernetes version (INF-3).
    package static let defaultMinimumKubernetes = "1.28"

    /// The minimum Kubernetes version as (major, minor).
    package var minimumKubernetes: (major: Int, minor: Int) {
        Self.majorMinor(minKubernetesVersion?.value ?? Self.defaultMinimumKubernetes) ?? (1, 28)
    }

    package var effectiveSecretKinds: [String] { secretKinds?.value ?? Self.defaultSecretKinds }

    /// `1.28`, `v1.28`, `1.28.3` → (1, 28).
    package static func majorMinor(_ text: String) -> (major: Int, minor: Int)? {
        let parts = text.trimmingCharacters(in: .whitespaces).drop { $0 == "v" }.split(separator: ".")
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1].prefix { $0.isNumber }), !parts[1].isEmpty else { return nil }
        return (major, minor)
    }

    /// A path setting resolved against the directory of the file that set it.
    package static func resolve(_ setting: Sourced<String>, context: Context) -> String {
        let path = setting.value
        if path.hasPrefix("/") || path.hasPrefix("~/") { return context.resolve(path: path) }
        if case .file(let mark) = setting.source {
            let directory = (mark.file as NSString).deletingLastPathComponent
            return (directory.isEmpty ? context.workingDirectory : context.resolve(path: directory)) + "/" + path
        }
        return context.resolve(path: path)
    }

    static func parse(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> ChecklistConfig {
        let fields = try reader.mapping(node, path, keys: keys)
        var config = ChecklistConfig()
        config.attestations = try fields["attestations"].map { try reader.string($0, "\(path).attestations") }
        config.waivers = try fields["waivers"].map { try reader.string($0, "\(path).waivers") }
        config.manifests = try fields["manifests"].map { try reader.string($0, "\(path).manifests") }
        config.runbooks = try fields["runbooks"].map { try reader.string($0, "\(path).runbooks") }
        config.incidentProcess = try fields["incidentProcess"].map { try reader.string($0, "\(path).incidentProcess") }
        if let version = fields["minKubernetesVersion"] {
            let text = try reader.string(version, "\(path).minKubernetesVersion")
            guard majorMinor(text.value) != nil else {
                throw ConfigError(mark: version.mark, keyPath: "\(path).minKubernetesVersion",
                                  message: "expected a version like \"1.28\", found '\(text.value)'")
            }
            config.minKubernetesVersion = text
        }
        if let kinds = fields["secretKinds"] {
            let items = try reader.sequence(kinds, "\(path).secretKinds")
            let names = try items.enumerated().map { try reader.string($1, "\(path).secretKinds[\($0)]").value }
            guard !names.isEmpty else {
                throw ConfigError(mark: kinds.mark, keyPath: "\(path).secretKinds", message: "name at least one kind, e.g. [SealedSecret, ExternalSecret]")
            }
            config.secretKinds = Sourced(names, .file(kinds.mark))
        }
        return config
    }
}

import Foundation
import XCTest
@testable import OpsKit

/// One element removed or broken in a copy of the bundled production inputs, and the outcomes it
/// must change: the check that guards the element fails (or, for the checks that take either
/// evidence, warns), every other check keeps its baseline outcome.
struct BundledMutation: Sendable {
    /// The check the element belongs to.
    var check: String
    var name: String
    /// The outcomes that change, as `BundledManifestsTests.baseline` writes them.
    var expected: [String: String]
    /// Part of the check's message or evidence naming the broken element.
    var fragment: String
    /// Changes the inputs; `scratch` is an empty directory of its own, removed afterwards.
    var apply: @Sendable (inout BundledRepository.Inputs, _ scratch: String) throws -> Void

    /// A change to the rendered manifests, in memory.
    static func manifests(
        _ check: String, _ name: String, expect outcome: String, fragment: String,
        _ change: @escaping @Sendable (ManifestIndex) throws -> ManifestIndex
    ) -> BundledMutation {
        BundledMutation(check: check, name: "\(check): \(name)", expected: [check: outcome], fragment: fragment) { inputs, _ in
            inputs.manifests = try change(inputs.manifests)
        }
    }

    /// A change to one runbook of a copy of `runbooks/`, read back through the runbook loader.
    static func runbook(
        _ check: String, _ name: String, expect outcome: String, fragment: String, file: String,
        _ edit: @escaping @Sendable (String, BundledRepository.Inputs) throws -> String
    ) -> BundledMutation {
        BundledMutation(check: check, name: "\(check): \(name)", expected: [check: outcome], fragment: fragment) { inputs, scratch in
            let directory = scratch + "/runbooks"
            try FileManager.default.copyItem(atPath: BundledRepository.runbooks, toPath: directory)
            let path = directory + "/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let edited = try edit(text, inputs)
            guard edited != text else { throw MutationMissed("\(file) is unchanged") }
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
            inputs.runbooks = try RunbookLibrary.load(directory: directory, display: ChecklistRun.displayPath(workingDirectory: scratch))
        }
    }

    /// A change to the production environment of a copy of luminatectl's configuration
    /// (`manifests/base/data-protection/luminatectl.yaml`), loaded as `--config COPY --env production`.
    static func configuration(
        _ check: String, _ name: String, expect outcome: String, fragment: String,
        _ edit: @escaping @Sendable (_ production: inout [String]) throws -> Void
    ) -> BundledMutation {
        BundledMutation(check: check, name: "\(check): \(name)", expected: [check: outcome], fragment: fragment) { inputs, scratch in
            var lines = try String(contentsOfFile: BundledRepository.configurationFile, encoding: .utf8).components(separatedBy: "\n")
            guard let start = lines.firstIndex(of: "  production:") else { throw MutationMissed("no production environment in luminatectl.yaml") }
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("  ") && !$0.hasPrefix("   ") } ?? lines.count
            var production = Array(lines[start..<end])
            let before = production
            try edit(&production)
            guard production != before else { throw MutationMissed("the production environment is unchanged") }
            lines.replaceSubrange(start..<end, with: production)
            let copy = scratch + "/luminatectl.yaml"
            try lines.joined(separator: "\n").write(toFile: copy, atomically: true, encoding: .utf8)
            let configuration = try BundledRepository.configuration(copy, now: inputs.settings.now)
            inputs.settings = BundledRepository.settings(configuration, now: inputs.settings.now)
        }
    }
}

/// A mutation that found nothing to change: the bundled manifests moved on and the mutation
/// must follow, or it would test nothing.
struct MutationMissed: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One mutation per element the static and config rules guard in the bundled manifests.
enum BundledMutations {
    static let all: [BundledMutation] = infrastructure + security + monitoring + dataProtection + performance + operations

    static let infrastructure: [BundledMutation] = [
        .manifests("INF-1", "ClickHouse shard 2 with 1 replica", expect: "fail (static fail, live skip)", fragment: "3 ClickHouse node(s)") {
            try $0.editing("StatefulSet", "clickhouse-s2") { $0.setPath("spec.replicas", 1) }
        },
        .manifests("INF-2", "ZooKeeper with 2 replicas", expect: "fail (static fail, live skip)", fragment: "a ZooKeeper ensemble of 2 node(s)") {
            try $0.editing("StatefulSet", "zookeeper") { $0.setPath("spec.replicas", 2) }
        },
        // INF-5 reads the same Ingresses: without one routing to Luminate, nothing terminates its
        // TLS either. The Service is already ClusterIP, so nothing else exposes Luminate.
        BundledMutation(
            check: "INF-4", name: "INF-4: no Ingress, the Service ClusterIP",
            expected: ["INF-4": "fail (static fail, live skip)", "INF-5": "fail (static fail, live skip)"],
            fragment: "type ClusterIP, no Ingress routes to it"
        ) { inputs, _ in
            guard inputs.manifests.object("Service", named: "luminate")?[path: "spec.type"] == "ClusterIP" else {
                throw MutationMissed("Service/luminate is not ClusterIP: removing the Ingress would not leave Luminate unexposed")
            }
            inputs.manifests = try inputs.manifests.without("Ingress", "luminate")
        },
        // The Ingress still forces the redirect, so SEC-5 has nothing to say: only the certificate is gone.
        .manifests("INF-5", "the Ingress without spec.tls", expect: "fail (static fail, live skip)", fragment: ": no spec.tls") {
            try $0.editing("Ingress", "luminate") { $0.removePath("spec.tls") }
        },
    ]

    static let security: [BundledMutation] = [
        .manifests("SEC-1", "the JWT secret as a literal value", expect: "fail (static fail, live skip)",
                   fragment: "container luminate env LUMINATE_JWT_SECRET: a literal value in the manifest") {
            try $0.editing("Deployment", "luminate") { deployment in
                try deployment.editItems("spec.template.spec.containers", named: "luminate") { container in
                    try container.editItems("env", named: "LUMINATE_JWT_SECRET") { $0 = ["name": "LUMINATE_JWT_SECRET", "value": "a-literal-signing-key"] }
                }
            }
        },
        .manifests("SEC-2", "a plain Secret with data", expect: "fail (static fail, live skip)",
                   fragment: "Secret/luminate/luminate-debug (extra.yaml:1): a plain Secret with 1 key(s) of data") {
            try $0.adding("""
                apiVersion: v1
                kind: Secret
                metadata: {name: luminate-debug, namespace: luminate}
                type: Opaque
                data: {token: ZGVidWctdG9rZW4=}
                """)
        },
        .manifests("SEC-3", "no default-deny NetworkPolicy", expect: "fail (static fail, live skip)",
                   fragment: "namespace luminate: no default-deny ingress NetworkPolicy") {
            try $0.without("NetworkPolicy", "default-deny")
        },
        .manifests("SEC-4", "a wildcard verb in Luminate's Role", expect: "fail (static fail, live skip)", fragment: "rule 1 grants * on leases") {
            try $0.editing("Role", "luminate") { $0.setPath("rules[0].verbs", ["*"]) }
        },
        .manifests("SEC-5", "the Ingress's HTTPS redirect turned off", expect: "fail (static fail)",
                   fragment: "nginx.ingress.kubernetes.io/ssl-redirect: \"false\" serves plain HTTP without redirect") {
            try $0.editing("Ingress", "luminate") { ingress in
                ingress.setAnnotation("nginx.ingress.kubernetes.io/force-ssl-redirect", nil)
                ingress.setAnnotation("nginx.ingress.kubernetes.io/ssl-redirect", "false")
            }
        },
        // A second plain-HTTP entry: Luminate's Service on a load balancer, port 80, no certificate.
        // INF-4 still passes (a LoadBalancer Service exposes Luminate too).
        .manifests("SEC-5", "Luminate's Service a LoadBalancer serving http on 80", expect: "fail (static fail)",
                   fragment: "type LoadBalancer exposes plain HTTP (http 80)") {
            try $0.editing("Service", "luminate") { $0.setPath("spec.type", "LoadBalancer") }
        },
    ]

    static let monitoring: [BundledMutation] = [
        .manifests("MON-1", "no ServiceMonitor for Luminate", expect: "fail (static fail, live skip)", fragment: "nothing makes Prometheus scrape Luminate") {
            try $0.without("ServiceMonitor", "luminate")
        },
        .manifests("MON-2", "the dashboard JSON cut short", expect: "fail (static fail, attest warn)", fragment: "key luminate.json: not valid JSON") {
            try $0.editing("ConfigMap", "luminate-dashboard") { map in
                guard let text = map[path: "data"]?["luminate.json"]?.string else { throw MutationMissed("no data luminate.json") }
                map.setPath("data", ["luminate.json": .string(String(text.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()))])
            }
        },
        .manifests("MON-3", "no error-rate alert", expect: "fail (static fail, live skip)", fragment: "no alert for error rate") {
            try $0.editing("PrometheusRule", "luminate-alerts") { rule in
                var removed = 0
                try rule.editItems("spec.groups", where: { _ in true }) { group in
                    removed += group.removeItems("rules") { $0["alert"]?.string == "LuminateHighErrorRate" }
                }
                guard removed == 1 else { throw MutationMissed("\(removed) LuminateHighErrorRate alerts") }
            }
        },
        .manifests("MON-4", "no PagerDuty or Opsgenie receiver", expect: "fail (static fail, attest warn)", fragment: "no PagerDuty or Opsgenie receiver") {
            try $0.editing("AlertmanagerConfig", "luminate") { config in
                let removed = config.removeItems("spec.receivers") { $0["pagerdutyConfigs"] != nil || $0["opsgenieConfigs"] != nil }
                guard removed == 2 else { throw MutationMissed("\(removed) paging receivers") }
            }
        },
        // MON-5 takes either evidence (a shipper or an attestation): without both, it warns.
        .manifests("MON-5", "no log shipper", expect: "warn (static warn, attest warn)", fragment: "no log shipper in the manifests") {
            try $0.without("DaemonSet", "luminate-fluent-bit")
        },
    ]

    static let dataProtection: [BundledMutation] = [
        .manifests("DP-1", "a daily backup", expect: "fail (static fail, live skip)", fragment: "'0 2 * * *', at most 1d between backups, longer than the RPO of 1h") {
            try $0.editing("CronJob", "luminate-backup") { $0.setPath("spec.schedule", "0 2 * * *") }
        },
        .configuration("DP-2", "12 hourly backups kept", expect: "fail (config fail)", fragment: "hourly 12 < 24") { production in
            production = production.map { $0.replacingOccurrences(of: "backups: {hourly: 24,", with: "backups: {hourly: 12,") }
        },
        // DP-4 counts any mention of "corrupt" as covering the scenario: without the section and
        // its row in the plan's index, the passing "corrupted data" of "Cluster failure", step 3,
        // would still pass it. So every mention goes.
        .runbook("DP-4", "the plan without its data-corruption section", expect: "fail (static fail)",
                 fragment: "the disaster recovery plan does not cover data corruption", file: "disaster-recovery.md") { text, _ in
            var lines = text.components(separatedBy: "\n")
            guard let start = lines.firstIndex(where: { $0.hasPrefix("## Data corruption") }) else { throw MutationMissed("no '## Data corruption' section") }
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.count
            lines.removeSubrange(start..<end)
            lines.removeAll { $0.contains("(#data-corruption") }
            return lines.joined(separator: "\n")
                .replacingOccurrences(of: "corrupted", with: "damaged").replacingOccurrences(of: "corruption", with: "damage")
        },
    ]

    static let performance: [BundledMutation] = [
        .manifests("PERF-2", "the autoscaler's minimum at 1", expect: "fail (static fail, attest warn)", fragment: "minReplicas 1 < 2") {
            try $0.editing("HorizontalPodAutoscaler", "luminate") { $0.setPath("spec.minReplicas", 1) }
        },
        .manifests("PERF-3", "Luminate's container without a memory limit", expect: "fail (static fail, live skip)",
                   fragment: "container luminate: no memory limit") {
            try $0.editing("Deployment", "luminate") { deployment in
                try deployment.editItems("spec.template.spec.containers", named: "luminate") { $0.removePath("resources.limits.memory") }
            }
        },
    ]

    static let operations: [BundledMutation] = [
        .runbook("OPS-1", "a runbook last reviewed 400 days ago", expect: "fail (static fail)",
                 fragment: "runbooks/high-error-rate.md: reviewed 400 days ago", file: "high-error-rate.md") { text, inputs in
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            let stale = formatter.string(from: inputs.settings.now.addingTimeInterval(-400 * 86400))
            return text.replacingOccurrences(of: #"(?m)^reviewed-on: .*$"#, with: "reviewed-on: \(stale)", options: .regularExpression)
        },
        // OPS-3 takes either evidence (a document or an attestation): without both, it warns.
        BundledMutation(check: "OPS-3", name: "OPS-3: a repository without docs/incident-management.md", expected: ["OPS-3": "warn (static warn, attest warn)"],
                        fragment: "no incident management document") { inputs, scratch in
            guard FileManager.default.fileExists(atPath: BundledRepository.root + "/docs/incident-management.md") else {
                throw MutationMissed("the repository has no docs/incident-management.md to leave out")
            }
            inputs.settings.repositoryRoot = scratch
        },
        .configuration("OPS-4", "deploys without a change request", expect: "fail (config fail, attest warn)",
                       fragment: "deploys to production do not require a change-request ID") { production in
            guard let policy = production.firstIndex(of: "    policy:") else { throw MutationMissed("no policy in the production environment") }
            production.insert("      changeRequestRequired: false", at: policy + 1)
        },
    ]
}

extension ManifestIndex {
    /// The same set with the object `kind`/`name` changed; throws when there is no such object.
    func editing(_ kind: String, _ name: String, _ change: (inout JSONValue) throws -> Void) throws -> ManifestIndex {
        var found = false
        let changed = try objects.map { object -> ManifestObject in
            guard object.kind == kind, object.name == name else { return object }
            found = true
            var json = object.json
            try change(&json)
            return ManifestObject(json, mark: object.mark, defaultNamespace: object.namespace)!
        }
        guard found else { throw MutationMissed("no \(kind)/\(name) in the bundled manifests") }
        return ManifestIndex(objects: changed, documents: documents, sources: sources)
    }

    /// The same set without the object `kind`/`name`; throws when there is no such object.
    func without(_ kind: String, _ name: String) throws -> ManifestIndex {
        let kept = objects.filter { !($0.kind == kind && $0.name == name) }
        guard kept.count < objects.count else { throw MutationMissed("no \(kind)/\(name) in the bundled manifests") }
        return ManifestIndex(objects: kept, documents: documents, sources: sources)
    }
}

extension JSONValue {
    /// Changes the items of the list at `path` that match; throws when none does.
    mutating func editItems(_ path: String, where matches: (JSONValue) -> Bool, _ edit: (inout JSONValue) throws -> Void) throws {
        guard var items = self[path: path]?.array else { throw MutationMissed("no list at \(path)") }
        var found = false
        for index in items.indices where matches(items[index]) {
            found = true
            try edit(&items[index])
        }
        guard found else { throw MutationMissed("no matching item in \(path)") }
        setPath(path, .array(items))
    }

    /// Changes the item named `name` (containers, env) of the list at `path`.
    mutating func editItems(_ path: String, named name: String, _ edit: (inout JSONValue) throws -> Void) throws {
        try editItems(path, where: { $0["name"]?.string == name }, edit)
    }

    /// Removes the items of the list at `path` that match; returns how many.
    mutating func removeItems(_ path: String, where matches: (JSONValue) -> Bool) -> Int {
        guard let items = self[path: path]?.array else { return 0 }
        let kept = items.filter { !matches($0) }
        setPath(path, .array(kept))
        return items.count - kept.count
    }

    /// Sets (or, with nil, removes) an annotation: their keys hold dots, which paths cannot.
    mutating func setAnnotation(_ key: String, _ value: JSONValue?) {
        var entries = self[path: "metadata.annotations"]?.object ?? []
        entries.removeAll { $0.0 == key }
        if let value { entries.append((key, value)) }
        setPath("metadata.annotations", .object(entries))
    }
}

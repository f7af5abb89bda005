import Foundation

/// What one data-corruption probe found: nothing, rows that are findings, or why it could not run.
package struct ProbeOutcome: Sendable, Equatable {
    /// `read-only-replicas`, `replication-queue`, `replica-agreement`, `broken-detached-parts`,
    /// or a configured probe's name.
    package var probe: String
    /// One line per finding (`luminate.metrics_local partition 20261126: shard 1 replicas
    /// disagree: 127.0.0.1:9000 1000 rows, 127.0.0.1:9001 990 rows`).
    package var findings: [String]
    /// Why the probe did not run, or ran only in part; nil when it ran.
    package var error: String?
    /// What it checked, for the text output (`60 settled partitions on 2 shards agree`).
    package var checked: String?

    package init(probe: String, findings: [String] = [], error: String? = nil, checked: String? = nil) {
        self.probe = probe
        self.findings = findings
        self.error = error
        self.checked = checked
    }

    package var json: JSONValue {
        var entry: JSONValue = ["probe": .string(probe), "findings": .array(findings.map(JSONValue.string))]
        if let error { entry.set("error", .string(error)) }
        if let checked { entry.set("checked", .string(checked)) }
        return entry
    }
}

/// Runs the data-corruption probes: ClickHouse in production, a fake in tests.
package protocol CorruptionSource: Sendable {
    /// Every probe once. A probe that cannot run reports its error in its outcome; the whole call
    /// throws only when nothing could be asked at all.
    func probe() throws -> [ProbeOutcome]
}

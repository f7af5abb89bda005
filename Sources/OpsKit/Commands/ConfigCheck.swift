import Foundation
import Synchronization

/// The seam through which `config check` reaches an S3 backup store, so the check can be tested
/// with a fake and the S3 client plugged in where it is built (`ConfigCheck.s3Probe`).
package protocol S3Probe: Sendable {
    /// One cheap authenticated request against `store` (listing its prefix, say): returns the
    /// detail `config check` shows, or throws an `OperatorError` naming the bucket and the fix.
    func probe(_ store: S3StoreTarget, connections: Connections) throws -> String
}

/// `luminatectl config check`: reaches every endpoint of the environment, concurrently, and says
/// what answered. The first thing to run against a new environment, and at 3 a.m. the quickest way
/// to tell "the cluster is down" from "my credentials are wrong".
enum ConfigCheck {
    static let command = Command(
        "check",
        abstract: "Check that every configured endpoint answers, with the configured credentials.",
        discussion: """
            Runs, concurrently: kubectl against the Kubernetes API (server version, namespace),
            ClickHouse over HTTP (ping, login, version, the cluster's hosts), ClickHouse's native
            protocol through clickhouse-client, Prometheus (ready), the Pushgateway (ready,
            version) and the backup store (a directory that must exist and be writable, or an S3
            bucket). An endpoint that is not configured is skipped, and says how to configure it.
            Exit 1 when any check failed.
            """,
        examples: ["luminatectl config check --env staging", "luminatectl config check -o json"],
        action: { invocation, context in
            let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
            let results = run(Connections(configuration: configuration, context: context), s3Probe: s3Probe)
            if invocation.json {
                context.console.line(json(results).rendered(pretty: true))
            } else {
                context.console.write(text(results, console: context.console))
            }
            if context.interrupt.isSet { return .interrupted }
            return results.contains { $0.status == .failed } ? .failure : .success
        }
    )

    /// The outcome for one endpoint.
    struct Result: Sendable {
        enum Status: String, Sendable { case ok, failed, skipped }
        var endpoint: String
        var target: String
        var status: Status
        var detail: String
        var hint: String?
        var seconds: Double
    }

    /// One endpoint check: its name, where it points, and the probe.
    private struct Probe: Sendable {
        var endpoint: String
        var target: @Sendable () -> String
        var probe: @Sendable () throws -> String
    }

    /// How `config check` reaches an S3 backup store; nil until the S3 client provides one, and
    /// the row then reports the store as configured without reaching it.
    static let s3Probe: (any S3Probe)? = S3ClientProbe()

    static func run(_ connections: Connections, s3Probe: (any S3Probe)? = nil) -> [Result] {
        let c = connections.configuration
        let probes = [
            Probe(endpoint: "kubernetes", target: {
                [c.kubeContext.map { "context \($0.value)" } ?? "current context", "namespace \(c.namespace.value)"].joined(separator: ", ")
            }, probe: {
                let kubectl = connections.kubectl()
                let versions = try kubectl.version()
                _ = try kubectl.get("namespace", c.namespace.value)
                return "server \(versions.server.gitVersion), kubectl \(versions.client.gitVersion), namespace \(c.namespace.value) exists"
            }),
            Probe(endpoint: "clickhouse-http", target: {
                c.clickhouseURL.map { "\(Redactor.redactURL($0.value)) as \(c.clickhouseUser.value)" } ?? "not configured"
            }, probe: {
                guard c.clickhouseURL != nil else { throw Skip(hint: "pass --clickhouse-url or set LUMINATECTL_CLICKHOUSE_URL") }
                let clickhouse = try connections.clickhouse()
                try clickhouse.ping()
                let version = try clickhouse.version()
                guard let cluster = c.clickhouseCluster.value else {
                    return "version \(version), a single server (no cluster configured)"
                }
                struct Hosts: Decodable { var hosts: FlexibleUInt64 }
                let rows = try clickhouse.query(
                    "SELECT count() AS hosts FROM system.clusters WHERE cluster = \(literal: cluster)", as: Hosts.self)
                let hosts = rows.first?.hosts.value ?? 0
                if hosts == 0 {
                    throw CheckFailure(
                        message: "version \(version), but cluster '\(cluster)' is not in system.clusters",
                        hint: "check clickhouse.cluster (LUMINATECTL_CLICKHOUSE_CLUSTER) against remote_servers")
                }
                return "version \(version), cluster \(cluster) has \(hosts) hosts"
            }),
            Probe(endpoint: "clickhouse-native", target: {
                c.clickhouseNative.map { "\($0.value) as \(c.clickhouseUser.value)" } ?? "not configured"
            }, probe: {
                guard c.clickhouseNative != nil else { throw Skip(hint: "set LUMINATECTL_CLICKHOUSE_NATIVE or clickhouse.native (host:port)") }
                let version = try connections.clickhouseNative().raw("SELECT version()").trimmingCharacters(in: .whitespacesAndNewlines)
                return "version \(version) through clickhouse-client"
            }),
            Probe(endpoint: "prometheus", target: {
                c.prometheusURL.map { Redactor.redactURL($0.value) } ?? "not configured"
            }, probe: {
                guard c.prometheusURL != nil else { throw Skip(hint: "pass --prometheus-url or set LUMINATECTL_PROMETHEUS_URL") }
                guard try connections.prometheus().ready() else {
                    throw CheckFailure(message: "answers but is not ready (/-/ready)", hint: "Prometheus is starting or replaying its WAL; retry shortly")
                }
                return "ready"
            }),
            Probe(endpoint: "pushgateway", target: {
                c.pushgatewayURL.map { Redactor.redactURL($0.value) } ?? "not configured"
            }, probe: {
                guard c.pushgatewayURL != nil else { throw Skip(hint: "set LUMINATECTL_PUSHGATEWAY_URL or pushgateway.url") }
                let pushgateway = try connections.pushgateway()
                guard try pushgateway.ready() else {
                    throw CheckFailure(message: "answers but is not ready (/-/ready)",
                                       hint: "the Pushgateway is starting (loading its persistence file); retry shortly")
                }
                // Pushgateways before 1.0 have no /api/v1: ready is all they can tell.
                let version = try? pushgateway.status().version
                return version.map { "ready, version \($0)" } ?? "ready"
            }),
            Probe(endpoint: "backup-store", target: {
                switch c.backup.store {
                case nil: "not configured"
                case .path(let directory): "path \(directory.value)"
                case .s3(let s3): "s3://\(s3.bucket.value)/\(s3.prefix.value) at \(Redactor.redactURL(s3.endpoint.value)) (\(s3.region.value))"
                }
            }, probe: {
                guard c.backup.store != nil else {
                    throw Skip(hint: "set backup.store.s3 or backup.store.path (LUMINATECTL_S3_* or LUMINATECTL_BACKUP_PATH)")
                }
                return try backupStore(connections, s3Probe: s3Probe)
            }),
        ]

        let results = Mutex<[Int: Result]>([:])
        let clock = connections.context.clock
        DispatchQueue.concurrentPerform(iterations: probes.count) { index in
            let probe = probes[index]
            let start = clock.now()
            var result = Result(endpoint: probe.endpoint, target: probe.target(), status: .ok, detail: "", seconds: 0)
            do {
                result.detail = try probe.probe()
            } catch let skip as Skip {
                result.status = .skipped
                result.detail = skip.detail
                result.hint = skip.hint
            } catch let error as any OperatorError {
                result.status = .failed
                result.detail = Redactor.redact(error.description)
                result.hint = error.hint.map(Redactor.redact)
            } catch {
                result.status = .failed
                result.detail = Redactor.redact(String(describing: error))
            }
            result.seconds = clock.now().timeIntervalSince(start)
            results.withLock { $0[index] = result }
        }
        return results.withLock { all in probes.indices.compactMap { all[$0] } }
    }

    /// The check did not run; `detail` says why.
    private struct Skip: Error {
        var detail = "not configured"
        var hint: String?
    }

    /// A directory store must exist and be writable by this user (the CronJob's pod mounts it);
    /// an S3 store is reached through `s3Probe`, or reported as configured when there is none.
    private static func backupStore(_ connections: Connections, s3Probe: (any S3Probe)?) throws -> String {
        switch try connections.backupStore() {
        case .path(let directory):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
                throw CheckFailure(message: "\(directory) does not exist",
                                   hint: "create it or mount the backup volume there; check backup.store.path (LUMINATECTL_BACKUP_PATH)")
            }
            guard isDirectory.boolValue else {
                throw CheckFailure(message: "\(directory) is not a directory", hint: "check backup.store.path (LUMINATECTL_BACKUP_PATH)")
            }
            guard FileManager.default.isWritableFile(atPath: directory) else {
                throw CheckFailure(message: "\(directory) is not writable by this user",
                                   hint: "check the volume's owner and mode (the CronJob runs as uid 65532 with fsGroup 65532)")
            }
            return "directory exists and is writable"
        case .s3(let target):
            guard let s3Probe else {
                throw Skip(detail: "configured (access key \(target.accessKeyID), secret \(target.secretSource)); not reached: this build has no S3 client")
            }
            return try s3Probe.probe(target, connections: connections)
        }
    }

    private struct CheckFailure: OperatorError {
        var message: String
        var hint: String?
        var description: String { message }
    }

    static func text(_ results: [Result], console: Console) -> String {
        let width = results.map(\.endpoint.count).max() ?? 0
        var out = ""
        for result in results {
            let mark = switch result.status {
            case .ok: console.paint("ok     ", .green)
            case .failed: console.paint("FAILED ", .red)
            case .skipped: console.paint("skipped", .yellow)
            }
            out += "\(mark)  \(result.endpoint.padding(toLength: width, withPad: " ", startingAt: 0))  \(result.target)\n"
            out += "         \(String(repeating: " ", count: width))  \(result.detail) (\(formatSeconds(result.seconds)))\n"
            if let hint = result.hint, result.status != .ok {
                out += "         \(String(repeating: " ", count: width))  hint: \(hint)\n"
            }
        }
        let counts = [ConfigCheck.Result.Status.ok, .failed, .skipped].map { status in
            "\(results.filter { $0.status == status }.count) \(status.rawValue)"
        }
        out += "\n\(counts.joined(separator: ", "))\n"
        return out
    }

    static func json(_ results: [Result]) -> JSONValue {
        .object([
            ("ok", .bool(!results.contains { $0.status == .failed })),
            ("endpoints", .array(results.map { result in
                .object([
                    ("endpoint", .string(result.endpoint)),
                    ("target", .string(result.target)),
                    ("status", .string(result.status.rawValue)),
                    ("detail", .string(result.detail)),
                    ("hint", result.hint.map { .string($0) } ?? .null),
                    ("seconds", .number((result.seconds * 1000).rounded() / 1000)),
                ])
            })),
        ])
    }
}

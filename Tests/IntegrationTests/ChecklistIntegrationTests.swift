import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import OpsKit

/// `luminatectl checklist run --live` against the sandbox: the real kubectl against the API
/// emulator (the good fixture applied to a namespace of its own), the 4-node ClickHouse cluster
/// with ZooKeeper, and Prometheus with the scenario fixtures, at the scenarios' times.
///
/// The sandbox's variables must be set (`scripts/test` sets them; or
/// `eval "$(scripts/sandbox env)"`): without them every test fails, saying so.
final class ChecklistIntegrationTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checklist").path
    static let required = ["LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_PROMETHEUS_URL", "LUMINATECTL_PROMETHEUS_SCENARIOS", "KUBECONFIG", "LUMINATECTL_KUBE_EMULATOR_URL"]

    var environment: [String: String] = [:]
    var namespace = ""
    var kubectl: Kubectl!
    var scratch = ""

    struct SandboxMissing: Error, CustomStringConvertible { var description: String }

    /// Set once the environment is deployed; each test returns at once without it, after
    /// setUp recorded the failure (an error thrown from setUp would read as a skip).
    var ready = false

    override func setUp() {
        // No backup store: these tests are about the checklist on the cluster, not about backups
        // (DP-1's live part against a store is in NativeBackupIntegrationTests).
        environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LUMINATECTL_S3_") }
        for name in Sandbox.missing(Self.required) {
            XCTFail(Sandbox.missingMessage(name))
            return
        }
        do {
            try deploy()
            ready = true
        } catch {
            XCTFail("could not deploy the checklist fixture to the sandbox: \(error)")
        }
    }

    private func deploy() throws {
        namespace = "checklist-it-" + String(UUID().uuidString.lowercased().prefix(8))
        environment["LUMINATECTL_NAMESPACE"] = namespace
        scratch = NSTemporaryDirectory() + "luminatectl-checklist-it-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        kubectl = Kubectl(
            target: KubectlTarget(context: environment["LUMINATECTL_CONTEXT"], namespace: namespace, kubeconfig: environment["KUBECONFIG"],
                                  cacheDir: environment["KUBECACHEDIR"], requestTimeout: 20),
            processes: PosixProcessRunner(), processTimeout: 60)
        try deployTheGoodFixture()
    }

    override func tearDown() {
        if !namespace.isEmpty, let kubectl {
            _ = try? kubectl.inNamespace(nil).delete("namespace", namespace, ignoreNotFound: true, wait: false)
            _ = try? emulator("POST", "policy", #"{"rules": []}"#)
        }
        try? FileManager.default.removeItem(atPath: scratch)
    }

    // MARK: - The environment

    /// The good fixture in this test's namespace, rolled out, with an address, a certificate, the
    /// JWT Secret owned by its SealedSecret, and an access policy denying what Luminate must not do.
    func deployTheGoodFixture(certificateDays: Int = 400) throws {
        _ = try kubectl.apply(manifest: Data(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(namespace)"}}"#.utf8))
        let loader = ManifestLoader(kubectl: kubectl, defaultNamespace: namespace, workingDirectory: Self.fixtures)
        let objects = try loader.load(Self.fixtures + "/good").objects.filter { $0.kind != "Namespace" }.map { object in
            object.namespace == nil ? object.json : Self.moved(object.json, to: namespace)
        }
        // JSON documents one after another, not a v1 List: kubectl validates a List against an OpenAPI
        // schema the emulator does not serve.
        _ = try kubectl.apply(manifest: Data(objects.map { $0.rendered() }.joined(separator: "\n").utf8))
        for (kind, name) in [("StatefulSet", "zookeeper"), ("Deployment", "luminate")] {
            _ = try emulator("POST", "rollout", #"{"namespace":"\#(namespace)","name":"\#(name)","kind":"\#(kind)","outcome":"complete"}"#)
        }
        _ = try kubectl.patch("ingress", "luminate", type: .merge, patch: Data(#"{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10"}]}}}"#.utf8), subresource: "status")
        try installCertificate(days: certificateDays)
        let owner = try kubectl.get("sealedsecret", "luminate-jwt")
        try applySecret("luminate-jwt", data: ["jwt-secret": "integration-test-jwt-value"], owner: owner)
        let deny = SecurityLive.forbiddenActions.map { action -> String in
            let resource = action.subresource.map { "\(action.resource)/\($0)" } ?? action.resource
            let scope = action.namespace.map { $0 == "$namespace" ? namespace : $0 } ?? ""
            return #"{"verbs":["\#(action.verb)"],"groups":["\#(action.group)"],"resources":["\#(resource)"],"namespaces":["\#(scope)"],"allowed":false}"#
        }
        _ = try emulator("POST", "policy", #"{"default":"allow","rules":[\#(deny.joined(separator: ","))]}"#)
    }

    static func moved(_ json: JSONValue, to namespace: String) -> JSONValue {
        guard case .object(var fields) = json, let index = fields.firstIndex(where: { $0.0 == "metadata" }), case .object(var metadata) = fields[index].1 else { return json }
        metadata.removeAll { $0.0 == "namespace" }
        metadata.append(("namespace", .string(namespace)))
        fields[index].1 = .object(metadata)
        return .object(fields)
    }

    func installCertificate(days: Int) throws {
        let result = try PosixProcessRunner().run(ProcessRequest("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "\(days)", "-subj", "/CN=metrics.example.com",
            "-keyout", scratch + "/tls.key", "-out", scratch + "/tls.crt",
        ], timeout: 60), interrupt: Interrupt())
        XCTAssertTrue(result.succeeded, result.stderrText)
        let certificate = try String(contentsOfFile: scratch + "/tls.crt", encoding: .utf8)
        let key = try String(contentsOfFile: scratch + "/tls.key", encoding: .utf8)
        try applySecret("luminate-tls", data: ["tls.crt": certificate, "tls.key": key])
    }

    func applySecret(_ name: String, data: [String: String], owner: KubeObject? = nil) throws {
        let encoded = data.map { ($0.key, JSONValue.string(Data($0.value.utf8).base64EncodedString())) }
        var metadata: [(String, JSONValue)] = [("name", .string(name)), ("namespace", .string(namespace))]
        if let owner {
            metadata.append(("ownerReferences", [["apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "name": .string(owner.name ?? ""), "uid": .string(owner.uid ?? "")]]))
        }
        let secret: JSONValue = .object([("apiVersion", "v1"), ("kind", "Secret"), ("metadata", .object(metadata)), ("data", .object(encoded))])
        _ = try kubectl.apply(manifest: Data(secret.rendered().utf8))
    }

    @discardableResult
    func emulator(_ method: String, _ path: String, _ body: String) throws -> HTTPResponse {
        let url = environment["LUMINATECTL_KUBE_EMULATOR_URL"]! + "/_emulator/" + path
        let response = try CurlTransport().send(HTTPRequest(method: method, url: url, headers: [("Content-Type", "application/json")], body: Data(body.utf8)), interrupt: Interrupt())
        XCTAssertEqual(response.status, 200, "\(method) \(path): \(response.text)")
        return response
    }

    /// The evaluation time of a Prometheus fixture scenario.
    func scenarioTime(_ name: String) throws -> Date {
        let spec = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: environment["LUMINATECTL_PROMETHEUS_SCENARIOS"]!)))
        let scenario = try XCTUnwrap(spec["scenarios"]?.array?.first { $0["name"]?.string == name }, "no scenario \(name)")
        return try XCTUnwrap(scenario["eval_time_rfc3339"]?.string.flatMap { ISO8601DateFormatter().date(from: $0) })
    }

    /// Runs luminatectl in-process with the live seams and a clock pinned at `time` that then
    /// runs in real time (durations are real; Prometheus is asked at the scenario's time).
    func checklist(_ arguments: [String], at time: Date, prometheus: String? = nil, namespace: String? = nil) throws -> (ExitCode, JSONValue, String) {
        var variables = environment
        if let prometheus { variables["LUMINATECTL_PROMETHEUS_URL"] = prometheus }
        if let namespace { variables["LUMINATECTL_NAMESPACE"] = namespace }
        let output = Captured()
        let context = Context(
            processes: PosixProcessRunner(), http: CurlTransport(), clock: PinnedClock(time), console: output.console,
            environment: variables, workingDirectory: Self.fixtures,
            makeHTTP: { ca, insecure in CurlTransport(caFile: ca, insecureSkipTLSVerify: insecure) })
        let code = Luminatectl.run(["checklist", "run", "--env", "production", "-o", "json"] + arguments, context: context)
        let json = (try? JSONValue.parse(Data(output.stdout.utf8))) ?? .null
        return (code, json, output.stdout + output.stderr)
    }

    func outcomes(_ json: JSONValue) -> [String: String] {
        var map: [String: String] = [:]
        for check in json["checks"]?.array ?? [] { map[check["id"]!.string!] = check["outcome"]!.string! }
        return map
    }

    func check(_ json: JSONValue, _ id: String) -> JSONValue {
        json["checks"]?.array?.first { $0["id"]?.string == id } ?? .null
    }

    // MARK: - Tests

    func testHealthyEnvironmentPassesStaticAndLive() throws {
        guard ready else { return }
        let (code, json, text) = try checklist(["--live", "--manifests", "good", "--attestations", "attestations.example.yaml"], at: try scenarioTime("healthy"))
        var expected = Dictionary(uniqueKeysWithValues: ChecklistCatalogue.ids.map { ($0, "pass") })
        expected["DP-2"] = "warn"    // no retention stated in a configuration file
        expected["DP-3"] = "fail"    // no restore drill in this environment's journal
        expected["MON-3"] = "fail"   // the sandbox's Prometheus loads no rules (testMON3... loads them)
        expected["PERF-3"] = "fail"  // Prometheus' fixtures are for namespace luminate (testScenarios... uses it)
        XCTAssertEqual(outcomes(json), expected, text)
        XCTAssertEqual(code, .failure)
        XCTAssertEqual(check(json, "MON-3")["message"], "Prometheus has no alert for error rate, latency, storage, backup age, replication lag, ZooKeeper")
        XCTAssertEqual(check(json, "PERF-3")["message"]?.string?.hasPrefix("no container memory data for namespace \(namespace) in the 7 days before"), true)
        XCTAssertEqual(check(json, "DP-1")["evidence"]?.array?.last, "live skipped: no backup store is configured for environment 'production' (backup.store): the live part needs one to read")
        XCTAssertEqual(check(json, "INF-1")["modes"], ["static", "live"])
        XCTAssertTrue(text.contains("shard 2 replica 2:"), text)
        XCTAssertFalse(text.contains("integration-test-jwt-value"), "a secret value reached the report")
        // Concurrent live checks: the run takes at most 1.5 times its slowest check.
        let slowest = try XCTUnwrap(json["slowest"]?["durationSeconds"]?.number)
        let wall = try XCTUnwrap(json["durationSeconds"]?.number)
        XCTAssertLessThanOrEqual(wall, 1.5 * slowest + 0.05, "run \(wall) s, slowest check \(slowest) s")
    }

    func testScenariosFailTheChecksTheyBreak() throws {
        guard ready else { return }
        // Prometheus' fixtures describe namespace luminate; nothing here asks Kubernetes.
        let (healthyCode, healthy, text0) = try checklist(["--live", "--only", "MON-1,PERF-3,PERF-4"], at: try scenarioTime("healthy"), namespace: "luminate")
        XCTAssertEqual(outcomes(healthy), ["MON-1": "pass", "PERF-3": "pass", "PERF-4": "pass"], text0)
        XCTAssertEqual(healthyCode, .success)
        XCTAssertEqual(check(healthy, "PERF-3")["message"], "every container stayed under 80% of its memory limit for 7 days (highest 50%)")
        let (_, down, text1) = try checklist(["--live", "--only", "MON-1"], at: try scenarioTime("instance-down"))
        XCTAssertEqual(check(down, "MON-1")["outcome"], "fail", text1)
        XCTAssertEqual(check(down, "MON-1")["message"], "1 of 3 Luminate targets are down at 2026-11-20T02:50:00Z")
        let (_, memory, text2) = try checklist(["--live", "--only", "PERF-3"], at: try scenarioTime("memory-high"), namespace: "luminate")
        XCTAssertEqual(check(memory, "PERF-3")["outcome"], "fail", text2)
        XCTAssertEqual(check(memory, "PERF-3")["evidence"]?.array?.contains("luminate-2/luminate: up to 85% of its memory limit"), true, text2)
        // A week later the breach is still inside the 7-day window.
        let (_, later, text4) = try checklist(["--live", "--only", "PERF-3"], at: try scenarioTime("memory-high").addingTimeInterval(6 * 86400), namespace: "luminate")
        XCTAssertEqual(check(later, "PERF-3")["outcome"], "fail", text4)
        let (_, gap, text3) = try checklist(["--live", "--only", "PERF-4,MON-1"], at: try scenarioTime("gap"))
        XCTAssertEqual(outcomes(gap), ["MON-1": "fail", "PERF-4": "fail"], text3)
        XCTAssertEqual(check(gap, "PERF-4")["message"], "no storage query p95 data at 2026-11-20T03:20:00Z; no storage write p95 data at 2026-11-20T03:20:00Z")
    }

    func testBrokenClusterFailsTheLiveChecks() throws {
        guard ready else { return }
        _ = try kubectl.delete("secret", "luminate-jwt")
        try installCertificate(days: 1)
        _ = try emulator("POST", "policy", #"{"rules": []}"#)
        let (code, json, text) = try checklist(["--live", "--manifests", "good", "--only", "SEC-1,SEC-2,SEC-4,INF-5"], at: try scenarioTime("healthy"))
        XCTAssertEqual(code, .failure)
        XCTAssertEqual(outcomes(json), ["INF-5": "fail", "SEC-1": "fail", "SEC-2": "fail", "SEC-4": "fail"], text)
        XCTAssertEqual(check(json, "SEC-1")["message"], "the JWT Secret luminate-jwt does not exist")
        XCTAssertTrue(check(json, "INF-5")["message"]?.string?.hasPrefix("the certificate in luminate-tls expires within 30 days") == true, text)
        XCTAssertEqual(check(json, "SEC-4")["message"], "Luminate's ServiceAccount luminate may do 6 thing(s) it must never do")
    }

    func testMON3AgainstAPrometheusLoadingTheRules() throws {
        guard ready else { return }
        let loader = ManifestLoader(kubectl: kubectl, defaultNamespace: namespace, workingDirectory: Self.fixtures)
        let groups = AlertRules.sources(try loader.load(Self.fixtures + "/good")).flatMap(\.groups)
        try JSONValue.object([("groups", .array(groups))]).rendered().write(toFile: scratch + "/rules.yml", atomically: true, encoding: .utf8)
        let prometheus = try OwnPrometheus(directory: scratch, rules: scratch + "/rules.yml")
        defer { prometheus.stop() }
        let (code, json, text) = try checklist(["--live", "--only", "MON-3", "--manifests", "good"], at: try scenarioTime("healthy"), prometheus: prometheus.url)
        XCTAssertEqual(code, .success, text)
        XCTAssertEqual(check(json, "MON-3")["parts"]?[1]?["message"], "Prometheus has alerts for all six topics")
        XCTAssertEqual(check(json, "MON-3")["parts"]?[0]?["message"]?.string?.hasSuffix("(validated by promtool)"), true, "promtool is installed on these machines")
    }

    #if canImport(FoundationXML)
    func testTheBinaryWritesJUnitAndRendersKustomizations() throws {
        guard ready else { return }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [binary, binary.deletingLastPathComponent()].map { $0.appendingPathComponent("luminatectl").path }
        let path = try XCTUnwrap(candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "luminatectl not built")
        let run = { (arguments: [String]) in
            try PosixProcessRunner().run(ProcessRequest(path, arguments, environment: ["LUMINATECTL_NAMESPACE": self.namespace], timeout: 120,
                                                        workingDirectory: Self.fixtures), interrupt: Interrupt())
        }
        let junit = try run(["checklist", "run", "--env", "production", "--live", "--manifests", "good", "--only", "INF-1,INF-2,SEC-3", "-o", "junit"])
        XCTAssertEqual(junit.status, .exited(0), junit.stdoutText + junit.stderrText)
        let document = try XMLDocument(xmlString: junit.stdoutText, options: [])
        XCTAssertEqual(document.rootElement()?.attribute(forName: "tests")?.stringValue, "3")
        XCTAssertEqual(document.rootElement()?.attribute(forName: "failures")?.stringValue, "0")

        let rendered = try run(["checklist", "run", "--manifests", "kustomize/overlay", "--only", "INF-2"])
        XCTAssertEqual(rendered.status, .exited(0), rendered.stdoutText + rendered.stderrText)
        XCTAssertTrue(rendered.stdoutText.contains("(manifests kustomize:kustomize/overlay, no live access)"), rendered.stdoutText)
        XCTAssertTrue(rendered.stdoutText.contains("a ZooKeeper ensemble of 5 nodes"), rendered.stdoutText)
        let usage = try run(["checklist", "run", "--only", "NOPE-1"])
        XCTAssertEqual(usage.status, .exited(64))
    }
    #endif
}

/// A clock that starts at a fixed instant and then runs in real time.
final class PinnedClock: TimeSource {
    let start: Date
    let started = Date()
    init(_ start: Date) { self.start = start }
    func now() -> Date { start.addingTimeInterval(Date().timeIntervalSince(started)) }
    func sleep(seconds: Double, interrupt: Interrupt) { SystemClock().sleep(seconds: seconds, interrupt: interrupt) }
}

/// What a command wrote.
final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var out = ""
    private var err = ""
    var stdout: String { lock.withLock { out } }
    var stderr: String { lock.withLock { err } }
    var console: Console {
        Console(stdoutIsTTY: false, stderrIsTTY: false, colourEnabled: false,
                writeOut: { text in self.lock.withLock { self.out += text } },
                writeErr: { text in self.lock.withLock { self.err += text } })
    }
}

/// A Prometheus of this test's own, with no data, loading a rules file; stopped by its PID.
final class OwnPrometheus {
    let process = Process()
    let url: String

    init(directory: String, rules: String) throws {
        var port = 0
        for candidate in (20000...32000).shuffled().prefix(50) where Self.free(candidate) { port = candidate; break }
        url = "http://127.0.0.1:\(port)"
        let config = directory + "/prometheus.yml"
        try "global: {evaluation_interval: 15s}\nrule_files: [\"\(rules)\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        process.arguments = ["--config.file=\(config)", "--storage.tsdb.path=\(directory)/tsdb", "--web.listen-address=127.0.0.1:\(port)"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let client = PrometheusClient(baseURL: url, http: CurlTransport())
        for _ in 0..<100 {
            if (try? client.ready()) == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw ChecklistIntegrationTests.SandboxMissing(description: "prometheus on \(url) did not become ready")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    static func free(_ port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}

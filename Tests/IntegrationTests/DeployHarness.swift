import Foundation
import XCTest
@testable import OpsKit

/// luminatectl's deploy against the sandbox as an SRE runs it: the production overlay applied
/// with the real kubectl to the emulator (whose controller rolls it out), the traffic simulator
/// serving what the emulator runs, Prometheus scraping it every second. A configuration file of
/// its own gives the short windows (error rate for 20 s, p95 for 30 s, every 2 s); nothing in
/// the product knows it is being tested.
final class DeployHarness {
    let scratch: String
    let environment: [String: String]
    let sandbox: [String: String]
    static let healthyImage = "ghcr.io/luminate/luminate:2.4.1"
    static let emergency = ["--emergency", "--approved-by", "it-tests", "--reason", "deploy e2e", "--skip-rpo-guard"]

    init(errorRateFor: String = "20s", p95For: String = "30s", bake: String = "60s", interval: String = "2s", extraPolicy: String = "",
         backupStore: Bool = false) throws {
        let process = try Sandbox.require(["KUBECONFIG", "KUBECACHEDIR", "LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_CLICKHOUSE_NATIVE",
                                           "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE", "LUMINATECTL_PROMETHEUS_URL", "LUMINATECTL_KUBE_EMULATOR_URL"])
        sandbox = process
        scratch = NSTemporaryDirectory() + "luminatectl-deploy-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch + "/state", withIntermediateDirectories: true)
        let config = """
            defaultEnvironment: deploy-it
            environments:
              deploy-it:
                kubernetes: {context: "luminate-local", namespace: "luminate", kubeconfig: "\(process["KUBECONFIG"]!)"}
                clickhouse:
                  url: "\(process["LUMINATECTL_CLICKHOUSE_URL"]!)"
                  native: "\(process["LUMINATECTL_CLICKHOUSE_NATIVE"]!)"
                  user: ops
                  cluster: "luminate"
                  database: "luminate"
                  password: {file: "\(process["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]!)"}
                prometheus: {url: "\(process["LUMINATECTL_PROMETHEUS_URL"]!)"}
                journal: {path: "\(scratch)/journal.jsonl"}
            \(backupStore ? Self.store(process) : "")
                policy:
                  rollback:
                    errorRate: {above: 0.05, for: \(errorRateFor)}
                    p95Latency: {above: 500ms, for: \(p95For)}
            \(extraPolicy.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                  deploy: {bake: \(bake), interval: \(interval)}

            """
        try config.write(toFile: scratch + "/luminatectl.yaml", atomically: true, encoding: .utf8)
        var variables = process.filter { !$0.key.hasPrefix("LUMINATECTL_") }
        variables["LUMINATECTL_CONFIG"] = scratch + "/luminatectl.yaml"
        variables["XDG_STATE_HOME"] = scratch + "/state"
        environment = variables
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    /// The sandbox's S3 bucket under a prefix of this harness's own, for the RPO guard.
    private static func store(_ process: [String: String]) -> String {
        [
            "backup:",
            "  store:",
            "    s3:",
            "      endpoint: \"\(process["LUMINATECTL_S3_ENDPOINT"] ?? "")\"",
            "      region: \"\(process["LUMINATECTL_S3_REGION"] ?? "us-east-1")\"",
            "      bucket: \"\(process["LUMINATECTL_S3_BUCKET"] ?? "")\"",
            "      prefix: \"deploy-it/\(UUID().uuidString.prefix(8).lowercased())/\"",
            "      accessKeyId: \"\(process["LUMINATECTL_S3_ACCESS_KEY_ID"] ?? "")\"",
            "      secretAccessKey: {file: \"\(process["LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"] ?? "")\"}",
        ].map { "    " + $0 }.joined(separator: "\n")
    }

    var journalPath: String { scratch + "/journal.jsonl" }

    /// The repository root, where `manifests/overlays/production` is.
    static var repository: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }

    /// The built binary in a process of its own, as an operator runs it.
    func luminatectl(_ argv: [String], timeout: Double = 240) throws -> ProcessResult {
        var variables: [String: String?] = [:]
        for name in ProcessInfo.processInfo.environment.keys { variables[name] = .some(nil) }
        for (name, value) in environment { variables[name] = value }
        return try PosixProcessRunner().run(ProcessRequest(BackupHarness.binaryPath, argv, environment: variables,
                                                           timeout: timeout, workingDirectory: Self.repository), interrupt: Interrupt())
    }

    /// kubectl on the sandbox; `namespaced: false` for manifests that name their namespaces.
    func kubectl(_ argv: [String], stdin: Data? = nil, namespaced: Bool = true) throws -> ProcessResult {
        try PosixProcessRunner().run(ProcessRequest("kubectl", ["--context=luminate-local"] + (namespaced ? ["--namespace=luminate"] : []) + argv,
                                                    environment: ["KUBECONFIG": environment["KUBECONFIG"], "KUBECACHEDIR": environment["KUBECACHEDIR"]],
                                                    stdin: stdin, timeout: 60), interrupt: Interrupt())
    }

    /// The image the emulator's Deployment `luminate` runs.
    func deployedImage() throws -> String {
        let result = try kubectl(["get", "deployment", "luminate", "-o", "jsonpath={.spec.template.spec.containers[?(@.name==\"luminate\")].image}"])
        return result.stdoutText
    }

    @discardableResult
    func emulator(_ method: String, _ path: String, _ body: String = "{}") throws -> HTTPResponse {
        let url = sandbox["LUMINATECTL_KUBE_EMULATOR_URL"]! + "/_emulator/" + path
        let response = try CurlTransport().send(HTTPRequest(method: method, url: url, headers: [("Content-Type", "application/json")],
                                                            body: Data(body.utf8)), interrupt: Interrupt())
        XCTAssertEqual(response.status, 200, "\(method) \(path): \(response.text)")
        return response
    }

    /// One value from the sandbox's Prometheus now.
    func prometheus(_ query: String) throws -> Double? {
        try PrometheusClient(baseURL: sandbox["LUMINATECTL_PROMETHEUS_URL"]!, http: CurlTransport()).instantValue(query: query, at: Date())
    }

    static let errorRatio = #"sum(rate(luminate_http_requests_total{code=~"5.."}[1m])) / sum(rate(luminate_http_requests_total[1m]))"#
    static let p95 = #"histogram_quantile(0.95, sum by (le) (rate(luminate_http_request_duration_seconds_bucket[1m])))"#

    /// Starts from a healthy Luminate: the production overlay with the healthy image applied and
    /// rolled out, and traffic healthy over a whole minute (a previous test's bad image must not
    /// still be in the rate window when this test's watch starts).
    func startHealthy() throws {
        try emulator("DELETE", "rollout-behaviour")
        try emulator("DELETE", "fail")
        if (try? deployedImage()) != Self.healthyImage {
            let rendered = try kubectl(["kustomize", Self.repository + "/manifests/overlays/production"])
            XCTAssertTrue(rendered.succeeded, rendered.stderrText)
            let applied = try kubectl(["apply", "-f", "-"], stdin: rendered.stdout, namespaced: false)
            XCTAssertTrue(applied.succeeded, applied.stderrText)
            let status = try kubectl(["rollout", "status", "deployment/luminate", "--timeout=60s"])
            XCTAssertTrue(status.succeeded, status.stderrText)
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let ratio = try prometheus(Self.errorRatio), ratio < 0.01, let p95 = try prometheus(Self.p95), p95 < 0.3 { return }
            Thread.sleep(forTimeInterval: 1)
        }
        XCTFail("the sandbox's traffic did not become healthy within 2 minutes")
    }

    /// The `-o json` document a deploy printed.
    static func document(_ result: ProcessResult) throws -> JSONValue {
        try JSONValue.parse(result.stdout)
    }
}

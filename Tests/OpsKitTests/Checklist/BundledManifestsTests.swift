import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The repository's own production manifests against the checklist (issue #6):
/// `manifests/overlays/production` rendered by the real `kubectl kustomize` (offline: no cluster
/// is needed), the real `runbooks/`, and luminatectl's own configuration of production
/// (`manifests/base/data-protection/luminatectl.yaml`). No static or config check fails; and a
/// copy with one element removed or broken fails exactly the check that guards that element,
/// every other check keeping its outcome. promtool validates the alert rules when it is installed,
/// as in `checklist run`.
final class BundledManifestsTests: XCTestCase {
    /// Every check's outcome on the bundled manifests, with the finding of each of its modes.
    /// Live parts skip (no `--live`); a missing attestation is a warning (no attestations file).
    static let baseline: [String: String] = [
        "INF-1": "pass (static pass, live skip)",
        "INF-2": "pass (static pass, live skip)",
        "INF-3": "skip (live skip)",
        "INF-4": "pass (static pass, live skip)",
        "INF-5": "pass (static pass, live skip)",
        "SEC-1": "pass (static pass, live skip)",
        "SEC-2": "pass (static pass, live skip)",
        "SEC-3": "pass (static pass, live skip)",
        "SEC-4": "pass (static pass, live skip)",
        "SEC-5": "pass (static pass)",
        "MON-1": "pass (static pass, live skip)",
        "MON-2": "warn (static pass, attest warn)",
        "MON-3": "pass (static pass, live skip)",
        "MON-4": "warn (static pass, attest warn)",
        "MON-5": "pass (static pass, attest warn)",
        "DP-1": "pass (static pass, live skip)",
        "DP-2": "pass (config pass)",
        "DP-3": "skip (live skip)",
        "DP-4": "pass (static pass)",
        "PERF-1": "warn (attest warn)",
        "PERF-2": "warn (static pass, attest warn)",
        "PERF-3": "pass (static pass, live skip)",
        "PERF-4": "skip (live skip)",
        "OPS-1": "pass (static pass)",
        "OPS-2": "warn (attest warn)",
        "OPS-3": "pass (static pass, attest warn)",
        "OPS-4": "warn (config pass, attest warn)",
    ]

    func testTheProductionOverlayFailsNoStaticOrConfigCheck() throws {
        let inputs = try BundledRepository.inputs()
        XCTAssertEqual(inputs.manifests.sources, ["kustomize:manifests/overlays/production"])
        let results = BundledRepository.run(inputs)
        XCTAssertEqual(results.map(\.check.id), ChecklistCatalogue.ids)
        let broken = results.filter { [.fail, .error].contains($0.outcome) }
        XCTAssertTrue(broken.isEmpty, broken.map(Self.describe).joined(separator: "\n"))
        assertNoDifference(Self.outcomes(results), Self.baseline, "the bundled manifests")
    }

    /// `luminatectl checklist run` itself, through the command table with the real kubectl and
    /// promtool: exit 0 and the same outcomes; without a configuration file (issue #6's command),
    /// DP-2 warns that production states no retention and the guide's defaults apply.
    func testTheCommandGatesTheBundledManifests() throws {
        let run = ["checklist", "run", "--env", "production", "--manifests", "manifests/overlays/production", "-o", "json"]
        try assertCommand(run + ["--config", BundledRepository.configurationFile], outcomes: Self.baseline)
        try assertCommand(run, outcomes: Self.baseline.merging(["DP-2": "warn (config warn)"]) { $1 })
        // Issue #6's gate exactly as written: no configuration, no environment. OPS-4 still judges
        // production's change policy (the built-in default for production).
        try assertCommand(["checklist", "run", "--manifests", "manifests/overlays/production", "-o", "json"],
                          outcomes: Self.baseline.merging(["DP-2": "warn (config warn)"]) { $1 }, environment: "default")
    }

    func assertCommand(_ argv: [String], outcomes expected: [String: String], environment: String = "production",
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let output = CapturedOutput()
        let context = Context(
            processes: PosixProcessRunner(), http: FakeHTTPTransport(), clock: ManualClock(try BundledRepository.inputs().settings.now),
            console: output.console(),
            // PATH only: kubectl and promtool are found; no HOME, so nothing is cached or read from ~.
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"],
            workingDirectory: BundledRepository.root)
        let code = Luminatectl.run(argv, context: context)
        XCTAssertEqual(code, .success, output.stdout + output.stderr, file: file, line: line)
        let report = try JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(report["passed"], true, file: file, line: line)
        XCTAssertEqual(report["environment"], .string(environment), file: file, line: line)
        XCTAssertEqual(report["manifests"], ["kustomize:manifests/overlays/production"], file: file, line: line)
        var outcomes: [String: String] = [:]
        for check in report["checks"]?.array ?? [] {
            let parts = (check["parts"]?.array ?? []).map { "\($0["mode"]?.string ?? "?") \($0["outcome"]?.string ?? "?")" }
            outcomes[check["id"]?.string ?? "?"] = "\(check["outcome"]?.string ?? "?") (\(parts.joined(separator: ", ")))"
        }
        assertNoDifference(outcomes, expected, "luminatectl \(argv.joined(separator: " "))", file: file, line: line)
    }

    func testBreakingOneElementFailsExactlyTheCheckThatGuardsIt() throws {
        let baseline = try BundledRepository.inputs()
        for mutation in BundledMutations.all {
            let scratch = NSTemporaryDirectory() + "luminatectl-bundled-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            var inputs = baseline
            do {
                try mutation.apply(&inputs, scratch)
            } catch {
                XCTFail("\(mutation.name): \(error)")
                continue
            }
            let results = BundledRepository.run(inputs)
            let actual = Self.outcomes(results)
            let expected = Self.baseline.merging(mutation.expected) { $1 }
            assertNoDifference(actual, expected, mutation.name)
            // The check failed for the element the mutation broke, not for something incidental.
            if let result = results.first(where: { $0.check.id == mutation.check }) {
                let text = ([result.message] + result.evidence).joined(separator: "\n")
                XCTAssertTrue(text.contains(mutation.fragment), "\(mutation.name): '\(mutation.fragment)' not in:\n\(text)")
            }
        }
    }

    /// Every check whose static or config part passes on the bundled manifests has a mutation.
    func testEveryStaticOrConfigCheckHasAMutation() throws {
        let results = BundledRepository.run(try BundledRepository.inputs())
        let guarded = results.filter { result in result.parts.contains { [.static, .config].contains($0.mode) && $0.outcome == .pass } }.map(\.check.id)
        XCTAssertEqual(Set(BundledMutations.all.map(\.check)), Set(guarded))
        XCTAssertEqual(Set(BundledMutations.all.flatMap(\.expected.keys)), Set(guarded), "a mutation changes a check that no mutation targets")
    }

    // MARK: - Reading outcomes

    /// `warn (static pass, attest warn)` per check ID.
    static func outcomes(_ results: [CheckResult]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: results.map { result in
            (result.check.id, "\(result.outcome.rawValue) (\(result.parts.map { "\($0.mode.rawValue) \($0.outcome.rawValue)" }.joined(separator: ", ")))")
        })
    }

    /// Fails naming only the checks whose outcome differs (the whole dictionaries are noise).
    func assertNoDifference(_ actual: [String: String], _ expected: [String: String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let differences = Set(actual.keys).union(expected.keys).sorted().filter { actual[$0] != expected[$0] }
            .map { "\($0) is \(actual[$0] ?? "missing"), expected \(expected[$0] ?? "missing")" }
        if !differences.isEmpty { XCTFail("\(what): \(differences.joined(separator: "; "))", file: file, line: line) }
    }

    static func describe(_ result: CheckResult) -> String {
        (["\(result.check.id) \(result.outcome.rawValue): \(result.message)"] + result.evidence.map { "  - \($0)" }).joined(separator: "\n")
    }
}

/// The repository's production inputs, as `checklist run --env production` reads them.
enum BundledRepository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let overlay = root + "/manifests/overlays/production"
    static let runbooks = root + "/runbooks"
    /// luminatectl's configuration of its CronJobs: the production environment's policy.
    static let configurationFile = root + "/manifests/base/data-protection/luminatectl.yaml"

    /// What the static and config rules read.
    struct Inputs: Sendable {
        var manifests: ManifestIndex
        var runbooks: RunbookLibrary
        var settings: ChecklistSettings
    }

    /// Rendered and read once: kustomize takes a third of a second.
    static func inputs() throws -> Inputs {
        try cache.withLock { cached in
            if let cached { return cached }
            let loaded = try load()
            cached = loaded
            return loaded
        }
    }
    private static let cache = Mutex<Inputs?>(nil)

    private static func load() throws -> Inputs {
        let runbooks = try RunbookLibrary.load(directory: runbooks, display: ChecklistRun.displayPath(workingDirectory: root))
        let now = try evaluationTime(runbooks)
        let configuration = try self.configuration(configurationFile, now: now)
        let loader = ManifestLoader(kubectl: Kubectl(processes: PosixProcessRunner()), defaultNamespace: configuration.namespace.value, workingDirectory: root)
        return Inputs(manifests: try loader.load(overlay), runbooks: runbooks, settings: settings(configuration, now: now))
    }

    /// The production environment of a luminatectl configuration file, as `--config FILE --env production` loads it.
    static func configuration(_ file: String, now: Date) throws -> Configuration {
        let context = Context(
            processes: FakeProcessRunner(), http: FakeHTTPTransport(), clock: ManualClock(now), console: CapturedOutput().console(),
            environment: [:], workingDirectory: root)
        var globals = GlobalOptions()
        globals.configFile = file
        globals.environment = "production"
        return try ConfigurationLoader(context: context).load(globals)
    }

    /// What the rules judge against, built from the configuration the way `checklist run` builds it.
    static func settings(_ configuration: Configuration, now: Date) -> ChecklistSettings {
        ChecklistSettings(
            environment: configuration.environmentName.value, namespace: configuration.namespace.value,
            clickhouseCluster: configuration.clickhouseCluster.value, policy: configuration.policy,
            policySources: configuration.policySources, minimumKubernetes: configuration.checklist.minimumKubernetes,
            secretKinds: configuration.checklist.effectiveSecretKinds, now: now, strict: false, repositoryRoot: root,
            display: ChecklistRun.displayPath(workingDirectory: root))
    }

    /// The day after the newest runbook review: fixed by the repository's content, so the test
    /// neither ages (a wall-clock run fails once the reviews are 180 days old) nor sees a review
    /// dated in the future.
    static func evaluationTime(_ runbooks: RunbookLibrary) throws -> Date {
        let newest = try XCTUnwrap(runbooks.runbooks.compactMap(\.reviewedOn).max(), "no runbook in \(runbooks.directory) has reviewed-on")
        return newest.addingTimeInterval(12 * 3600)
    }

    /// The whole catalogue over `inputs`, without live access, attestations or waivers.
    static func run(_ inputs: Inputs) -> [CheckResult] {
        let tools = ToolBox(
            processes: PosixProcessRunner(), interrupt: Interrupt(),
            searchPath: (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init),
            // Nothing remembered: promtool judges every mutated set of rules afresh.
            cacheDirectory: nil)
        let scope = StaticScope(settings: inputs.settings, manifests: .available(inputs.manifests), runbooks: .available(inputs.runbooks), tools: tools)
        let engine = ChecklistEngine(
            checks: ChecklistCatalogue.all, scope: scope, liveScope: nil, timeout: 20, attestations: nil, waivers: nil,
            clock: ManualClock(inputs.settings.now), interrupt: Interrupt())
        return engine.run()
    }
}

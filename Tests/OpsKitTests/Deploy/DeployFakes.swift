import Foundation
import Synchronization
@testable import OpsKit
import OpsKitTestSupport

/// An evaluator that answers with the decisions a test scripted, one per evaluation, and fails
/// the test (by throwing from the deploy) when asked more often than scripted.
final class ScriptedEvaluator: BakeEvaluating {
    private let state: Mutex<(script: [BakeTick.Decision], asked: [(Date, Date)])>
    let triggerWindow: Double

    init(_ script: [BakeTick.Decision], triggerWindow: Double = 20) {
        state = Mutex((script, []))
        self.triggerWindow = triggerWindow
    }

    var asked: [(time: Date, windowStart: Date)] { state.withLock { $0.asked.map { ($0.0, $0.1) } } }

    func evaluate(at time: Date, windowStart: Date) -> BakeTick {
        let decision: BakeTick.Decision? = state.withLock {
            $0.asked.append((time, windowStart))
            return $0.script.isEmpty ? nil : $0.script.removeFirst()
        }
        guard let decision else {
            return BakeTick(time: time, decision: .rollback, status: "unexpected evaluation", json: .null,
                            trigger: BakeTrigger(criterion: "unexpected", summary: "the test scripted fewer evaluations", satisfiedAt: time))
        }
        let trigger = decision == .rollback
            ? BakeTrigger(criterion: "error-rate", summary: "error rate 10 % > 5 % for 20s", threshold: "> 5 %", window: triggerWindow,
                          values: [(time.addingTimeInterval(-2), 0.1), (time, 0.1)], satisfiedAt: time)
            : nil
        return BakeTick(time: time, decision: decision, status: "error rate 0.2 % (≤ 5 %)", json: ["verdict": "x"], trigger: trigger)
    }
}

enum DeployFixtures {
    static let flags = ["--context=test", "--namespace=luminate"]
    static let applyFlags = ["--context=test"]

    static func deployment(image: String, revision: Int? = nil) -> JSONValue {
        var metadata: [(String, JSONValue)] = [("name", "luminate"), ("namespace", "luminate")]
        if let revision { metadata.append(("annotations", .object([("deployment.kubernetes.io/revision", .string(String(revision)))]))) }
        return .object([
            ("apiVersion", "apps/v1"), ("kind", "Deployment"), ("metadata", .object(metadata)),
            ("spec", .object([("progressDeadlineSeconds", 60), ("template", .object([("spec", .object([("containers", .array([
                .object([("name", "luminate"), ("image", .string(image))]),
            ]))]))]))])),
        ])
    }

    static func set(image: String) -> DeploySet {
        let object = ManifestObject(deployment(image: image), mark: nil, defaultNamespace: "luminate")!
        return DeploySet(source: "manifests/overlays/production", index: ManifestIndex(objects: [object]), overrides: [])
    }

    static func preflight(image: String = "ghcr.io/luminate/luminate:2.5.0", point: RollbackPoint) -> DeployPreflight {
        let set = set(image: image)
        let diff = DiffSummary(changes: [DiffSummary.Change(
            identity: "Deployment/luminate/luminate", kind: "Deployment", name: "luminate", namespace: "luminate",
            created: false, added: 1, removed: 1)], text: "")
        let gate = PolicyGateCheck(size: .minor, lines: ["inside the weekly window"], json: .object([]), refusal: nil, emergency: nil)
        let report = ChecklistReport(environment: "default", generatedAt: Date(timeIntervalSince1970: 0), staticMode: true, liveMode: false,
                                     strict: false, waiversUsed: true, manifestSources: [], results: [], wallSeconds: 0)
        var rpo = RPOGuard()
        rpo.verdict = .skipped(reason: "test")
        return DeployPreflight(set: set, imageChanges: [], gate: gate, checklist: StaticGate(report: report), rpo: rpo, diff: diff,
                               rollbackPoint: point, environment: "default", namespace: "luminate", criteria: RollbackCriteria())
    }

    static let point = RollbackPoint(deployments: [RollbackPoint.Deployment(
        namespace: "luminate", name: "luminate", revision: 3,
        template: deployment(image: "ghcr.io/luminate/luminate:2.4.1")[path: "spec.template"]!,
        images: ["ghcr.io/luminate/luminate:2.4.1"])])

    static func options(bake: Double = 20, interval: Double = 2, autoRollback: Bool = true) throws -> DeployOptions {
        let context = Context.fake(workingDirectory: FileManager.default.currentDirectoryPath)
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        var invocation = Invocation(path: ["deploy"], values: ["manifests": ["Package.swift"], "bake": [DurationParser.format(bake)],
                                                             "interval": [DurationParser.format(interval)],
                                                             "reason": ["test"]],
                                    flags: autoRollback ? [] : ["no-auto-rollback"])
        invocation.output = "text"
        var policy = configuration
        policy.policy.rollback.errorRateFor = 10
        policy.policy.rollback.p95LatencyFor = 10
        return try DeployOptions(invocation: invocation, configuration: policy, context: context)
    }
}

import Foundation

/// Which cluster and namespace every kubectl call of one luminatectl run talks to. The flags are
/// added to every call in one fixed order, so plans print the same way each time and fakes can
/// expect exact argv.
package struct KubectlTarget: Sendable, Equatable {
    package var context: String?
    package var namespace: String?
    package var kubeconfig: String?
    /// kubectl caches API discovery per server; tests give each emulator its own directory.
    package var cacheDir: String?
    /// How long kubectl waits for one API request (`--request-timeout`); nil leaves kubectl's default.
    package var requestTimeout: Double?

    package init(
        context: String? = nil, namespace: String? = nil, kubeconfig: String? = nil,
        cacheDir: String? = nil, requestTimeout: Double? = nil
    ) {
        self.context = context
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.cacheDir = cacheDir
        self.requestTimeout = requestTimeout
    }

    /// `--context=X --namespace=Y --kubeconfig=Z --cache-dir=D --request-timeout=30s`, each only
    /// when set. `--flag=value` keeps every flag one argv element, which plans and fakes compare.
    package var flags: [String] {
        var flags: [String] = []
        if let context, !context.isEmpty { flags.append("--context=\(context)") }
        if let namespace, !namespace.isEmpty { flags.append("--namespace=\(namespace)") }
        if let kubeconfig, !kubeconfig.isEmpty { flags.append("--kubeconfig=\(kubeconfig)") }
        if let cacheDir, !cacheDir.isEmpty { flags.append("--cache-dir=\(cacheDir)") }
        if let requestTimeout { flags.append("--request-timeout=\(goDuration(requestTimeout))") }
        return flags
    }
}

/// One kubectl call, decided but not run: the exact argv and stdin, and what it acts on. `--dry-run`
/// prints it; tests compare it; `Kubectl.run` performs it.
package struct KubectlPlan: Sendable, Equatable, CustomStringConvertible {
    package var request: ProcessRequest
    /// `get`, `apply`, `rollout status`: named in errors.
    package var verb: String
    /// `deployment/ingest`, named in errors; nil when a manifest says what is acted on.
    package var object: String?
    package var namespace: String?
    package var context: String?
    /// Exit codes that are answers, not failures: `diff` exits 1 when it found differences.
    package var acceptedExitCodes: Set<Int32>

    /// The redacted command line, plus the size of stdin (a manifest may hold Secrets, so it is
    /// never printed here; callers that want to show it decide that themselves).
    package var description: String {
        var text = Redactor.redact(request.commandLine)
        if let stdin = request.stdin { text += " < stdin (\(stdin.count) bytes)" }
        return text
    }

    /// What was piped to kubectl, as text.
    package var stdinText: String? { request.stdin.map { String(decoding: $0, as: UTF8.self) } }
}

/// `--dry-run` as kubectl spells it.
package enum KubectlDryRun: String, Sendable, Equatable {
    case none, client, server
}

/// `kubectl patch --type`.
package enum KubectlPatchType: String, Sendable, Equatable {
    case merge, json, strategic
}

/// `kubectl diff`'s answer.
package struct KubectlDiff: Sendable, Equatable {
    /// Whether the cluster differs from the manifest.
    package var changed: Bool
    /// The unified diff kubectl printed (Secret values masked by kubectl).
    package var text: String
}

/// How `kubectl rollout status` ended, when it ended on its own.
package enum RolloutOutcome: Sendable, Equatable {
    /// `deployment "ingest" successfully rolled out`.
    case complete(message: String)
    /// `--timeout` passed first; the last progress line kubectl printed.
    case timedOut(lastStatus: String)
    /// The controller gave up: `deployment "ingest" exceeded its progress deadline`.
    case failed(message: String)
}

/// What `kubectl rollout undo` did.
package enum RolloutUndoResult: Sendable, Equatable {
    /// `deployment.apps/ingest rolled back`
    case rolledBack(message: String)
    /// The template already matched that revision; nothing changed.
    case skipped(message: String)
}

/// A typed client over the `kubectl` binary. Every operation is a plan (`getPlan`) and a run
/// (`get`); output is always requested as JSON, never parsed from tables.
///
/// Why the binary and not the REST API: operators' kubeconfigs use exec credential plugins
/// (cloud logins, OIDC) that only kubectl implements, and `apply`/`diff` semantics live in it.
package struct Kubectl: Sendable {
    package var target: KubectlTarget
    package var executable: String
    /// Upper bound on one call; `rollout status` adds its own `--timeout` on top.
    package var processTimeout: Double
    package var processes: any ProcessRunning
    package var interrupt: Interrupt

    package init(
        target: KubectlTarget = KubectlTarget(), processes: any ProcessRunning, interrupt: Interrupt = Interrupt(),
        executable: String = "kubectl", processTimeout: Double = 120
    ) {
        self.target = target
        self.executable = executable
        self.processTimeout = processTimeout
        self.processes = processes
        self.interrupt = interrupt
    }

    /// A client running through the context's process seam and honouring its interrupt.
    package init(context: Context, target: KubectlTarget) {
        self.init(target: target, processes: context.processes, interrupt: context.interrupt)
    }

    /// The same client aimed at another namespace (`kube-system` for nodes' daemons, say).
    package func inNamespace(_ namespace: String?) -> Kubectl {
        var copy = self
        copy.target.namespace = namespace
        return copy
    }

    // MARK: - Plans and running them

    /// A plan for `kubectl <global flags> <arguments>`.
    package func plan(
        _ verb: String, _ arguments: [String], object: String? = nil, stdin: Data? = nil,
        acceptedExitCodes: Set<Int32> = [0], timeout: Double? = nil
    ) -> KubectlPlan {
        KubectlPlan(
            request: ProcessRequest(executable, target.flags + arguments, stdin: stdin, timeout: timeout ?? processTimeout),
            verb: verb, object: object, namespace: target.namespace, context: target.context,
            acceptedExitCodes: acceptedExitCodes)
    }

    /// Runs a plan; an exit code it does not accept becomes a `KubectlError` read from stderr.
    package func run(_ plan: KubectlPlan) throws -> ProcessResult {
        let result: ProcessResult
        do {
            result = try processes.run(plan.request, interrupt: interrupt)
        } catch let error as ProcessError {
            throw KubectlError(error, plan: plan)
        }
        guard case .exited(let code) = result.status, plan.acceptedExitCodes.contains(code) else {
            throw KubectlError(stderr: result.stderrText, status: result.status, plan: plan)
        }
        return result
    }

    /// Runs a plan and reads the objects it printed.
    package func runObjects(_ plan: KubectlPlan) throws -> [KubeObject] {
        let result = try run(plan)
        do {
            return try KubeObject.objects(inKubectlOutput: result.stdout)
        } catch {
            throw unexpectedOutput(plan, error)
        }
    }

    private func runObject(_ plan: KubectlPlan) throws -> KubeObject {
        let objects = try runObjects(plan)
        guard objects.count == 1 else {
            throw unexpectedOutput(plan, KubeDecodingError(detail: "expected one object, got \(objects.count)"))
        }
        return objects[0]
    }

    private func unexpectedOutput(_ plan: KubectlPlan, _ error: any Error) -> KubectlError {
        KubectlError(
            .unexpectedOutput, verb: plan.verb, object: plan.object, namespace: plan.namespace,
            server: plan.context.map { "context \($0)" }, message: "\(error)", commandLine: plan.request.commandLine)
    }

    // MARK: - Versions

    package func versionPlan() -> KubectlPlan { plan("version", ["version", "-o", "json"]) }

    /// The client's and the server's versions; throws (`unreachable`, say) when the server does not answer.
    package func version() throws -> KubectlVersions {
        let plan = versionPlan()
        let output = try decode(VersionOutput.self, from: run(plan), plan: plan)
        guard let client = output.clientVersion, let server = output.serverVersion else {
            throw unexpectedOutput(plan, KubeDecodingError(detail: "clientVersion or serverVersion missing"))
        }
        return KubectlVersions(client: client, server: server)
    }

    package func clientVersionPlan() -> KubectlPlan { plan("version", ["version", "--client", "-o", "json"]) }

    /// kubectl's own version, without contacting any server.
    package func clientVersion() throws -> KubeVersion {
        let plan = clientVersionPlan()
        guard let client = try decode(VersionOutput.self, from: run(plan), plan: plan).clientVersion else {
            throw unexpectedOutput(plan, KubeDecodingError(detail: "clientVersion missing"))
        }
        return client
    }

    private struct VersionOutput: Decodable {
        var clientVersion: KubeVersion?
        var serverVersion: KubeVersion?
    }

    private func decode<T: Decodable>(_ type: T.Type, from result: ProcessResult, plan: KubectlPlan) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: result.stdout)
        } catch {
            throw unexpectedOutput(plan, KubeDecodingError(detail: "\(error)"))
        }
    }

    // MARK: - Reading

    package func getPlan(_ kind: String, _ name: String) -> KubectlPlan {
        plan("get", ["get", kind, name, "-o", "json"], object: "\(kind)/\(name)")
    }

    package func get(_ kind: String, _ name: String) throws -> KubeObject {
        try runObject(getPlan(kind, name))
    }

    /// `get` decoded into a typed subset: `try kubectl.get(KubeDeployment.self, "deployment", "ingest")`.
    package func get<T: Decodable>(_ type: T.Type, _ kind: String, _ name: String) throws -> T {
        let plan = getPlan(kind, name)
        let object = try runObject(plan)
        do { return try object.decode(T.self) } catch { throw unexpectedOutput(plan, error) }
    }

    package func listPlan(_ kind: String, selector: String? = nil, fieldSelector: String? = nil) -> KubectlPlan {
        var arguments = ["get", kind]
        if let selector { arguments.append("--selector=\(selector)") }
        if let fieldSelector { arguments.append("--field-selector=\(fieldSelector)") }
        return plan("get", arguments + ["-o", "json"], object: kind)
    }

    package func list(_ kind: String, selector: String? = nil, fieldSelector: String? = nil) throws -> [KubeObject] {
        try runObjects(listPlan(kind, selector: selector, fieldSelector: fieldSelector))
    }

    /// All nodes with their allocatable capacity.
    package func nodes() throws -> [KubeNode] {
        let plan = listPlan("nodes")
        do { return try runObjects(plan).map { try $0.decode(KubeNode.self) } } catch let error as KubectlError { throw error } catch {
            throw unexpectedOutput(plan, error)
        }
    }

    // MARK: - Writing manifests

    /// `apply -f - -o json` with the manifest (JSON or YAML, one or more documents) on stdin.
    package func applyPlan(
        manifest: Data, dryRun: KubectlDryRun = .none, serverSide: Bool = false,
        forceConflicts: Bool = false, fieldManager: String? = nil
    ) -> KubectlPlan {
        var arguments = ["apply", "-f", "-", "-o", "json"]
        if dryRun != .none { arguments.append("--dry-run=\(dryRun.rawValue)") }
        if serverSide { arguments.append("--server-side") }
        if forceConflicts { arguments.append("--force-conflicts") }
        if let fieldManager { arguments.append("--field-manager=\(fieldManager)") }
        return plan("apply", arguments, stdin: manifest)
    }

    /// Applies a manifest; returns the objects as the server stored (or, dry-run, would store) them.
    package func apply(
        manifest: Data, dryRun: KubectlDryRun = .none, serverSide: Bool = false,
        forceConflicts: Bool = false, fieldManager: String? = nil
    ) throws -> [KubeObject] {
        try runObjects(applyPlan(
            manifest: manifest, dryRun: dryRun, serverSide: serverSide,
            forceConflicts: forceConflicts, fieldManager: fieldManager))
    }

    package func createPlan(manifest: Data, dryRun: KubectlDryRun = .none) -> KubectlPlan {
        var arguments = ["create", "-f", "-", "-o", "json"]
        if dryRun != .none { arguments.append("--dry-run=\(dryRun.rawValue)") }
        return plan("create", arguments, stdin: manifest)
    }

    /// Creates the manifest's objects; an existing one is an `alreadyExists` error.
    package func create(manifest: Data, dryRun: KubectlDryRun = .none) throws -> [KubeObject] {
        try runObjects(createPlan(manifest: manifest, dryRun: dryRun))
    }

    /// `replace -f - -o json`: a PUT of the whole object. A manifest carrying
    /// `metadata.resourceVersion` is refused (a `conflict` error) when the object changed since
    /// that version was read: optimistic concurrency, as leases and read-modify-write need.
    package func replacePlan(manifest: Data) -> KubectlPlan {
        plan("replace", ["replace", "-f", "-", "-o", "json"], stdin: manifest)
    }

    /// Replaces the manifest's objects; returns them as the server stored them.
    package func replace(manifest: Data) throws -> [KubeObject] {
        try runObjects(replacePlan(manifest: manifest))
    }

    /// `diff -f -`: exit 0 is no change, 1 is changes, anything else an error.
    package func diffPlan(manifest: Data, serverSide: Bool = false) -> KubectlPlan {
        var arguments = ["diff", "-f", "-"]
        if serverSide { arguments.append("--server-side") }
        return plan("diff", arguments, stdin: manifest, acceptedExitCodes: [0, 1])
    }

    package func diff(manifest: Data, serverSide: Bool = false) throws -> KubectlDiff {
        let result = try run(diffPlan(manifest: manifest, serverSide: serverSide))
        return KubectlDiff(changed: result.status == .exited(1), text: result.stdoutText)
    }

    // MARK: - Changing objects

    /// `scale`; with `currentReplicas`, kubectl refuses if someone else scaled in between.
    /// `-o name`, not `-o json`: kubectl prints the object as it was before scaling.
    package func scalePlan(_ kind: String, _ name: String, replicas: Int, currentReplicas: Int? = nil) -> KubectlPlan {
        var arguments = ["scale", kind, name, "--replicas=\(replicas)"]
        if let currentReplicas { arguments.append("--current-replicas=\(currentReplicas)") }
        return plan("scale", arguments + ["-o", "name"], object: "\(kind)/\(name)")
    }

    package func scale(_ kind: String, _ name: String, replicas: Int, currentReplicas: Int? = nil) throws {
        _ = try run(scalePlan(kind, name, replicas: replicas, currentReplicas: currentReplicas))
    }

    /// `patch` with the patch on stdin (`--patch-file=/dev/stdin`): a patch can carry Secret
    /// data, and argv is visible to every user of the machine in `ps`.
    package func patchPlan(
        _ kind: String, _ name: String, type: KubectlPatchType, patch: Data, subresource: String? = nil
    ) -> KubectlPlan {
        var arguments = ["patch", kind, name, "--type=\(type.rawValue)", "--patch-file=/dev/stdin"]
        if let subresource { arguments.append("--subresource=\(subresource)") }
        return plan("patch", arguments + ["-o", "json"], object: "\(kind)/\(name)", stdin: patch)
    }

    package func patch(
        _ kind: String, _ name: String, type: KubectlPatchType, patch: Data, subresource: String? = nil
    ) throws -> KubeObject {
        try runObject(patchPlan(kind, name, type: type, patch: patch, subresource: subresource))
    }

    /// `delete`; with `ignoreNotFound`, a missing object is not an error.
    package func deletePlan(_ kind: String, _ name: String, ignoreNotFound: Bool = false, wait: Bool = true) -> KubectlPlan {
        var arguments = ["delete", kind, name]
        if ignoreNotFound { arguments.append("--ignore-not-found") }
        if !wait { arguments.append("--wait=false") }
        return plan("delete", arguments + ["-o", "name"], object: "\(kind)/\(name)")
    }

    /// Returns whether an object was deleted (false only with `ignoreNotFound` and nothing there).
    @discardableResult
    package func delete(_ kind: String, _ name: String, ignoreNotFound: Bool = false, wait: Bool = true) throws -> Bool {
        let result = try run(deletePlan(kind, name, ignoreNotFound: ignoreNotFound, wait: wait))
        return !result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    // MARK: - Rollouts

    /// `rollout status --timeout`; the process gets 30 s more than kubectl's own timeout so
    /// kubectl reports the timeout itself, with its last progress line.
    package func rolloutStatusPlan(_ kind: String, _ name: String, timeout: Double) -> KubectlPlan {
        plan(
            "rollout status", ["rollout", "status", "\(kind)/\(name)", "--timeout=\(goDuration(timeout))"],
            object: "\(kind)/\(name)", acceptedExitCodes: [0, 1], timeout: timeout + 30)
    }

    package func rolloutStatus(_ kind: String, _ name: String, timeout: Double) throws -> RolloutOutcome {
        let plan = rolloutStatusPlan(kind, name, timeout: timeout)
        let result = try run(plan)
        let lastLine = result.stdoutText.split(separator: "\n").last.map(String.init) ?? ""
        if result.status == .exited(0) { return .complete(message: lastLine) }
        let errors = KubectlError.meaningfulLines(result.stderrText)
        if errors.contains(where: { $0.contains("timed out waiting for the condition") }) {
            return .timedOut(lastStatus: lastLine)
        }
        if let failure = errors.first(where: { $0.contains("exceeded its progress deadline") }) {
            return .failed(message: failure.hasPrefix("error: ") ? String(failure.dropFirst(7)) : failure)
        }
        throw KubectlError(stderr: result.stderrText, status: result.status, plan: plan)
    }

    package func rolloutHistoryPlan(_ kind: String, _ name: String) -> KubectlPlan {
        plan("rollout history", ["rollout", "history", "\(kind)/\(name)", "-o", "json"], object: "\(kind)/\(name)")
    }

    /// The workload's revisions, oldest first.
    package func rolloutHistory(_ kind: String, _ name: String) throws -> [RolloutRevision] {
        try runObjects(rolloutHistoryPlan(kind, name)).compactMap(RolloutRevision.init).sorted { $0.revision < $1.revision }
    }

    /// `rollout undo`, to the previous revision or to `toRevision`. No `-o json`: kubectl prints
    /// the workload as it was before the rollback, which would read as if nothing happened.
    package func rolloutUndoPlan(_ kind: String, _ name: String, toRevision: Int? = nil, dryRun: KubectlDryRun = .none) -> KubectlPlan {
        var arguments = ["rollout", "undo", "\(kind)/\(name)"]
        if let toRevision { arguments.append("--to-revision=\(toRevision)") }
        if dryRun != .none { arguments.append("--dry-run=\(dryRun.rawValue)") }
        return plan("rollout undo", arguments, object: "\(kind)/\(name)")
    }

    /// Rolls the workload's template back; read the workload afterwards for its new template.
    @discardableResult
    package func rolloutUndo(_ kind: String, _ name: String, toRevision: Int? = nil, dryRun: KubectlDryRun = .none) throws -> RolloutUndoResult {
        let message = try run(rolloutUndoPlan(kind, name, toRevision: toRevision, dryRun: dryRun))
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        // `deployment.apps/ingest skipped rollback (current template already matches revision 1)`
        return message.contains("skipped rollback") ? .skipped(message: message) : .rolledBack(message: message)
    }

    // MARK: - Kustomize

    package func kustomizePlan(_ directory: String) -> KubectlPlan {
        plan("kustomize", ["kustomize", directory], object: directory)
    }

    /// The rendered multi-document YAML.
    package func kustomize(_ directory: String) throws -> Data {
        try run(kustomizePlan(directory)).stdout
    }
}

/// A duration the way kubectl's flags parse it (Go's `time.ParseDuration`): `30s`, `1500ms`;
/// `0` means no limit to kubectl.
package func goDuration(_ seconds: Double) -> String {
    if seconds <= 0 { return "0" }
    if seconds == seconds.rounded() { return "\(Int(seconds))s" }
    return "\(Int((seconds * 1000).rounded()))ms"
}

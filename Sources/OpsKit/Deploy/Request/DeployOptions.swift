import Foundation

/// `deploy`'s command line, validated: what to deploy, under which change-management path, and
/// how to watch it. Every problem names its flag; nothing is read from the cluster here.
package struct DeployOptions: Sendable {
    /// The manifests: a directory, a file or a kustomization, absolute.
    package var manifests: String
    /// As the operator named them (`--overlay production`, `manifests/overlays/production`).
    package var manifestsDisplay: String
    package var images: [ImageOverride]
    package var changeRequest: String?
    package var emergency: EmergencyApproval?
    package var reason: String?
    package var bake: Double
    package var interval: Double
    package var autoRollback: Bool
    package var backupFirst: Bool
    /// `--skip-rpo-guard --reason`: deploy although the newest backup is older than the RPO.
    package var skipRPOGuard: Bool

    static let options: [OptionSpec] = [
        OptionSpec("manifests", .value(placeholder: "dir"), help: "The manifests to apply: a kustomization, a directory or a file.",
                   default: "checklist.manifests"),
        OptionSpec("overlay", .value(placeholder: "name"), help: "Shorthand for --manifests manifests/overlays/<name>."),
        OptionSpec("image", .repeated(placeholder: "[container=]image"),
                   help: "Deploy this image: to the containers of that name, or (without a name) to every container of the same repository; repeatable."),
        OptionSpec("change-request", .value(placeholder: "id"), help: "The change request this deploy carries out (required in production)."),
        OptionSpec("emergency", help: "Deploy outside the maintenance window; needs --approved-by and --reason."),
        OptionSpec("approved-by", .value(placeholder: "name"), help: "Who approved the emergency change."),
        OptionSpec("bake", .value(placeholder: "duration"), help: "How long to watch the change after its rollout.",
                   default: "policy.deploy.bake, else 10m; at least the longest criterion window"),
        OptionSpec("interval", .value(placeholder: "duration"), help: "How often to evaluate the rollback criteria.",
                   default: "policy.deploy.interval, else 30s"),
        OptionSpec("no-auto-rollback", help: "When a criterion triggers, report and exit 1 without rolling back."),
        OptionSpec("backup-first", help: "Take a backup under the same lock first when the newest is older than the RPO."),
        OptionSpec("skip-rpo-guard", help: "Deploy although the newest backup is older than the RPO; needs --reason."),
    ]

    package init(invocation: Invocation, configuration: Configuration, context: Context) throws {
        let usage = { (message: String) in UsageError(message, commandPath: invocation.path) }
        if let overlay = invocation.value("overlay") {
            guard invocation.value("manifests") == nil else { throw usage("--manifests and --overlay both name the manifests: give one") }
            guard KubernetesName.isValid(overlay) else { throw usage("--overlay '\(overlay)' is not an overlay name") }
            manifests = context.resolve(path: "manifests/overlays/\(overlay)")
            manifestsDisplay = "manifests/overlays/\(overlay)"
        } else if let path = invocation.value("manifests") {
            manifests = context.resolve(path: path)
            manifestsDisplay = path
        } else if let setting = configuration.checklist.manifests {
            manifests = ChecklistConfig.resolve(setting, context: context)
            manifestsDisplay = "\(setting.value) (checklist.manifests)"
        } else {
            throw usage("Missing '--manifests <dir>' or '--overlay <name>': which manifests to deploy")
        }
        guard FileManager.default.fileExists(atPath: manifests) else {
            throw ValidationError("\(manifestsDisplay) does not exist (\(manifests))", hint: "give --overlay with one of manifests/overlays/*, or --manifests")
        }
        images = try invocation.values("image").map(ImageOverride.parse)
        changeRequest = invocation.value("change-request")
        if let id = changeRequest, id.trimmingCharacters(in: .whitespaces).isEmpty {
            throw usage("--change-request needs an ID")
        }
        reason = invocation.value("reason")
        // --reason is every mutation's (the journal records it); only with --emergency is it the
        // emergency's justification.
        let isEmergency = invocation.flag("emergency")
        emergency = try EmergencyApproval.from(
            emergency: isEmergency, approvedBy: invocation.value("approved-by"), reason: isEmergency ? reason : nil,
            commandPath: invocation.path)

        let policy = configuration.policy
        interval = try invocation.duration("interval") ?? policy.deploy.interval
        guard interval >= 1 else { throw usage("--interval must be at least 1s") }
        let longest = max(policy.rollback.errorRateFor, policy.rollback.p95LatencyFor)
        if let bake = try invocation.duration("bake") {
            guard bake >= longest else {
                throw usage("--bake \(DurationParser.format(bake)) is shorter than the longest criterion window (\(DurationParser.format(longest))): no criterion could trigger in it")
            }
            self.bake = bake
        } else {
            bake = policy.deploy.effectiveBake(policy.rollback)
        }
        autoRollback = !invocation.flag("no-auto-rollback")
        backupFirst = invocation.flag("backup-first")
        skipRPOGuard = invocation.flag("skip-rpo-guard")
        if skipRPOGuard, reason?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
            throw usage("--skip-rpo-guard needs --reason <text>: the journal records why a deploy went ahead without a recent backup")
        }
        if skipRPOGuard, backupFirst { throw usage("--backup-first and --skip-rpo-guard contradict each other") }
    }
}

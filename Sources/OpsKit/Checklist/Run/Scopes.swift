import Foundation

/// The settings every rule judges against: the environment, the guide's thresholds as the
/// configuration sets them, and the time of the run (from the context's clock, so expiries and
/// Prometheus evaluation times are reproducible).
package struct ChecklistSettings: Sendable {
    package var environment: String
    package var namespace: String
    /// Nil: the configuration names no cluster (a single server).
    package var clickhouseCluster: String?
    package var policy: Policy
    package var policySources: [String: SourceMark]
    package var minimumKubernetes: (major: Int, minor: Int)
    package var secretKinds: [String]
    package var now: Date
    package var strict: Bool
    /// The repository the manifests belong to (documents such as the incident process are
    /// looked for here).
    package var repositoryRoot: String?
    /// `checklist.incidentProcess`, resolved.
    package var incidentProcess: String?
    /// Turns absolute paths into what evidence shows (relative to the working directory).
    package var display: @Sendable (String) -> String
    /// The production environment's change policy, which OPS-4 judges whatever environment the
    /// run is for (the checklist is about production readiness): nil means this run's own.
    package var production: ProductionPolicy?

    package init(
        environment: String, namespace: String, clickhouseCluster: String? = "luminate", policy: Policy = Policy(),
        policySources: [String: SourceMark] = [:], minimumKubernetes: (major: Int, minor: Int) = (1, 28),
        secretKinds: [String] = ChecklistConfig.defaultSecretKinds, now: Date, strict: Bool = false,
        repositoryRoot: String? = nil, incidentProcess: String? = nil, display: @escaping @Sendable (String) -> String = { $0 }
    ) {
        self.environment = environment
        self.namespace = namespace
        self.clickhouseCluster = clickhouseCluster
        self.policy = policy
        self.policySources = policySources
        self.minimumKubernetes = minimumKubernetes
        self.secretKinds = secretKinds
        self.now = now
        self.strict = strict
        self.repositoryRoot = repositoryRoot
        self.incidentProcess = incidentProcess
        self.display = display
    }
}

/// The policy of the environment named `production`, and where it comes from.
package struct ProductionPolicy: Sendable {
    package var changeRequestRequired: Bool
    /// `file luminatectl.yaml:12:7`, `environment production in luminatectl.yaml (default for production)`,
    /// or the built-in default when no production environment is configured.
    package var source: String

    package init(changeRequestRequired: Bool, source: String) {
        self.changeRequestRequired = changeRequestRequired
        self.source = source
    }
}

/// An input a rule may need, which a run may not have.
package enum ChecklistInput<Value: Sendable>: Sendable {
    case available(Value)
    /// Not given: the rule skips with this reason.
    case missing(reason: String)
    /// Given but unreadable (malformed YAML at file:line:column, kustomize failed): the rule errors.
    case broken(ManifestError)

    package func get() throws -> Value {
        switch self {
        case .available(let value): return value
        case .missing(let reason): throw CheckSkipped(reason)
        case .broken(let error): throw error
        }
    }
}

/// Runs the external tools static checks use (promtool) through the context's process seam,
/// finding them on the PATH the command was given.
package struct ToolBox: Sendable {
    package var processes: any ProcessRunning
    package var interrupt: Interrupt
    package var searchPath: [String]
    /// Where tools' verdicts on unchanged input are remembered (`$XDG_CACHE_HOME/luminatectl`);
    /// nil: nothing is remembered.
    package var cacheDirectory: String?

    package init(processes: any ProcessRunning, interrupt: Interrupt, searchPath: [String], cacheDirectory: String? = nil) {
        self.processes = processes
        self.interrupt = interrupt
        self.searchPath = searchPath
        self.cacheDirectory = cacheDirectory
    }

    package init(context: Context) {
        let cache = context.environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? context.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 + "/.cache" }
        self.init(
            processes: context.processes, interrupt: context.interrupt,
            searchPath: (context.environment["PATH"] ?? "").split(separator: ":").map(String.init),
            cacheDirectory: cache.map { $0 + "/luminatectl" })
    }

    /// A marker for "this tool accepted exactly this input": the input's hash together with the
    /// tool's path, size and modification time, so a changed file or an upgraded tool re-checks.
    package func acceptedMarker(_ tool: String, path: String, input: Data) -> String? {
        guard let cacheDirectory, let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = SHA256.hex(input + Data("\n\(path)\n\(size)\n\(modified)".utf8))
        return "\(cacheDirectory)/\(tool)-accepted/\(key)"
    }

    /// The full path of `program` on the search path, or nil when it is not installed.
    package func locate(_ program: String) -> String? {
        for directory in searchPath where !directory.isEmpty {
            let candidate = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    package func run(_ request: ProcessRequest) throws -> ProcessResult {
        try processes.run(request, interrupt: interrupt)
    }
}

/// What a static or config rule sees: the manifests, the runbooks, the settings and the tools.
package struct StaticScope: Sendable {
    package var settings: ChecklistSettings
    package var manifestInput: ChecklistInput<ManifestIndex>
    package var runbookInput: ChecklistInput<RunbookLibrary>
    package var tools: ToolBox

    package init(settings: ChecklistSettings, manifests: ChecklistInput<ManifestIndex>, runbooks: ChecklistInput<RunbookLibrary>, tools: ToolBox) {
        self.settings = settings
        self.manifestInput = manifests
        self.runbookInput = runbooks
        self.tools = tools
    }

    /// The manifests, or a skip (none given) or an error (malformed) for the rule.
    package func manifests() throws -> ManifestIndex { try manifestInput.get() }
    package func runbooks() throws -> RunbookLibrary { try runbookInput.get() }
}

import Foundation

/// One `checklist run`: loads the inputs the request names (manifests, runbooks, attestations,
/// waivers), runs the engine and assembles the report. Malformed attestation or waiver files
/// stop the run (exit 64, file:line:column): a release gate must not pass on evidence it
/// could not read. Malformed manifests do not: the static checks report them as errors.
struct ChecklistRun {
    var request: ChecklistRunRequest
    var configuration: Configuration
    var context: Context
    var records: any RecoveryRecords = NoRecoveryRecordsYet()
    /// Manifests already loaded (and changed, as `deploy --image` does): checked instead of
    /// loading `request.manifests`.
    var preloaded: ManifestIndex?

    func report() throws -> ChecklistReport {
        let clock = context.clock
        let started = clock.now()
        let display = Self.displayPath(workingDirectory: context.workingDirectory)
        let ids = ChecklistCatalogue.ids
        let attestable = ChecklistCatalogue.all.filter { $0.attestation != nil }.map(\.id)

        let attestations = try request.attestations.map { path in
            try AttestationFile.parse(try read(path), path: display(path), attestable: attestable, allIDs: ids)
        }
        let waivers = try request.waivers.map { path in
            try WaiverFile.parse(try read(path), path: display(path), allIDs: ids)
        }

        let connections = Connections(configuration: configuration, context: context)
        let manifests: ChecklistInput<ManifestIndex>
        if let preloaded {
            manifests = .available(preloaded)
        } else if let path = request.manifests {
            var kubectl = connections.kubectl()
            kubectl.processTimeout = 120
            let loader = ManifestLoader(kubectl: kubectl, defaultNamespace: configuration.namespace.value, workingDirectory: context.workingDirectory)
            do {
                manifests = .available(try loader.load(path))
            } catch let error as ManifestError {
                manifests = .broken(error)
            }
        } else {
            manifests = .missing(reason: request.manifestsMissingReason)
        }
        let runbooks: ChecklistInput<RunbookLibrary>
        if let directory = request.runbooks {
            do {
                runbooks = .available(try RunbookLibrary.load(directory: directory, display: display))
            } catch let skip as CheckSkipped {
                runbooks = .missing(reason: skip.reason)
            }
        } else {
            runbooks = .missing(reason: "no runbooks directory (pass --runbooks DIR or set checklist.runbooks)")
        }

        let config = configuration.checklist
        var base = ChecklistSettings(
            environment: configuration.environmentName.value,
            namespace: configuration.namespace.value,
            clickhouseCluster: configuration.clickhouseCluster.value,
            policy: configuration.policy,
            policySources: configuration.policySources,
            minimumKubernetes: config.minimumKubernetes,
            secretKinds: config.effectiveSecretKinds,
            now: started,
            strict: request.strict,
            repositoryRoot: request.repositoryRoot,
            incidentProcess: request.incidentProcess,
            display: display)
        base.production = try productionPolicy()
        let settings = base
        let scope = StaticScope(settings: settings, manifests: manifests, runbooks: runbooks, tools: ToolBox(context: context))

        var liveScope: (@Sendable (Interrupt) -> LiveScope)?
        if request.live {
            let context = self.context
            let configuration = self.configuration
            let timeout = request.timeout
            let records = self.records
            let loaded = try? manifests.get()
            liveScope = { stop in
                var probeContext = context
                probeContext.interrupt = stop
                return LiveScope(
                    settings: settings, manifests: loaded, connections: Connections(configuration: configuration, context: probeContext),
                    timeout: timeout, records: records, tools: ToolBox(context: probeContext))
            }
        }

        let engine = ChecklistEngine(
            checks: request.checks, scope: scope, liveScope: liveScope, timeout: request.timeout,
            attestations: attestations, waivers: waivers, clock: clock, interrupt: context.interrupt)
        let results = engine.run()
        let loaded = try? manifests.get()
        return ChecklistReport(
            environment: settings.environment, generatedAt: started, staticMode: loaded != nil, liveMode: request.live,
            strict: request.strict, waiversUsed: request.useWaivers, manifestSources: loaded?.sources ?? [],
            results: results, wallSeconds: clock.now().timeIntervalSince(started))
    }

    /// OPS-4 asks whether *production* deploys need a change request, whichever environment this
    /// run is for: this run's policy when it is production, else the configuration file's
    /// `production` environment, else the built-in default for an environment of that name.
    private func productionPolicy() throws -> ProductionPolicy {
        if configuration.environmentName.value == "production" {
            let source = configuration.policySources["changeRequestRequired"].map { "file \($0)" } ?? "default for production"
            return ProductionPolicy(changeRequestRequired: configuration.policy.changeRequestRequired, source: source)
        }
        if let path = configuration.file,
           let production = try ConfigurationLoader(context: context).readFile(at: path).environment(named: "production") {
            let source = production.policySources["changeRequestRequired"].map { "file \($0)" }
                ?? "environment production in \(path), default for production"
            return ProductionPolicy(changeRequestRequired: production.policy.changeRequestRequired, source: source)
        }
        return ProductionPolicy(
            changeRequestRequired: EnvironmentSettings.productionDefault.policy.changeRequestRequired,
            source: "built-in default for an environment named production (none is configured)")
    }

    private func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)", hint: "check that it exists and is readable by this user")
        }
        return data
    }

    /// Paths under the working directory are shown relative to it.
    static func displayPath(workingDirectory: String) -> @Sendable (String) -> String {
        let base = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return { path in path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path }
    }
}

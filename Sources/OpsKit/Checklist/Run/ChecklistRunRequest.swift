import Foundation

/// `checklist run`'s command line, completed from the configuration and validated: which checks,
/// which modes, where the manifests, runbooks, attestations and waivers are. Every problem is a
/// usage error naming the flag or the configuration key, before anything runs.
struct ChecklistRunRequest: Sendable {
    static let options: [OptionSpec] = [
        OptionSpec("manifests", .value(placeholder: "path"),
                   help: "Manifests: a file, a directory, or a kustomization (rendered with kubectl kustomize).",
                   default: "checklist.manifests, else manifests/overlays/<env>"),
        OptionSpec("runbooks", .value(placeholder: "dir"), help: "Runbooks directory (*.md with front matter).",
                   default: "checklist.runbooks, else runbooks/ at the repository root"),
        OptionSpec("live", help: "Also check the running environment (Kubernetes, ClickHouse, Prometheus)."),
        OptionSpec("section", .repeated(placeholder: "section"), help: "Only this section: INF, SEC, MON, DP, PERF, OPS or its name; repeatable."),
        OptionSpec("only", .repeated(placeholder: "ids"), help: "Only these checks, e.g. SEC-1,SEC-2; repeatable."),
        OptionSpec("strict", help: "Warnings fail the run; a missing attestation is a failure."),
        OptionSpec("attestations", .value(placeholder: "file"), help: "Attestations file.", default: "checklist.attestations"),
        OptionSpec("waivers", .value(placeholder: "file"), help: "Waivers file.", default: "checklist.waivers"),
        OptionSpec("no-waivers", help: "Ignore waivers: every failure counts (for release gates)."),
        OptionSpec("timeout", .value(placeholder: "duration"), help: "Time allowed to each live check.", default: "20s"),
    ]

    var checks: [ChecklistCheck]
    var manifests: String?
    /// Why there are no manifests, when there are none.
    var manifestsMissingReason: String
    var runbooks: String?
    var repositoryRoot: String?
    var incidentProcess: String?
    var attestations: String?
    var waivers: String?
    var useWaivers: Bool
    var live: Bool
    var strict: Bool
    var timeout: Double

    init(invocation: Invocation, configuration: Configuration, context: Context) throws {
        let usage = { (message: String) in UsageError(message, commandPath: invocation.path) }
        checks = try Self.select(invocation, usage: usage)
        live = invocation.flag("live")
        strict = invocation.flag("strict")
        useWaivers = !invocation.flag("no-waivers")
        timeout = try invocation.duration("timeout") ?? 20
        guard timeout > 0 else { throw usage("--timeout must be a duration above 0, like 20s") }
        if invocation.flag("no-waivers"), invocation.value("waivers") != nil {
            throw usage("--waivers and --no-waivers contradict each other")
        }
        let config = configuration.checklist

        /// What a path option must name.
        enum Expected { case file, directory, either }

        func existing(_ flag: String, _ setting: Sourced<String>?, _ expected: Expected) throws -> String? {
            let path: String
            let origin: String
            if let value = invocation.value(flag) {
                path = context.resolve(path: value)
                origin = "--\(flag)"
            } else if let setting {
                path = ChecklistConfig.resolve(setting, context: context)
                origin = "checklist.\(flag) (\(setting.source))"
            } else {
                return nil
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("\(origin) names \(path), which does not exist")
            }
            switch expected {
            case .directory where !isDirectory.boolValue:
                throw ValidationError("\(origin) names \(path), which is not a directory")
            case .file where isDirectory.boolValue:
                throw ValidationError("\(origin) names \(path), which is a directory, not a file")
            default:
                return path
            }
        }

        manifests = try existing("manifests", config.manifests, .either)
        manifestsMissingReason = "no manifests (pass --manifests DIR or set checklist.manifests)"
        if manifests == nil {
            let conventional = context.resolve(path: "manifests/overlays/\(configuration.environmentName.value)")
            if ManifestLoader.isKustomization(conventional) { manifests = conventional }
        }
        repositoryRoot = Self.repositoryRoot(from: manifests ?? context.workingDirectory)
        runbooks = try existing("runbooks", config.runbooks, .directory)
        if runbooks == nil, let root = repositoryRoot {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/runbooks", isDirectory: &isDirectory), isDirectory.boolValue {
                runbooks = root + "/runbooks"
            }
        }
        incidentProcess = config.incidentProcess.map { ChecklistConfig.resolve($0, context: context) }
        attestations = try existing("attestations", config.attestations, .file)
        waivers = useWaivers ? try existing("waivers", config.waivers, .file) : nil
    }

    /// `--section` and `--only`; both given: the checks in both.
    private static func select(_ invocation: Invocation, usage: (String) -> UsageError) throws -> [ChecklistCheck] {
        var checks = ChecklistCatalogue.all
        let sections = try invocation.values("section").map { text -> ChecklistSection in
            guard let section = ChecklistSection(argument: text) else {
                throw usage("--section must be one of \(ChecklistSection.allCases.map(\.rawValue).joined(separator: ", ")) (or its name), not '\(text)'")
            }
            return section
        }
        if !sections.isEmpty { checks = checks.filter { sections.contains($0.section) } }
        let ids = invocation.values("only").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
        for id in ids where ChecklistCatalogue.check(id) == nil {
            let suggestion = closest(to: id, among: ChecklistCatalogue.ids).map { " (did you mean \($0)?)" } ?? ""
            throw usage("--only names unknown check '\(id)'\(suggestion)")
        }
        if !ids.isEmpty { checks = checks.filter { ids.contains($0.id) } }
        if checks.isEmpty { throw usage("--section and --only select no check together") }
        return checks
    }

    /// The nearest directory at or above `path` holding `.git` or `runbooks/`.
    static func repositoryRoot(from path: String) -> String? {
        var directory = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            directory = (directory as NSString).deletingLastPathComponent
        }
        while !directory.isEmpty {
            for marker in [".git", "runbooks"] where FileManager.default.fileExists(atPath: directory + "/" + marker) {
                return directory
            }
            let parent = (directory as NSString).deletingLastPathComponent
            if parent == directory { break }
            directory = parent
        }
        return nil
    }
}

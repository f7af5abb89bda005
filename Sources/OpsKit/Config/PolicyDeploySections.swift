import Foundation

/// The policy keys `deploy` reads, parsed apart from `ConfigFile.parsePolicy` so each rule sits
/// beside the key it checks: `rollback.maxInconclusive`, `rollback.corruption`,
/// `rollback.security`, `deploy`, and a window's `admits`.
extension ConfigFile {
    /// `minor` or `major`.
    static func parseChangeSize(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> ChangeSize {
        let text = try reader.string(node, path).value
        guard let size = ChangeSize(rawValue: text) else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected minor or major, found '\(text)'")
        }
        return size
    }

    /// `corruption: {defaults: true, probes: [{name: orphan-rows, query: "SELECT ..."}]}`: the
    /// built-in probes stay on unless `defaults: false`; each probe is a query whose rows are the
    /// finding, named uniquely so a finding says which probe found it.
    static func parseCorruption(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> CorruptionProbes {
        let c = try reader.mapping(node, path, keys: ["defaults", "probes"])
        var probes = CorruptionProbes()
        if let v = c["defaults"] { probes.defaults = try reader.bool(v, "\(path).defaults") }
        guard let list = c["probes"] else { return probes }
        var seen: [String: SourceMark] = [:]
        for (index, item) in try reader.sequence(list, "\(path).probes").enumerated() {
            let p = "\(path).probes[\(index)]"
            let f = try reader.mapping(item, p, keys: ["name", "query"])
            for key in ["name", "query"] where f[key] == nil {
                throw ConfigError(mark: item.mark, keyPath: p, message: "missing key '\(key)'")
            }
            let name = try reader.string(f["name"]!, "\(p).name").value.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                throw ConfigError(mark: f["name"]!.mark, keyPath: "\(p).name", message: "a probe needs a name, which its findings carry")
            }
            if let first = seen[name] {
                throw ConfigError(
                    mark: f["name"]!.mark, keyPath: "\(p).name",
                    message: "probe name '\(name)' is already used at line \(first.line), column \(first.column): findings name their probe")
            }
            seen[name] = f["name"]!.mark
            let query = try reader.string(f["query"]!, "\(p).query").value
            guard !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ConfigError(mark: f["query"]!.mark, keyPath: "\(p).query", message: "the query is empty: it would never find anything")
            }
            probes.probes.append(CorruptionProbes.Probe(name: name, query: query))
        }
        return probes
    }

    /// `security: {command: [trivy, image, --exit-code, "1", "{image}"]}`: argv, run once per
    /// deployed image with `{image}` replaced, so at least one argument must carry `{image}`.
    static func parseSecurity(_ node: YAMLNode, _ path: String, _ reader: ConfigReader) throws -> (command: [String], mark: SourceMark) {
        let s = try reader.mapping(node, path, keys: ["command"])
        guard let commandNode = s["command"] else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "missing key 'command'")
        }
        let p = "\(path).command"
        let command = try reader.sequence(commandNode, p).enumerated().map { index, item in
            try reader.string(item, "\(p)[\(index)]").value
        }
        guard let executable = command.first else {
            throw ConfigError(mark: commandNode.mark, keyPath: p, message: "expected a command and its arguments, found an empty list")
        }
        guard !executable.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError(mark: commandNode.sequenceItems![0].mark, keyPath: "\(p)[0]", message: "the program to run is empty")
        }
        guard command.contains(where: { $0.contains("{image}") }) else {
            throw ConfigError(
                mark: commandNode.mark, keyPath: p,
                message: "no argument contains {image}: the command would not know which image to check",
                hint: "write the image's place as {image}, e.g. [trivy, image, --exit-code, \"1\", \"{image}\"]")
        }
        return (command, commandNode.mark)
    }

    /// `deploy: {bake: 10m, interval: 30s, statefulSetTimeout: 30m, nonSemverTags: major}`.
    static func parseDeploy(_ node: YAMLNode, _ path: String, _ reader: ConfigReader, into env: inout EnvironmentSettings) throws {
        let d = try reader.mapping(node, path, keys: ["bake", "interval", "statefulSetTimeout", "nonSemverTags"])
        if let v = d["bake"] {
            env.policy.deploy.bake = try reader.duration(v, "\(path).bake")
            env.policySources["deploy.bake"] = v.mark
        }
        if let v = d["interval"] {
            let interval = try reader.duration(v, "\(path).interval")
            guard interval >= 1 else {
                throw ConfigError(mark: v.mark, keyPath: "\(path).interval",
                                  message: "expected at least 1s, found '\(v.scalar ?? "")': each evaluation queries Prometheus")
            }
            env.policy.deploy.interval = interval
            env.policySources["deploy.interval"] = v.mark
        }
        if let v = d["statefulSetTimeout"] {
            env.policy.deploy.statefulSetTimeout = try reader.duration(v, "\(path).statefulSetTimeout")
            env.policySources["deploy.statefulSetTimeout"] = v.mark
        }
        if let v = d["nonSemverTags"] {
            env.policy.deploy.nonSemverTagsAreMajor = try parseChangeSize(v, "\(path).nonSemverTags", reader) == .major
            env.policySources["deploy.nonSemverTags"] = v.mark
        }
    }
}

import Foundation

/// Typed reading of YAML nodes with errors that name file:line:column and the key path, and
/// refuse unknown keys: a misspelt `rpo` must not silently fall back to a default.
struct ConfigReader {
    /// Parses a single-document YAML file, turning a syntax error into a `ConfigError` at its
    /// file:line:column. Nil for an empty file.
    func document(_ data: Data, path: String) throws -> YAMLNode? {
        do {
            return try YAML.parse(data, file: path)
        } catch let error as YAMLSyntaxError {
            throw ConfigError(mark: error.mark, keyPath: nil, message: "malformed YAML: \(error.message)")
        }
    }

    func mapping(_ node: YAMLNode, _ path: String, keys allowed: [String]) throws -> [String: YAMLNode] {
        guard let entries = node.mappingEntries else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected a mapping, found \(node.kindName)")
        }
        var result: [String: YAMLNode] = [:]
        for (key, value) in entries {
            guard let name = key.scalar else {
                throw ConfigError(mark: key.mark, keyPath: path, message: "keys must be plain strings")
            }
            guard allowed.isEmpty || allowed.contains(name) else {
                let suggestion = closest(to: name, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw ConfigError(
                    mark: key.mark, keyPath: join(path, name),
                    message: "unknown key '\(name)'\(suggestion); known keys: \(allowed.joined(separator: ", "))")
            }
            if result[name] != nil {
                throw ConfigError(mark: key.mark, keyPath: join(path, name), message: "key given twice")
            }
            result[name] = value
        }
        return result
    }

    func string(_ node: YAMLNode, _ path: String) throws -> Sourced<String> {
        guard let text = node.scalar, !node.isNull else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected a string, found \(node.kindName)")
        }
        return Sourced(text, .file(node.mark))
    }

    func bool(_ node: YAMLNode, _ path: String) throws -> Bool {
        switch node.scalar {
        case "true", "True", "TRUE", "yes": return true
        case "false", "False", "FALSE", "no": return false
        default:
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected true or false, found \(describe(node))")
        }
    }

    func integer(_ node: YAMLNode, _ path: String, atLeast minimum: Int) throws -> Int {
        guard let text = node.scalar, let value = Int(text), value >= minimum else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected an integer >= \(minimum), found \(describe(node))")
        }
        return value
    }

    func duration(_ node: YAMLNode, _ path: String) throws -> Double {
        guard let text = node.scalar, let seconds = DurationParser.seconds(text), seconds > 0 else {
            throw ConfigError(
                mark: node.mark, keyPath: path,
                message: "expected a duration like 90s, 5m, 1h or 30d, found \(describe(node))")
        }
        return seconds
    }

    /// `70%` or `0.7`, between 0 and 1.
    func ratio(_ node: YAMLNode, _ path: String) throws -> Double {
        if let text = node.scalar {
            if text.hasSuffix("%"), let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces)),
               percent > 0, percent <= 100 {
                return percent / 100
            }
            if let value = Double(text), value > 0, value <= 1 { return value }
        }
        throw ConfigError(mark: node.mark, keyPath: path, message: "expected a percentage like 70% (or 0.7), found \(describe(node))")
    }

    /// A latency: `500ms`, `0.5s`.
    func latency(_ node: YAMLNode, _ path: String) throws -> Double {
        guard let text = node.scalar, let seconds = DurationParser.seconds(text), seconds > 0 else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected a latency like 500ms or 1s, found \(describe(node))")
        }
        return seconds
    }

    func sequence(_ node: YAMLNode, _ path: String) throws -> [YAMLNode] {
        guard let items = node.sequenceItems else {
            throw ConfigError(mark: node.mark, keyPath: path, message: "expected a list, found \(node.kindName)")
        }
        return items
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func describe(_ node: YAMLNode) -> String {
        if let text = node.scalar, !node.isNull { return "'\(text)'" }
        return node.kindName
    }
}

import Foundation

/// Where an effective configuration value came from; `config view` shows it next to each value.
package enum ValueSource: Sendable, Equatable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case file(SourceMark)
    case builtIn

    package var description: String {
        switch self {
        case .flag(let name): "flag --\(name)"
        case .environment(let name): "env \(name)"
        case .file(let mark): "file \(mark)"
        case .builtIn: "default"
        }
    }
}

/// A value with its source.
package struct Sourced<Value: Sendable & Equatable>: Sendable, Equatable {
    package var value: Value
    package var source: ValueSource

    package init(_ value: Value, _ source: ValueSource) {
        self.value = value
        self.source = source
    }
}

/// Where the ClickHouse password is read from. The password itself is read only when a client
/// needs it, and never printed.
package enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    /// An environment variable holding the secret.
    case environment(String)
    /// A file holding the secret (trailing newline dropped).
    case file(String)
    /// Written in the configuration file itself, allowed only when that file is private (0600).
    case literal(String)

    package var description: String {
        switch self {
        case .environment(let name): "from env \(name)"
        case .file(let path): "from file \(path)"
        case .literal: "literal in the configuration file (\(Redactor.mask))"
        }
    }

    /// Reads the value from its source: `what` (`the ClickHouse password`) and `key`
    /// (`clickhouse.password`) word the errors. A secret is registered with the `Redactor` the
    /// moment it is read, so it can never be printed afterwards; `register: false` is for values
    /// that are not secret but may come from the same sources (an S3 access key id).
    package func read(
        environment: [String: String], what: String, key: String, configurationFile: String?, register: Bool = true
    ) throws -> String {
        let value: String
        switch self {
        case .literal(let literal):
            value = literal
        case .environment(let name):
            guard let found = environment[name], !found.isEmpty else {
                throw ValidationError(
                    "\(what) is to come from env \(name), which is not set",
                    hint: "export \(name) or change \(key) in \(configurationFile ?? "the configuration")")
            }
            value = found
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(what) file \(path)", hint: "check that it exists and is readable by this user")
            }
            value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        if register { Redactor.register(secret: value) }
        return value
    }
}

/// A configuration file that cannot be used: file:line:column, the key path and the rule.
package struct ConfigError: OperatorError, Equatable {
    package var mark: SourceMark?
    package var keyPath: String?
    package var message: String
    package var hint: String?

    package init(mark: SourceMark?, keyPath: String?, message: String, hint: String? = nil) {
        self.mark = mark
        self.keyPath = keyPath
        self.message = message
        self.hint = hint
    }

    package var description: String {
        var parts: [String] = []
        if let mark { parts.append("\(mark)") }
        if let keyPath, !keyPath.isEmpty { parts.append(keyPath) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    package var exitCode: ExitCode { .usage }
}

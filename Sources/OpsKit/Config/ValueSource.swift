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

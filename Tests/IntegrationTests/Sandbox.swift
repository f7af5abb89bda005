import Foundation

/// The local environment `scripts/test` brings up, as `scripts/sandbox env` describes it. An
/// integration test without its servers fails and says how to get them: a test that passes
/// without a server proves nothing.
enum Sandbox {
    /// The sandbox is not up, or not in this shell's environment.
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// What to do when `name` is not set.
    static func missingMessage(_ name: String) -> String {
        "\(name) is not set: run the tests through scripts/test, or scripts/sandbox up and eval \"$(scripts/sandbox env --tests)\" first"
    }

    /// The names among `names` that this process's environment lacks (or has empty).
    static func missing(_ names: [String]) -> [String] {
        let environment = ProcessInfo.processInfo.environment
        return names.filter { environment[$0]?.isEmpty ?? true }
    }

    /// The process environment, once every one of `names` is known to be set.
    @discardableResult
    static func require(_ names: [String]) throws -> [String: String] {
        if let name = missing(names).first { throw Missing(description: missingMessage(name)) }
        return ProcessInfo.processInfo.environment
    }

    /// The secret in a password file the sandbox wrote (registered for redaction).
    static func password(fromFile path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Missing(description: "cannot read \(path): is the sandbox still up? run scripts/sandbox up")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
}

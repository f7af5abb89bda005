import Foundation

/// A parsed command line: which command, its options and arguments, and the global options.
package struct Invocation: Sendable {
    /// The command path without the program name, e.g. `["config", "view"]`.
    package var path: [String]
    package var globals: GlobalOptions
    package var arguments: [String]
    /// The original argv (without the program name), for the journal (redacted there).
    package var argv: [String]
    var values: [String: [String]]
    var flags: Set<String>
    /// The output format, validated against what the command writes.
    package var output: String

    package init(
        path: [String], globals: GlobalOptions = GlobalOptions(), arguments: [String] = [], argv: [String] = [],
        values: [String: [String]] = [:], flags: Set<String> = [], output: String = "text"
    ) {
        self.path = path
        self.globals = globals
        self.arguments = arguments
        self.argv = argv
        self.values = values
        self.flags = flags
        self.output = output
    }

    package var commandName: String { (["luminatectl"] + path).joined(separator: " ") }
    package var json: Bool { output == "json" }

    package func flag(_ long: String) -> Bool { flags.contains(long) }
    package func value(_ long: String) -> String? { values[long]?.last }
    package func values(_ long: String) -> [String] { values[long] ?? [] }

    /// A duration option (`90s`, `5m`, `1h30m`, `7d`) in seconds.
    package func duration(_ long: String) throws -> Double? {
        guard let text = value(long) else { return nil }
        guard let seconds = DurationParser.seconds(text) else {
            throw ValidationError("--\(long) must be a duration like 90s, 5m, 1h30m or 7d, not '\(text)'")
        }
        return seconds
    }

    /// An integer option with a lower bound: `--replicas must be an integer >= 0`.
    package func integer(_ long: String, atLeast minimum: Int) throws -> Int? {
        guard let text = value(long) else { return nil }
        guard let number = Int(text), number >= minimum else {
            throw ValidationError("--\(long) must be an integer >= \(minimum), not '\(text)'")
        }
        return number
    }
}

/// Durations as operators write them: `500ms`, `90s`, `5m`, `1h30m`, `7d`, `2w`.
package enum DurationParser {
    package static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.count)
            total += number * factor
        }
        return total
    }

    /// `5m`, `1h30m`, `500ms`: the shortest way to write a duration.
    package static func format(_ seconds: Double) -> String {
        if seconds < 1 && seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
        var rest = Int(seconds.rounded())
        if rest == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}

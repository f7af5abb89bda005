/// Help in swift-argument-parser's shape: `OVERVIEW:`, `USAGE:`, `ARGUMENTS:`, `OPTIONS:`,
/// `SUBCOMMANDS:`, descriptions aligned at one column and wrapped at 80.
package struct HelpRenderer {
    package static let program = "luminatectl"
    private static let labelColumn = 26
    private static let width = 80

    package init() {}

    package func help(for command: Command, path: [String]) -> String {
        var out = "OVERVIEW: \(command.abstract)\n"
        if let discussion = command.discussion {
            out += "\n" + discussion + "\n"
        }
        out += "\nUSAGE: \(usage(for: command, path: path))\n"

        if !command.arguments.isEmpty {
            out += "\nARGUMENTS:\n"
            for argument in command.arguments {
                out += row(label: "<\(argument.name)>", text: argument.help)
            }
        }

        var options: [OptionSpec] = command.options
        if path.isEmpty {
            options += GlobalOptions.specs
            options.append(OptionSpec("version", help: "Show the version."))
        } else if command.action != nil, command.outputFormats != ["text", "json"] {
            options.append(OptionSpec("output", short: "o", .value(placeholder: "format"),
                                      help: "Output format: \(command.outputFormats.joined(separator: ", ")).",
                                      default: command.outputFormats.first))
        }
        options.append(OptionSpec("help", short: "h", help: "Show help information."))
        out += "\nOPTIONS:\n"
        for option in options {
            var text = option.help
            if let allowed = option.allowed { text += " (values: \(allowed.joined(separator: ", ")))" }
            if let defaultDescription = option.defaultDescription { text += " (default: \(defaultDescription))" }
            out += row(label: option.label, text: text)
        }

        let visible = command.subcommands
        if !visible.isEmpty {
            out += "\nSUBCOMMANDS:\n"
            for sub in visible {
                out += row(label: sub.name, text: sub.abstract)
            }
            let helpPath = ([Self.program, "help"] + path).joined(separator: " ")
            out += "\n  See '\(helpPath) <subcommand>' for detailed help.\n"
        }

        if !command.examples.isEmpty {
            out += "\nEXAMPLES:\n"
            for example in command.examples {
                out += "  \(example)\n"
            }
        }
        if !path.isEmpty {
            out += "\n  See '\(Self.program) --help' for the global options (--env, -o, -v, ...).\n"
        }
        return out
    }

    package func usage(for command: Command, path: [String]) -> String {
        var parts = [Self.program] + path
        if path.isEmpty {
            parts.append("[<global-options>]")
        } else if command.action != nil {
            parts.append("[<options>]")
        }
        parts += command.arguments.map(\.usage)
        if !command.subcommands.isEmpty { parts.append(command.action == nil ? "<subcommand>" : "[<subcommand>]") }
        return parts.joined(separator: " ")
    }

    /// The three lines of a usage error.
    package func usageError(_ error: UsageError, command: Command) -> String {
        let name = ([Self.program] + error.commandPath).joined(separator: " ")
        return """
            Error: \(error.message)
            Usage: \(usage(for: command, path: error.commandPath))
              See '\(name) --help' for more information.

            """
    }

    private func row(label: String, text: String) -> String {
        let indent = String(repeating: " ", count: Self.labelColumn)
        let lines = wrap(text, width: Self.width - Self.labelColumn)
        var out = "  " + label
        if label.count + 2 >= Self.labelColumn - 1 {
            out += "\n" + indent
        } else {
            out += String(repeating: " ", count: Self.labelColumn - 2 - label.count)
        }
        out += lines.joined(separator: "\n" + indent) + "\n"
        return out
    }

    private func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if current.isEmpty {
                current = String(word)
            } else if current.count + 1 + word.count <= width {
                current += " " + word
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines.isEmpty ? [""] : lines
    }
}

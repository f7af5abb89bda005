/// What the command line asks for.
package enum ParsedCommandLine: Sendable {
    case run(Command, Invocation)
    /// `--help`, `help <command>`, or a group given without a subcommand.
    case help(path: [String])
    case version
}

/// Turns argv into a command of the table and its options. Global options may stand anywhere;
/// a command's own options come after its name, as in kubectl and git. Everything that is not
/// understood is a `UsageError` naming the token: nothing runs on a command line we only half
/// understood.
package struct ArgumentParser {
    package let root: Command

    package init(root: Command) { self.root = root }

    package func parse(_ argv: [String]) throws -> ParsedCommandLine {
        var command = root
        var path: [String] = []
        var globals = GlobalOptions()
        var values: [String: [String]] = [:]
        var flags: Set<String> = []
        var arguments: [String] = []
        var helpRequested = false
        var versionRequested = false
        var index = 0
        var onlyPositionals = false

        func usage(_ message: String) -> UsageError { UsageError(message, commandPath: path) }

        while index < argv.count {
            let token = argv[index]
            index += 1

            if onlyPositionals || token == "-" || !token.hasPrefix("-") || isNegativeNumber(token) {
                if token == "help", path.isEmpty, arguments.isEmpty, root.subcommand(named: "help") != nil {
                    // `help <command ...>` names a command path; options after it are ignored.
                    let target = argv[index...].filter { !$0.hasPrefix("-") }
                    guard self.command(at: Array(target)) != nil else {
                        throw usage("Unknown command '\(target.joined(separator: " "))'")
                    }
                    return .help(path: Array(target))
                }
                if arguments.isEmpty, let sub = command.subcommand(named: token) {
                    command = sub
                    path.append(token)
                    continue
                }
                arguments.append(token)
                continue
            }
            if token == "--" {
                onlyPositionals = true
                continue
            }

            // Split the token into option names and an inline value.
            var names: [(name: String, isShort: Bool)] = []
            var inlineValue: String?
            if token.hasPrefix("--") {
                let body = token.dropFirst(2)
                if let eq = body.firstIndex(of: "=") {
                    names = [(String(body[..<eq]), false)]
                    inlineValue = String(body[body.index(after: eq)...])
                } else {
                    names = [(String(body), false)]
                }
            } else {
                let letters = Array(token.dropFirst())
                // `-ojson` is `-o json`; `-vh` is `-v -h`.
                for (offset, letter) in letters.enumerated() {
                    names.append((String(letter), true))
                    if let spec = lookup(short: letter, in: command), spec.kind != .flag, offset < letters.count - 1 {
                        inlineValue = String(letters[(offset + 1)...])
                        break
                    }
                }
            }

            for (name, isShort) in names {
                if name == "help" || (isShort && name == "h") {
                    helpRequested = true
                    continue
                }
                if name == "version", !isShort, path.isEmpty {
                    versionRequested = true
                    continue
                }
                let spec = isShort ? lookup(short: Character(name), in: command) : lookup(long: name, in: command)
                guard let spec else {
                    if helpRequested { continue }
                    let shown = isShort ? "-\(name)" : "--\(name)"
                    throw usage("Unknown option '\(shown)'")
                }
                var value: String?
                if spec.kind == .flag {
                    if inlineValue != nil, !isShort { throw usage("Option '--\(spec.long)' does not take a value") }
                } else {
                    if let inlineValue {
                        value = inlineValue
                    } else if index < argv.count, !argv[index].hasPrefix("-") || isNegativeNumber(argv[index]) || argv[index] == "-" {
                        value = argv[index]
                        index += 1
                    } else {
                        if helpRequested { continue }
                        throw usage("Missing value for '\(isShort ? "-\(name)" : "--\(spec.long)")' (\(spec.label))")
                    }
                    if let allowed = spec.allowed, let value, !allowed.contains(value) {
                        throw usage("--\(spec.long) must be one of \(allowed.joined(separator: ", ")), not '\(value)'")
                    }
                }
                if GlobalOptions.specs.contains(where: { $0.long == spec.long }) && !command.options.contains(where: { $0.long == spec.long }) {
                    _ = globals.set(spec.long, value)
                } else if let value {
                    values[spec.long, default: []].append(value)
                    if case .value = spec.kind, values[spec.long]!.count > 1 {
                        throw usage("Option '--\(spec.long)' given more than once")
                    }
                } else {
                    flags.insert(spec.long)
                }
            }
        }

        if versionRequested { return .version }
        if helpRequested { return .help(path: path) }
        guard command.action != nil else {
            if let first = arguments.first {
                let suggestion = closest(to: first, among: command.subcommands.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
                throw usage("Unknown subcommand '\(first)'\(suggestion)")
            }
            return .help(path: path)
        }

        let required = command.arguments.filter { !$0.optional }.count
        if arguments.count < required {
            throw usage("Missing expected argument '\(command.arguments[arguments.count].usage)'")
        }
        if !command.arguments.contains(where: \.repeating), arguments.count > command.arguments.count {
            throw usage("Unexpected argument '\(arguments[command.arguments.count])'")
        }
        let output = globals.output ?? command.outputFormats.first ?? "text"
        if !command.outputFormats.contains(output) {
            throw usage("--output must be one of \(command.outputFormats.joined(separator: ", ")), not '\(output)'")
        }
        let invocation = Invocation(
            path: path, globals: globals, arguments: arguments, argv: argv, values: values, flags: flags, output: output)
        return .run(command, invocation)
    }

    /// The command at `path`, or nil.
    package func command(at path: [String]) -> Command? {
        var command = root
        for name in path {
            guard let sub = command.subcommand(named: name) else { return nil }
            command = sub
        }
        return command
    }

    private func lookup(long: String, in command: Command) -> OptionSpec? {
        command.options.first { $0.long == long } ?? GlobalOptions.specs.first { $0.long == long }
    }

    private func lookup(short: Character, in command: Command) -> OptionSpec? {
        command.options.first { $0.short == short } ?? GlobalOptions.specs.first { $0.short == short }
    }

    private func isNegativeNumber(_ token: String) -> Bool {
        token.count > 1 && token.hasPrefix("-") && Double(token) != nil
    }
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a likely typo.
package func closest(to word: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
    let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.min { $0.1 < $1.1 }
    guard let (best, score) = scored, score <= max(1, word.count / 3) else { return nil }
    return best
}

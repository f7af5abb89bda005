/// One option a command accepts: a flag (`--dry-run`) or an option with a value (`--since 1h`).
package struct OptionSpec: Sendable {
    package enum Kind: Sendable, Equatable {
        case flag
        /// Takes one value; the placeholder names it in help (`--output <format>`).
        case value(placeholder: String)
        /// May be given several times, each with a value.
        case repeated(placeholder: String)
    }

    package var long: String
    package var short: Character?
    package var kind: Kind
    package var help: String
    /// When set, the value must be one of these (checked at parse time, naming the flag).
    package var allowed: [String]?
    package var defaultDescription: String?

    package init(
        _ long: String, short: Character? = nil, _ kind: Kind = .flag, help: String,
        allowed: [String]? = nil, default defaultDescription: String? = nil
    ) {
        self.long = long
        self.short = short
        self.kind = kind
        self.help = help
        self.allowed = allowed
        self.defaultDescription = defaultDescription
    }

    /// `-o, --output <format>` as shown in help.
    var label: String {
        var label = short.map { "-\($0), " } ?? ""
        label += "--\(long)"
        switch kind {
        case .flag: break
        case .value(let placeholder), .repeated(let placeholder): label += " <\(placeholder)>"
        }
        return label
    }
}

/// One positional argument.
package struct ArgumentSpec: Sendable {
    package var name: String
    package var help: String
    package var optional: Bool
    package var repeating: Bool

    package init(_ name: String, help: String, optional: Bool = false, repeating: Bool = false) {
        self.name = name
        self.help = help
        self.optional = optional
        self.repeating = repeating
    }

    var usage: String {
        let core = "<\(name)>" + (repeating ? " ..." : "")
        return optional ? "[\(core)]" : core
    }
}

/// What running a command returns: the process exit code.
package typealias CommandAction = @Sendable (Invocation, Context) throws -> ExitCode

/// A node of the command table: a group of subcommands, a runnable command, or both.
package struct Command: Sendable {
    package var name: String
    package var abstract: String
    package var discussion: String?
    package var arguments: [ArgumentSpec]
    package var options: [OptionSpec]
    package var subcommands: [Command]
    /// Output formats the command can write (`-o`); the first is the default.
    package var outputFormats: [String]
    package var examples: [String]
    package var action: CommandAction?
    /// For a mutating command: builds its plan. The CLI prints it under `--dry-run`, and otherwise
    /// hands it to the `OperationRunner` (lock and journal); the command never runs it itself.
    package var plan: PlanBuilder?

    package init(
        _ name: String,
        abstract: String,
        discussion: String? = nil,
        arguments: [ArgumentSpec] = [],
        options: [OptionSpec] = [],
        subcommands: [Command] = [],
        outputFormats: [String] = ["text", "json"],
        examples: [String] = [],
        action: CommandAction? = nil,
        plan: PlanBuilder? = nil
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
        self.subcommands = subcommands
        self.outputFormats = outputFormats
        self.examples = examples
        self.action = action
        self.plan = plan
        if plan != nil {
            // Every mutating command can print its plan, wait for the lock and carry a reason.
            self.options += Command.mutationOptions
            self.action = { invocation, context in try MutationDriver.run(invocation, context: context, plan: plan!) }
        }
    }

    package var isMutating: Bool { plan != nil }

    static let mutationOptions = [
        OptionSpec("dry-run", help: "Print the plan (every kubectl call, SQL statement and query) and change nothing."),
        OptionSpec("wait-lock", .value(placeholder: "duration"),
                   help: "When another operation holds the lock, wait up to this long for it (default: fail at once)."),
        OptionSpec("reason", .value(placeholder: "text"), help: "Why, recorded in the journal (required for emergency changes)."),
    ]

    package func subcommand(named name: String) -> Command? {
        subcommands.first { $0.name == name }
    }
}

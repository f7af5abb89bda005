/// The command table: every command luminatectl has, as one literal. Only commands that work
/// are listed; each capability adds its group here and its logic in its own folder.
package enum CommandTable {
    package static let root = Command(
        "luminatectl",
        abstract: "The operations control plane for Luminate on Kubernetes and ClickHouse.",
        discussion: """
            Deploys, scales, backs up, restores and checks Luminate, every change journaled and
            locked. Point it at an environment with --env (from luminatectl.yaml) or with flags
            and LUMINATECTL_* variables.
            """,
        subcommands: [
            BackupCommand.group,
            ChecklistCommand.group,
            ConfigCommands.group,
            DeployCommand.group,
            JournalCommands.group,
            LockCommands.group,
            RestoreCommand.group,
            RollbackCommand.group,
            VersionCommand.command,
            helpCommand,
        ]
    )

    /// `luminatectl help [<command> ...]`: the same text as `<command> --help`. The parser answers
    /// it (it needs the whole table); this entry documents it.
    static let helpCommand = Command(
        "help",
        abstract: "Show help for a command.",
        arguments: [ArgumentSpec("command", help: "The command to explain, e.g. config view.", optional: true, repeating: true)],
        outputFormats: ["text"]
    )
}

import Foundation

/// The ClickHouse table journal records are mirrored to (`journal.mirror` of an environment);
/// the server is the environment's ClickHouse endpoint.
package struct JournalMirrorSettings: Sendable, Equatable, CustomStringConvertible {
    package static let defaultDatabase = "luminate_ops"
    package static let defaultTable = "journal"

    package var database: String
    package var table: String

    package init(database: String = defaultDatabase, table: String = defaultTable) {
        self.database = database
        self.table = table
    }

    /// `clickhouse luminate_ops.journal`
    package var description: String { "clickhouse \(database).\(table)" }
}

extension ConfigFile {
    /// `journal: {path: ~/ops/staging.jsonl, mirror: {database: luminate_ops, table: journal}}`;
    /// the mirror is off unless `mirror` is given (`mirror: {}` takes the defaults).
    static func parseJournal(_ node: YAMLNode, _ path: String, _ reader: ConfigReader, into env: inout EnvironmentSettings) throws {
        let fields = try reader.mapping(node, path, keys: ["path", "mirror"])
        if let file = fields["path"] {
            env.journalPath = try reader.string(file, "\(path).path")
        }
        if let mirror = fields["mirror"] {
            var settings = JournalMirrorSettings()
            if !mirror.isNull {
                let m = try reader.mapping(mirror, "\(path).mirror", keys: ["database", "table"])
                for (key, keyPath) in [("database", \JournalMirrorSettings.database), ("table", \JournalMirrorSettings.table)] {
                    guard let value = m[key] else { continue }
                    let name = try reader.string(value, "\(path).mirror.\(key)").value
                    guard SQL.isValidIdentifier(name) else {
                        throw ConfigError(mark: value.mark, keyPath: "\(path).mirror.\(key)",
                                          message: "expected a ClickHouse name matching \(SQL.identifierRule), found '\(name)'")
                    }
                    settings[keyPath: keyPath] = name
                }
            }
            env.journalMirror = Sourced(settings, .file(mirror.mark))
        }
    }
}

extension ConfigurationLoader {
    /// The journal's path: `LUMINATECTL_JOURNAL`, else the environment's `journal.path`, else
    /// `$XDG_STATE_HOME/luminatectl/journal-<environment>.jsonl` (`~/.local/state/...`). One file
    /// per environment, so each environment's history is its own chain.
    func journalPath(environment name: String, settings: EnvironmentSettings) -> Sourced<String>? {
        if let value = context.environment["LUMINATECTL_JOURNAL"], !value.isEmpty {
            return Sourced(context.resolve(path: value), .environment("LUMINATECTL_JOURNAL"))
        }
        if let configured = settings.journalPath {
            return Sourced(context.resolve(path: configured.value), configured.source)
        }
        let state = context.environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? context.environment["HOME"].flatMap { $0.isEmpty ? nil : "\($0)/.local/state" }
        return state.map { Sourced("\($0)/luminatectl/journal-\(name).jsonl", .builtIn) }
    }
}

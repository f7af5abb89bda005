import Foundation

/// One runbook (`runbooks/*.md`) as the checklist reads it: its YAML front matter (title,
/// severity, owners, reviewed-by, reviewed-on, alerts) and its text.
package struct Runbook: Sendable {
    /// The path as shown in evidence.
    package var path: String
    package var title: String?
    package var reviewedBy: [String]
    package var reviewedOn: Date?
    package var reviewedOnText: String?
    /// Where the front matter starts (line 1), for evidence.
    package var mark: SourceMark
    /// Nil when the front matter parsed; else what is wrong with it, at file:line:column.
    package var malformed: String?
    package var hasFrontMatter: Bool
    package var body: String

    /// Reads a runbook's text. Front matter is the YAML between a first line `---` and the next
    /// line that is `---` or `...`, as static site generators read it.
    package static func parse(_ text: String, path: String) -> Runbook {
        var runbook = Runbook(
            path: path, title: nil, reviewedBy: [], reviewedOn: nil, reviewedOnText: nil,
            mark: SourceMark(file: path, line: 1, column: 1), malformed: nil, hasFrontMatter: false, body: text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first?.trimmingCharacters(in: .whitespaces) == "---",
              let end = lines.dropFirst().firstIndex(where: { ["---", "..."].contains($0.trimmingCharacters(in: .whitespaces)) }) else {
            return runbook
        }
        runbook.hasFrontMatter = true
        runbook.body = lines[(end + 1)...].joined(separator: "\n")
        // Blank lines keep libyaml's line numbers equal to the file's.
        let yaml = "\n" + lines[1..<end].joined(separator: "\n")
        let node: YAMLNode?
        do {
            node = try YAML.parse(Data(yaml.utf8), file: path)
        } catch let error as YAMLSyntaxError {
            runbook.malformed = "\(error.mark): malformed front matter: \(error.message)"
            return runbook
        } catch {
            runbook.malformed = "\(path): malformed front matter: \(error)"
            return runbook
        }
        guard let node, node.mappingEntries != nil else {
            runbook.malformed = "\(path):2:1: front matter is not a mapping"
            return runbook
        }
        runbook.title = node["title"]?.scalar
        if let reviewers = node["reviewed-by"] {
            runbook.reviewedBy = reviewers.sequenceItems?.compactMap(\.scalar) ?? reviewers.scalar.map { [$0] } ?? []
            runbook.reviewedBy = runbook.reviewedBy.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        if let reviewed = node["reviewed-on"] {
            if let text = reviewed.scalar, !reviewed.isNull {
                runbook.reviewedOnText = text
                runbook.reviewedOn = EvidenceDate.parse(text)?.date
                if runbook.reviewedOn == nil {
                    runbook.malformed = "\(reviewed.mark): reviewed-on '\(text)' is not a date like 2026-11-20"
                }
            }
        }
        return runbook
    }

    /// Whether this is the disaster recovery plan: named so, or titled so.
    package var isDisasterRecoveryPlan: Bool {
        let name = (path as NSString).lastPathComponent.lowercased()
        if name.contains("disaster") || name.hasPrefix("dr-") || name == "dr.md" { return true }
        return title?.lowercased().contains("disaster recovery") ?? false
    }
}

/// The runbooks directory, read once per run.
package struct RunbookLibrary: Sendable {
    package var directory: String
    package var runbooks: [Runbook]

    /// Reads every `*.md` directly under `directory` (README.md excluded: it indexes the
    /// runbooks, it is not one). `display` turns paths into what evidence shows.
    package static func load(directory: String, display: (String) -> String) throws -> RunbookLibrary {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw CheckSkipped("no runbooks directory at \(display(directory)) (pass --runbooks DIR or set checklist.runbooks)")
        }
        var runbooks: [Runbook] = []
        for name in names.sorted() where name.lowercased().hasSuffix(".md") && name.lowercased() != "readme.md" {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            runbooks.append(Runbook.parse(String(decoding: data, as: UTF8.self), path: display(path)))
        }
        return RunbookLibrary(directory: display(directory), runbooks: runbooks)
    }
}

import Foundation

/// `luminatectl checklist ...`: the operations guide's production-readiness checklist as checks
/// with stable IDs, run against the manifests, the live environment and signed-off evidence.
enum ChecklistCommand {
    static let group = Command(
        "checklist",
        abstract: "Check production readiness (the guide's checklist).",
        discussion: """
            The guide's 27 checklist items, each a check with a stable ID (INF-1 ... OPS-4) that CI
            can gate a release on: static checks read the manifests (plain files or a kustomization),
            live checks ask Kubernetes, ClickHouse and Prometheus, and what neither can prove is
            attested. Failing items can be waived for at most 90 days.
            """,
        subcommands: [list, explain, run]
    )

    static let list = Command(
        "list",
        abstract: "List the checks: ID, section, modes and title.",
        examples: ["luminatectl checklist list", "luminatectl checklist list -o json"],
        action: { invocation, context in
            let checks = ChecklistCatalogue.all
            if invocation.json {
                context.console.line(CatalogueJSON.render(checks).rendered(pretty: true))
                return .success
            }
            var out = "ID      SECTION          MODES                        TITLE\n"
            for check in checks {
                out += check.id.padding(toLength: 8, withPad: " ", startingAt: 0)
                out += check.section.title.padding(toLength: 17, withPad: " ", startingAt: 0)
                out += check.modes.map(\.rawValue).joined(separator: ", ").padding(toLength: 29, withPad: " ", startingAt: 0)
                out += check.title + "\n"
            }
            context.console.write(out)
            return .success
        }
    )

    static let explain = Command(
        "explain",
        abstract: "Explain a check: what it means, why, how it is checked, how to fix it.",
        arguments: [ArgumentSpec("id", help: "A check ID, e.g. SEC-3 (see 'luminatectl checklist list').")],
        examples: ["luminatectl checklist explain SEC-3", "luminatectl checklist explain dp-1 -o json"],
        action: { invocation, context in
            let id = invocation.arguments[0].uppercased()
            guard let check = ChecklistCatalogue.check(id) else {
                let suggestion = closest(to: id, among: ChecklistCatalogue.ids).map { " (did you mean \($0)?)" } ?? ""
                throw UsageError("Unknown check '\(invocation.arguments[0])'\(suggestion)", commandPath: invocation.path)
            }
            if invocation.json {
                context.console.line(CatalogueJSON.explain(check).rendered(pretty: true))
            } else {
                context.console.write(ExplainText.render(check))
            }
            return .success
        }
    )

    static let run = Command(
        "run",
        abstract: "Run the checks and report pass, fail, warn, skip, waived or error for each.",
        discussion: """
            Static checks read --manifests (a file, a directory, or a kustomization rendered with
            kubectl kustomize); live checks (--live) ask the environment, concurrently, each under
            --timeout. Attestations and waivers come from checklist.attestations and
            checklist.waivers in the configuration, or the flags. Exit 0 when nothing failed or
            errored (warnings too, with --strict), 1 otherwise, 64 on a usage error.
            """,
        options: ChecklistRunRequest.options,
        outputFormats: ["text", "json", "junit"],
        examples: [
            "luminatectl checklist run --manifests manifests/overlays/production",
            "luminatectl checklist run --env production --live --strict --no-waivers -o junit > checklist.xml",
            "luminatectl checklist run --live --section security --only SEC-1,SEC-2",
        ],
        action: { invocation, context in
            let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
            let request = try ChecklistRunRequest(invocation: invocation, configuration: configuration, context: context)
            let report = try ChecklistRun(request: request, configuration: configuration, context: context,
                                          records: StoreRecoveryRecords(configuration: configuration, context: context)).report()
            switch invocation.output {
            case "json": context.console.line(ReportJSON.render(report).rendered(pretty: true))
            case "junit": context.console.write(ReportJUnit.render(report))
            default: context.console.write(ReportText.render(report, console: context.console))
            }
            if context.interrupt.isSet { return .interrupted }
            return report.exitCode
        }
    )
}

/// `checklist explain` as text: the four questions, wrapped at 80 columns.
enum ExplainText {
    static func render(_ check: ChecklistCheck) -> String {
        var out = "\(check.id)  \(check.title)\n"
        out += "Section: \(check.section.title)    Modes: \(check.modes.map(\.rawValue).joined(separator: ", "))\n"
        let parts = [
            ("WHAT", check.explanation.what), ("WHY", check.explanation.why),
            ("HOW IT IS CHECKED", check.explanation.how), ("HOW TO FIX", check.explanation.fix),
        ] + (check.attestation.map { [("ATTESTATION", "An attestation states that \($0.statement).")] } ?? [])
        for (heading, text) in parts {
            out += "\n\(heading)\n" + wrap(text, indent: "  ", width: 80)
        }
        return out
    }

    static func wrap(_ text: String, indent: String, width: Int) -> String {
        var out = ""
        for paragraph in text.components(separatedBy: "\n\n") {
            var line = indent
            for word in paragraph.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                if line.count > indent.count, line.count + 1 + word.count > width {
                    out += line + "\n"
                    line = indent
                }
                line += (line.count > indent.count ? " " : "") + word
            }
            out += line + "\n"
        }
        return out
    }
}

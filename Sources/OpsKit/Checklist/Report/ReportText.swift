import Foundation

/// The text report: sections as in the guide, one line per check, and for each check that did
/// not pass the reason, the evidence and the fix; a summary line counting every outcome.
package enum ReportText {
    package static func render(_ report: ChecklistReport, console: Console) -> String {
        var out = "Production readiness checklist: environment \(report.environment)\n"
        let staticText = report.staticMode ? "manifests \(report.manifestSources.count == 1 ? report.manifestSources[0] : "\(report.manifestSources.count) files")" : "no manifests"
        var modes = [staticText, report.liveMode ? "live" : "no live access"]
        if report.strict { modes.append("strict") }
        if !report.waiversUsed { modes.append("waivers ignored") }
        out += "(\(modes.joined(separator: ", ")))\n"
        for (section, results) in report.sections {
            out += "\n" + console.paint(section.title, .bold) + "\n"
            for result in results {
                out += "  \(mark(result.outcome, console))  \(result.check.id.padding(toLength: 6, withPad: " ", startingAt: 0)) \(result.check.title)\n"
                out += detail(result)
            }
        }
        out += "\n"
        if let slowest = report.slowest, slowest.seconds > 0 {
            out += "Slowest check: \(slowest.check.id) (\(formatSeconds(slowest.seconds))); the run took \(formatSeconds(report.wallSeconds))\n"
        }
        out += summaryLine(report) + "\n"
        return out
    }

    /// `27 checks: 20 pass, 2 fail, 3 warn, 1 skip, 1 waived, 0 error`
    package static func summaryLine(_ report: ChecklistReport) -> String {
        "\(report.results.count) checks: " + report.summary.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")
    }

    private static func mark(_ outcome: CheckOutcome, _ console: Console) -> String {
        let text = outcome.rawValue.uppercased().padding(toLength: 6, withPad: " ", startingAt: 0)
        switch outcome {
        case .pass: return console.paint(text, .green)
        case .fail, .error: return console.paint(text, .red)
        case .warn, .waived: return console.paint(text, .yellow)
        case .skip: return console.paint(text, .dim)
        }
    }

    private static func detail(_ result: CheckResult) -> String {
        let indent = "          "
        var out = indent + result.message + "\n"
        guard result.outcome != .pass && result.outcome != .skip else { return out }
        let shown = result.evidence.prefix(20)
        for line in shown { out += "\(indent)- \(line)\n" }
        if result.evidence.count > shown.count { out += "\(indent)- and \(result.evidence.count - shown.count) more (-o json lists all)\n" }
        if let fix = result.fix { out += "\(indent)fix: \(fix)\n" }
        return out
    }
}

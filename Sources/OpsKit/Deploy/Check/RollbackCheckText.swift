import Foundation

/// `rollback check`'s text: one block per criterion with its values and verdict, then the verdict.
enum RollbackCheckText {
    static func render(_ tick: AnalysisTick, interval: Double) -> String {
        var out = "Rollback criteria at \(LockTime.iso(tick.at)), steps every \(DurationParser.format(interval)), "
        out += tick.windowStart.map { "window start \(LockTime.iso($0))" } ?? "no window start"
        out += "\n"
        for criterion in tick.criteria {
            out += "\n" + criterion.id.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)
            out += label(criterion.verdict).padding(toLength: 16, withPad: " ", startingAt: 0) + criterion.summary + "\n"
            out += details(criterion)
        }
        out += "\nverdict: \(tick.verdict.rawValue) (\(tick.reason))\n"
        return out
    }

    private static func label(_ verdict: CriterionVerdict) -> String {
        verdict == .triggered ? "TRIGGERED" : verdict.rawValue
    }

    private static func details(_ criterion: CriterionResult) -> String {
        var out = ""
        if let query = criterion.query { out += "  query: \(query)\n" }
        if let error = criterion.error, criterion.probes.isEmpty { out += "  error: \(error)\n" }
        if !criterion.values.isEmpty, let metric = metric(criterion) {
            // Four steps a line, times of day (the header has the date): 21 steps fit in 6 lines.
            let cells = criterion.values.map { point -> String in
                let mark = (point.value ?? -.infinity) > metric.rule.threshold ? "*" : " "
                let cell = "\(clockTime(point.time)) \(metric.format(point.value))\(mark)"
                return cell.padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            for start in stride(from: 0, to: cells.count, by: 4) {
                out += "  " + cells[start..<min(start + 4, cells.count)].joined().trimmingCharacters(in: .whitespaces) + "\n"
            }
            out += "  (* above \(metric.format(metric.rule.threshold)))\n"
        }
        for probe in criterion.probes {
            let state = !probe.findings.isEmpty ? "FOUND" : probe.error != nil ? "inconclusive" : "clear"
            out += "  " + probe.probe.padding(toLength: 24, withPad: " ", startingAt: 0) + state.padding(toLength: 14, withPad: " ", startingAt: 0)
            out += (probe.checked ?? "") + "\n"
            for finding in probe.findings { out += "    - \(finding)\n" }
            if let error = probe.error { out += "    error: \(error)\n" }
        }
        for scan in criterion.scans {
            out += "  \(scan.image): \(scan.passed ? "passed" : "FAILED") (\(scan.status)): \(scan.commandLine)\n"
            if !scan.passed { for line in scan.outputTail { out += "    | \(line)\n" } }
        }
        return out
    }

    /// The criterion's metric definition, for formatting its values.
    private static func metric(_ criterion: CriterionResult) -> MetricCriterion? {
        guard let threshold = criterion.threshold, let window = criterion.window, let evaluation = criterion.evaluation else { return nil }
        let unit: MetricCriterion.Unit = criterion.id == .errorRate ? .ratio : .seconds
        return MetricCriterion(id: criterion.id, name: "", query: criterion.query ?? "",
                               rule: SustainedRule(threshold: threshold, window: window, step: evaluation.rule.step), unit: unit)
    }

    /// `00:32:30`.
    private static func clockTime(_ date: Date) -> String {
        String(LockTime.iso(date).dropFirst(11).dropLast())
    }
}

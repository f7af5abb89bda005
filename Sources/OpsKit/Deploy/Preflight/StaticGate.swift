import Foundation

/// The checklist's static checks over exactly the objects a deploy applies (its `--image`
/// changes included): the same engine as `checklist run`, so a deploy cannot ship manifests
/// the release gate would fail.
package struct StaticGate: Sendable {
    package var report: ChecklistReport

    package var failures: [CheckResult] { report.results.filter { $0.outcome == .fail || $0.outcome == .error } }
    package var passed: Bool { failures.isEmpty }

    package static func run(_ set: DeploySet, invocation: Invocation, configuration: Configuration, context: Context) throws -> StaticGate {
        var request = try ChecklistRunRequest(invocation: invocation, configuration: configuration, context: context)
        request.live = false
        var run = ChecklistRun(request: request, configuration: configuration, context: context)
        run.preloaded = set.index
        return StaticGate(report: try run.report())
    }

    package var line: String {
        let counts = report.summary.filter { $0.1 > 0 }.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")
        return passed ? "checklist (static): pass: \(counts)"
            : "checklist (static): FAILED: \(failures.map { "\($0.check.id) \($0.message)" }.joined(separator: "; "))"
    }

    package var json: JSONValue {
        .object([
            ("passed", .bool(passed)),
            ("counts", .object(report.summary.map { ($0.0.rawValue, .number(Double($0.1))) })),
            ("failures", .array(failures.map { .object([("id", .string($0.check.id)), ("outcome", .string($0.outcome.rawValue)), ("message", .string($0.message))]) })),
        ])
    }
}

import Foundation

/// The JUnit XML report CI systems render (Jenkins, GitLab, GitHub test reporters): a
/// `<testsuite>` per section, a `<testcase>` per check. Failures carry the message and the
/// evidence; errors are `<error>`; skips are `<skipped message>`; warnings and waivers pass with
/// the detail in `<system-out>` (a warning is a `<failure type="warn">` under `--strict`, where it
/// fails the run). docs/checklist.md gives the mapping.
package enum ReportJUnit {
    package static func render(_ report: ChecklistReport) -> String {
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        let failures = report.results.filter { isFailure($0, strict: report.strict) }.count
        out += "<testsuites name=\"luminatectl checklist\" tests=\"\(report.results.count)\" failures=\"\(failures)\""
        out += " errors=\"\(report.count(.error))\" skipped=\"\(report.count(.skip))\" time=\"\(seconds(report.wallSeconds))\">\n"
        for (index, (section, results)) in report.sections.enumerated() {
            let time = results.reduce(0) { $0 + $1.seconds }
            out += "  <testsuite name=\"\(escape(section.title))\" id=\"\(index)\" package=\"checklist.\(section.rawValue)\""
            out += " tests=\"\(results.count)\" failures=\"\(results.filter { isFailure($0, strict: report.strict) }.count)\""
            out += " errors=\"\(results.filter { $0.outcome == .error }.count)\" skipped=\"\(results.filter { $0.outcome == .skip }.count)\""
            out += " time=\"\(seconds(time))\" timestamp=\"\(timestamp(report.generatedAt))\" hostname=\"\(escape(report.environment))\">\n"
            out += "    <properties>\n"
            out += "      <property name=\"environment\" value=\"\(escape(report.environment))\"/>\n"
            out += "      <property name=\"live\" value=\"\(report.liveMode)\"/>\n"
            out += "      <property name=\"strict\" value=\"\(report.strict)\"/>\n"
            out += "    </properties>\n"
            for result in results { out += testcase(result, strict: report.strict) }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    private static func isFailure(_ result: CheckResult, strict: Bool) -> Bool {
        result.outcome == .fail || (strict && result.outcome == .warn)
    }

    private static func testcase(_ result: CheckResult, strict: Bool) -> String {
        let open = "    <testcase classname=\"checklist.\(result.check.section.rawValue)\" name=\"\(escape(result.check.label))\" time=\"\(seconds(result.seconds))\""
        let body = ([result.message] + result.evidence.map { "- " + $0 } + (result.fix.map { ["fix: " + $0] } ?? [])).joined(separator: "\n")
        switch result.outcome {
        case .pass:
            return open + "/>\n"
        case .fail:
            return open + ">\n      <failure message=\"\(escape(result.message))\" type=\"fail\">\(escape(body))</failure>\n    </testcase>\n"
        case .error:
            return open + ">\n      <error message=\"\(escape(result.message))\" type=\"error\">\(escape(body))</error>\n    </testcase>\n"
        case .skip:
            return open + ">\n      <skipped message=\"\(escape(result.message))\"/>\n    </testcase>\n"
        case .warn where strict:
            return open + ">\n      <failure message=\"\(escape(result.message))\" type=\"warn\">\(escape(body))</failure>\n    </testcase>\n"
        case .warn, .waived:
            return open + ">\n      <system-out>\(escape(result.outcome.rawValue + ": " + body))</system-out>\n    </testcase>\n"
        }
    }

    /// Escapes text for an attribute or element; drops characters XML 1.0 cannot carry at all.
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\t", "\r": out += "&#\(scalar.value);"
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

    /// JUnit's timestamp: ISO 8601 without a zone designator (the XSD's `ISO8601_DATETIME_PATTERN`).
    private static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }
}

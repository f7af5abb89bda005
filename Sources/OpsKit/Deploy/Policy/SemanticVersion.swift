import Foundation

/// The version an image tag carries when it is a semantic version: `2.4.1`, `v2.4.1`, `2.4`
/// (patch 0), `2.4.1-rc.1`. Whatever follows the first `-` is a prerelease or build suffix and
/// keeps the version: `2.5.0-errors` is 2.5.0. A bare number (`7`, `20261130`, a build number) is
/// not taken as a version: such tags are as often dates or counters as major versions.
package struct SemanticVersion: Sendable, Equatable, CustomStringConvertible {
    package var major: Int
    package var minor: Int
    package var patch: Int
    /// After the `-`: `rc.1`, `errors`; nil when none.
    package var suffix: String?

    package init(major: Int, minor: Int, patch: Int = 0, suffix: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.suffix = suffix
    }

    /// Nil when the tag is not a semantic version (`latest`, `main-4f2a`, `7`, `1.2.3.4`).
    package init?(tag: String) {
        var text = Substring(tag)
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        // Build metadata (`+build.5`) cannot appear in a Docker tag, but a version string may carry it.
        if let plus = text.firstIndex(of: "+") { text = text[..<plus] }
        var suffix: String?
        if let dash = text.firstIndex(of: "-") {
            suffix = String(text[text.index(after: dash)...])
            guard suffix?.isEmpty == false else { return nil }
            text = text[..<dash]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count else { return nil }
        self.init(major: numbers[0], minor: numbers[1], patch: numbers.count == 3 ? numbers[2] : 0, suffix: suffix)
    }

    /// `2.5.0`, `2.4.1-rc.1`.
    package var description: String { "\(major).\(minor).\(patch)" + (suffix.map { "-\($0)" } ?? "") }
}

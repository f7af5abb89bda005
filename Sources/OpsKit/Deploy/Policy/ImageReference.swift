import Foundation

/// A container image as a pod spec names it: `registry.example:5000/luminate/luminate:2.4.1@sha256:…`.
/// The registry's port and the tag are both written after a colon; only a colon after the last
/// `/` starts a tag. Without a tag and a digest Kubernetes pulls `latest`, which `effectiveTag` says.
package struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    /// Everything before the tag and digest: `registry.example:5000/luminate/luminate`.
    package var repository: String
    package var tag: String?
    /// `sha256:<64 hex digits>`.
    package var digest: String?

    /// Parses an image reference; the error says which part is wrong.
    package init(_ text: String) throws {
        var rest = Substring(text)
        guard !rest.isEmpty, !rest.contains(where: { $0.isWhitespace }) else {
            throw InvalidImageReference(text: text, problem: "an image reference has no spaces and is not empty")
        }
        if let at = rest.firstIndex(of: "@") {
            let digest = String(rest[rest.index(after: at)...])
            guard Self.isDigest(digest) else {
                throw InvalidImageReference(text: text, problem: "the digest after '@' must be sha256: and 64 hex digits")
            }
            self.digest = digest
            rest = rest[..<at]
        }
        let nameStart = rest.lastIndex(of: "/").map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[nameStart...].lastIndex(of: ":") {
            let tag = String(rest[rest.index(after: colon)...])
            guard Self.isTag(tag) else {
                throw InvalidImageReference(
                    text: text, problem: "the tag '\(tag)' must be letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'")
            }
            self.tag = tag
            rest = rest[..<colon]
        }
        let components = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard !rest.isEmpty, !components.contains(where: \.isEmpty) else {
            throw InvalidImageReference(text: text, problem: "the repository has an empty path component")
        }
        repository = String(rest)
    }

    /// The image's own name, the last path component: `luminate`.
    package var name: String { String(repository.split(separator: "/").last ?? Substring(repository)) }

    /// The host (and port) the image is pulled from, when the reference names one: the first
    /// component is a registry when it has a `.` or a `:`, or is `localhost` (Docker's rule).
    package var registry: String? {
        let components = repository.split(separator: "/")
        guard components.count > 1, let first = components.first else { return nil }
        return first.contains(".") || first.contains(":") || first == "localhost" ? String(first) : nil
    }

    /// The tag Kubernetes pulls: the written one, `latest` when neither tag nor digest is given,
    /// nil for an image pinned by digest alone.
    package var effectiveTag: String? { tag ?? (digest == nil ? "latest" : nil) }

    package var description: String {
        repository + (tag.map { ":\($0)" } ?? "") + (digest.map { "@\($0)" } ?? "")
    }

    private static func isDigest(_ text: String) -> Bool {
        guard text.hasPrefix("sha256:") else { return false }
        let hex = text.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private static func isTag(_ text: String) -> Bool {
        guard let first = text.first, first != ".", first != "-", text.count <= 128 else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }
}

/// An image reference that cannot be parsed, with the part that is wrong.
package struct InvalidImageReference: OperatorError, Equatable {
    package var text: String
    package var problem: String

    package init(text: String, problem: String) {
        self.text = text
        self.problem = problem
    }

    package var description: String { "'\(text)' is not an image reference: \(problem)" }
}

import Foundation

/// How big a deploy is for the maintenance windows, and why, one reason per image change:
/// `Deployment/luminate container luminate: 2.4.1 → 3.0.0, major version changes`.
package struct ChangeClassification: Sendable, Equatable {
    package var size: ChangeSize
    /// In the order of the changes, each naming its workload and container.
    package var reasons: [String]

    package init(size: ChangeSize, reasons: [String]) {
        self.size = size
        self.reasons = reasons
    }
}

/// Sizes a set of image changes (the operations guide: major version updates wait for the monthly
/// window, other changes take the weekly one). The set is major when any one change is:
/// - the image's major version changes, up or down (`2.4.1 → 3.0.0`);
/// - a from or to tag is not a semantic version (`latest`, `main-4f2a`, a digest without a tag),
///   unless `policy.deploy.nonSemverTags: minor` says such tags count as minor;
/// - the image is a different one (another name after the last `/`; a move to another registry
///   or path keeps the name and is judged by its versions).
/// A container or workload with no previous image is minor (nothing running changes), and a
/// deploy without image changes (configuration only) is minor.
package struct ChangeClassifier: Sendable {
    /// `policy.deploy.nonSemverTags`: true (the default) counts tags that are not semantic
    /// versions as major, since nothing says how far they moved.
    package var nonSemverTagsAreMajor: Bool

    package init(nonSemverTagsAreMajor: Bool = true) {
        self.nonSemverTagsAreMajor = nonSemverTagsAreMajor
    }

    package init(_ policy: DeployPolicy) {
        self.init(nonSemverTagsAreMajor: policy.nonSemverTagsAreMajor)
    }

    package func classify(_ changes: [ImageChange]) -> ChangeClassification {
        guard !changes.isEmpty else {
            return ChangeClassification(size: .minor, reasons: ["no container image changes (configuration only)"])
        }
        let sized = changes.map(classify)
        return ChangeClassification(size: sized.map(\.size).max() ?? .minor, reasons: sized.map(\.reason))
    }

    /// One change's size and its reason in words.
    package func classify(_ change: ImageChange) -> (size: ChangeSize, reason: String) {
        let subject = change.subject
        guard let from = change.from else {
            return (.minor, "\(subject): new, \(change.to), no previous image")
        }
        let to = change.to
        if from.name != to.name {
            return (.major, "\(subject): \(from) → \(to), a different image")
        }
        let sameRepository = from.repository == to.repository
        let fromText = sameRepository ? Self.shortName(from) : from.description
        let toText = sameRepository ? Self.shortName(to) : to.description
        let arrow = "\(subject): \(fromText) → \(toText)"
        // `luminate` and `luminate:latest` are the same pull.
        if sameRepository, from.effectiveTag == to.effectiveTag, from.digest == to.digest {
            return (.minor, "\(arrow), unchanged")
        }
        guard let old = Self.version(from), let new = Self.version(to) else {
            var unknown: [String] = []
            for image in [from, to] where Self.version(image) == nil {
                let tag = image.effectiveTag.map { "'\($0)'" } ?? "a digest without a tag"
                if !unknown.contains(tag) { unknown.append(tag) }
            }
            let words = unknown.count == 1 ? "\(unknown[0]) is not a semantic version" : "\(unknown.joined(separator: " and ")) are not semantic versions"
            let size: ChangeSize = nonSemverTagsAreMajor ? .major : .minor
            return (size, "\(arrow), \(words): counted as \(size.rawValue) (policy.deploy.nonSemverTags: \(size.rawValue))")
        }
        if old.major != new.major {
            return (.major, "\(arrow), major version changes")
        }
        if old == new {
            return (.minor, "\(arrow), same version \(new) with a new digest")
        }
        return (.minor, "\(arrow), same major version \(new.major)")
    }

    private static func version(_ image: ImageReference) -> SemanticVersion? {
        image.effectiveTag.flatMap(SemanticVersion.init(tag:))
    }

    /// The tag (and a short digest) as an operator reads them: `2.4.1`, `2.4.1@sha256:3f1c9a2b`,
    /// `@sha256:3f1c9a2b` for a digest alone.
    private static func shortName(_ image: ImageReference) -> String {
        let digest = image.digest.map { "@" + $0.prefix(15) } ?? ""
        return (image.tag ?? (image.digest == nil ? "latest" : "")) + digest
    }
}

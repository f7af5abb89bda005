import Foundation

/// One `--image [CONTAINER=]IMAGE`: the new image for the containers of that name, or, without a
/// name, for every container already running an image of the same repository (the way
/// `kustomize edit set image` matches), so `--image ghcr.io/luminate/luminate:2.5.0` just works.
package struct ImageOverride: Sendable, Equatable {
    package var container: String?
    package var image: String

    package init(container: String?, image: String) {
        self.container = container
        self.image = image
    }

    /// Parses the flag's value; the image must name a tag or a digest, since a bare repository
    /// would deploy whatever `latest` happens to be.
    package static func parse(_ text: String) throws -> ImageOverride {
        var container: String?
        var image = text
        if let equals = text.firstIndex(of: "="), !text[..<equals].contains("/"), !text[..<equals].contains(":") {
            container = String(text[..<equals])
            image = String(text[text.index(after: equals)...])
            guard KubernetesName.isValid(container!) else {
                throw ValidationError("--image '\(text)': '\(container!)' is not a container name (\(KubernetesName.rule))")
            }
        }
        guard !image.isEmpty, !image.contains(where: \.isWhitespace) else {
            throw ValidationError("--image '\(text)' needs an image: [CONTAINER=]IMAGE, e.g. luminate=ghcr.io/luminate/luminate:2.5.0")
        }
        guard Self.tagOrDigest(image) != nil else {
            throw ValidationError("--image '\(text)' names no tag or digest",
                                  hint: "pin the version you mean: \(image):<tag> or \(image)@sha256:<digest>")
        }
        return ImageOverride(container: container, image: image)
    }

    /// The repository part of an image reference: everything before the tag or digest.
    package static func repository(_ image: String) -> String {
        if let at = image.firstIndex(of: "@") { return repository(String(image[..<at])) }
        // A colon after the last slash starts the tag; one before it is a registry port.
        let lastSlash = image.lastIndex(of: "/") ?? image.startIndex
        if let colon = image[lastSlash...].lastIndex(of: ":") { return String(image[..<colon]) }
        return image
    }

    static func tagOrDigest(_ image: String) -> String? {
        if let at = image.firstIndex(of: "@") { return String(image[image.index(after: at)...]) }
        let repo = repository(image)
        return repo.count < image.count ? String(image.dropFirst(repo.count + 1)) : nil
    }

    /// Whether this override replaces `current`, the image of a container named `name`.
    func matches(container name: String, image current: String) -> Bool {
        if let container { return container == name }
        return Self.repository(current) == Self.repository(image)
    }
}

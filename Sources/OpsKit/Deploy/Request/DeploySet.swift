import Foundation

/// The objects one deploy applies: the manifests rendered (a kustomization through
/// `kubectl kustomize`), with the `--image` overrides written into their pod templates. The
/// same objects are checked by the checklist, diffed and applied, so what was checked is what
/// is deployed.
package struct DeploySet: Sendable {
    /// Where the manifests came from, as the operator named them.
    package var source: String
    package var index: ManifestIndex
    /// Each override and the containers it changed (`Deployment/luminate luminate`).
    package var overrides: [(override: ImageOverride, containers: [String])]

    package var objects: [ManifestObject] { index.objects }

    /// The workloads whose rollout a deploy waits for and can undo.
    package var rolloutWorkloads: [ManifestObject] {
        objects.filter { $0.kind == "Deployment" || $0.kind == "StatefulSet" }
    }

    /// Loads `path` and applies `overrides`; an override that matches no container is an error
    /// (a typo must not deploy the old image silently).
    package static func load(path: String, display: String, overrides: [ImageOverride], loader: ManifestLoader) throws -> DeploySet {
        let loaded = try loader.load(path)
        var applied: [(ImageOverride, [String])] = overrides.map { ($0, []) }
        let objects = loaded.objects.map { object -> ManifestObject in
            guard PodTemplates.podSpecPath(kind: object.kind) != nil else { return object }
            let json = PodTemplates.rewritingImages(object.json) { container, image in
                // The last override for a container wins, as repeated flags do elsewhere.
                guard let index = overrides.lastIndex(where: { $0.matches(container: container, image: image) }) else { return nil }
                applied[index].1.append("\(object.kind)/\(object.name) \(container)")
                return overrides[index].image
            }
            var changed = object
            changed.json = json
            return changed
        }
        for (override, containers) in applied where containers.isEmpty {
            let known = Set(loaded.objects.flatMap { object in PodTemplates.images(of: object.json).map { "\($0.container)=\($0.image)" } }).sorted()
            throw ValidationError(
                "--image \(override.container.map { "\($0)=" } ?? "")\(override.image) matches no container in \(display)",
                hint: "containers there: \(known.joined(separator: ", "))")
        }
        let index = ManifestIndex(objects: objects, documents: loaded.documents, sources: loaded.sources)
        return DeploySet(source: display, index: index, overrides: applied)
    }

    /// Every object for `kubectl apply -f -` (and `diff -f -`) as a stream of JSON objects, one
    /// per line (kubectl reads a JSON stream as it reads YAML documents; a `List` would make it
    /// validate against a `v1/List` schema servers need not publish), each namespaced
    /// object naming its namespace, so kubectl runs without `--namespace` over a set that spans
    /// several (the log shipper lives in kube-system). Kustomize's origin annotations are
    /// dropped: they describe the files, not the object.
    package var applyDocument: Data {
        let items: [JSONValue] = objects.map { object in
            var json = object.json
            guard var metadata = json["metadata"] else { return json }
            if let namespace = object.namespace, metadata["namespace"] == nil { metadata.set("namespace", .string(namespace)) }
            guard let pairs = metadata["annotations"]?.object else {
                json.set("metadata", metadata)
                return json
            }
            let kept = pairs.filter { $0.0 != "config.kubernetes.io/origin" && !$0.0.hasPrefix("internal.config.kubernetes.io/") }
            if kept.isEmpty {
                metadata = .object((metadata.object ?? []).filter { $0.0 != "annotations" })
            } else {
                metadata.set("annotations", .object(kept))
            }
            json.set("metadata", metadata)
            return json
        }
        return Data(items.map { $0.rendered() }.joined(separator: "\n").appending("\n").utf8)
    }

    /// Every container image of the set, as `Kind/name container` → image.
    package var images: [(workload: String, container: String, image: String)] {
        objects.flatMap { object in
            PodTemplates.images(of: object.json).map { ("\(object.kind)/\(object.name)", $0.container, $0.image) }
        }
    }
}

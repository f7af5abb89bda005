import Foundation

/// Where the containers of a workload live in its JSON, for reading and rewriting images:
/// `spec.template.spec` for Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs;
/// `spec.jobTemplate.spec.template.spec` for CronJobs.
package enum PodTemplates {
    package static let workloadKinds: Set<String> = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]

    /// The path of the pod spec inside an object of `kind`, nil for kinds without one.
    package static func podSpecPath(kind: String) -> [String]? {
        switch kind {
        case "CronJob": return ["spec", "jobTemplate", "spec", "template", "spec"]
        case let kind where workloadKinds.contains(kind): return ["spec", "template", "spec"]
        default: return nil
        }
    }

    /// Every container (init containers too) of the object as (name, image).
    package static func images(of object: JSONValue) -> [(container: String, image: String)] {
        guard let kind = object["kind"]?.string, let path = podSpecPath(kind: kind) else { return [] }
        var node: JSONValue? = object
        for key in path { node = node?[key] }
        guard let spec = node else { return [] }
        return ["initContainers", "containers"].flatMap { list in
            (spec[list]?.array ?? []).compactMap { container in
                guard let name = container["name"]?.string, let image = container["image"]?.string else { return nil }
                return (name, image)
            }
        }
    }

    /// The object with each container's image passed through `change` (which returns nil to keep it).
    package static func rewritingImages(_ object: JSONValue, _ change: (_ container: String, _ image: String) -> String?) -> JSONValue {
        guard let kind = object["kind"]?.string, let path = podSpecPath(kind: kind) else { return object }
        return updating(object, at: path[...]) { spec in
            var spec = spec
            for list in ["initContainers", "containers"] {
                guard let containers = spec[list]?.array else { continue }
                spec.set(list, .array(containers.map { container in
                    guard let name = container["name"]?.string, let image = container["image"]?.string,
                          let replacement = change(name, image) else { return container }
                    var container = container
                    container.set("image", .string(replacement))
                    return container
                }))
            }
            return spec
        }
    }

    private static func updating(_ value: JSONValue, at path: ArraySlice<String>, _ body: (JSONValue) -> JSONValue) -> JSONValue {
        guard let key = path.first else { return body(value) }
        guard let child = value[key] else { return value }
        var value = value
        value.set(key, updating(child, at: path.dropFirst(), body))
        return value
    }
}

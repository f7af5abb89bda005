import Foundation

/// Any Kubernetes object as kubectl printed it with `-o json`, kept whole as a `JSONValue` so
/// nothing the API server sent is lost, with accessors for the metadata every caller needs.
/// Decode into a typed subset (`KubeDeployment`, `KubeNode`) where fields are read by name.
package struct KubeObject: Sendable, Equatable, CustomStringConvertible {
    package var json: JSONValue

    package init(_ json: JSONValue) { self.json = json }

    package var apiVersion: String? { json["apiVersion"]?.string }
    package var kind: String? { json["kind"]?.string }
    package var name: String? { json[path: "metadata.name"]?.string }
    package var namespace: String? { json[path: "metadata.namespace"]?.string }
    package var uid: String? { json[path: "metadata.uid"]?.string }
    package var resourceVersion: String? { json[path: "metadata.resourceVersion"]?.string }
    package var generation: Int? { json[path: "metadata.generation"]?.int }
    package var labels: [String: String] { Self.stringMap(json[path: "metadata.labels"]) }
    package var annotations: [String: String] { Self.stringMap(json[path: "metadata.annotations"]) }

    /// `deployment/ingest`, the way kubectl names an object on its command line.
    package var reference: String { "\((kind ?? "object").lowercased())/\(name ?? "?")" }

    package var description: String { reference }

    package subscript(path path: String) -> JSONValue? { json[path: path] }

    /// Decodes the object into a typed subset; fields the type does not declare are ignored.
    package func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.rendered().utf8))
    }

    private static func stringMap(_ value: JSONValue?) -> [String: String] {
        var map: [String: String] = [:]
        for (key, value) in value?.object ?? [] { if let text = value.string { map[key] = text } }
        return map
    }

    /// The objects in kubectl's JSON output, whatever its shape: one object, a `List` (`get`,
    /// multi-document `apply`), or several objects one after another (multi-document `create`,
    /// `rollout history`).
    package static func objects(inKubectlOutput data: Data) throws -> [KubeObject] {
        var objects: [KubeObject] = []
        for document in try splitJSONDocuments(data) {
            let value = try JSONValue.parse(document)
            if let kind = value["kind"]?.string, kind == "List" || kind.hasSuffix("List"), let items = value["items"]?.array {
                objects += items.map(KubeObject.init)
            } else if value.object != nil {
                objects.append(KubeObject(value))
            }
        }
        return objects
    }
}

/// Splits concatenated JSON documents (`{...}\n{...}`): kubectl prints several objects without a
/// wrapping array when one command acts on several of them.
package func splitJSONDocuments(_ data: Data) throws -> [Data] {
    var documents: [Data] = []
    var depth = 0, inString = false, escaped = false
    var start: Int?
    let bytes = [UInt8](data)
    for (index, byte) in bytes.enumerated() {
        if inString {
            if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            continue
        }
        switch byte {
        case UInt8(ascii: "\""):
            if depth == 0 { throw KubeDecodingError(detail: "unexpected text at byte \(index) outside any JSON object") }
            inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if depth == 0 { start = index }
            depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth == 0, let first = start {
                documents.append(Data(bytes[first...index]))
                start = nil
            }
            if depth < 0 { throw KubeDecodingError(detail: "unbalanced \(Character(UnicodeScalar(byte))) at byte \(index)") }
        case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
            break
        default:
            if depth == 0 { throw KubeDecodingError(detail: "unexpected text at byte \(index) outside any JSON object") }
        }
    }
    if depth != 0 || inString { throw KubeDecodingError(detail: "output ends inside a JSON value") }
    return documents
}

/// kubectl printed something that is not the JSON it was asked for.
package struct KubeDecodingError: Error, Equatable, CustomStringConvertible {
    package var detail: String
    package var description: String { "unexpected kubectl output: \(detail)" }
}

/// `metadata`, the parts luminatectl reads.
package struct KubeObjectMeta: Codable, Sendable, Equatable {
    package var name: String?
    package var namespace: String?
    package var uid: String?
    package var resourceVersion: String?
    package var generation: Int?
    package var labels: [String: String]?
    package var annotations: [String: String]?
}

/// `resources` of a container: quantities as the manifest wrote them (`500m`, `2Gi`); read them
/// with `KubeQuantity`.
package struct KubeResourceRequirements: Codable, Sendable, Equatable {
    package var requests: [String: String]?
    package var limits: [String: String]?
}

/// One container of a pod template.
package struct KubeContainer: Codable, Sendable, Equatable {
    package var name: String
    package var image: String?
    package var resources: KubeResourceRequirements?
}

/// The pod template of a workload: what a rollout changes.
package struct KubePodTemplate: Codable, Sendable, Equatable {
    /// The pod spec, containers only.
    package struct Spec: Codable, Sendable, Equatable {
        package var containers: [KubeContainer]
        package var initContainers: [KubeContainer]?
    }

    package var metadata: KubeObjectMeta?
    package var spec: Spec

    package var images: [String] { spec.containers.compactMap(\.image) }
}

/// A `status.conditions[]` entry (`Available`, `Progressing`, `Ready`).
package struct KubeCondition: Codable, Sendable, Equatable {
    package var type: String
    package var status: String
    package var reason: String?
    package var message: String?
}

/// The Deployment fields deploy, scale and rollback decisions read.
package struct KubeDeployment: Codable, Sendable, Equatable {
    /// `spec`: desired state.
    package struct Spec: Codable, Sendable, Equatable {
        package var replicas: Int?
        package var template: KubePodTemplate
        package var paused: Bool?
    }

    /// `status`: what the controller reported.
    package struct Status: Codable, Sendable, Equatable {
        package var observedGeneration: Int?
        package var replicas: Int?
        package var updatedReplicas: Int?
        package var readyReplicas: Int?
        package var availableReplicas: Int?
        package var unavailableReplicas: Int?
        package var conditions: [KubeCondition]?
    }

    package var metadata: KubeObjectMeta
    package var spec: Spec
    package var status: Status?

    /// The same test `kubectl rollout status` applies: the controller has seen the latest spec
    /// and every desired replica is updated and available, with no old ones left.
    package var isRolledOut: Bool {
        let desired = spec.replicas ?? 1
        guard let status else { return false }
        return (status.observedGeneration ?? 0) >= (metadata.generation ?? 0)
            && (status.updatedReplicas ?? 0) == desired
            && (status.replicas ?? 0) == (status.updatedReplicas ?? 0)
            && (status.availableReplicas ?? 0) == (status.updatedReplicas ?? 0)
    }

    /// The `deployment.kubernetes.io/revision` annotation the controller keeps current.
    package var revision: Int? { metadata.annotations?["deployment.kubernetes.io/revision"].flatMap { Int($0) } }
}

/// The StatefulSet fields a ClickHouse rollout reads.
package struct KubeStatefulSet: Codable, Sendable, Equatable {
    /// `spec`: desired state.
    package struct Spec: Codable, Sendable, Equatable {
        package var replicas: Int?
        package var serviceName: String?
        package var template: KubePodTemplate
    }

    /// `status`: what the controller reported.
    package struct Status: Codable, Sendable, Equatable {
        package var observedGeneration: Int?
        package var replicas: Int?
        package var readyReplicas: Int?
        package var updatedReplicas: Int?
        package var currentRevision: String?
        package var updateRevision: String?
    }

    package var metadata: KubeObjectMeta
    package var spec: Spec
    package var status: Status?
}

/// A Node's capacity, for capacity checks before a scale-up.
package struct KubeNode: Codable, Sendable, Equatable {
    /// `status`, capacity part.
    package struct Status: Codable, Sendable, Equatable {
        package var capacity: [String: String]?
        /// What pods may use: capacity minus system reservations.
        package var allocatable: [String: String]?
        package var conditions: [KubeCondition]?
    }

    /// `spec`, scheduling part.
    package struct Spec: Codable, Sendable, Equatable {
        package var unschedulable: Bool?
    }

    package var metadata: KubeObjectMeta
    package var spec: Spec?
    package var status: Status?

    /// Allocatable CPU in cores and memory in bytes, when the node reports them.
    package var allocatableCPU: Double? { status?.allocatable?["cpu"].flatMap { KubeQuantity($0)?.value } }
    package var allocatableMemory: Double? { status?.allocatable?["memory"].flatMap { KubeQuantity($0)?.value } }
    package var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
}

/// A Kubernetes resource quantity (`500m`, `2Gi`, `1.5`, `1e3`) as a number: cores for CPU,
/// bytes for memory.
package struct KubeQuantity: Sendable, Equatable, CustomStringConvertible {
    package var text: String
    package var value: Double

    private static let suffixes: [(String, Double)] = [
        ("Ki", 0x1p10), ("Mi", 0x1p20), ("Gi", 0x1p30), ("Ti", 0x1p40), ("Pi", 0x1p50), ("Ei", 0x1p60),
        ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
    ]

    package init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        self.text = trimmed
        for (suffix, factor) in Self.suffixes where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)) else { return nil }
            value = number * factor
            return
        }
        // No suffix: a plain number, or an exponent form (`1e3`) which Double reads as well.
        guard let number = Double(trimmed), number.isFinite else { return nil }
        value = number
    }

    package var description: String { text }
}

/// One build of kubectl or of the API server, as `kubectl version -o json` reports it.
package struct KubeVersion: Codable, Sendable, Equatable, CustomStringConvertible {
    package var major: String
    package var minor: String
    package var gitVersion: String

    package init(major: String, minor: String, gitVersion: String) {
        self.major = major
        self.minor = minor
        self.gitVersion = gitVersion
    }

    /// (1, 32) from `major: "1", minor: "32+"` (providers append `+` to patched builds).
    package var majorMinor: (major: Int, minor: Int)? {
        guard let major = Int(major), let minor = Int(minor.prefix { $0.isNumber }) else { return nil }
        return (major, minor)
    }

    package func isAtLeast(major wantedMajor: Int, minor wantedMinor: Int) -> Bool {
        guard let (major, minor) = majorMinor else { return false }
        return major > wantedMajor || (major == wantedMajor && minor >= wantedMinor)
    }

    package var description: String { gitVersion }
}

/// `kubectl version -o json`: the client's build and, when the server answered, the server's.
package struct KubectlVersions: Sendable, Equatable {
    package var client: KubeVersion
    package var server: KubeVersion
}

/// One revision of a workload as `kubectl rollout history -o json` lists it: a ReplicaSet for a
/// Deployment, a ControllerRevision for a StatefulSet or DaemonSet.
package struct RolloutRevision: Sendable, Equatable {
    package var revision: Int
    /// `kubernetes.io/change-cause`, when whoever rolled out set it.
    package var changeCause: String?
    package var images: [String]
    /// The ReplicaSet or ControllerRevision itself.
    package var object: KubeObject

    /// Reads a revision out of a ReplicaSet or ControllerRevision; nil for anything else.
    package init?(_ object: KubeObject) {
        let annotated = object.annotations["deployment.kubernetes.io/revision"].flatMap { Int($0) }
        guard let revision = annotated ?? object[path: "revision"]?.int else { return nil }
        self.revision = revision
        self.changeCause = object.annotations["kubernetes.io/change-cause"]
        let template = object[path: "spec.template"] ?? object[path: "data.spec.template"]
        self.images = template?[path: "spec.containers"]?.array?.compactMap { $0["image"]?.string } ?? []
        self.object = object
    }
}

import Foundation

/// A Kubernetes label selector: `matchLabels` and `matchExpressions` (In, NotIn, Exists,
/// DoesNotExist), or a Service's plain map. Used to decide which pods a NetworkPolicy, a
/// Service or a monitor selects.
package struct LabelSelector: Sendable, Equatable {
    /// One `matchExpressions` entry.
    package struct Requirement: Sendable, Equatable {
        package var key: String
        package var op: String
        package var values: [String]
    }

    package var matchLabels: [String: String]
    package var expressions: [Requirement]

    package init(matchLabels: [String: String] = [:], expressions: [Requirement] = []) {
        self.matchLabels = matchLabels
        self.expressions = expressions
    }

    /// A `metav1.LabelSelector` (`{matchLabels, matchExpressions}`).
    package init(selector json: JSONValue?) {
        matchLabels = ManifestObject.stringMap(json?["matchLabels"])
        expressions = (json?["matchExpressions"]?.array ?? []).compactMap { item in
            guard let key = item["key"]?.string, let op = item["operator"]?.string else { return nil }
            return Requirement(key: key, op: op, values: (item["values"]?.array ?? []).compactMap(\.string))
        }
    }

    /// A Service's `spec.selector`: a plain map of labels.
    package init(map json: JSONValue?) {
        self.init(matchLabels: ManifestObject.stringMap(json))
    }

    /// `{}`: selects everything (a NetworkPolicy's `podSelector: {}`).
    package var isEmpty: Bool { matchLabels.isEmpty && expressions.isEmpty }

    package func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels where labels[key] != value { return false }
        for requirement in expressions {
            let value = labels[requirement.key]
            switch requirement.op {
            case "In": guard let value, requirement.values.contains(value) else { return false }
            case "NotIn": if let value, requirement.values.contains(value) { return false }
            case "Exists": if value == nil { return false }
            case "DoesNotExist": if value != nil { return false }
            default: return false
            }
        }
        return true
    }

    /// `app.kubernetes.io/name=luminate,tier in (a,b)`, for evidence.
    package var description: String {
        var parts = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        for requirement in expressions {
            switch requirement.op {
            case "Exists": parts.append(requirement.key)
            case "DoesNotExist": parts.append("!" + requirement.key)
            default: parts.append("\(requirement.key) \(requirement.op.lowercased()) (\(requirement.values.joined(separator: ",")))")
            }
        }
        return parts.isEmpty ? "{} (everything)" : parts.joined(separator: ",")
    }
}

import Foundation

/// `kubectl diff`'s output cut per object: which objects a deploy changes and by how many lines,
/// for the pre-flight report, the rollback point (only changed objects are recorded) and the
/// change-request document.
package struct DiffSummary: Sendable, Equatable {
    /// One object's part of the diff.
    package struct Change: Sendable, Equatable {
        /// `Deployment/luminate/luminate`, as `ManifestObject.identity` names it.
        package var identity: String
        package var kind: String
        package var name: String
        package var namespace: String?
        /// The object does not exist yet.
        package var created: Bool
        package var added: Int
        package var removed: Int

        package var summary: String {
            created ? "\(identity): new (\(added) lines)" : "\(identity): +\(added) -\(removed) lines"
        }
    }

    package var changes: [Change]
    package var text: String

    package var isEmpty: Bool { changes.isEmpty }

    package func change(for identity: String) -> Change? { changes.first { $0.identity == identity } }

    /// Splits the diff at its `diff -u -N LIVE/<name> MERGED/<name>` headers. kubectl names each
    /// file `<group>.<version>.<Kind>.<namespace>.<name>` (the group and the dot left out for the
    /// core group, the namespace empty for cluster-scoped kinds): `apps.v1.Deployment.luminate.luminate`,
    /// `v1.Namespace..luminate`. Names can contain dots, so each file name is matched against
    /// the objects that were diffed rather than split.
    package static func parse(_ text: String, objects: [ManifestObject]) -> DiffSummary {
        var byFile: [String: ManifestObject] = [:]
        for object in objects {
            byFile[fileName(object)] = object
        }
        var changes: [Change] = []
        var current: Change?
        func close() {
            guard let change = current else { return }
            changes.append(change)
            current = nil
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("diff ") {
                close()
                let file = line.split(separator: " ").last.map { String($0.split(separator: "/").last ?? "") } ?? ""
                let object = byFile[file]
                current = Change(
                    identity: object?.identity ?? file, kind: object?.kind ?? file, name: object?.name ?? file,
                    namespace: object?.namespace, created: false, added: 0, removed: 0)
                continue
            }
            guard current != nil else { continue }
            if line.hasPrefix("+++") || line.hasPrefix("---") { continue }
            if line.hasPrefix("@@ -0,0 ") { current?.created = true }
            // The generation kubectl's merged object carries is not a change anyone made.
            if line.hasPrefix("+"), !line.hasPrefix("+  generation:") { current?.added += 1 }
            if line.hasPrefix("-"), !line.hasPrefix("-  generation:") { current?.removed += 1 }
        }
        close()
        return DiffSummary(changes: changes, text: text)
    }

    /// The file name kubectl gives `object` in a diff.
    package static func fileName(_ object: ManifestObject) -> String {
        let parts = object.apiVersion.split(separator: "/")
        let groupVersion = parts.count == 2 ? "\(parts[0]).\(parts[1])" : object.apiVersion
        return "\(groupVersion).\(object.kind).\(object.namespace ?? "").\(object.name)"
    }
}

import Foundation

/// `backup delete ID`: removes a backup from the store. Refused while another backup is
/// incremental on it (deleting a base breaks every backup built on it); a complete backup that
/// is the newest one is kept unless `--force` (the RPO would be breached at once).
///
/// The manifest goes first, then the data, then the start marker: from the first step on the
/// backup is no longer complete, so a delete that is interrupted half-way leaves an incomplete
/// backup (listed as such, deleted by running the command again), never a manifest that points
/// at missing data.
package struct BackupDeletePlan: OperationPlan {
    package var id: BackupID
    package var store: any BackupStore
    /// Keys under the backup's folder as listed when the plan was made.
    package var objects: [StoredObject]
    package var wasComplete: Bool
    package var json: Bool

    package static func make(id: BackupID, catalogue: BackupCatalogue, force: Bool, json: Bool) throws -> BackupDeletePlan {
        // One reading of the catalogue: the backup itself, what builds on it, and the newest.
        let all = try catalogue.entries()
        guard let entry = all.first(where: { $0.id == id }) else {
            throw BackupNotFound(id: id.text, location: catalogue.store.location)
        }
        let dependents = all.compactMap(\.manifest).filter { $0.base == id.text }.map(\.id)
        if !dependents.isEmpty {
            throw BackupHasDependents(id: id.text, dependents: dependents)
        }
        if entry.manifest != nil, all.newestComplete?.id == id.text, !force {
            throw BackupIsNewest(id: id.text)
        }
        let objects = try catalogue.store.list(prefix: BackupLayout.folder(id.text), delimiter: nil).objects
        return BackupDeletePlan(id: id, store: catalogue.store, objects: objects, wasComplete: entry.manifest != nil, json: json)
    }

    package var spec: OperationSpec {
        OperationSpec(kind: "backup.delete", targets: ["backup/\(id.text)"], inputs: [
            "id": .string(id.text), "store": .string(store.location), "objects": .number(Double(objects.count)),
            "complete": .bool(wasComplete),
        ])
    }

    private var ordered: [StoredObject] {
        let manifest = BackupLayout.manifestKey(id.text)
        let marker = BackupLayout.startMarkerKey(id.text)
        return objects.filter { $0.key == manifest } + objects.filter { $0.key != manifest && $0.key != marker }
            + objects.filter { $0.key == marker }
    }

    package func describe() -> String {
        let bytes = objects.reduce(0) { $0 + $1.size }
        return """
              delete backup \(id.text) (\(wasComplete ? "complete" : "incomplete")) from \(store.location): \(objects.count) objects, \(ByteSize.format(bytes))
              the manifest first (the backup stops being complete), then the data, then the start marker

            """
    }

    package func describeJSON() -> JSONValue {
        ["id": .string(id.text), "store": .string(store.location), "objects": .array(ordered.map { .string($0.key) })]
    }

    package func execute(in session: OperationSession) throws -> ExitCode {
        let objects = ordered
        if let manifest = objects.first, manifest.key == BackupLayout.manifestKey(id.text) {
            try session.step("delete the manifest (the backup is no longer complete)") { try store.delete(manifest.key) }
        }
        let data = objects.filter { $0.key != BackupLayout.manifestKey(id.text) && $0.key != BackupLayout.startMarkerKey(id.text) }
        try session.step("delete \(data.count) data objects") {
            try deleteAll(data, interrupt: session.context.interrupt)
            session.record("objects", .number(Double(data.count)))
            session.record("bytes", .number(Double(data.reduce(0) { $0 + $1.size })))
        }
        // Whatever appeared meanwhile (a store that lists lazily): the folder must end empty.
        let left = try store.list(prefix: BackupLayout.folder(id.text), delimiter: nil).objects
            .filter { $0.key != BackupLayout.startMarkerKey(id.text) }
        for object in left { try store.delete(object.key) }
        try session.step("delete the start marker") { try store.delete(BackupLayout.startMarkerKey(id.text)) }
        if json {
            session.context.console.line(JSONValue.object([("deleted", .string(id.text)), ("objects", .number(Double(objects.count)))]).rendered(pretty: true))
        } else {
            session.context.console.line("Deleted backup \(id.text): \(objects.count) objects, \(ByteSize.format(objects.reduce(0) { $0 + $1.size })).")
        }
        return .success
    }
}

extension BackupDeletePlan {
    fileprivate func deleteAll(_ objects: [StoredObject], interrupt: Interrupt) throws {
        let store = self.store
        _ = try parallelMap(objects, width: 8) { object in
            if let signal = interrupt.signal { throw OperationInterrupted(signal: signal, step: "delete \(object.key)") }
            try store.delete(object.key)
        }
    }
}

/// Deleting the newest complete backup moves the recovery point back at once.
package struct BackupIsNewest: OperatorError, Equatable {
    package var id: String
    package var description: String {
        "\(id) is the newest complete backup: deleting it moves the recovery point back to the one before"
    }
    package var hint: String? { "pass --force to delete it anyway" }
}

package struct BackupHasDependents: OperatorError, Equatable {
    package var id: String
    package var dependents: [String]

    package var description: String {
        "backup \(id) is the base of \(dependents.joined(separator: ", ")): deleting it would break \(dependents.count == 1 ? "that incremental backup" : "those incremental backups")"
    }

    package var hint: String? { "delete \(dependents.count == 1 ? "it" : "them") first (newest first), or keep \(id)" }
}

import Foundation

/// The backups a store holds, read from the store alone: a folder `<id>/` with a manifest is a
/// complete backup; one without (a start marker, some data, or nothing readable) is incomplete,
/// whatever else it holds. Nothing else decides, so a backup that died half-way can never be
/// listed as good, offered to restore, or counted towards the RPO.
package struct BackupCatalogue: Sendable {
    package let store: any BackupStore

    package init(store: any BackupStore) { self.store = store }

    /// Manifests are read this many at a time: a store of 1,000 backups lists in well under a
    /// second instead of paying 1,000 round trips one after another.
    static let readWidth = 16

    /// Every backup, newest first.
    package func entries() throws -> [CatalogueEntry] {
        let ids = try store.list(prefix: "", delimiter: "/").folders
            .compactMap { BackupID(String($0.dropLast())) }
            .sorted(by: >)
        let store = self.store
        return try parallelMap(ids, width: Self.readWidth) { id in try Self.entry(id, in: store) }
    }

    /// One backup, or nil when the store has nothing under its id.
    package func entry(_ id: BackupID) throws -> CatalogueEntry? {
        let entry = try Self.entry(id, in: store)
        if case .incomplete(let details) = entry.state, details.marker == nil, details.objects == 0 { return nil }
        return entry
    }

    /// The manifest of a complete backup; throws a clear error for an unknown or incomplete id.
    package func completeManifest(_ id: BackupID) throws -> BackupManifest {
        guard let entry = try entry(id) else {
            throw BackupNotFound(id: id.text, location: store.location)
        }
        switch entry.state {
        case .complete(let manifest): return manifest
        case .incomplete: throw BackupIncomplete(id: id.text)
        }
    }

    private static func entry(_ id: BackupID, in store: any BackupStore) throws -> CatalogueEntry {
        if let data = try store.read(BackupLayout.manifestKey(id.text)) {
            do {
                let manifest = try BackupManifest.decode(data)
                if manifest.id == id.text, manifest.format <= BackupManifest.currentFormat {
                    return CatalogueEntry(id: id, state: .complete(manifest))
                }
                return CatalogueEntry(id: id, state: .incomplete(try details(id, in: store, problem:
                    manifest.id == id.text ? "manifest format \(manifest.format) is newer than this luminatectl reads" : "manifest names another id (\(manifest.id))")))
            } catch let error as DecodingError {
                return CatalogueEntry(id: id, state: .incomplete(try details(id, in: store, problem: "manifest unreadable: \(Self.describe(error))")))
            }
        }
        return CatalogueEntry(id: id, state: .incomplete(try details(id, in: store, problem: nil)))
    }

    private static func details(_ id: BackupID, in store: any BackupStore, problem: String?) throws -> IncompleteBackup {
        let objects = try store.list(prefix: BackupLayout.folder(id.text), delimiter: nil).objects
        let marker = try store.read(BackupLayout.startMarkerKey(id.text)).flatMap { try? BackupStartMarker.decode($0) }
        return IncompleteBackup(marker: marker, objects: objects.count, bytes: objects.reduce(0) { $0 + $1.size }, problem: problem)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

extension Array where Element == CatalogueEntry {
    /// The complete backup with the latest snapshot: the recovery point a restore would reach.
    package var newestComplete: BackupManifest? {
        compactMap(\.manifest).max { $0.snapshotAt < $1.snapshotAt }
    }
}

package struct CatalogueEntry: Sendable, Equatable {
    package enum State: Sendable, Equatable {
        case complete(BackupManifest)
        case incomplete(IncompleteBackup)
    }

    package var id: BackupID
    package var state: State

    package var manifest: BackupManifest? {
        if case .complete(let manifest) = state { return manifest }
        return nil
    }
}

/// A backup folder without a (readable) manifest: what is known of it.
package struct IncompleteBackup: Sendable, Equatable {
    package var marker: BackupStartMarker?
    package var objects: Int
    package var bytes: UInt64
    /// Why an existing manifest was not accepted.
    package var problem: String?
}

package struct BackupNotFound: OperatorError, Equatable {
    package var id: String
    package var location: String
    package var description: String { "no backup \(id) in \(location)" }
    package var hint: String? { "luminatectl backup list shows the backups the store holds" }
}

package struct BackupIncomplete: OperatorError, Equatable {
    package var id: String
    package var description: String { "backup \(id) is incomplete (it has no manifest): it cannot be used" }
    package var hint: String? { "luminatectl backup delete \(id) removes what it left in the store" }
}

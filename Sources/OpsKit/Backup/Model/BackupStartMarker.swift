import Foundation

/// Written first, before any data: it lets `backup list` show a backup that never finished
/// (killed, failed, interrupted) as `incomplete`, with its age and engine, even when no data file
/// reached the store. It proves nothing about the data; only the manifest does.
package struct BackupStartMarker: Codable, Sendable, Equatable {
    package var id: String
    package var engine: BackupEngineKind
    package var base: String?
    package var startedAt: Date
    package var operationID: String
    /// `user@host` of whoever started it, as the journal names the actor.
    package var actor: String

    package init(id: String, engine: BackupEngineKind, base: String?, startedAt: Date, operationID: String, actor: String) {
        self.id = id
        self.engine = engine
        self.base = base
        self.startedAt = startedAt
        self.operationID = operationID
        self.actor = actor
    }

    package func encoded() throws -> Data { try StoreJSON.encode(self) }
    package static func decode(_ data: Data) throws -> BackupStartMarker { try StoreJSON.decode(data) }
}

/// The store's layout of one backup: everything under `<id>/`.
package enum BackupLayout {
    /// The manifest: present only when the backup is complete.
    package static let manifestName = "luminatectl-manifest.json"
    package static let startMarkerName = "luminatectl-started.json"

    package static func folder(_ id: String) -> String { "\(id)/" }
    package static func manifestKey(_ id: String) -> String { "\(id)/\(manifestName)" }
    package static func startMarkerKey(_ id: String) -> String { "\(id)/\(startMarkerName)" }
}

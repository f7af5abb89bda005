import Foundation

/// Where backups live: an S3 bucket and prefix, or a local directory (a mounted volume). Keys are
/// relative to the store's root and use `/`; the store maps them onto objects or files.
package protocol BackupStore: Sendable {
    /// `s3://bucket/prefix/` or `/var/backups/luminate/`, for messages.
    var location: String { get }
    /// Every object below `prefix`, in key order. With `delimiter`, keys that continue past it
    /// are folded into `folders` (`20261130T140500Z/`).
    func list(prefix: String, delimiter: String?) throws -> StoreListing
    /// The object's size, or nil when there is none.
    func stat(_ key: String) throws -> StoredObject?
    /// The whole object; nil when there is none. For small objects (manifests).
    func read(_ key: String) throws -> Data?
    /// Writes a small object so that a reader sees either nothing or all of it.
    func write(_ key: String, data: Data) throws
    /// Streams a local file into the store, hashing while reading.
    func upload(_ key: String, fromFile path: String) throws -> StoredFile
    /// Streams an object into a local file (created, replaced), hashing while writing.
    func download(_ key: String, toFile path: String) throws -> StoredFile
    /// Reads an object through without keeping it, for its size and SHA-256.
    func checksum(_ key: String) throws -> StoredFile
    func delete(_ key: String) throws
}

package struct StoredObject: Sendable, Equatable {
    package var key: String
    package var size: UInt64

    package init(key: String, size: UInt64) {
        self.key = key
        self.size = size
    }
}

/// Bytes that went through the store, with their SHA-256 (lowercase hex).
package struct StoredFile: Sendable, Equatable {
    package var size: UInt64
    package var sha256: String

    package init(size: UInt64, sha256: String) {
        self.size = size
        self.sha256 = sha256
    }
}

package struct StoreListing: Sendable, Equatable {
    package var objects: [StoredObject]
    /// With a delimiter: the folders directly below the prefix, each ending in the delimiter.
    package var folders: [String]

    package init(objects: [StoredObject], folders: [String] = []) {
        self.objects = objects
        self.folders = folders
    }
}

/// A store operation failed: which store, which key, why, and what to check.
package struct BackupStoreError: OperatorError, Equatable {
    package var location: String
    package var key: String?
    package var reason: String
    package var hint: String?

    package init(location: String, key: String?, reason: String, hint: String? = nil) {
        self.location = location
        self.key = key
        self.reason = reason
        self.hint = hint
    }

    package var description: String {
        "backup store \(location)" + (key.map { " (\($0))" } ?? "") + ": \(reason)"
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A regular file below a frozen part, as the upload needs it.
package struct FrozenFile: Sendable, Equatable {
    /// The absolute path on this machine.
    package var path: String
    /// The path below the part's directory (`checksums.txt`; a sub-path for projections).
    package var relative: String
    package var size: UInt64
}

/// What a removal took away.
package struct RemovedTree: Sendable, Equatable {
    package var path: String
    package var files: Int
    package var bytes: UInt64

    var evidence: JSONValue {
        ["path": .string(path), "files": .number(Double(files)), "bytes": .number(Double(bytes))]
    }
}

/// The file-system side of the freeze engine: reading the parts FREEZE linked under
/// `<root>shadow/` and removing them again.
///
/// 18.16 has no `SYSTEM UNFREEZE`: the shadow directory is removed by hand. Its files are hard
/// links to the live parts, so removing them frees nothing the server still uses; the space of
/// parts merged away since the freeze comes back. Nothing here follows a symbolic link: a link
/// is removed as a link, and a link where a part's file should be is an error, not a way out of
/// the shadow directory.
package enum ShadowDirectory {
    /// True when `path` is a directory on this machine (a link to one does not count).
    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory, sorted; empty when it does not exist.
    package static func entries(_ directory: String) throws -> [String] {
        guard isDirectory(directory) else {
            var info = stat()
            if lstat(directory, &info) != 0, errno == ENOENT { return [] }
            throw FreezeBackupError.localFile(path: directory, action: "list", reason: "not a directory")
        }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw FreezeBackupError.localFile(path: directory, action: "list", reason: describe(error))
        }
    }

    /// The `luminatectl_*` directories under `<root>shadow/`: leftovers of runs that were killed
    /// before they could clean up (the operations lock means no other run is using them).
    /// Other names (clickhouse-backup's, an operator's numbered FREEZE) are never touched.
    package static func staleFreezes(dataRoot: String) throws -> [String] {
        let shadow = FreezeLayout.shadowRoot(dataRoot: dataRoot)
        return try entries(shadow)
            .filter { $0.hasPrefix(FreezeLayout.shadowPrefix) && isDirectory(shadow + $0) }
            .map { shadow + $0 + "/" }
    }

    /// The part directories FREEZE made for one table, sorted by name.
    package static func frozenParts(in tableDirectory: String) throws -> [String] {
        let base = tableDirectory.hasSuffix("/") ? tableDirectory : tableDirectory + "/"
        return try entries(base).filter { isDirectory(base + $0) }
    }

    /// Every regular file below `directory`, in path order.
    package static func files(under directory: String) throws -> [FrozenFile] {
        var found: [FrozenFile] = []
        try collect(directory: directory.hasSuffix("/") ? String(directory.dropLast()) : directory, relative: "", into: &found)
        return found
    }

    private static func collect(directory: String, relative: String, into found: inout [FrozenFile]) throws {
        for name in try entries(directory) {
            let path = directory + "/" + name
            let below = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw FreezeBackupError.localFile(path: path, action: "read", reason: FreezeBackupError.errnoText())
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try collect(directory: path, relative: below, into: &found)
            case S_IFREG:
                found.append(FrozenFile(path: path, relative: below, size: UInt64(info.st_size)))
            default:
                throw FreezeBackupError.localFile(path: path, action: "back up", reason: "not a regular file (a frozen part holds only files)")
            }
        }
    }

    /// The rows of a frozen part from its `count.txt`, for a part `system.parts` no longer lists.
    package static func rowCount(part directory: String) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: directory + "/count.txt") else { return nil }
        return UInt64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Removes `path` and everything below it, without following links. Nothing there is no error.
    @discardableResult
    package static func remove(_ path: String) throws -> RemovedTree {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        var removed = RemovedTree(path: path, files: 0, bytes: 0)
        try remove(trimmed, into: &removed)
        return removed
    }

    private static func remove(_ path: String, into removed: inout RemovedTree) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw FreezeBackupError.localFile(path: path, action: "remove", reason: FreezeBackupError.errnoText())
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try entries(path) { try remove(path + "/" + name, into: &removed) }
            guard rmdir(path) == 0 || errno == ENOENT else {
                throw FreezeBackupError.localFile(path: path, action: "remove", reason: FreezeBackupError.errnoText())
            }
            return
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw FreezeBackupError.localFile(path: path, action: "remove", reason: FreezeBackupError.errnoText())
        }
        removed.files += 1
        removed.bytes += UInt64(max(0, info.st_size))
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return error.localizedDescription
    }
}

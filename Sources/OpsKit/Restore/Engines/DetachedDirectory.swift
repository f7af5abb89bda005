import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who owns a table's data directory and with which permissions: what the directories and
/// files a restore writes below it get, so that the server (often not root) can read and move them.
package struct DataDirectoryOwner: Sendable, Equatable {
    package var uid: UInt32
    package var gid: UInt32
    /// The directory's permission bits (`0o750`), for the directories the restore makes.
    package var mode: UInt32

    package init(uid: UInt32, gid: UInt32, mode: UInt32) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    var evidence: JSONValue {
        ["uid": .number(Double(uid)), "gid": .number(Double(gid)), "mode": .string("0" + String(mode, radix: 8))]
    }

    /// Only root can give a file away; anyone else writes as itself, which is then the owner the
    /// directory had to grant write access to anyway.
    var needsChown: Bool { geteuid() == 0 && (uid != geteuid() || gid != getegid()) }
}

/// The file-system side of the freeze restore: the target's `detached/` directory, the part
/// directories a load makes there, and their removal. Nothing here follows a symbolic link.
package enum DetachedDirectory {
    /// The owner of `path` when it is a directory on this machine (a link to one does not count).
    package static func owner(of path: String) -> DataDirectoryOwner? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return DataDirectoryOwner(uid: info.st_uid, gid: info.st_gid, mode: UInt32(info.st_mode & 0o7777))
    }

    /// Entries of `detached/` that `ATTACH PARTITION ID` of one of `partitions` would take too:
    /// the server attaches every directory there whose name parses as a part of the partition,
    /// not only the ones this load wrote.
    package static func inTheWay(_ detached: String, partitions: Set<String>) throws -> [String] {
        try ShadowDirectory.entries(detached).filter { partitions.contains(FreezeLayout.partitionID(ofPart: $0)) }
    }

    /// Makes a directory with the data directory's permissions; true when it made it, false when
    /// `existing` allows one that is there (`detached/` itself). A part's directory must not be
    /// there already, or the load would mix its files with someone else's. The caller registers
    /// what was made for removal before it `adopt`s it, so a failed chown leaves nothing behind.
    package static func make(_ path: String, like owner: DataDirectoryOwner, existing: Bool) throws -> Bool {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard mkdir(trimmed, mode_t(owner.mode)) == 0 else {
            let code = errno
            if code == EEXIST, existing, ShadowDirectory.isDirectory(trimmed) { return false }
            throw FreezeRestoreError.localFile(path: path, action: "create", reason: FreezeRestoreError.errnoText(code))
        }
        return true
    }

    /// Gives a file or directory the data directory's owner, when that takes a chown.
    package static func adopt(_ path: String, like owner: DataDirectoryOwner) throws {
        guard owner.needsChown else { return }
        guard lchown(path, owner.uid, owner.gid) == 0 else {
            throw FreezeRestoreError.localFile(path: path, action: "change the owner of", reason: FreezeRestoreError.errnoText())
        }
    }
}

/// The part directories one load made under `detached/` on every shard, so that each is
/// removed after a failure, a damaged file or Ctrl-C, and nothing half-written is left for a
/// later `ATTACH` to pick up.
struct DetachedCleanup {
    struct Made: Sendable, Equatable {
        var path: String
        var server: String
    }

    private(set) var made: [Made] = []

    /// Called right after the directory was created (never for one that was there before).
    mutating func register(_ path: String, server: String) {
        made.append(Made(path: path, server: server))
    }

    /// Removes what is left of every registered directory (ATTACH moved the attached ones away),
    /// each attempt recorded for the journal's failure record.
    mutating func removeAfterFailure(session: OperationSession, console: Console) {
        var evidence: [JSONValue] = []
        for entry in made where ShadowDirectory.isDirectory(entry.path) {
            do {
                let removed = try ShadowDirectory.remove(entry.path)
                var record = removed.evidence
                record.set("server", .string(entry.server))
                evidence.append(record)
            } catch {
                evidence.append(["path": .string(entry.path), "server": .string(entry.server), "failure": .string(String(describing: error))])
                console.warning("\(error); remove it by hand before the next ATTACH of that table")
            }
        }
        made.removeAll()
        if !evidence.isEmpty { session.record("detachedCleanup", .array(evidence)) }
    }
}

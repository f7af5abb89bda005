import Foundation

/// A backup store on a mounted volume: keys are paths below `root`. Small objects are written
/// to a temporary file in the same directory, fsynced, then renamed over the final name, so a
/// reader sees nothing or everything; big files are copied through in 1 MiB pieces, hashed on
/// the way, never held whole.
package struct LocalDirectoryStore: BackupStore {
    package let root: String

    package init(root: String) {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    package var location: String { root + "/" }

    private static let chunk = 1 << 20

    package func list(prefix: String, delimiter: String?) throws -> StoreListing {
        let manager = FileManager.default
        // The folder that holds the prefix: everything below it is a candidate.
        let base = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        let start = base.isEmpty ? root : "\(root)/\(base)"
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: start, isDirectory: &isDirectory), isDirectory.boolValue else {
            if !manager.fileExists(atPath: root) {
                throw BackupStoreError(location: location, key: nil, reason: "the directory does not exist",
                                       hint: "create it, or check backup.store.path / LUMINATECTL_BACKUP_PATH")
            }
            return StoreListing(objects: [])
        }
        var objects: [StoredObject] = []
        var folders = Set<String>()
        guard let walker = manager.enumerator(atPath: start) else { return StoreListing(objects: []) }
        while let relative = walker.nextObject() as? String {
            let key = base.isEmpty ? relative : "\(base)/\(relative)"
            guard key.hasPrefix(prefix) else { continue }
            let attributes = walker.fileAttributes ?? [:]
            let isFile = (attributes[.type] as? FileAttributeType) == .typeRegular
            if let delimiter, let range = key.dropFirst(prefix.count).range(of: delimiter) {
                folders.insert(String(key[..<range.upperBound]))
                continue
            }
            guard isFile, !relative.hasSuffix(".luminatectl-tmp") else { continue }
            objects.append(StoredObject(key: key, size: (attributes[.size] as? NSNumber)?.uint64Value ?? 0))
        }
        return StoreListing(objects: objects.sorted { $0.key < $1.key }, folders: folders.sorted())
    }

    package func stat(_ key: String) throws -> StoredObject? {
        let path = try self.path(key)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) == .typeRegular else { return nil }
        return StoredObject(key: key, size: (attributes[.size] as? NSNumber)?.uint64Value ?? 0)
    }

    package func read(_ key: String) throws -> Data? {
        let path = try self.path(key)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackupStoreError(location: location, key: key, reason: "cannot read \(path)", hint: "check its permissions")
        }
        return data
    }

    package func write(_ key: String, data: Data) throws {
        let path = try self.path(key)
        try makeParent(of: path, key: key)
        let temporary = path + ".luminatectl-tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(key, "cannot create \(temporary)") }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeFully(fd, $0, key: key, path: temporary) }
        guard fsync(fd) == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure(key, "cannot move \(temporary) into place")
        }
    }

    package func upload(_ key: String, fromFile source: String) throws -> StoredFile {
        let path = try self.path(key)
        try makeParent(of: path, key: key)
        let temporary = path + ".luminatectl-tmp"
        let result = try copy(from: source, to: temporary, key: key)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure(key, "cannot move \(temporary) into place")
        }
        return result
    }

    package func download(_ key: String, toFile destination: String) throws -> StoredFile {
        let path = try self.path(key)
        guard FileManager.default.fileExists(atPath: path) else {
            throw BackupStoreError(location: location, key: key, reason: "no such object")
        }
        return try copy(from: path, to: destination, key: key)
    }

    package func checksum(_ key: String) throws -> StoredFile {
        let path = try self.path(key)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BackupStoreError(location: location, key: key, reason: "no such object") }
        defer { close(fd) }
        let hasher = SHA256Stream()
        try readAll(fd, key: key) { hasher.update($0) }
        return StoredFile(size: hasher.byteCount, sha256: hasher.finish())
    }

    package func delete(_ key: String) throws {
        let path = try self.path(key)
        if unlink(path) != 0, errno != ENOENT { throw failure(key, "cannot remove \(path)") }
        // Empty folders left behind would list as incomplete backups.
        var folder = (path as NSString).deletingLastPathComponent
        while folder.count > root.count, folder.hasPrefix(root + "/"), rmdir(folder) == 0 {
            folder = (folder as NSString).deletingLastPathComponent
        }
    }

    // MARK: - Files

    /// The file of `key`; refuses keys that would leave the root.
    private func path(_ key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw BackupStoreError(location: location, key: key, reason: "not a valid key")
        }
        return "\(root)/\(key)"
    }

    private func makeParent(of path: String, key: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw failure(key, "cannot create \(parent)")
        }
    }

    private func copy(from source: String, to destination: String, key: String) throws -> StoredFile {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure(key, "cannot open \(source)") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw failure(key, "cannot create \(destination)") }
        defer { close(output) }
        let hasher = SHA256Stream()
        try readAll(input, key: key) { piece in
            hasher.update(piece)
            try writeFully(output, piece, key: key, path: destination)
        }
        guard fsync(output) == 0 else { throw failure(key, "cannot flush \(destination)") }
        return StoredFile(size: hasher.byteCount, sha256: hasher.finish())
    }

    private func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, key: String, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure(key, "cannot write \(path)")
            }
            offset += written
        }
    }

    private func readAll(_ fd: Int32, key: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Foundation.read(fd, buffer.baseAddress, Self.chunk)
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(key, "read failed")
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    private func failure(_ key: String, _ what: String) -> BackupStoreError {
        BackupStoreError(location: location, key: key, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}

import Foundation

/// Reading and writing the local side of transfers: file sizes, hashes of file ranges, and
/// downloads that only take their real name once complete. Failures are `S3Error.localFile`.
enum S3LocalFile {
    /// Bytes read at a time while hashing.
    static let chunkSize = 1 << 20

    /// The size of the regular file at `path`.
    static func size(of path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw S3Error.localFile(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw S3Error.localFile(path: path, reason: "not a regular file") }
        return Int64(info.st_size)
    }

    /// The SHA-256 of one range of a file, read a megabyte at a time; every chunk is also given to
    /// `whole` (the hash of the whole file, built part by part). `interrupted` is asked between
    /// chunks: hashing a large part takes long enough for Ctrl-C to matter.
    static func sha256(
        of range: HTTPFileBody, alsoFeeding whole: SHA256Stream? = nil, interrupted: () -> Bool
    ) throws -> String {
        let descriptor = open(range.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw S3Error.localFile(path: range.path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let length = try range.length ?? (size(of: range.path) - range.offset)
        let hasher = SHA256Stream()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < length {
            if interrupted() { throw Interrupted() }
            let wanted = Int(min(Int64(chunkSize), length - done))
            let count = pread(descriptor, buffer.baseAddress, wanted, off_t(range.offset + done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = count < 0 ? String(cString: strerror(errno)) : "the file ended \(length - done) bytes before the expected end"
                throw S3Error.localFile(path: range.path, reason: reason)
            }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(piece)
            whole?.update(piece)
            done += Int64(count)
        }
        return hasher.finish()
    }

    /// Ctrl-C arrived while hashing; the caller turns it into `S3Error.interrupted` for its target.
    struct Interrupted: Error {}
}

/// A download in progress: `PATH.partial`, created fresh (0600: backups hold customer data),
/// renamed over `PATH` by `commit`, removed by `discard`.
final class S3PartialFile {
    let path: String
    let partialPath: String
    private var descriptor: Int32

    init(creatingFor path: String) throws {
        self.path = path
        partialPath = path + ".partial"
        descriptor = open(partialPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw S3Error.localFile(path: partialPath, reason: String(cString: strerror(errno)))
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw S3Error.localFile(path: partialPath, reason: String(cString: strerror(errno))) }
                written += count
            }
        }
    }

    /// Flushes to disk and takes the real name: a crash right after must not leave an empty file
    /// under it.
    func commit() throws {
        guard fsync(descriptor) == 0 else { throw S3Error.localFile(path: partialPath, reason: String(cString: strerror(errno))) }
        close(descriptor)
        descriptor = -1
        guard rename(partialPath, path) == 0 else {
            throw S3Error.localFile(path: path, reason: String(cString: strerror(errno)))
        }
    }

    func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(partialPath)
    }
}

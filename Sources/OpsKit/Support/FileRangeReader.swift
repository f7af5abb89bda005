import Foundation

/// The file a request body is read from: one range of it, read with `pread` as curl's read
/// callback asks, so nothing but curl's upload buffer is ever in memory.
final class FileRangeReader {
    let path: String
    let offset: Int64
    let length: Int64
    private let descriptor: Int32
    /// Bytes of the range handed to curl so far.
    private var position: Int64 = 0
    /// Why reading stopped, when it did.
    private(set) var failure: String?

    init(opening body: HTTPFileBody) throws {
        path = body.path
        offset = body.offset
        let descriptor = open(body.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw HTTPBodyFileError(path: body.path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HTTPBodyFileError(path: body.path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw HTTPBodyFileError(path: body.path, reason: "not a regular file")
        }
        let size = Int64(info.st_size)
        let length = body.length ?? (size - body.offset)
        guard body.offset >= 0, length >= 0, body.offset + length <= size else {
            close(descriptor)
            throw HTTPBodyFileError(
                path: body.path, reason: "\(length) bytes from offset \(body.offset) run past the end of the file (\(size) bytes)")
        }
        self.length = length
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Up to `capacity` next bytes of the range into `buffer`: their count, 0 at the end, nil
    /// when the file cannot be read (or ended early: it shrank since it was opened).
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        let wanted = Int(min(Int64(capacity), length - position))
        guard wanted > 0 else { return 0 }
        while true {
            let count = pread(descriptor, buffer, wanted, off_t(offset + position))
            if count > 0 {
                position += Int64(count)
                return count
            }
            if count < 0 && errno == EINTR { continue }
            failure = count < 0
                ? String(cString: strerror(errno))
                : "the file ended \(length - position) bytes early (it changed while being sent)"
            return nil
        }
    }

    /// Back to `offset` bytes into the range, for curl to send the body again.
    func rewind(to offset: Int64) -> Bool {
        guard offset >= 0, offset <= length else { return false }
        position = offset
        return true
    }
}

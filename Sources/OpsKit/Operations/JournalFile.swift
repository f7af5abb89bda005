import Foundation
import Synchronization

/// The live journal: an append-only JSON Lines file (format in `JournalRecord`, docs/journal.md).
///
/// Each append opens the file (`O_APPEND|O_CREAT`, 0600, in a 0700 directory), takes an
/// exclusive `flock`, reads the last line to chain to it, writes the new line with one `write`,
/// `fsync`s, and closes. The lock spans read and write so two processes (or threads) never chain
/// two records to the same predecessor; opening per append keeps each lock on its own open file
/// description, which is what `flock` excludes on, even within one process. Nothing is ever
/// rewritten or truncated: a torn last line (a crash mid-write) stays where it is, the next
/// record starts on a new line and chains to the last complete one.
package final class JournalFile: OperationJournal {
    package let path: String
    /// `fsync`; tests hand in one that counts calls or fails.
    private let sync: @Sendable (Int32) -> Int32
    /// Records written per operation by this instance: the `#n` of record ids. One process runs
    /// one operation, so this instance sees all of its records.
    private let counters = Mutex<[String: Int]>([:])

    /// How long to wait for another process's append before giving up (an append takes
    /// milliseconds; this only bounds a wedged file system).
    private static let lockAttempts = 15_000
    private static let lockPollMicroseconds: UInt32 = 2_000

    package init(path: String, sync: @escaping @Sendable (Int32) -> Int32 = { fsync($0) }) {
        self.path = path
        self.sync = sync
    }

    /// Creates the directory and checks the file can be opened for appending, so an unwritable
    /// journal is reported before the lock is taken or anything runs.
    package func prepare() throws {
        try createDirectory()
        let fd = try openForAppend()
        close(fd)
    }

    package func append(_ event: JournalEvent) throws {
        try write(event)
    }

    /// Appends `event` durably and returns the record as written.
    @discardableResult
    package func write(_ event: JournalEvent) throws -> JournalRecord {
        try createDirectory()
        let fd = try openForAppend()
        defer { close(fd) }
        try lock(fd)

        let tail = try readTail(fd)
        let number = counters.withLock { counts in
            counts[event.operationID, default: 0] += 1
            return counts[event.operationID]!
        }
        let record = JournalRecord.make(
            event: event, id: "\(event.operationID)#\(number)", seq: tail.seq + 1, prev: tail.hash)
        let bytes = Array(((tail.torn ? "\n" : "") + record.line + "\n").utf8)
        try writeAll(fd, bytes)
        guard sync(fd) == 0 else { throw JournalError.sync(path: path, reason: JournalError.reason(errno)) }
        if tail.empty {
            // A new file's directory entry must be durable too, or a crash could lose the file.
            syncDirectory()
        }
        return record
    }

    // MARK: - File operations

    private var directory: String { (path as NSString).deletingLastPathComponent }

    /// `mkdir -p` with 0700 for every directory it creates (the journal names operators,
    /// hosts and targets); existing directories are left as they are.
    private func createDirectory() throws {
        let target = directory.isEmpty ? "." : directory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), isDirectory.boolValue { return }
        var current = target.hasPrefix("/") ? "" : "."
        for component in target.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0, errno != EEXIST {
                throw JournalError.directory(path: current, reason: JournalError.reason(errno))
            }
        }
    }

    private func openForAppend() throws -> Int32 {
        // O_CLOEXEC: a kubectl spawned during the operation must not inherit the descriptor (and
        // with it a lock that would outlive this process's close).
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError.open(path: path, reason: JournalError.reason(errno)) }
        return fd
    }

    private func lock(_ fd: Int32) throws {
        for _ in 0..<Self.lockAttempts {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return }
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw JournalError.write(path: path, reason: "flock: " + JournalError.reason(errno))
            }
            usleep(Self.lockPollMicroseconds)
        }
        throw JournalError.busy(path: path, seconds: Double(Self.lockAttempts) * Double(Self.lockPollMicroseconds) / 1e6)
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw JournalError.write(path: path, reason: JournalError.reason(errno))
            }
            offset += written
        }
    }

    private func syncDirectory() {
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = sync(fd)
        close(fd)
    }

    /// What the next record chains to.
    private struct Tail {
        /// `seq` of the last complete record (0 for none).
        var seq = 0
        /// SHA-256 of the last complete line, or the genesis value.
        var hash = JournalRecord.genesis
        /// The file does not end with a newline: a write was cut short.
        var torn = false
        var empty = false
    }

    /// Reads the last complete line backwards from the end, whatever the file's size.
    private func readTail(_ fd: Int32) throws -> Tail {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw JournalError.read(path: path, reason: JournalError.reason(errno)) }
        let size = Int(info.st_size)
        guard size > 0 else { return Tail(empty: true) }

        var tail = Tail()
        let last = try read(fd, at: size - 1, count: 1)
        tail.torn = last != [UInt8(ascii: "\n")]
        let lineEnd = tail.torn ? try lastNewline(fd, before: size - 1) : size - 1
        guard let lineEnd else { return tail }
        let lineStart = (try lastNewline(fd, before: lineEnd)).map { $0 + 1 } ?? 0
        let bytes = try read(fd, at: lineStart, count: lineEnd - lineStart)
        let line = String(decoding: bytes, as: UTF8.self)
        do throws(JournalRecord.LineProblem) {
            tail.seq = try JournalRecord.parse(line).seq
        } catch {
            throw JournalError.corruptTail(path: path, problem: error.description)
        }
        tail.hash = SHA256.hex(Data(bytes))
        return tail
    }

    /// The offset of the last `\n` before `end`, or nil.
    private func lastNewline(_ fd: Int32, before end: Int) throws -> Int? {
        let chunk = 64 * 1024
        var upper = end
        while upper > 0 {
            let lower = max(0, upper - chunk)
            let bytes = try read(fd, at: lower, count: upper - lower)
            if let index = bytes.lastIndex(of: UInt8(ascii: "\n")) { return lower + index }
            upper = lower
        }
        return nil
    }

    private func read(_ fd: Int32, at offset: Int, count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if got < 0 {
                if errno == EINTR { continue }
                throw JournalError.read(path: path, reason: JournalError.reason(errno))
            }
            if got == 0 { break }
            done += got
        }
        return Array(buffer[0..<done])
    }
}

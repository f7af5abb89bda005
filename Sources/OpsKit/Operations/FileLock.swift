import Foundation
import Synchronization

/// The operations lock on this machine: `flock` on
/// `$XDG_STATE_HOME/luminatectl/locks/<environment>.lock` (a 0600 file in 0700 directories),
/// which holds the holder as JSON for a refused operator to read.
///
/// Cheap and local: it excludes operations of this user on this machine, and is the only lock
/// of an environment without Kubernetes. The kernel releases it when its process ends, however
/// it ends, so it never goes stale. flock locks belong to an open file description, so two
/// `FileLock`s in one process exclude each other as two processes do.
package struct FileLock: OperationLock {
    package var path: String
    /// How often a waiting operation looks again.
    package var pollInterval: Double
    package var clock: any TimeSource
    package var console: Console

    package init(path: String, context: Context, pollInterval: Double = 1) {
        self.path = path
        self.pollInterval = pollInterval
        self.clock = context.clock
        self.console = context.console
    }

    /// Where an environment's lock file lives: under `$XDG_STATE_HOME` (absolute, as the XDG
    /// specification requires), else `~/.local/state`.
    package static func path(environment: String, processEnvironment: [String: String]) throws -> String {
        let base: String
        if let state = processEnvironment["XDG_STATE_HOME"], state.hasPrefix("/") {
            base = state
        } else if let home = processEnvironment["HOME"], home.hasPrefix("/") {
            base = (home.hasSuffix("/") ? String(home.dropLast()) : home) + "/.local/state"
        } else {
            throw ValidationError(
                "cannot place the operations lock file: neither XDG_STATE_HOME nor HOME is set to an absolute path",
                hint: "set XDG_STATE_HOME to a directory luminatectl may write")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let file = String(environment.map { allowed.contains($0) ? $0 : "_" })
        return "\(base)/luminatectl/locks/\(file.hasPrefix(".") ? "_" + file : file).lock"
    }

    /// `lock file /home/alice/.local/state/luminatectl/locks/staging.lock`
    package var lockName: String { "lock file \(path)" }

    package func acquire(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> any HeldLock {
        try take(holder, wait: wait, interrupt: interrupt)
    }

    /// `acquire`, typed.
    package func take(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> HeldFileLock {
        let fd = try openLockFile()
        var waiting = LockWait(lock: lockName, limit: wait, poll: pollInterval, clock: clock, console: console, interrupt: interrupt)
        var busy = 0
        do {
            while true {
                try waiting.checkInterrupt()
                if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                    var record = holder.json
                    record.set("pid", .number(Double(getpid())))
                    let bytes = Array((record.rendered() + "\n").utf8)
                    guard ftruncate(fd, 0) == 0, pwrite(fd, bytes, bytes.count, 0) == bytes.count else {
                        let code = errno
                        _ = flock(fd, LOCK_UN)
                        throw LockUnavailableError(lock: lockName, action: .take, message: "cannot write the holder: \(Self.describe(code))")
                    }
                    return HeldFileLock(fd: fd, path: path)
                }
                let code = errno
                if code == EINTR { continue }
                guard code == EWOULDBLOCK else {
                    throw LockUnavailableError(lock: lockName, action: .take, message: "flock: \(Self.describe(code))")
                }
                // `lock status` holds it shared for an instant to look: try twice more before
                // calling it held.
                if busy < 2 {
                    busy += 1
                    clock.sleep(seconds: 0.02, interrupt: interrupt)
                    continue
                }
                busy = 0
                try waiting.held(by: Self.holder(in: fd).holder)
            }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Who holds the file lock now, without taking it; free when the file does not exist.
    package func inspect() throws -> FileLockState {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return FileLockState(held: false, holder: nil, pid: nil) }
            throw LockUnavailableError(lock: lockName, action: .read, message: Self.describe(code))
        }
        defer { close(fd) }
        let (holder, pid) = Self.holder(in: fd)
        // A shared lock taken for an instant: granted only when nobody holds it exclusively.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            // Text left behind means its process ended without releasing; the kernel did.
            return FileLockState(held: false, holder: holder, pid: pid)
        }
        return FileLockState(held: true, holder: holder, pid: pid)
    }

    /// Opens (creating) the lock file, 0600 in 0700 directories. O_CLOEXEC: kubectl and the
    /// other children must not inherit the descriptor and with it the lock.
    private func openLockFile() throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        var prefix = ""
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            // Only what is missing is created: parents may sit on a read-only root file system
            // (the CronJobs' containers), where even mkdir of an existing directory can fail.
            var info = stat()
            if stat(prefix, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { continue }
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw LockUnavailableError(
                    lock: lockName, action: .take, message: "cannot create \(prefix): \(Self.describe(errno))",
                    hint: "set XDG_STATE_HOME to a directory luminatectl may write")
            }
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw LockUnavailableError(lock: lockName, action: .take, message: "cannot open it: \(Self.describe(errno))")
        }
        return fd
    }

    /// The holder written in the file, if it reads as one.
    private static func holder(in fd: Int32) -> (holder: LockHolder?, pid: Int32?) {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &bytes, bytes.count, 0)
        guard count > 0, let json = try? JSONValue.parse(Data(bytes[0..<count])) else { return (nil, nil) }
        return (LockHolder(json: json), json["pid"]?.int.map { Int32($0) })
    }

    private static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// What `lock status` shows of the lock file.
package struct FileLockState: Sendable, Equatable {
    package var held: Bool
    /// The holder written in the file: the current one when held, else the last one whose
    /// process ended without releasing.
    package var holder: LockHolder?
    package var pid: Int32?
}

/// The lock file while this process holds it; closing the descriptor releases the flock.
package final class HeldFileLock: HeldLock {
    package let path: String
    private let descriptor: Mutex<Int32?>

    init(fd: Int32, path: String) {
        self.path = path
        self.descriptor = Mutex(fd)
    }

    package var name: String { "lock file \(path)" }

    package func release() throws {
        guard let fd = descriptor.withLock({ fd -> Int32? in
            defer { fd = nil }
            return fd
        }) else { return }
        // Emptied first, so nobody reads this holder after the lock is gone.
        _ = ftruncate(fd, 0)
        _ = flock(fd, LOCK_UN)
        close(fd)
    }

    deinit { try? release() }
}

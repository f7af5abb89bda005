import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The live `ProcessRunning`: `posix_spawn` without a shell, the child alone in a new process
/// group, and one `poll()` loop that feeds stdin and drains stdout and stderr together.
///
/// Why one loop and no threads: a child that fills its stdout pipe while we are still writing its
/// stdin (or fills stderr while we wait on stdout) blocks forever unless every pipe is serviced at
/// once. Why a process group: `kubectl`, `clickhouse-client` and shell wrappers start children of
/// their own, and a timeout or Ctrl-C must stop the whole tree, not only the process we started.
///
/// Safe to call from several threads at once: all state lives in the call, pipes are created
/// close-on-exec, and only this call ever reaps its child (by pid, never `waitpid(-1)`).
package struct PosixProcessRunner: ProcessRunning {
    /// The environment children start from before a request's overrides; nil inherits this
    /// process's environment at the time of each call.
    package var baseEnvironment: [String: String]?
    /// How long a child's process group has, after SIGTERM (timeout) or the forwarded interrupt
    /// signal, to exit before it gets SIGKILL.
    package var terminationGrace: Double
    /// How long to keep reading after the child itself has exited while something it started in
    /// the background still holds its stdout or stderr open. Such stragglers are left running
    /// (a daemon started on purpose must survive); only their output is no longer collected.
    package var drainAfterExit: Double

    package init(baseEnvironment: [String: String]? = nil, terminationGrace: Double = 2, drainAfterExit: Double = 1) {
        self.baseEnvironment = baseEnvironment
        self.terminationGrace = terminationGrace
        self.drainAfterExit = drainAfterExit
    }

    package func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult {
        if let signal = interrupt.signal {
            throw ProcessError.interrupted(commandLine: request.commandLine, signal: signal)
        }
        let environment = childEnvironment(for: request)
        let searchPath = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let executablePath = Self.resolveExecutable(
            request.executable, searchPath: searchPath, workingDirectory: request.workingDirectory)
        else {
            throw ProcessError.notFound(program: request.executable, path: request.executable.contains("/") ? request.executable : searchPath)
        }
        let child = try SpawnedChild.spawn(
            executablePath: executablePath, request: request, environment: environment)
        return try child.supervise(request: request, interrupt: interrupt, runner: self)
    }

    /// Finds `program` the way `execvp` would, but in the child's PATH rather than ours, so a request
    /// that overrides PATH runs the program the operator expects.
    ///
    /// Empty PATH entries (which POSIX reads as the current directory) are skipped: running whatever
    /// `kubectl` happens to sit in the working directory is a trap, not a feature.
    package static func resolveExecutable(_ program: String, searchPath: String, workingDirectory: String? = nil) -> String? {
        func isExecutableFile(_ path: String) -> Bool {
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
            return access(path, X_OK) == 0
        }
        if program.isEmpty { return nil }
        if program.contains("/") {
            // posix_spawn resolves a relative path after its chdir action, so check the same file.
            var path = program
            if !program.hasPrefix("/"), let workingDirectory {
                path = workingDirectory.hasSuffix("/") ? workingDirectory + program : workingDirectory + "/" + program
            }
            return isExecutableFile(path) ? program : nil
        }
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(program)" : "\(directory)/\(program)"
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// The inherited (or base) environment updated with the request's overrides.
    func childEnvironment(for request: ProcessRequest) -> [String: String] {
        var environment = baseEnvironment ?? ProcessInfo.processInfo.environment
        for (name, value) in request.environment {
            if let value { environment[name] = value } else { environment.removeValue(forKey: name) }
        }
        return environment
    }
}

/// One running child and the parent's ends of its three pipes; lives for one `run` call.
private final class SpawnedChild {
    let pid: pid_t
    let commandLine: String
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32

    private init(pid: pid_t, commandLine: String, stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32) {
        self.pid = pid
        self.commandLine = commandLine
        self.stdinFD = stdinFD
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }

    deinit {
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { close(fd) }
    }

    static func spawn(executablePath: String, request: ProcessRequest, environment: [String: String]) throws -> SpawnedChild {
        let program = request.executable
        // Parent ends: close-on-exec, so a child spawned concurrently by another thread cannot
        // inherit them and keep our pipes open (which would make us wait for its exit).
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        func closeAll() { for fd in outPipe + errPipe + inPipe where fd >= 0 { close(fd) } }
        guard GNU.pipe2(&outPipe, O_CLOEXEC) == 0, GNU.pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let code = errno
            closeAll()
            throw ProcessError.launchFailed(program: program, errno: code)
        }
        if request.stdin != nil, GNU.pipe2(&inPipe, O_CLOEXEC) != 0 {
            let code = errno
            closeAll()
            throw ProcessError.launchFailed(program: program, errno: code)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let directory = request.workingDirectory {
            guard let addchdir = GNU.addchdir else {
                closeAll()
                throw ProcessError.launchFailed(program: program, errno: ENOSYS)
            }
            _ = addchdir(&actions, directory)
        }
        if request.stdin != nil {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // Other code in this process (libcurl, Foundation) may open descriptors without
        // close-on-exec; the child gets exactly 0, 1 and 2.
        _ = GNU.addclosefrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // pgid 0: the child leads a new group, so killpg reaches everything it starts and the
        // terminal's Ctrl-C reaches only us (we forward it deliberately).
        posix_spawnattr_setpgroup(&attributes, 0)
        // Signal mask and dispositions are inherited through exec; the caller's thread may block
        // or ignore SIGINT, SIGTERM or SIGPIPE, and the child must not.
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([request.executable] + request.arguments).map { strdup($0) }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                posix_spawn(&pid, executablePath, &actions, &attributes, argvBuffer.baseAddress!, envpBuffer.baseAddress!)
            }
        }
        // The child's ends belong to the child now (or to nobody if the spawn failed).
        for fd in [outPipe[1], errPipe[1], inPipe[0]] where fd >= 0 { close(fd) }
        guard status == 0 else {
            for fd in [outPipe[0], errPipe[0], inPipe[1]] where fd >= 0 { close(fd) }
            throw ProcessError.launchFailed(program: program, errno: status)
        }
        for fd in [outPipe[0], errPipe[0], inPipe[1]] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return SpawnedChild(
            pid: pid, commandLine: request.commandLine,
            stdinFD: inPipe[1], stdoutFD: outPipe[0], stderrFD: errPipe[0])
    }

    /// Why the loop is ending early, decided once and acted on until the child is gone.
    private enum Stop {
        case timedOut(seconds: Double)
        case interrupted(signal: Int32)
        case outputLimitExceeded
        /// The loop itself failed (poll), which waiting cannot cure.
        case failed(errno: Int32)
    }

    /// Feeds stdin, drains both outputs, enforces the timeout, output limit and interrupt, and
    /// reaps the child. Returns only after the child has been reaped.
    func supervise(request: ProcessRequest, interrupt: Interrupt, runner: PosixProcessRunner) throws -> ProcessResult {
        let start = monotonicNow()
        let deadline = request.timeout.map { start + max(0, $0) }
        var stdout = Data(), stderr = Data()
        let input = request.stdin ?? Data()
        var written = 0
        var stop: Stop?
        var killAt: Double?          // when SIGKILL follows the first, polite signal
        var killedAt: Double?
        var exitedAt: Double?        // the child is a zombie (not yet reaped) since then
        var buffer = [UInt8](repeating: 0, count: 64 << 10)

        // A reader gone before it read all of stdin must not kill us with SIGPIPE; block it on
        // this thread only (process-wide SIG_IGN would change behaviour for everyone else).
        let sigpipe = SigpipeBlock()
        defer { sigpipe.restore() }

        if stdinFD >= 0, input.isEmpty { close(stdinFD); stdinFD = -1 }

        func signalGroup(_ signal: Int32) {
            // The leader is not reaped until the end, so its pid still names this group: the
            // signal cannot reach an unrelated process that reused the number.
            _ = killpg(pid, signal)
        }
        func begin(_ reason: Stop, signal: Int32, now: Double) {
            guard stop == nil else { return }
            stop = reason
            signalGroup(signal)
            if signal == SIGKILL { killedAt = now } else { killAt = now + runner.terminationGrace }
        }

        while true {
            let now = monotonicNow()
            if exitedAt == nil, childHasExited() { exitedAt = now }
            let outputOpen = stdoutFD >= 0 || stderrFD >= 0
            if let exitedAt {
                if !outputOpen { break }
                // The child is gone but something it started still holds its stdout or stderr.
                if stop == nil {
                    // A background process started on purpose may keep them for ever: collect
                    // its output a little while, then leave it running.
                    if now - exitedAt >= runner.drainAfterExit { break }
                } else if let killedAt, now - killedAt >= 0.5 {
                    // Tearing down: the whole group has had SIGKILL; whatever still holds the
                    // pipes has left the group (setsid) and is not ours to wait for.
                    break
                }
            }

            if stop == nil, let signal = interrupt.signal {
                begin(.interrupted(signal: signal), signal: signal, now: now)
            }
            if stop == nil, let deadline, now >= deadline {
                begin(.timedOut(seconds: request.timeout ?? 0), signal: SIGTERM, now: now)
            }
            if let killAt, killedAt == nil, now >= killAt {
                signalGroup(SIGKILL)
                killedAt = now
            }

            var fds: [pollfd] = []
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            // 50 ms: the longest an interrupt, a deadline or the child's exit goes unnoticed.
            var waitMS: Int32 = 50
            if let deadline, stop == nil { waitMS = min(waitMS, Int32(max(0, (deadline - now) * 1000).rounded(.up))) }
            let ready = poll(&fds, nfds_t(fds.count), waitMS)
            if ready < 0 {
                if errno == EINTR { continue }
                // Only EFAULT/EINVAL/ENOMEM remain; none can be waited out, so tear down.
                begin(.failed(errno: errno), signal: SIGKILL, now: now)
                continue
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    written += writeSome(input, from: written)
                    if written >= input.count || stdinFD < 0 {
                        if stdinFD >= 0 { close(stdinFD) }
                        stdinFD = -1
                    }
                } else if entry.fd == stdoutFD {
                    drain(fd: &stdoutFD, into: &stdout, buffer: &buffer)
                } else if entry.fd == stderrFD {
                    drain(fd: &stderrFD, into: &stderr, buffer: &buffer)
                }
            }
            if stop == nil, stdout.count > request.outputLimit || stderr.count > request.outputLimit {
                begin(.outputLimitExceeded, signal: SIGKILL, now: now)
            }
        }

        let status = reap()
        switch stop {
        case nil:
            return ProcessResult(status: status, stdout: stdout, stderr: stderr)
        case .timedOut(let seconds):
            throw ProcessError.timedOut(
                commandLine: commandLine, seconds: seconds,
                partial: ProcessResult(status: status, stdout: stdout, stderr: stderr))
        case .interrupted(let signal):
            throw ProcessError.interrupted(commandLine: commandLine, signal: signal)
        case .outputLimitExceeded:
            throw ProcessError.outputLimitExceeded(commandLine: commandLine, limit: request.outputLimit)
        case .failed(let code):
            throw ProcessError.launchFailed(program: request.executable, errno: code)
        }
    }

    /// Writes as much of `input` from `offset` as the pipe takes now; on EPIPE (the child closed
    /// its stdin, as `head` does) the rest is dropped and the pipe closed.
    private func writeSome(_ input: Data, from offset: Int) -> Int {
        var total = 0
        input.withUnsafeBytes { bytes in
            while offset + total < bytes.count {
                let chunk = min(bytes.count - offset - total, 64 << 10)
                let n = write(stdinFD, bytes.baseAddress! + offset + total, chunk)
                if n > 0 { total += n; continue }
                if n < 0, errno == EINTR { continue }
                if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
                close(stdinFD)
                stdinFD = -1
                return
            }
        }
        return total
    }

    /// Reads what is available; closes `fd` and sets it to -1 at end of file.
    private func drain(fd: inout Int32, into data: inout Data, buffer: inout [UInt8]) {
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
                // A short read means the pipe is empty for now; let the other pipes have a turn.
                if n < buffer.count { return }
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
            close(fd)
            fd = -1
            return
        }
    }

    /// Whether the child has exited, without reaping it (WNOWAIT): until it is reaped its pid
    /// cannot be reused, so `killpg(pid, ...)` stays aimed at this tree.
    private func childHasExited() -> Bool {
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        return result == 0 && info.si_signo == SIGCHLD
    }

    private func reap() -> TerminationStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .signaled(SIGKILL) }
        }
        // WIFEXITED / WTERMSIG are C macros Swift does not import.
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(low)
    }
}

/// Blocks SIGPIPE on the calling thread for one run and discards any SIGPIPE our own writes
/// raised, then restores the thread's mask.
private struct SigpipeBlock {
    private var previous = sigset_t()
    private let wasPending: Bool

    init() {
        var pending = sigset_t()
        sigpending(&pending)
        wasPending = sigismember(&pending, SIGPIPE) == 1
        var block = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &block, &previous)
    }

    func restore() {
        var previous = self.previous
        guard sigismember(&previous, SIGPIPE) != 1 else { return }
        var pending = sigset_t()
        sigpending(&pending)
        if !wasPending, sigismember(&pending, SIGPIPE) == 1 {
            var only = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, SIGPIPE)
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&only, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}

/// glibc functions Swift's Glibc module hides because it is not built with `_GNU_SOURCE`;
/// looked up once by name instead of needing a C shim target.
private enum GNU {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    static let pipe2Function: Pipe2? = symbol("pipe2")
    /// glibc 2.29 and later.
    static let addchdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    /// glibc 2.34 and later.
    static let addclosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")

    private static func symbol<F>(_ name: String) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: F.self)
    }

    /// `pipe2(fds, O_CLOEXEC)`; where it is missing, pipe + fcntl (a concurrent spawn may then
    /// inherit the pipe, which `addclosefrom` in our own spawns still prevents).
    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        if let pipe2Function { return pipe2Function(fds, flags) }
        guard pipe(fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }
}

/// Seconds on the monotonic clock: timeouts must not jump with the wall clock.
private func monotonicNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
}

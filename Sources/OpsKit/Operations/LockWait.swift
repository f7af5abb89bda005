import Foundation

/// Waiting for a lock someone else holds, the same way for the Lease and the lock file: say once
/// (per holder) who is waited for, poll on the context's clock, give up with `LockHeldError` when
/// `--wait-lock` is used up, and stop at once on Ctrl-C.
struct LockWait {
    let lock: String
    /// `--wait-lock` in seconds; 0 fails at the first look.
    let limit: Double
    let poll: Double
    let clock: any TimeSource
    let console: Console
    let interrupt: Interrupt
    let start: Date
    private var hasAnnounced = false
    private var announced: LockHolder?
    private var lastHolder: LockHolder?

    init(lock: String, limit: Double, poll: Double, clock: any TimeSource, console: Console, interrupt: Interrupt) {
        self.lock = lock
        self.limit = max(0, limit)
        self.poll = poll
        self.clock = clock
        self.console = console
        self.interrupt = interrupt
        self.start = clock.now()
    }

    var waited: Double { max(0, clock.now().timeIntervalSince(start)) }

    /// Throws `LockWaitInterrupted` once Ctrl-C was pressed.
    func checkInterrupt() throws {
        if let signal = interrupt.signal {
            throw LockWaitInterrupted(lock: lock, holder: lastHolder, signal: signal)
        }
    }

    /// The lock is held by `holder`: throws `LockHeldError` when the wait is used up, otherwise
    /// sleeps one poll interval (less at the end of the wait) and returns to look again.
    mutating func held(by holder: LockHolder?, detail: String? = nil) throws {
        lastHolder = holder
        let waited = self.waited
        guard waited < limit else {
            // Without --wait-lock the instant spent looking is no wait worth reporting.
            throw LockHeldError(holder: holder, lock: lock, waited: limit > 0 ? waited : 0, detail: detail)
        }
        if !hasAnnounced || announced != holder {
            hasAnnounced = true
            announced = holder
            let who = holder.map { ", held by \($0)" } ?? ""
            console.diagnostic("Waiting for the operations lock (\(lock))\(who); giving up in \(formatSeconds(limit - waited))")
        }
        clock.sleep(seconds: min(poll, limit - waited), interrupt: interrupt)
        try checkInterrupt()
    }
}

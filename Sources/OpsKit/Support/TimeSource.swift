import Foundation

/// The wall clock seam. Every Prometheus query carries an explicit evaluation time from here,
/// and every expiry (waivers, leases, backups' age) is judged against it, so tests can pin time.
package protocol TimeSource: Sendable {
    func now() -> Date
    /// Sleeps for `seconds`, returning early when `interrupt` fires.
    func sleep(seconds: Double, interrupt: Interrupt)
}

/// The real clock.
package struct SystemClock: TimeSource {
    package init() {}

    package func now() -> Date { Date() }

    package func sleep(seconds: Double, interrupt: Interrupt) {
        // Sleep in short slices so Ctrl-C is honoured within 50 ms.
        var remaining = seconds
        while remaining > 0, !interrupt.isSet {
            let slice = min(remaining, 0.05)
            usleep(UInt32(slice * 1_000_000))
            remaining -= slice
        }
    }
}

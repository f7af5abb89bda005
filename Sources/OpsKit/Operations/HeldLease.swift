import Foundation
import Synchronization

/// The Lease while this operation holds it. A background thread renews it every third of its
/// duration, so a luminatectl that dies loses it within one duration and a live one keeps it.
/// When renewals keep failing until it expires, or someone takes it over or breaks it, the lock
/// is lost: a loud warning says so at once, and the session refuses to start another step.
package final class HeldLease: HeldLock {
    package let lock: LeaseLock
    package let holder: LockHolder
    /// `spec.holderIdentity` while we hold it.
    package let identity: String
    /// The operation's interrupt: Ctrl-C stops a `keep` in progress.
    private let interrupt: Interrupt
    private let state: Mutex<State>
    /// Raised to stop the renewal thread; its kubectl call is interrupted with it.
    private let stopRenewing = Interrupt()
    private let renewal = DispatchGroup()

    private struct State {
        var record: LeaseRecord
        var lastRenewal: Date
        var failures = 0
        var lost: String?
        /// `keep` made it a maintenance hold: `release` leaves it.
        var kept = false
        var released = false
    }

    init(lock: LeaseLock, holder: LockHolder, object: KubeObject, acquired: Date, interrupt: Interrupt) {
        self.lock = lock
        self.holder = holder
        self.identity = LeaseRecord.identity(of: holder)
        self.interrupt = interrupt
        self.state = Mutex(State(record: LeaseRecord(object), lastRenewal: acquired))
        if lock.renews { startRenewing() }
    }

    package var name: String { lock.lockName }
    package var lostReason: String? { state.withLock { $0.lost } }
    /// The Lease as last written or read.
    package var record: LeaseRecord { state.withLock { $0.record } }

    private func startRenewing() {
        renewal.enter()
        let interval = lock.renewInterval
        Thread.detachNewThread { [self] in
            defer { renewal.leave() }
            while true {
                lock.clock.sleep(seconds: interval, interrupt: stopRenewing)
                if stopRenewing.isSet || !renew() { return }
            }
        }
    }

    /// Stops the renewal thread and waits for it; its kubectl call, if any, is interrupted.
    private func stopRenewal() {
        stopRenewing.raise(SIGTERM)
        _ = renewal.wait(timeout: .now() + 10)
    }

    /// Renews once: `renewTime` now, with the last `resourceVersion`. Returns false once the lock
    /// is gone (lost, kept or released). The renewal thread calls it; tests call it directly.
    @discardableResult
    package func renew() -> Bool {
        guard let record = state.withLock({ $0.lost == nil && !$0.kept && !$0.released ? $0.record : nil }) else { return false }
        let kubectl = lock.client(interrupt: stopRenewing, timeout: max(2, lock.renewInterval))
        let now = lock.clock.now()
        do {
            let object = try lock.single(kubectl.replace(manifest: record.renewed(now: now)))
            state.withLock {
                $0.record = LeaseRecord(object)
                $0.lastRenewal = now
                $0.failures = 0
            }
            return true
        } catch let error as KubectlError where error.reason == .conflict || error.reason == .notFound {
            return recheck(with: kubectl)
        } catch {
            return stopRenewing.isSet ? false : renewalFailed(error, at: now)
        }
    }

    /// A renewal was refused as stale: whether the Lease is still ours (then adopt its newer
    /// version: our own interrupted write landed, or someone labelled it) or was taken.
    private func recheck(with kubectl: Kubectl) -> Bool {
        do {
            guard let current = try lock.read(with: kubectl) else {
                markLost("the Lease was deleted")
                return false
            }
            guard current.holderIdentity == identity else {
                markLost(Self.whoTookIt(current))
                return false
            }
            state.withLock { $0.record = current }
            return true
        } catch {
            return stopRenewing.isSet ? false : renewalFailed(error, at: lock.clock.now())
        }
    }

    private static func whoTookIt(_ current: LeaseRecord) -> String {
        if let holder = current.holder { return "taken over by \(holder)" }
        if let identity = current.holderIdentity { return "taken over by \(identity)" }
        if let breaker = current.releasedBy {
            return "released by \(breaker)" + (current.releaseReason.map { ": \($0)" } ?? "")
        }
        return "released by someone else"
    }

    /// A renewal failed for another reason (API server down): keep trying until the lease has
    /// expired, after which another operation may take it and it no longer protects us.
    private func renewalFailed(_ error: any Error, at now: Date) -> Bool {
        let (failures, last) = state.withLock { state -> (Int, Date) in
            state.failures += 1
            return (state.failures, state.lastRenewal)
        }
        let expiry = last.addingTimeInterval(Double(lock.leaseDuration))
        if now >= expiry {
            markLost("not renewed since \(LockTime.iso(last)), \(failures) attempts failed, last: \(error)")
            return false
        }
        lock.console.warning("could not renew the operations lock (\(name)), attempt \(failures); it expires at \(LockTime.iso(expiry)) unless a renewal succeeds: \(error)")
        return true
    }

    private func markLost(_ reason: String) {
        let first = state.withLock { state -> Bool in
            guard state.lost == nil else { return false }
            state.lost = reason
            return true
        }
        guard first else { return }
        lock.console.warning("LOST the operations lock (\(name)): \(reason). Another operation may now change this environment at the same time as this one; this operation stops before its next step.")
    }

    /// Makes it a maintenance hold: held for `seconds` from now without renewal, and left in
    /// place by `release`.
    package func keep(for seconds: Double, reason: String) throws {
        stopRenewal()
        let kubectl = lock.client(interrupt: interrupt, timeout: lock.callTimeout)
        for _ in 0..<3 {
            if let lost = lostReason {
                throw LockUnavailableError(lock: name, action: .keep, message: "the lock was lost: \(lost)")
            }
            let record = self.record
            do {
                let manifest = record.kept(seconds: Int(seconds.rounded(.up)), reason: reason, now: lock.clock.now())
                let object = try lock.single(kubectl.replace(manifest: manifest))
                state.withLock {
                    $0.record = LeaseRecord(object)
                    $0.kept = true
                }
                return
            } catch let error as KubectlError where error.reason == .conflict {
                guard let current = try? lock.read(with: kubectl), current.holderIdentity == identity else {
                    throw LockUnavailableError(lock: name, action: .keep, message: "the Lease is no longer held by this operation (\(error.message))")
                }
                state.withLock { $0.record = current }
            } catch {
                throw LockUnavailableError(lock: name, action: .keep, cause: error)
            }
        }
        throw LockUnavailableError(lock: name, action: .keep, message: "the Lease kept changing while luminatectl wrote the hold")
    }

    /// Clears the holder if the Lease is still ours; nothing when it was lost, kept or released
    /// before. Quick even after Ctrl-C: a fresh interrupt and a short timeout.
    package func release() throws {
        let first = state.withLock { state -> Bool in
            guard !state.released else { return false }
            state.released = true
            return true
        }
        guard first else { return }
        stopRenewal()
        let (lost, kept) = state.withLock { ($0.lost, $0.kept) }
        guard lost == nil, !kept else { return }

        let kubectl = lock.client(interrupt: Interrupt(), timeout: 15)
        var record = self.record
        for _ in 0..<3 {
            do {
                _ = try lock.single(kubectl.replace(manifest: record.cleared(now: lock.clock.now())))
                return
            } catch let error as KubectlError where error.reason == .conflict {
                // Refused as stale: release only if the Lease still names us.
                let current: LeaseRecord?
                do { current = try lock.read(with: kubectl) } catch {
                    throw LockUnavailableError(lock: name, action: .release, cause: error)
                }
                guard let current, current.holderIdentity == identity else { return }
                record = current
            } catch let error as KubectlError where error.reason == .notFound {
                return
            } catch {
                throw LockUnavailableError(lock: name, action: .release, cause: error)
            }
        }
        throw LockUnavailableError(lock: name, action: .release, message: "the Lease kept changing while luminatectl released it")
    }
}

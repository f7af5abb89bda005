import Foundation

/// The operations lock in Kubernetes: a `coordination.k8s.io/v1` Lease (`luminatectl`) in the
/// environment's namespace, so operators on different machines and the CronJobs in the cluster
/// exclude each other.
///
/// Taking it is read → create (nobody ever took it) or replace with the observed
/// `resourceVersion` (free or expired): of two operations writing at once, the API server lets
/// exactly one through and answers the other 409, which reads again. A held Lease is waited for
/// (`--wait-lock`) by polling; one whose holder stopped renewing for `leaseDurationSeconds` is
/// taken over, with a warning. Expiry is judged on the context's clock against `renewTime`, so
/// clocks skewed by more than a few seconds shorten or lengthen the grace, never the exclusion
/// between live holders (they renew every third of the duration).
package struct LeaseLock: OperationLock {
    package var kubectl: Kubectl
    package var namespace: String
    package var name: String
    /// `leaseDurationSeconds`: a holder that does not renew for this long loses the lock.
    package var leaseDuration: Int
    /// How often a holder renews: a third of the duration, so one or two failed renewals (an API
    /// server restarting) do not lose the lock.
    package var renewInterval: Double
    /// Whether a holder renews in the background; tests renew by hand with `HeldLease.renew()`.
    package var renews: Bool
    /// How often a waiting operation looks again.
    package var pollInterval: Double
    /// The longest one kubectl call may take while taking or releasing the lock.
    package var callTimeout: Double
    /// After this many writes in a row lost to other writers, give up rather than spin.
    package var maxContention: Int
    package var clock: any TimeSource
    package var console: Console

    /// The resource as kubectl names it: with its group, so no CRD called `lease` can shadow it.
    package static let resource = "lease.coordination.k8s.io"

    package init(
        kubectl: Kubectl, namespace: String, context: Context, name: String = "luminatectl",
        leaseDuration: Int = 60, pollInterval: Double = 2, renews: Bool = true
    ) {
        self.kubectl = kubectl
        self.namespace = namespace
        self.name = name
        self.leaseDuration = max(1, leaseDuration)
        self.renewInterval = Double(max(1, leaseDuration)) / 3
        self.renews = renews
        self.pollInterval = pollInterval
        self.callTimeout = 30
        self.maxContention = 5
        self.clock = context.clock
        self.console = context.console
    }

    /// `Lease luminate/luminatectl`, as errors and the journal name it.
    package var lockName: String { "Lease \(namespace)/\(name)" }

    /// kubectl aimed at the Lease's namespace, stopped by `interrupt`, each call within `timeout`.
    func client(interrupt: Interrupt, timeout: Double) -> Kubectl {
        var client = kubectl.inNamespace(namespace)
        client.interrupt = interrupt
        client.processTimeout = min(client.processTimeout, timeout)
        return client
    }

    package func acquire(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> any HeldLock {
        try take(holder, wait: wait, interrupt: interrupt)
    }

    /// `acquire`, typed: tests renew the returned lease by hand.
    package func take(_ holder: LockHolder, wait: Double, interrupt: Interrupt) throws -> HeldLease {
        let kubectl = client(interrupt: interrupt, timeout: callTimeout)
        var waiting = LockWait(lock: lockName, limit: wait, poll: pollInterval, clock: clock, console: console, interrupt: interrupt)
        var contention = 0
        while true {
            try waiting.checkInterrupt()
            let record: LeaseRecord?
            do {
                record = try read(with: kubectl)
            } catch {
                throw failure(.read, error, interrupt: interrupt)
            }
            let now = clock.now()
            if let record, record.state(at: now) == .held {
                contention = 0
                try waiting.held(by: record.holder, detail: record.detail)
                continue
            }

            let written: KubeObject
            do {
                if let record {
                    written = try single(kubectl.replace(manifest: record.taken(by: holder, durationSeconds: leaseDuration, now: now)))
                } else {
                    let lease = LeaseRecord.newLease(name: name, namespace: namespace, holder: holder, durationSeconds: leaseDuration, now: now)
                    written = try single(kubectl.create(manifest: lease))
                }
            } catch let error as KubectlError where error.reason == .alreadyExists || error.reason == .conflict {
                // Someone wrote the Lease between our read and our write: read it again.
                contention += 1
                if contention >= maxContention {
                    throw LockUnavailableError(
                        lock: lockName, action: .take,
                        message: "the Lease changed \(contention) times in a row while luminatectl tried to take it (last: \(error))",
                        hint: "something keeps writing it; look with: kubectl get \(Self.resource) \(name) -n \(namespace) -o yaml")
                }
                continue
            } catch {
                if Self.outcomeUnknown(error) { clearIfHeld(by: LeaseRecord.identity(of: holder)) }
                throw failure(.take, error, interrupt: interrupt)
            }

            if let record, record.state(at: now) == .expired, let expiresAt = record.expiresAt {
                let previous = record.holder?.description ?? record.holderIdentity ?? "an unknown holder"
                console.warning("took over the operations lock (\(lockName)) from \(previous): its lease expired at \(LockTime.iso(expiresAt)) without being renewed")
            }
            return HeldLease(lock: self, holder: holder, object: written, acquired: now, interrupt: interrupt)
        }
    }

    /// The Lease as it is now; nil when it was never created.
    package func read(interrupt: Interrupt = Interrupt()) throws -> LeaseRecord? {
        do {
            return try read(with: client(interrupt: interrupt, timeout: callTimeout))
        } catch {
            throw failure(.read, error, interrupt: interrupt)
        }
    }

    func read(with kubectl: Kubectl) throws -> LeaseRecord? {
        do {
            return LeaseRecord(try kubectl.get(Self.resource, name))
        } catch let error as KubectlError where error.reason == .notFound {
            return nil
        }
    }

    /// Ends the holding `record` shows (`lock release`): clears the holder unless the Lease changed
    /// since it was read, so a lock that changed hands meanwhile is never broken by mistake.
    package func clear(_ record: LeaseRecord, by breaker: Actor?, reason: String?, interrupt: Interrupt) throws {
        let kubectl = client(interrupt: interrupt, timeout: callTimeout)
        do {
            _ = try single(kubectl.replace(manifest: record.cleared(now: clock.now(), by: breaker, reason: reason)))
        } catch let error as KubectlError where error.reason == .conflict || error.reason == .notFound {
            throw LockUnavailableError(
                lock: lockName, action: .release,
                message: "the Lease changed since it was read (\(error.message)); nothing was released",
                hint: "see who holds it now with 'luminatectl lock status', then run the command again")
        } catch {
            throw failure(.release, error, interrupt: interrupt)
        }
    }

    /// After a write whose outcome is unknown (interrupted, timed out, an answer that could not be
    /// read): if the Lease names us, clear it, so an operation that never started leaves no lock.
    private func clearIfHeld(by identity: String) {
        // A fresh interrupt: after Ctrl-C the operation's is set, and this must still run.
        let kubectl = client(interrupt: Interrupt(), timeout: 10)
        do {
            guard let record = try read(with: kubectl), record.holderIdentity == identity else { return }
            _ = try kubectl.replace(manifest: record.cleared(now: clock.now()))
        } catch {
            console.warning("the operations lock (\(lockName)) may name this operation until it expires in \(leaseDuration) s: \(error)")
        }
    }

    /// Whether a failed write may still have reached the API server.
    private static func outcomeUnknown(_ error: any Error) -> Bool {
        guard let error = error as? KubectlError else { return true }
        return [.interrupted, .timedOut, .unexpectedOutput, .failed, .serverError].contains(error.reason)
    }

    func failure(_ action: LockUnavailableError.Action, _ error: any Error, interrupt: Interrupt) -> any Error {
        if let signal = interrupt.signal { return LockWaitInterrupted(lock: lockName, holder: nil, signal: signal) }
        return LockUnavailableError(lock: lockName, action: action, cause: error)
    }

    /// The one Lease a create or replace printed.
    func single(_ objects: [KubeObject]) throws -> KubeObject {
        guard objects.count == 1, let object = objects.first else {
            throw KubeDecodingError(detail: "expected the Lease back, got \(objects.count) objects")
        }
        return object
    }
}

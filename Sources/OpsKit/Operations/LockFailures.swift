import Foundation

/// The operations lock could not be checked, taken, kept or released: the API server failed,
/// kubectl is missing, the lock file cannot be opened. Nothing was done (when taking it); the
/// cause's own hint says what to check.
package struct LockUnavailableError: OperatorError {
    /// What luminatectl was doing with the lock.
    package enum Action: String, Sendable {
        case read, take, keep, release
    }

    package var lock: String
    package var action: Action
    /// The cause in one line (a `KubectlError`'s text, an errno message).
    package var cause: String
    private var causeHint: String?
    private var causeExitCode: ExitCode

    package init(lock: String, action: Action, cause: any Error) {
        self.lock = lock
        self.action = action
        self.cause = String(describing: cause)
        self.causeHint = (cause as? any OperatorError)?.hint
        // Ctrl-C during a kubectl call stays an interruption (130), whatever wraps it.
        let code = (cause as? any OperatorError)?.exitCode ?? .failure
        self.causeExitCode = code == .interrupted ? .interrupted : .failure
    }

    package init(lock: String, action: Action, message: String, hint: String? = nil) {
        self.lock = lock
        self.action = action
        self.cause = message
        self.causeHint = hint
        self.causeExitCode = .failure
    }

    package var description: String { "could not \(action.rawValue) the operations lock (\(lock)): \(cause)" }

    package var hint: String? {
        causeHint ?? (action == .take ? "nothing was done; check with 'luminatectl lock status'" : nil)
    }

    package var exitCode: ExitCode { causeExitCode }
}

/// Ctrl-C while waiting for (or taking) the lock: nothing was done and no lock is left behind.
package struct LockWaitInterrupted: OperatorError, Equatable {
    package var lock: String
    package var holder: LockHolder?
    package var signal: Int32

    package init(lock: String, holder: LockHolder?, signal: Int32) {
        self.lock = lock
        self.holder = holder
        self.signal = signal
    }

    package var description: String {
        "interrupted while waiting for the operations lock (\(lock))" + (holder.map { ", held by \($0)" } ?? "")
            + "; nothing was done"
    }

    package var exitCode: ExitCode { .interrupted }
}

/// The lock stopped being ours while the operation ran; the session refuses to start another
/// step, as it does after Ctrl-C, so two operations do not keep changing the same environment.
package struct LockLostError: OperatorError, Equatable {
    package var lock: String
    package var reason: String
    /// The step that was not started.
    package var step: String

    package init(lock: String, reason: String, step: String) {
        self.lock = lock
        self.reason = reason
        self.step = step
    }

    package var description: String {
        "the operations lock (\(lock)) was lost (\(reason)); stopped before step '\(step)'"
    }

    package var hint: String? {
        "see who holds it now with 'luminatectl lock status', and the completed steps with 'luminatectl journal'"
    }
}

/// `lock hold` on a lock that ends with its process (the lock file).
package struct LockCannotBeKept: OperatorError, Equatable {
    package var lock: String

    package init(lock: String) { self.lock = lock }

    package var description: String { "the operations lock (\(lock)) cannot outlive this process" }

    package var hint: String? {
        "a maintenance hold needs the Kubernetes Lease: configure a Kubernetes context or kubeconfig for this environment"
    }
}

import Foundation

/// A deploy refused before anything changed: the policy gate, the checklist, the RPO guard.
package struct DeployRefused: OperatorError, Equatable {
    package var message: String
    package var hint: String?

    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    package var description: String { message + "; nothing was changed" }
}

/// Ctrl-C while the change was being watched: the deployment is left as it is, and the exact
/// command that rolls it back is part of the message.
package struct DeployWatchInterrupted: OperatorError, Equatable {
    package var rollbackCommand: String

    package var description: String {
        "interrupted while watching the deploy: it is left as it is (not rolled back)"
    }
    package var hint: String? { "to roll it back: \(rollbackCommand)" }
    package var exitCode: ExitCode { .interrupted }
}

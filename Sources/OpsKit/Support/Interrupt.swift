import Foundation
import Synchronization

/// A shared flag raised by SIGINT/SIGTERM. Subprocess runners forward the signal to their child's
/// process group, HTTP transfers abort, and sleeps return early when it is set.
package final class Interrupt: Sendable {
    private let state = Mutex<Int32?>(nil)

    package init() {}

    /// The signal that raised the flag, if any.
    package var signal: Int32? { state.withLock { $0 } }
    package var isSet: Bool { signal != nil }

    package func raise(_ signal: Int32) {
        state.withLock { if $0 == nil { $0 = signal } }
    }
}

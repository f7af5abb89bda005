/// luminatectl's exit codes, documented in the README. Scripts and CI gates depend on them.
package struct ExitCode: RawRepresentable, Sendable, Equatable, CustomStringConvertible {
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// Everything asked for was done, or every check passed.
    package static let success = ExitCode(rawValue: 0)
    /// The operation or a check failed.
    package static let failure = ExitCode(rawValue: 1)
    /// The command line or the configuration is wrong (EX_USAGE); nothing was done.
    package static let usage = ExitCode(rawValue: 64)
    /// Another operation holds the operations lock (EX_TEMPFAIL); nothing was done.
    package static let lockHeld = ExitCode(rawValue: 75)
    /// Interrupted by Ctrl-C (128 + SIGINT), after cleaning up.
    package static let interrupted = ExitCode(rawValue: 130)

    package var description: String { String(rawValue) }
}

import Foundation

extension LiveOperations {
    /// The operations lock of the configured environment: its lock file, then its Lease when it
    /// has Kubernetes (see `EnvironmentLock`).
    package static func lock(configuration: Configuration, context: Context) throws -> any OperationLock {
        try EnvironmentLock(configuration: configuration, context: context).lock
    }
}

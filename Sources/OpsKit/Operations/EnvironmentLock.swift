import Foundation

/// The operations lock of one environment, as its configuration decides: always the lock file,
/// and the Lease in the environment's namespace when the environment has Kubernetes. Operations
/// take both (file first); `lock status` and `lock release` look at each.
package struct EnvironmentLock: Sendable {
    package var environment: String
    package var file: FileLock
    /// Nil when the environment has no Kubernetes: the lock file alone then guards it.
    package var lease: LeaseLock?
    /// Why the Lease is used or not, in the operator's words, for `lock status`.
    package var kubernetes: String
    private var clock: any TimeSource

    package init(configuration: Configuration, context: Context) throws {
        environment = configuration.environmentName.value
        clock = context.clock
        file = FileLock(path: try FileLock.path(environment: environment, processEnvironment: context.environment), context: context)
        if let source = Self.kubernetesSource(configuration, context: context) {
            let kubectl = Connections(configuration: configuration, context: context).kubectl()
            lease = LeaseLock(kubectl: kubectl, namespace: configuration.namespace.value, context: context)
            kubernetes = source
        } else {
            lease = nil
            kubernetes = "no Kubernetes context or kubeconfig is configured for environment '\(environment)': "
                + "the lock file alone guards it, which excludes operations on this machine only"
        }
    }

    /// What operations take: the lock file, then the Lease.
    package var lock: any OperationLock {
        guard let lease else { return file }
        return CompositeLock([file, lease], clock: clock)
    }

    /// Why this environment has Kubernetes, or nil. Whatever kubectl itself would use counts, not
    /// only what luminatectl is told: the default kubeconfig, and inside a pod (the backup and
    /// retention CronJobs) the service account. A lock that silently stayed local there would let
    /// two machines, or a CronJob and an operator, change the environment at once.
    static func kubernetesSource(_ configuration: Configuration, context: Context) -> String? {
        if let kubeContext = configuration.kubeContext {
            return "Kubernetes context \(kubeContext.value) (\(kubeContext.source))"
        }
        if let kubeconfig = configuration.kubeconfig {
            return "kubeconfig \(kubeconfig.value) (\(kubeconfig.source))"
        }
        if let home = context.environment["HOME"], home.hasPrefix("/"),
           FileManager.default.fileExists(atPath: home + "/.kube/config") {
            return "kubectl's default kubeconfig ~/.kube/config"
        }
        if let host = context.environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            return "the pod's service account (in cluster, KUBERNETES_SERVICE_HOST)"
        }
        return nil
    }
}

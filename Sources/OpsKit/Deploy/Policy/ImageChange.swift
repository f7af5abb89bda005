import Foundation

/// One container's image before and after a deploy: `Deployment/luminate` container `luminate`
/// from `…/luminate:2.4.1` to `…/luminate:3.0.0`. `from` is nil for a container or workload the
/// deploy adds.
package struct ImageChange: Sendable, Equatable {
    /// `Kind/name` as kubectl writes it: `Deployment/luminate`, `StatefulSet/chi-luminate`.
    package var workload: String
    package var container: String
    package var from: ImageReference?
    package var to: ImageReference

    package init(workload: String, container: String, from: ImageReference?, to: ImageReference) {
        self.workload = workload
        self.container = container
        self.from = from
        self.to = to
    }

    /// `Deployment/luminate container luminate`, how reasons and the journal name it.
    package var subject: String { "\(workload) container \(container)" }
}

import Foundation

/// How long restoring the whole backup would take, from what the drill measured. The method is
/// stated with the figure: bytes per second of the drill (the restored partitions' bytes as the
/// manifest counts them, over the wall time from the first load to the last verification) applied
/// to every byte the backup holds. It assumes the full restore runs at the drill's rate; a drill of
/// a few small partitions is dominated by fixed costs and overestimates, which errs the safe way.
package struct DrillProjection: Sendable, Equatable {
    package var measuredSeconds: Double
    package var restoredBytes: UInt64
    package var fullBytes: UInt64
    package var rto: Double

    package init(measuredSeconds: Double, restoredBytes: UInt64, fullBytes: UInt64, rto: Double) {
        self.measuredSeconds = measuredSeconds
        self.restoredBytes = restoredBytes
        self.fullBytes = fullBytes
        self.rto = rto
    }

    package var bytesPerSecond: Double { Double(restoredBytes) / max(measuredSeconds, 0.001) }

    /// The full backup's projected restore time; the measured time when the drill restored it all.
    package var projectedSeconds: Double {
        guard restoredBytes > 0, restoredBytes < fullBytes else { return measuredSeconds }
        return Double(fullBytes) / bytesPerSecond
    }

    package var withinRTO: Bool { projectedSeconds <= rto }

    package var method: String {
        "\(ByteSize.format(restoredBytes)) in \(DurationParser.format(measuredSeconds)) = \(ByteSize.format(UInt64(bytesPerSecond)))/s; the full backup's \(ByteSize.format(fullBytes)) at that rate"
    }
}

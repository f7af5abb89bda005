import Foundation
import Synchronization

/// One file to put in the store.
package struct UploadItem: Sendable, Equatable {
    package var path: String
    package var key: String
    package var size: UInt64
}

/// Files and bytes uploaded so far over the whole backup, for the progress callback.
package final class UploadProgress: Sendable {
    private let state = Mutex<(files: UInt64, bytes: UInt64)>((0, 0))
    private let report: @Sendable (BackupProgressReport) -> Void

    package init(report: @escaping @Sendable (BackupProgressReport) -> Void) { self.report = report }

    package var totals: (files: UInt64, bytes: UInt64) { state.withLock { $0 } }

    package func phase(_ name: String) {
        let (files, bytes) = totals
        report(BackupProgressReport(files: files, bytes: bytes, phase: name))
    }

    /// Reports under the lock, so that reports from parallel transfers never go backwards.
    func add(bytes: UInt64) {
        state.withLock { state in
            state.files += 1
            state.bytes += bytes
            report(BackupProgressReport(files: state.files, bytes: state.bytes, phase: "uploading"))
        }
    }
}

/// Streams files into the store a few at a time. Each transfer reads its file through in
/// pieces (the store hashes as it reads), so memory stays flat whatever the sizes. The first
/// failure, or Ctrl-C, stops the rest: transfers already running finish, none starts after.
package enum FreezeUpload {
    package static func run(
        _ items: [UploadItem], to store: any BackupStore, width: Int, id: BackupID, interrupt: Interrupt,
        step: String, progress: UploadProgress
    ) throws -> [BackupFile] {
        let stop = FirstFailure()
        do {
            return try parallelMap(items, width: width) { item in
                if let failure = stop.error { throw failure }
                if let signal = interrupt.signal { throw stop.keep(OperationInterrupted(signal: signal, step: step)) }
                let stored: StoredFile
                do {
                    stored = try store.upload(item.key, fromFile: item.path)
                } catch {
                    throw stop.keep(error)
                }
                progress.add(bytes: stored.size)
                return BackupFile(key: FreezeLayout.relativeKey(item.key, id: id), size: stored.size, sha256: stored.sha256)
            }
        } catch {
            throw stop.error ?? error
        }
    }
}

/// The error that stopped a run of parallel transfers (the backup's uploads, the restore's
/// downloads); later transfers throw it instead of starting, so the caller sees the cause, not a
/// skipped transfer.
final class FirstFailure: @unchecked Sendable {
    // Errors are not Sendable in general; this one is only handed on, never changed.
    private let lock = NSLock()
    private var first: (any Error)?

    var error: (any Error)? { lock.withLock { first } }

    /// Keeps `error` unless an earlier one is kept, and returns the one kept.
    func keep(_ error: any Error) -> any Error {
        lock.withLock {
            if first == nil { first = error }
            return first!
        }
    }
}

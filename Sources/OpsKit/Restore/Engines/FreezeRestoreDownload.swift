import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One file to fetch from the store into `detached/`.
struct DownloadItem: Sendable {
    /// The store's key: `<id>/` and the manifest's key.
    var key: String
    var manifest: BackupFile
    /// `<data_path>detached/<part>/<file>`.
    var destination: String
}

/// Files and bytes downloaded so far over the whole load (every shard), for the live line.
final class DownloadProgress: Sendable {
    private let state = Mutex<(files: UInt64, bytes: UInt64)>((0, 0))
    private let totalBytes: UInt64
    private let report: @Sendable (RestoreProgress) -> Void

    init(totalBytes: UInt64, report: @escaping @Sendable (RestoreProgress) -> Void) {
        self.totalBytes = totalBytes
        self.report = report
    }

    func phase(_ name: String) {
        let (files, bytes) = state.withLock { $0 }
        report(RestoreProgress(phase: name, files: files, bytes: bytes, totalBytes: totalBytes))
    }

    /// Reports under the lock, so that reports from parallel transfers never go backwards.
    func add(bytes: UInt64) {
        state.withLock { state in
            state.files += 1
            state.bytes += bytes
            report(RestoreProgress(phase: "downloading", files: state.files, bytes: state.bytes, totalBytes: totalBytes))
        }
    }
}

/// Streams files from the store into `detached/` a few at a time, each to a temporary name
/// beside its final one (the store hashes while writing, so memory stays flat whatever the
/// sizes), checked against the manifest, given the data directory's owner, then renamed into
/// place. The first failure, a damaged file or Ctrl-C stops the rest: transfers already running
/// finish, none starts after.
enum FreezeRestoreDownload {
    static func run(
        _ items: [DownloadItem], from store: any BackupStore, width: Int, backup: String, owner: DataDirectoryOwner,
        interrupt: Interrupt, step: String, progress: DownloadProgress
    ) throws {
        let stop = FirstFailure()
        do {
            _ = try parallelMap(items, width: width) { item in
                if let failure = stop.error { throw failure }
                if let signal = interrupt.signal { throw stop.keep(OperationInterrupted(signal: signal, step: step)) }
                do {
                    try fetch(item, from: store, backup: backup, owner: owner)
                } catch {
                    throw stop.keep(error)
                }
                progress.add(bytes: item.manifest.size)
            }
        } catch {
            throw stop.error ?? error
        }
    }

    private static func fetch(_ item: DownloadItem, from store: any BackupStore, backup: String, owner: DataDirectoryOwner) throws {
        let temporary = FreezeRestoreLayout.temporary(item.destination)
        defer { unlink(temporary) }
        let stored: StoredFile
        do {
            stored = try store.download(item.key, toFile: temporary)
        } catch {
            // A store says "no such object" in its own words; the manifest's view is what counts.
            if isMissing(item.key, in: store) {
                throw RestoreIntegrityError(backup: backup, file: item.manifest.key, problem: "missing")
            }
            throw error
        }
        if let problem = problem(stored, expected: item.manifest) {
            throw RestoreIntegrityError(backup: backup, file: item.manifest.key, problem: problem)
        }
        try DetachedDirectory.adopt(temporary, like: owner)
        guard rename(temporary, item.destination) == 0 else {
            throw FreezeRestoreError.localFile(path: item.destination, action: "move \(temporary) to", reason: FreezeRestoreError.errnoText())
        }
    }

    /// True only when the store answers that it has no such object (not when it fails to answer).
    private static func isMissing(_ key: String, in store: any BackupStore) -> Bool {
        do {
            return try store.stat(key) == nil
        } catch {
            return false
        }
    }

    /// How the bytes that arrived differ from the manifest's, or nil when they match.
    static func problem(_ stored: StoredFile, expected: BackupFile) -> String? {
        if stored.size != expected.size {
            return "\(grouped(stored.size)) bytes, the manifest says \(grouped(expected.size))"
        }
        if stored.sha256 != expected.sha256.lowercased() {
            return "SHA-256 is \(stored.sha256), the manifest says \(expected.sha256)"
        }
        return nil
    }

    /// `1,204`.
    static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        return digits.enumerated().map { index, digit in
            index > 0 && (digits.count - index) % 3 == 0 ? ",\(digit)" : "\(digit)"
        }.joined()
    }
}

import Foundation

/// `backup verify`: does the store still hold what the manifest says it does? Every file
/// luminatectl uploaded (freeze) must be there with its size and SHA-256, read through; for a
/// native backup ClickHouse's own `.backup` index must be there and parse, and every file it
/// names must be there with its size.
package struct BackupVerification: Sendable {
    package let store: any BackupStore
    /// Objects checked at once: verification is bound by round trips, not bandwidth.
    package var width = 8

    package init(store: any BackupStore) { self.store = store }

    package func verify(_ manifest: BackupManifest, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> VerificationReport {
        switch manifest.engine {
        case .freeze: return try verifyFiles(manifest, progress: progress)
        case .native: return try verifyNative(manifest)
        }
    }

    private func verifyFiles(_ manifest: BackupManifest, progress: (@Sendable (Int, Int) -> Void)?) throws -> VerificationReport {
        let store = self.store
        let folder = BackupLayout.folder(manifest.id)
        let total = manifest.files.count
        let problems = try parallelMap(Array(manifest.files.enumerated()), width: width) { index, file -> VerificationProblem? in
            defer { progress?(index + 1, total) }
            let key = folder + file.key
            guard let object = try store.stat(key) else { return VerificationProblem(key: key, kind: .missing, detail: "missing") }
            guard object.size == file.size else {
                return VerificationProblem(key: key, kind: .wrongSize, detail: "\(object.size) bytes, the manifest says \(file.size)")
            }
            let read = try store.checksum(key)
            guard read.sha256 == file.sha256 else {
                return VerificationProblem(key: key, kind: .wrongChecksum, detail: "SHA-256 \(read.sha256.prefix(12))…, the manifest says \(file.sha256.prefix(12))…")
            }
            return nil
        }.compactMap { $0 }
        return VerificationReport(id: manifest.id, checked: total, bytes: manifest.files.reduce(0) { $0 + $1.size }, problems: problems,
                                  method: "every file's size and SHA-256, read through")
    }

    private func verifyNative(_ manifest: BackupManifest) throws -> VerificationReport {
        let folder = BackupLayout.folder(manifest.id)
        let indexKey = folder + ".backup"
        guard let data = try store.read(indexKey) else {
            return VerificationReport(id: manifest.id, checked: 1, bytes: 0,
                                      problems: [VerificationProblem(key: indexKey, kind: .missing, detail: "ClickHouse's backup index is missing")],
                                      method: "ClickHouse's .backup index")
        }
        let index: ClickHouseBackupIndex
        do {
            index = try ClickHouseBackupIndex.parse(data)
        } catch {
            return VerificationReport(id: manifest.id, checked: 1, bytes: UInt64(data.count),
                                      problems: [VerificationProblem(key: indexKey, kind: .unreadable, detail: "does not parse: \(error)")],
                                      method: "ClickHouse's .backup index")
        }
        let present = Dictionary(try store.list(prefix: folder, delimiter: nil).objects.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
        var problems: [VerificationProblem] = []
        var bytes = UInt64(data.count)
        let stored = index.files.filter { $0.storedHere }
        for file in stored {
            let key = folder + file.dataFile
            guard let size = present[key] else {
                problems.append(VerificationProblem(key: key, kind: .missing, detail: "missing (named by .backup)"))
                continue
            }
            bytes += size
            if size != file.storedSize {
                problems.append(VerificationProblem(key: key, kind: .wrongSize, detail: "\(size) bytes, .backup says \(file.storedSize)"))
            }
        }
        return VerificationReport(id: manifest.id, checked: stored.count + 1, bytes: bytes, problems: problems,
                                  method: "ClickHouse's .backup index parsed; every file it stores in this backup present with its size")
    }
}

package struct VerificationReport: Sendable, Equatable {
    package var id: String
    package var checked: Int
    package var bytes: UInt64
    package var problems: [VerificationProblem]
    package var method: String

    package var passed: Bool { problems.isEmpty }
}

package struct VerificationProblem: Sendable, Equatable {
    package enum Kind: String, Sendable {
        case missing
        case wrongSize = "wrong-size"
        case wrongChecksum = "wrong-checksum"
        case unreadable
    }

    package var key: String
    package var kind: Kind
    package var detail: String
}

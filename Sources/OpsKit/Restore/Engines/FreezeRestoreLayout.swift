import Foundation

/// One file of a part to put into `detached/`, as the manifest lists it.
package struct FreezeRestoreFile: Sendable, Equatable {
    /// Key (relative to the backup's folder), size and SHA-256.
    package var manifest: BackupFile
    package var part: String
    /// Below the part's directory: `checksums.txt`, or a sub-path.
    package var path: String
}

/// What one load puts on one shard: the manifest's files of the chosen partitions below
/// `shard<N>/<db>/<table>/`. Partitions the shard holds no file of are not attached there.
package struct FreezeRestoreShard: Sendable, Equatable {
    package var shard: Int
    /// `shard1/luminate/metrics_local/`, below the backup's folder.
    package var prefix: String
    package var files: [FreezeRestoreFile]

    /// Part names, sorted, each once.
    package var parts: [String] { Array(Set(files.map(\.part))).sorted() }
    /// Partition ids with files here, sorted.
    package var partitions: [String] { Array(Set(files.map { FreezeLayout.partitionID(ofPart: $0.part) })).sorted() }
    package var bytes: UInt64 { files.reduce(0) { $0 + $1.manifest.size } }
}

/// Reads back what the freeze backup wrote: which files of the manifest belong to a load, per
/// shard, and where each goes below the target's data directory. Pure functions of the manifest
/// and names, so `describe` and `load` agree by construction.
///
///     store:  <id>/shard<N>/<db>/<table>/<part>/<file>
///     server: <data_path>detached/<part>/<file>, then ATTACH PARTITION ID moves the part in
package enum FreezeRestoreLayout {
    /// The manifest's files of `load.partitions` of `load.source`, per shard in shard order,
    /// after checking that every shard of them has a server. Throws `RestoreIntegrityError`
    /// for a manifest that counts rows of a partition on a shard but lists no file there, or
    /// whose keys would leave a part's directory.
    package static func shards(of load: RestoreLoad) throws -> [FreezeRestoreShard] {
        let manifest = load.manifest
        guard manifest.engine == .freeze else {
            throw FreezeRestoreError.notAFreezeBackup(backup: manifest.id, engine: manifest.engine.rawValue)
        }
        let wanted = Set(load.partitions)
        var byShard: [Int: [FreezeRestoreFile]] = [:]
        for file in manifest.files {
            let parts = file.key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 5, parts[0].hasPrefix("shard"), let shard = Int(parts[0].dropFirst("shard".count)),
                  parts[1] == load.source.database, parts[2] == load.source.table else { continue }
            let part = parts[3]
            guard wanted.contains(FreezeLayout.partitionID(ofPart: part)) else { continue }
            guard parts.dropFirst(3).allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
                throw RestoreIntegrityError(backup: manifest.id, file: file.key, problem: "the key is not a path inside the part's directory")
            }
            byShard[shard, default: []].append(FreezeRestoreFile(manifest: file, part: part, path: parts.dropFirst(4).joined(separator: "/")))
        }
        for partition in load.source.partitions where wanted.contains(partition.id) && partition.rows > 0 {
            let held = byShard[partition.shard]?.contains { FreezeLayout.partitionID(ofPart: $0.part) == partition.id } ?? false
            guard held else {
                throw RestoreIntegrityError(
                    backup: manifest.id, file: prefix(shard: partition.shard, table: load.source),
                    problem: "the manifest counts \(partition.rows) rows of partition \(partition.id) on shard \(partition.shard) but lists no file of it")
            }
        }
        let shards = byShard.keys.sorted().map { shard in
            FreezeRestoreShard(shard: shard, prefix: prefix(shard: shard, table: load.source),
                               files: byShard[shard]!.sorted { $0.manifest.key < $1.manifest.key })
        }
        try checkServers(shards.map(\.shard), load: load)
        return shards
    }

    /// `shard1/luminate/metrics_local/`.
    package static func prefix(shard: Int, table: TableBackup) -> String { "shard\(shard)/\(table.database)/\(table.table)/" }

    /// Every shard the backup holds data of must be among the servers: data of a shard with no
    /// server would be left out without a word.
    static func checkServers(_ shards: [Int], load: RestoreLoad) throws {
        let present = Set(load.servers.shards.map(\.shard))
        let missing = shards.filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw FreezeRestoreError.shardsMissing(backup: load.manifest.id, missing: missing,
                                                   backupLayout: layout(of: load.manifest, shards: shards),
                                                   servers: load.servers.summary)
        }
    }

    /// `cluster luminate: shard 1 from 127.0.0.1:9000, shard 2 from 127.0.0.1:9010`.
    static func layout(of manifest: BackupManifest, shards: [Int]) -> String {
        guard let cluster = manifest.cluster else {
            return "a single server (shard \(shards.map(String.init).joined(separator: ", ")))"
        }
        return "cluster \(cluster.name): " + cluster.shards.map { "shard \($0.shard) from \($0.replica)" }.joined(separator: ", ")
    }

    // MARK: - The server's disk

    /// `<data_path>detached/`, where ATTACH PARTITION looks for parts.
    package static func detachedDirectory(dataPath: String) -> String {
        (dataPath.hasSuffix("/") ? dataPath : dataPath + "/") + "detached/"
    }

    /// Where a file goes: `<data_path>detached/<part>/<file>`.
    package static func destination(_ file: FreezeRestoreFile, detached: String) -> String {
        detached + file.part + "/" + file.path
    }

    /// A file while it downloads: in its own directory, so the rename after the check is atomic,
    /// and under a name ClickHouse never reads as a part's file.
    package static func temporary(_ destination: String) -> String { destination + ".luminatectl-tmp" }
}

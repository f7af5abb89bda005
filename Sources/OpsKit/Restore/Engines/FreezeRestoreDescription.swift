import Foundation

extension FreezeRestoreEngine {
    /// `--dry-run`: every statement in the order `load` sends it, on which server, and what
    /// goes where. It asks no server: the target's directory is only known when it runs, so it
    /// appears as `<data_path of db.table>`; files, bytes and partitions come from the manifest.
    package func describe(_ load: RestoreLoad) -> [String] {
        let shards: [FreezeRestoreShard]
        do {
            shards = try FreezeRestoreLayout.shards(of: load)
        } catch {
            return ["refused: \(error)"]
        }
        let target = load.target
        let dataPath = "<data_path of \(target)>/"
        let detached = "\(dataPath)detached/"
        let servers = Dictionary(load.servers.shards.map { ($0.shard, $0) }, uniquingKeysWith: { first, _ in first })
        var lines: [String] = []
        for shard in shards {
            let label = servers[shard.shard]!.label
            lines.append("on \(label): \(FreezeRestoreStatements.dataPathColumns), then "
                + "\(FreezeRestoreStatements.dataPaths(of: target, array: true)) (or [data_path] where there is no data_paths): "
                + "\(dataPath) must be on this machine, and \(detached) must hold no part of \(Self.partitions(shard.partitions))")
        }
        for shard in shards {
            let label = servers[shard.shard]!.label
            lines.append("download \(FreezeRestoreDownload.grouped(UInt64(shard.files.count))) files (\(ByteSize.format(shard.bytes))) "
                + "of \(Self.partitions(shard.partitions)) from \(BackupLayout.folder(load.manifest.id))\(shard.prefix) into \(detached) "
                + "on \(label), checking each SHA-256 against the manifest, \(transfers) at a time, owned like \(dataPath)")
        }
        for shard in shards {
            let label = servers[shard.shard]!.label
            for partition in shard.partitions {
                let sql = (try? FreezeRestoreStatements.attach(target, partition: partition).sql) ?? "(not valid sql)"
                lines.append("on \(label): \(sql)")
            }
        }
        for server in load.servers.shards where !shards.contains(where: { $0.shard == server.shard }) {
            lines.append("\(server.label): the backup holds nothing of \(Self.partitions(load.partitions)) there")
        }
        lines.append("nothing is attached before every file of every shard is checked; after a damaged file, "
            + "a failure or Ctrl-C, the part directories this load made under detached/ are removed on every shard")
        return lines
    }

    /// `partition 20261126`, `3 partitions`.
    private static func partitions(_ ids: [String]) -> String {
        ids.count == 1 ? "partition \(ids[0])" : "\(ids.count) partitions"
    }
}

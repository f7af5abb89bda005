/// How a backed-up table's structure differs from the live table's, for the operator to read
/// before a restore refuses (or, with a flag, goes ahead): the two normalised definitions one
/// column a line, then ENGINE, PARTITION BY, ORDER BY, PRIMARY KEY, SAMPLE BY, TTL and SETTINGS a
/// line each, `- ` for the backup's only, `+ ` for the live table's only, `  ` for both.
package enum StructureDiff {
    /// Empty when the structures are equal.
    package static func lines(backup: TableDefinition, live: TableDefinition) -> [String] {
        let old = backup.structureLines, new = live.structureLines
        guard old != new else { return [] }
        // Longest common subsequence, from the end: common[i][j] is the LCS of old[i...], new[j...].
        var common = Array(repeating: Array(repeating: 0, count: new.count + 1), count: old.count + 1)
        for i in old.indices.reversed() {
            for j in new.indices.reversed() {
                common[i][j] = old[i] == new[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        var out: [String] = []
        var i = 0, j = 0
        while i < old.count || j < new.count {
            if i < old.count, j < new.count, old[i] == new[j] {
                out.append("  " + old[i])
                i += 1
                j += 1
            } else if i < old.count, j == new.count || common[i + 1][j] >= common[i][j + 1] {
                out.append("- " + old[i])
                i += 1
            } else {
                out.append("+ " + new[j])
                j += 1
            }
        }
        return out
    }
}

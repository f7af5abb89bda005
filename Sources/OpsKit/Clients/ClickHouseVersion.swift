import Foundation

/// A ClickHouse server version as `SELECT version()` reports it (`18.16.1`, `23.8.2.7`), ordered
/// component by component, with the feature gates luminatectl needs.
///
/// Features are gated on the version rather than probed by trial, because on an old server the
/// probe itself fails as a syntax error (code 62) that looks exactly like a typo in our own SQL.
package struct ClickHouseVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `[year-ish major, minor, patch, build]`; at least two components.
    package let components: [Int]

    package init(_ major: Int, _ minor: Int, _ patch: Int = 0, _ build: Int = 0) {
        components = [major, minor, patch, build]
    }

    /// Parses the leading dotted numbers of `text`: `23.8.2.7`, `21.8.15.7-lts`,
    /// `22.3.2.1 (official build)`. Nil unless there are at least `major.minor`.
    package init?(_ text: String) {
        var parts: [Int] = []
        var digits = 0
        var digitCount = 0
        // Unicode scalars, not Characters: "1" followed by a combining mark is one Character that
        // sorts between "1" and "2", and must end the version rather than pass for a digit.
        scan: for scalar in text.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars {
            switch scalar.value {
            case 0x30...0x39:
                // Nine digits fit any Int; more is not a version but noise.
                guard digitCount < 9 else { return nil }
                digits = digits * 10 + Int(scalar.value - 0x30)
                digitCount += 1
            case 0x2E where digitCount > 0:
                parts.append(digits)
                (digits, digitCount) = (0, 0)
            default:
                break scan
            }
        }
        if digitCount > 0 { parts.append(digits) }
        guard parts.count >= 2 else { return nil }
        components = parts
    }

    package var major: Int { component(0) }
    package var minor: Int { component(1) }
    package var patch: Int { component(2) }
    package var build: Int { component(3) }

    /// As parsed: `18.16.1`, `23.8.2.7`.
    package var description: String { components.map(String.init).joined(separator: ".") }

    /// Missing trailing components count as zero, so `22.8` == `22.8.0.0`.
    package static func < (lhs: ClickHouseVersion, rhs: ClickHouseVersion) -> Bool {
        for index in 0..<max(lhs.components.count, rhs.components.count) {
            let (l, r) = (lhs.component(index), rhs.component(index))
            if l != r { return l < r }
        }
        return false
    }

    package static func == (lhs: ClickHouseVersion, rhs: ClickHouseVersion) -> Bool { !(lhs < rhs) && !(rhs < lhs) }

    package func hash(into hasher: inout Hasher) {
        var trimmed = components
        while trimmed.count > 2, trimmed.last == 0 { trimmed.removeLast() }
        hasher.combine(trimmed)
    }

    private func component(_ index: Int) -> Int { index < components.count ? components[index] : 0 }

    // MARK: - Feature gates

    /// `BACKUP ... TO Disk(...)` / `RESTORE`. The statements first parse in 21.10 as an
    /// explicitly unfinished feature (ClickHouse PR #21945, "not ready for production"); 22.8 LTS
    /// is the first release with them documented (operations/backup), so that is the gate. On
    /// 18.16 both are syntax errors: backups there are `ALTER TABLE ... FREEZE`.
    package static let backupRestore = ClickHouseVersion(22, 8)

    /// Table and column `TTL` clauses (`TTL ts + INTERVAL 30 DAY`), added in 19.6. On 18.16 any
    /// TTL is a syntax error, so retention there means dropping partitions.
    package static let ttl = ClickHouseVersion(19, 6)

    /// The `X-ClickHouse-Exception-Code` response header (ClickHouse PR #8786, release 20.3). Set
    /// only when the error happens before the first body byte; 18.16 never sends it, so the code
    /// always has to be parsed from the body as a fallback.
    package static let exceptionCodeHeader = ClickHouseVersion(20, 3)

    /// `system.backups` with every column luminatectl reads: `id`, `name`, `status`, `error`,
    /// `num_files`, `total_size`, `start_time`, `end_time`. The table came with BACKUP itself
    /// (with an `internal` column and no times); ClickHouse PR #39503 (release 22.8,
    /// docs/changelogs/v22.8.1.2097-lts.md) reworked it into id/name/status/error with
    /// `num_files`, `uncompressed_size`, `compressed_size`, `start_time`, `end_time`; PR #45800
    /// (release 23.2, docs/changelogs/v23.2.1.2537-stable.md) split the counters into `num_files`
    /// / `total_size` (BACKUP) and `files_read` / `bytes_read` (RESTORE). So 23.2 is the gate: a
    /// 22.8 server has BACKUP but no `total_size`. 18.16 has no such table (code 60).
    package static let systemBackups = ClickHouseVersion(23, 2)

    /// `system.disks`: added with multi-disk ("tiered") storage, ClickHouse PRs #4918 and #6489,
    /// release 19.15 (19.15.2.2, 2019-10-01; docs/en/whats-new/changelog/2019.md). 18.16 has a
    /// single data path and no such table, so the free space there comes from the node itself.
    package static let systemDisks = ClickHouseVersion(19, 15)

    /// `system.detached_parts`: ClickHouse PR #5353, release 19.8 (19.8.3.8, 2019-06-11;
    /// docs/en/whats-new/changelog/2019.md). On 18.16 detached parts are only directories under
    /// `<path>/data/<db>/<table>/detached/`, visible on the node's file system.
    package static let systemDetachedParts = ClickHouseVersion(19, 8)

    package var supportsBackupRestore: Bool { self >= Self.backupRestore }
    package var supportsSystemBackups: Bool { self >= Self.systemBackups }
    package var supportsSystemDisks: Bool { self >= Self.systemDisks }
    package var supportsSystemDetachedParts: Bool { self >= Self.systemDetachedParts }
    package var supportsTTL: Bool { self >= Self.ttl }
    package var supportsExceptionCodeHeader: Bool { self >= Self.exceptionCodeHeader }
}

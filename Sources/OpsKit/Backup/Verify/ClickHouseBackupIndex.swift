import Foundation

/// ClickHouse's own index of a native backup, the `.backup` file at its root (a Poco XML
/// configuration written by `BackupImpl::writeBackupMetadata`): one `<file>` per file with its
/// size and checksum, and for incrementals how much of it lives in the base backup.
package struct ClickHouseBackupIndex: Sendable, Equatable {
    package struct File: Sendable, Equatable {
        package var name: String
        package var size: UInt64
        package var checksum: String?
        /// True when (part of) the file lives in the base backup.
        package var useBase: Bool
        /// The part in the base; `size` when only `use_base` is given.
        package var baseSize: UInt64
        /// Set when the file's data is stored under another name (a duplicate within the backup).
        package var dataFileName: String?

        /// Whether this backup holds bytes of this file itself, under its own name.
        package var storedHere: Bool {
            size > 0 && storedSize > 0 && (dataFileName == nil || dataFileName == name)
        }

        /// What this backup holds of it: the whole file, or what follows the base's part.
        package var storedSize: UInt64 { useBase ? size - min(size, baseSize) : size }

        package var dataFile: String { dataFileName ?? name }
    }

    package var version: Int?
    package var timestamp: String?
    package var files: [File]

    package struct Malformed: Error, CustomStringConvertible {
        package var description: String
    }

    /// Read with `XMLTree` (libxml2, opened on first use) rather than FoundationXML, whose import
    /// alone would load libxml2 and ICU at every start of every command.
    package static func parse(_ data: Data) throws -> ClickHouseBackupIndex {
        let root: XMLTree
        do {
            root = try XMLTree.parse(data)
        } catch {
            throw Malformed(description: "XML error: \(error)")
        }
        guard root.name == "config" else { throw Malformed(description: "no <config> element") }
        func value(_ element: XMLTree, _ name: String) -> String? {
            element.text(of: name).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let files = root.child("contents")?.children("file").map { file -> File in
            let size = UInt64(value(file, "size") ?? "") ?? 0
            let useBase = value(file, "use_base") == "true" || value(file, "use_base") == "1"
            return File(
                name: value(file, "name") ?? "", size: size, checksum: value(file, "checksum"), useBase: useBase,
                baseSize: UInt64(value(file, "base_size") ?? "") ?? (useBase ? size : 0), dataFileName: value(file, "data_file"))
        }
        return ClickHouseBackupIndex(version: value(root, "version").flatMap { Int($0) }, timestamp: value(root, "timestamp"), files: files ?? [])
    }
}

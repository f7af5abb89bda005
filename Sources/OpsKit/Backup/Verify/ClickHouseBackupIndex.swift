import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

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

    package static func parse(_ data: Data) throws -> ClickHouseBackupIndex {
        let reader = IndexReader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        guard parser.parse(), reader.sawConfig else {
            throw Malformed(description: parser.parserError.map { "XML error: \($0.localizedDescription)" } ?? "no <config> element")
        }
        return ClickHouseBackupIndex(version: reader.version, timestamp: reader.timestamp, files: reader.files)
    }
}

/// Collects `<config>/<version>`, `<timestamp>` and `<contents>/<file>` elements.
private final class IndexReader: NSObject, XMLParserDelegate {
    var sawConfig = false
    var version: Int?
    var timestamp: String?
    var files: [ClickHouseBackupIndex.File] = []
    private var path: [String] = []
    private var text = ""
    private var current: [String: String] = [:]

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        path.append(name)
        text = ""
        if path == ["config"] { sawConfig = true }
        if path == ["config", "contents", "file"] { current = [:] }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch path {
        case ["config", "version"]: version = Int(value)
        case ["config", "timestamp"]: timestamp = value
        case ["config", "contents", "file"]:
            let size = UInt64(current["size"] ?? "") ?? 0
            let useBase = current["use_base"] == "true" || current["use_base"] == "1"
            files.append(.init(name: current["name"] ?? "", size: size, checksum: current["checksum"], useBase: useBase,
                               baseSize: UInt64(current["base_size"] ?? "") ?? (useBase ? size : 0),
                               dataFileName: current["data_file"]))
        default:
            if path.count == 4, Array(path.prefix(3)) == ["config", "contents", "file"] { current[name] = value }
        }
        path.removeLast()
        text = ""
    }
}

import Foundation
import Synchronization

/// Manifests that cannot be read: a YAML error at file:line:column, a failed `kubectl kustomize`,
/// a path that does not exist. The static checks report it as their error.
package struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package var hint: String?

    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    package var description: String { message }
}

/// Reads manifests the way `kubectl apply -f` and kustomize users lay them out: one file, a
/// directory of YAML and JSON files (recursively), or a kustomization directory rendered with
/// `kubectl kustomize`. Multi-document files and `List` kinds are expanded; every object keeps
/// the file and line it starts at.
///
/// Large files are split at `---` document markers and parsed in parallel: a marker at the
/// start of a line always ends a document (YAML forbids it inside any scalar), so the split is
/// exact, and only the line numbers need shifting.
package struct ManifestLoader: Sendable {
    package var kubectl: Kubectl
    package var defaultNamespace: String?
    /// Paths under this directory are shown relative to it.
    package var workingDirectory: String

    package static let kustomizationNames = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
    static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]
    /// Files larger than this are split into chunks parsed concurrently.
    static let chunkBytes = 256 << 10

    package init(kubectl: Kubectl, defaultNamespace: String?, workingDirectory: String) {
        self.kubectl = kubectl
        self.defaultNamespace = defaultNamespace
        self.workingDirectory = workingDirectory
    }

    /// Loads `path` (absolute): a file, a kustomization, or a directory of manifests.
    package func load(_ path: String) throws -> ManifestIndex {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ManifestError("\(display(path)) does not exist", hint: "pass --manifests with a file or directory of Kubernetes manifests")
        }
        if !isDirectory.boolValue {
            return try parse(files: [path], sources: [display(path)])
        }
        if Self.isKustomization(path) {
            let rendered: Data
            do {
                rendered = try kubectl.kustomize(path)
            } catch let error as KubectlError {
                throw ManifestError("kubectl kustomize \(display(path)) failed: \(error.description)", hint: error.hint)
            }
            let name = "kustomize:\(display(path))"
            return try parse(chunks: Self.split(rendered, file: name), sources: [name])
        }
        let (files, kustomizations) = try walk(path)
        if !kustomizations.isEmpty {
            throw ManifestError(
                "\(display(path)) holds kustomizations (\(kustomizations.map(display).joined(separator: ", "))), so its files are not one set of manifests",
                hint: "pass one of them with --manifests, e.g. --manifests \(display(kustomizations.last!))")
        }
        if files.isEmpty {
            throw ManifestError("\(display(path)) holds no .yaml, .yml or .json files", hint: "pass --manifests with the directory of Luminate's manifests")
        }
        return try parse(files: files, sources: files.map(display))
    }

    package static func isKustomization(_ directory: String) -> Bool {
        kustomizationNames.contains { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }

    /// Manifest files under `directory`, sorted, and subdirectories that are kustomizations
    /// (whose files belong to kustomize, not to a plain directory of manifests).
    private func walk(_ directory: String) throws -> (files: [String], kustomizations: [String]) {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw ManifestError("cannot read the directory \(display(directory))")
        }
        var files: [String] = []
        var kustomizations: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let full = directory + "/" + relative
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") {
                enumerator.skipDescendants()
                continue
            }
            if Self.kustomizationNames.contains(name) {
                kustomizations.append((full as NSString).deletingLastPathComponent)
                continue
            }
            if Self.manifestExtensions.contains((name as NSString).pathExtension.lowercased()) {
                files.append(full)
            }
        }
        // Files inside a kustomization belong to it.
        files.removeAll { file in kustomizations.contains { file.hasPrefix($0 + "/") } }
        return (files.sorted(), kustomizations.sorted())
    }

    private func parse(files: [String], sources: [String]) throws -> ManifestIndex {
        var chunks: [Chunk] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ManifestError("cannot read \(display(file))", hint: "check its permissions")
            }
            chunks += Self.split(data, file: display(file))
        }
        return try parse(chunks: chunks, sources: sources)
    }

    private func parse(chunks: [Chunk], sources: [String]) throws -> ManifestIndex {
        let results = Mutex<[Int: Result<Parsed, ManifestError>]>([:])
        let namespace = defaultNamespace
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            let result = Result { try Self.parse(chunks[index], defaultNamespace: namespace) }
                .mapError { $0 as? ManifestError ?? ManifestError("\($0)") }
            results.withLock { $0[index] = result }
        }
        var objects: [ManifestObject] = []
        var documents: [ManifestDocument] = []
        try results.withLock { all in
            for index in chunks.indices {
                let parsed = try all[index]!.get()
                objects += parsed.objects
                documents += parsed.documents
            }
        }
        return ManifestIndex(objects: objects, documents: documents, sources: sources)
    }

    /// A piece of one file: whole documents, and the line the piece starts on.
    struct Chunk: Sendable {
        var data: Data
        var file: String
        var firstLine: Int
    }

    /// What one chunk held.
    private struct Parsed: Sendable {
        var objects: [ManifestObject] = []
        var documents: [ManifestDocument] = []
    }

    /// Splits `data` into chunks of about `chunkBytes` at lines that begin with `---`.
    static func split(_ data: Data, file: String) -> [Chunk] {
        guard data.count > chunkBytes else { return [Chunk(data: data, file: file, firstLine: 1)] }
        let bytes = [UInt8](data)
        var chunks: [Chunk] = []
        var start = 0, startLine = 1, line = 1
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0A {
                line += 1
                let next = index + 1
                if next - start >= chunkBytes, isDocumentMarker(bytes, at: next) {
                    chunks.append(Chunk(data: Data(bytes[start..<next]), file: file, firstLine: startLine))
                    start = next
                    startLine = line
                }
            }
            index += 1
        }
        if start < bytes.count { chunks.append(Chunk(data: Data(bytes[start...]), file: file, firstLine: startLine)) }
        return chunks
    }

    /// `---` followed by a space, a tab, a line break or the end.
    private static func isDocumentMarker(_ bytes: [UInt8], at index: Int) -> Bool {
        guard index + 2 < bytes.count, bytes[index] == 0x2D, bytes[index + 1] == 0x2D, bytes[index + 2] == 0x2D else { return false }
        let after = index + 3
        return after == bytes.count || [0x20, 0x09, 0x0A, 0x0D].contains(bytes[after])
    }

    private static func parse(_ chunk: Chunk, defaultNamespace: String?) throws -> Parsed {
        let shift = chunk.firstLine - 1
        func shifted(_ mark: SourceMark) -> SourceMark {
            SourceMark(file: mark.file, line: mark.line + shift, column: mark.column)
        }
        let documents: [ManifestYAML.Document]
        do {
            documents = try ManifestYAML.parse(chunk.data, file: chunk.file)
        } catch let error as YAMLSyntaxError {
            throw ManifestError("\(shifted(error.mark)): malformed YAML: \(error.message)", hint: "fix the file; no static check can run on manifests that do not parse")
        }
        var parsed = Parsed()
        for document in documents where document.value.object != nil {
            let json = document.value
            if let kind = json["kind"]?.string, kind.hasSuffix("List"), json["apiVersion"] != nil, let items = json["items"]?.array {
                for (index, item) in items.enumerated() {
                    let mark = index < document.itemMarks.count ? shifted(document.itemMarks[index]) : shifted(document.mark)
                    if let object = ManifestObject(item, mark: mark, defaultNamespace: defaultNamespace) {
                        parsed.objects.append(object)
                    }
                }
                continue
            }
            let mark = shifted(document.mark)
            if let object = ManifestObject(json, mark: mark, defaultNamespace: defaultNamespace) {
                parsed.objects.append(object)
            } else {
                parsed.documents.append(ManifestDocument(json: json, mark: mark))
            }
        }
        return parsed
    }

    private func display(_ path: String) -> String {
        let base = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}

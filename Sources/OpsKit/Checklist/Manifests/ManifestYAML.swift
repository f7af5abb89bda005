import CYAML
import Foundation

/// Manifests straight from libyaml's events into `JSONValue`, for runs over tens of thousands
/// of objects. `YAML.parseDocuments` builds a `YAMLNode` tree first (which configuration
/// errors need, with a mark on every node); for manifests only each document's mark (and each
/// `List` item's) is kept, and building the JSON directly halves the work and the memory.
///
/// Kubernetes' reading of YAML, as `YAMLNode.jsonValue`: quoted scalars are strings; plain
/// `true`/`false`, `null`/`~`/empty and YAML 1.2 core numbers are typed; everything else
/// (`1h`, `0x1F`, `yes`) stays a string. Anchors and aliases resolve; merge keys (`<<`) are an
/// error, as in Kubernetes.
package enum ManifestYAML {
    /// One document: its value, where it starts, and where each item of a top-level `items`
    /// list starts (for `List` kinds).
    package struct Document: Sendable {
        package var value: JSONValue
        package var mark: SourceMark
        package var itemMarks: [SourceMark]
    }

    package static func parse(_ data: Data, file: String) throws -> [Document] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLSyntaxError(mark: SourceMark(file: file, line: 1, column: 1), message: "cannot initialise the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Document] in
            let bytes = raw.bindMemory(to: UInt8.self)
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var builder = Builder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    let context = parser.context.map { " " + String(cString: $0) } ?? ""
                    throw YAMLSyntaxError(mark: builder.mark(parser.problem_mark), message: problem + context)
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.consume(event)
            }
            return builder.documents
        }
    }

    /// An open sequence or mapping.
    private struct Frame {
        var isMapping: Bool
        var items: [JSONValue] = []
        var entries: [(String, JSONValue)] = []
        /// A mapping's key waiting for its value.
        var key: String?
        var anchor: String?
        var mark: SourceMark
        /// Whether this is the sequence under the document's top-level `items` key.
        var isTopLevelItems = false
        /// Whether this collection is a mapping key (complex keys read as "", as Kubernetes has none).
        var isKey = false
    }

    private struct Builder {
        let file: String
        var documents: [Document] = []
        var stack: [Frame] = []
        var anchors: [String: JSONValue] = [:]
        var documentMark: SourceMark?
        var itemMarks: [SourceMark] = []

        init(file: String) { self.file = file }

        func mark(_ mark: yaml_mark_t) -> SourceMark {
            SourceMark(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
        }

        mutating func consume(_ event: yaml_event_t) throws {
            switch event.type {
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let quoted = scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                    || scalar.style == YAML_LITERAL_SCALAR_STYLE || scalar.style == YAML_FOLDED_SCALAR_STYLE
                    || (scalar.tag.map { String(cString: $0) } == "tag:yaml.org,2002:str")
                if let top = stack.last, top.isMapping, top.key == nil {
                    // A key: kept as text, whatever it looks like.
                    if !quoted, text == "<<" {
                        throw YAMLSyntaxError(mark: mark(event.start_mark), message: "merge keys (<<) are not supported")
                    }
                    stack[stack.count - 1].key = text
                    if let anchor = scalar.anchor { anchors[String(cString: anchor)] = .string(text) }
                    return
                }
                let value = quoted ? JSONValue.string(text) : Self.typed(text)
                if let anchor = scalar.anchor { anchors[String(cString: anchor)] = value }
                try add(value, at: event.start_mark)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard let value = anchors[name] else {
                    throw YAMLSyntaxError(mark: mark(event.start_mark), message: "unknown alias *\(name)")
                }
                if let top = stack.last, top.isMapping, top.key == nil {
                    stack[stack.count - 1].key = value.string ?? ""
                    return
                }
                try add(value, at: event.start_mark)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let start = mark(event.start_mark)
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = (isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor).map { String(cString: $0) }
                if documentMark == nil { documentMark = start }
                var frame = Frame(isMapping: isMapping, anchor: anchor, mark: start)
                if let parent = stack.last, parent.isMapping, parent.key == nil { frame.isKey = true }
                if !isMapping, stack.count == 1, stack[0].isMapping, stack[0].key == "items" { frame.isTopLevelItems = true }
                if let parent = stack.last, parent.isTopLevelItems { itemMarks.append(start) }
                stack.append(frame)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                let value: JSONValue = frame.isMapping ? .object(frame.entries) : .array(frame.items)
                if let anchor = frame.anchor { anchors[anchor] = value }
                if frame.isKey {
                    stack[stack.count - 1].key = ""
                    return
                }
                try add(value, at: nil)
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:]
                documentMark = nil
                itemMarks = []
            default:
                break
            }
        }

        /// Adds a finished value to the open collection, or ends the document with it.
        mutating func add(_ value: JSONValue, at start: yaml_mark_t?) throws {
            guard !stack.isEmpty else {
                // Empty documents (and a lone `null`) are dropped, as kubectl does.
                if case .null = value { return }
                let where_ = documentMark ?? start.map(mark) ?? SourceMark(file: file, line: 1, column: 1)
                documents.append(Document(value: value, mark: where_, itemMarks: itemMarks))
                return
            }
            let top = stack.count - 1
            if stack[top].isMapping {
                let key = stack[top].key ?? ""
                stack[top].key = nil
                // The last of repeated keys wins, as in `YAMLNode.jsonValue`.
                if let index = stack[top].entries.firstIndex(where: { $0.0 == key }) { stack[top].entries.remove(at: index) }
                stack[top].entries.append((key, value))
            } else {
                // Collections recorded their start when they opened; scalars and aliases here.
                if stack[top].isTopLevelItems, let start { itemMarks.append(mark(start)) }
                stack[top].items.append(value)
            }
        }

        /// A plain scalar as Kubernetes types it.
        static func typed(_ text: String) -> JSONValue {
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            if isNumber(text), let number = Double(text) { return .number(number) }
            return .string(text)
        }

        /// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, without a regular expression
        /// (this runs for every plain scalar of every manifest).
        static func isNumber(_ text: String) -> Bool {
            var bytes = text.utf8[...]
            guard let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || (first >= 48 && first <= 57) else { return false }
            if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            func digits(_ slice: inout Substring.UTF8View.SubSequence) -> Int {
                var count = 0
                while let byte = slice.first, byte >= 48, byte <= 57 { slice = slice.dropFirst(); count += 1 }
                return count
            }
            if bytes.first == UInt8(ascii: ".") {
                bytes = bytes.dropFirst()
                guard digits(&bytes) > 0 else { return false }
            } else {
                guard digits(&bytes) > 0 else { return false }
                if bytes.first == UInt8(ascii: ".") {
                    bytes = bytes.dropFirst()
                    _ = digits(&bytes)
                }
            }
            if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                bytes = bytes.dropFirst()
                if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
                guard digits(&bytes) > 0 else { return false }
            }
            return bytes.isEmpty
        }
    }
}

import CYAML
import Foundation

/// A position in a source file, 1-based, for errors an operator can jump to.
package struct SourceMark: Sendable, Equatable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var column: Int

    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    package var description: String { "\(file):\(line):\(column)" }
}

/// One YAML node with the place it came from. Scalars keep their text and whether they were
/// quoted, so typed readers decide what `yes`, `010` or `1h` mean in their context rather than
/// YAML 1.1's surprising implicit typing.
package struct YAMLNode: Sendable {
    package indirect enum Value: Sendable {
        case scalar(String, quoted: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    package var value: Value
    package var mark: SourceMark

    package init(_ value: Value, mark: SourceMark) {
        self.value = value
        self.mark = mark
    }

    /// The scalar's text, or nil for a sequence or mapping.
    package var scalar: String? {
        if case .scalar(let text, _) = value { return text }
        return nil
    }

    /// A plain `null`, `~` or empty scalar.
    package var isNull: Bool {
        if case .scalar(let text, let quoted) = value, !quoted {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    package var mappingEntries: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    package var sequenceItems: [YAMLNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    /// The value under a key of a mapping (the last one if a key repeats).
    package subscript(key: String) -> YAMLNode? {
        mappingEntries?.last { $0.key.scalar == key }?.value
    }

    /// What kind of node this is, in words for error messages.
    package var kindName: String {
        switch value {
        case .scalar: isNull ? "null" : "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// The node as a JSON-compatible value (Kubernetes' reading of YAML: plain `true`/`false`,
    /// numbers and `null` are typed, everything else is a string).
    package var jsonValue: JSONValue {
        switch value {
        case .scalar(let text, let quoted):
            if quoted { return .string(text) }
            if isNull { return .null }
            switch text {
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            if let number = YAMLNode.number(text) { return .number(number) }
            return .string(text)
        case .sequence(let items):
            return .array(items.map(\.jsonValue))
        case .mapping(let entries):
            var object: [(String, JSONValue)] = []
            for (key, value) in entries {
                let name = key.scalar ?? ""
                object.removeAll { $0.0 == name }
                object.append((name, value.jsonValue))
            }
            return .object(object)
        }
    }

    private static func number(_ text: String) -> Double? {
        guard let first = text.first, first.isNumber || first == "-" || first == "+" || first == "." else { return nil }
        // YAML 1.2 core schema integers and floats; `1h`, `0x1F`, `1_000` stay strings.
        let pattern = #"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"#
        guard text.range(of: pattern, options: .regularExpression) != nil else { return nil }
        return Double(text)
    }
}

/// A YAML syntax error, with where it happened.
package struct YAMLSyntaxError: Error, Equatable, CustomStringConvertible {
    package var mark: SourceMark
    package var message: String

    package var description: String { "\(mark): \(message)" }
}

/// YAML parsing through libyaml.
package enum YAML {
    /// Parses every document of a (possibly multi-document) YAML text. Empty documents are
    /// dropped, as kubectl does.
    package static func parseDocuments(_ data: Data, file: String) throws -> [YAMLNode] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLSyntaxError(mark: SourceMark(file: file, line: 1, column: 1), message: "cannot initialise the YAML parser")
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    throw builder.syntaxError(parser)
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.consume(event)
            }
            return builder.documents
        }
    }

    /// Parses a single-document YAML text; more than one document is an error.
    package static func parse(_ data: Data, file: String) throws -> YAMLNode? {
        let documents = try parseDocuments(data, file: file)
        if documents.count > 1 {
            throw YAMLSyntaxError(mark: documents[1].mark, message: "expected one YAML document, found \(documents.count)")
        }
        return documents.first
    }

    /// Folds libyaml's event stream into node trees, resolving anchors and aliases.
    private struct Builder {
        let file: String
        var documents: [YAMLNode] = []
        var anchors: [String: YAMLNode] = [:]
        /// Open collections: the node so far and its anchor.
        var stack: [(node: YAMLNode, anchor: String?)] = []

        init(file: String) { self.file = file }

        func mark(_ mark: yaml_mark_t) -> SourceMark {
            SourceMark(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
        }

        func syntaxError(_ parser: yaml_parser_t) -> YAMLSyntaxError {
            let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
            var message = problem
            if let context = parser.context.map({ String(cString: $0) }) { message = "\(problem) \(context)" }
            return YAMLSyntaxError(mark: mark(parser.problem_mark), message: message)
        }

        mutating func consume(_ event: yaml_event_t) throws {
            let start = mark(event.start_mark)
            switch event.type {
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(
                    decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let quoted = scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
                    || scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                    || scalar.style == YAML_LITERAL_SCALAR_STYLE
                    || scalar.style == YAML_FOLDED_SCALAR_STYLE
                    || (scalar.tag.map { String(cString: $0) } == "tag:yaml.org,2002:str")
                let node = YAMLNode(.scalar(text, quoted: quoted), mark: start)
                if let anchor = scalar.anchor { anchors[String(cString: anchor)] = node }
                try add(node)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard var node = anchors[name] else {
                    throw YAMLSyntaxError(mark: start, message: "unknown alias *\(name)")
                }
                node.mark = start
                try add(node)
            case YAML_SEQUENCE_START_EVENT:
                stack.append((YAMLNode(.sequence([]), mark: start), event.data.sequence_start.anchor.map { String(cString: $0) }))
            case YAML_MAPPING_START_EVENT:
                stack.append((YAMLNode(.mapping([]), mark: start), event.data.mapping_start.anchor.map { String(cString: $0) }))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let (node, anchor) = stack.removeLast()
                if case .mapping(let entries) = node.value, entries.last?.value.mark.line == -1 {
                    throw YAMLSyntaxError(mark: start, message: "mapping key without a value")
                }
                if let anchor { anchors[anchor] = node }
                try add(node)
            case YAML_DOCUMENT_START_EVENT:
                anchors = [:]
            default:
                break
            }
        }

        /// Adds a finished node to the innermost open collection, or ends a document.
        mutating func add(_ node: YAMLNode) throws {
            guard var parent = stack.popLast() else {
                if !node.isNull { documents.append(node) }
                return
            }
            switch parent.node.value {
            case .sequence(var items):
                items.append(node)
                parent.node.value = .sequence(items)
            case .mapping(var entries):
                // A key is stored with a placeholder value (line -1) until its value arrives.
                if let last = entries.last, last.value.mark.line == -1 {
                    entries[entries.count - 1].value = node
                } else {
                    if node.scalar == "<<" {
                        // Merge keys are a YAML 1.1 feature Kubernetes does not support either.
                        throw YAMLSyntaxError(mark: node.mark, message: "merge keys (<<) are not supported")
                    }
                    entries.append((node, YAMLNode(.scalar("", quoted: false), mark: SourceMark(file: file, line: -1, column: -1))))
                }
                parent.node.value = .mapping(entries)
            case .scalar:
                break
            }
            stack.append(parent)
        }
    }
}

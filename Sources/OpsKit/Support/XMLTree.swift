import CXML
import Foundation

/// One XML element and everything under it, as read by libxml2's reader: the local name
/// (namespaces are dropped: S3 puts its whole answer in one default namespace), the text directly
/// inside it, and its child elements in document order. Attributes are not kept; the documents
/// luminatectl reads (S3's) carry none it needs.
package struct XMLTree: Sendable, Equatable {
    package var name: String
    package var text: String
    package var children: [XMLTree]

    package init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The first child element named `name`.
    package func child(_ name: String) -> XMLTree? {
        children.first { $0.name == name }
    }

    /// Every child element named `name`, in order.
    package func children(_ name: String) -> [XMLTree] {
        children.filter { $0.name == name }
    }

    /// The text of the first child named `name`; nil when there is no such child.
    package func text(of name: String) -> String? {
        child(name)?.text
    }

    /// Parses a whole document and returns its root element.
    ///
    /// libxml2 runs with network access off and entity substitution off (external entities are
    /// never fetched, internal ones are not expanded), its own error printing suppressed: the
    /// first error comes back in `XMLError.malformed` instead of on stderr.
    ///
    /// Whitespace before the document is skipped: S3 keeps a slow CompleteMultipartUpload alive by
    /// sending spaces, and an XML declaration that does not come first is otherwise an error.
    package static func parse(_ data: Data) throws -> XMLTree {
        if let missing = libraryError { throw XMLError.libraryMissing(reason: missing) }
        let leading = data.prefix { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }.count
        let data = leading == 0 ? data : data.dropFirst(leading)
        guard data.count < Int(Int32.max) else { throw XMLError.malformed(detail: "document larger than 2 GB") }
        let options = Int32(LUMINATE_XML_PARSE_NONET | LUMINATE_XML_PARSE_NOERROR | LUMINATE_XML_PARSE_NOWARNING
            | LUMINATE_XML_PARSE_NOCDATA)
        return try data.withUnsafeBytes { buffer -> XMLTree in
            let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
            guard let base, buffer.count > 0 else { throw XMLError.malformed(detail: "empty document") }
            guard let reader = luminate_xml_reader_for_memory(base, Int32(buffer.count), options) else {
                throw XMLError.malformed(detail: "libxml2 could not start reading")
            }
            defer { luminate_xml_free_reader(reader) }
            let errors = ParseErrors()
            let box = Unmanaged.passUnretained(errors).toOpaque()
            // The locator's line number is that of the chunk being parsed, not of the error (2.9):
            // the message alone, which names the lines of mismatched tags itself.
            luminate_xml_set_error_handler(reader, { arg, message, severity, _ in
                guard let arg, severity >= 3 else { return }
                let errors = Unmanaged<ParseErrors>.fromOpaque(arg).takeUnretainedValue()
                guard errors.first == nil else { return }
                errors.first = message.map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "error"
            }, box)
            return try withExtendedLifetime(errors) { try build(reader, errors: errors) }
        }
    }

    /// Reads nodes into a tree: a stack of open elements, text appended to the innermost.
    private static func build(_ reader: OpaquePointer, errors: ParseErrors) throws -> XMLTree {
        var stack: [XMLTree] = []
        var root: XMLTree?
        func close() {
            let element = stack.removeLast()
            if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
        }
        while true {
            let status = luminate_xml_read(reader)
            if status < 0 { throw XMLError.malformed(detail: errors.first ?? "not well-formed XML") }
            if status == 0 { break }
            switch luminate_xml_node_type(reader) {
            case Int32(LUMINATE_XML_ELEMENT):
                let name = luminate_xml_local_name(reader).map { String(cString: $0) } ?? ""
                guard root == nil else { throw XMLError.malformed(detail: "content after the root element") }
                stack.append(XMLTree(name: name))
                if luminate_xml_is_empty_element(reader) == 1 { close() }
            case Int32(LUMINATE_XML_END_ELEMENT):
                if !stack.isEmpty { close() }
            case Int32(LUMINATE_XML_TEXT), Int32(LUMINATE_XML_CDATA), Int32(LUMINATE_XML_SIGNIFICANT_WHITESPACE):
                if !stack.isEmpty, let value = luminate_xml_value(reader) {
                    stack[stack.count - 1].text += String(cString: value)
                }
            default:
                continue  // comments, processing instructions, the XML declaration, whitespace
            }
        }
        if let first = errors.first { throw XMLError.malformed(detail: first) }
        guard let root else { throw XMLError.malformed(detail: "no root element") }
        return root
    }

    /// nil once libxml2 is bound; else why it could not be loaded.
    private static let libraryError: String? = luminate_xml_load().map { String(cString: $0) }
}

/// Where the reader's error callback leaves the first error of one parse.
private final class ParseErrors {
    var first: String?
}

/// Why a document could not be read.
package enum XMLError: Error, Equatable, CustomStringConvertible {
    case malformed(detail: String)
    case libraryMissing(reason: String)

    package var description: String {
        switch self {
        case .malformed(let detail): "malformed XML: \(detail)"
        case .libraryMissing(let reason): "libxml2 could not be loaded (\(reason)); install it with apt-get install libxml2"
        }
    }
}

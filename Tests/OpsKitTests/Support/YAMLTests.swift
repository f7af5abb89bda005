import XCTest
@testable import OpsKit

final class YAMLTests: XCTestCase {
    func testMultiDocumentWithMarksAndTypes() throws {
        let text = """
            apiVersion: v1
            kind: ConfigMap
            data:
              replicas: 3
              quoted: "3"
              flag: true
              empty:
            ---
            # only a comment
            ---
            - a
            - &x {b: 1.5}
            - *x
            """
        let docs = try YAML.parseDocuments(Data(text.utf8), file: "m.yaml")
        XCTAssertEqual(docs.count, 2, "the comment-only document is dropped")
        XCTAssertEqual(docs[0]["kind"]?.scalar, "ConfigMap")
        XCTAssertEqual(docs[0]["data"]?["replicas"]?.mark, SourceMark(file: "m.yaml", line: 4, column: 13))
        let json = docs[0].jsonValue
        XCTAssertEqual(json[path: "data.replicas"], .number(3))
        XCTAssertEqual(json[path: "data.quoted"], .string("3"))
        XCTAssertEqual(json[path: "data.flag"], .bool(true))
        XCTAssertEqual(json[path: "data.empty"], .null)
        XCTAssertEqual(docs[1].jsonValue, ["a", ["b": 1.5], ["b": 1.5]])
    }

    func testSyntaxErrorHasLineAndColumn() {
        let text = "a: 1\nb: [1, 2\nc: 3\n"
        XCTAssertThrowsError(try YAML.parseDocuments(Data(text.utf8), file: "bad.yaml")) { error in
            guard let error = error as? YAMLSyntaxError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.mark.file, "bad.yaml")
            XCTAssertEqual(error.mark.line, 3)
            XCTAssertTrue(error.description.hasPrefix("bad.yaml:3:"), error.description)
        }
    }

    func testTabIndentationIsAnError() {
        XCTAssertThrowsError(try YAML.parseDocuments(Data("a:\n\tb: 1\n".utf8), file: "t.yaml"))
    }

    func testUnknownAliasIsAnError() {
        XCTAssertThrowsError(try YAML.parseDocuments(Data("a: *nope\n".utf8), file: "t.yaml")) { error in
            XCTAssertTrue("\(error)".contains("t.yaml:1:"), "\(error)")
        }
    }

    func testRandomInputNeverCrashes() {
        // The loader faces hand-edited files: arbitrary bytes must give a value or an error.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab:- \n\t{}[],&*!|>'\"#%@`?~0123456789.\u{00e9}\u{0000}")
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<80, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            _ = try? YAML.parseDocuments(Data(text.utf8), file: "fuzz.yaml")
        }
        for _ in 0..<1000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? YAML.parseDocuments(Data(bytes), file: "fuzz.yaml")
        }
    }

    func testJSONRendering() {
        let value: JSONValue = ["b": 1, "a": ["x", true, nil, 2.5], "s": "q\"\n"]
        XCTAssertEqual(value.rendered(), #"{"b":1,"a":["x",true,null,2.5],"s":"q\"\n"}"#)
        XCTAssertEqual(try JSONValue.parse(Data(value.rendered().utf8)), value)
    }
}

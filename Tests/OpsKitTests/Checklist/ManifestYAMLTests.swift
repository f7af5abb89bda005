import XCTest
@testable import OpsKit

/// The manifests' direct YAML-to-JSON reader reads exactly what `YAMLNode.jsonValue` reads
/// (Kubernetes' typing), only faster.
final class ManifestYAMLTests: XCTestCase {
    func assertSame(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fast = try ManifestYAML.parse(Data(text.utf8), file: "t.yaml")
        let tree = try YAML.parseDocuments(Data(text.utf8), file: "t.yaml")
        XCTAssertEqual(fast.map(\.value), tree.map(\.jsonValue), file: file, line: line)
        XCTAssertEqual(fast.map(\.mark), tree.map(\.mark), file: file, line: line)
    }

    func testTypingMatchesTheTreeReader() throws {
        try assertSame("""
            a: 1
            b: -2.5e3
            c: .5
            d: "3"
            e: 1h
            f: 0x1F
            g: yes
            h: ~
            i:
            j: [true, False, NULL, null, '', 010, 1_000, +7, 3., 1e, .]
            k: |
              block
            l: !!str 42
            m: {x: {y: [1, {z: 2}]}}
            """)
        try assertSame("---\n---\nkind: A\n---\n# only a comment\n---\n- 1\n- two\n")
        for file in try FileManager.default.contentsOfDirectory(atPath: ChecklistFixtures.good) where file.hasSuffix(".yaml") {
            try assertSame(String(contentsOfFile: ChecklistFixtures.good + "/" + file, encoding: .utf8))
        }
    }

    func testAnchorsAliasesRepeatedKeysAndComplexKeys() throws {
        let documents = try ManifestYAML.parse(Data("""
            base: &b {cpu: 1, memory: 2Gi}
            copy: *b
            name: &n luminate
            again: *n
            dup: 1
            dup: 2
            ? [complex, key]
            : value
            """.utf8), file: "t.yaml")
        XCTAssertEqual(documents[0].value, [
            "base": ["cpu": 1, "memory": "2Gi"], "copy": ["cpu": 1, "memory": "2Gi"], "name": "luminate", "again": "luminate", "dup": 2, "": "value",
        ])
        XCTAssertThrowsError(try ManifestYAML.parse(Data("a: &x {b: 1}\nc:\n  <<: *x\n".utf8), file: "m.yaml")) { error in
            XCTAssertEqual("\(error)", "m.yaml:3:3: merge keys (<<) are not supported")
        }
        XCTAssertThrowsError(try ManifestYAML.parse(Data("a: *nowhere\n".utf8), file: "m.yaml")) { error in
            XCTAssertEqual("\(error)", "m.yaml:1:4: unknown alias *nowhere")
        }
    }

    func testListItemsKeepTheirOwnLines() throws {
        let documents = try ManifestYAML.parse(Data("""
            apiVersion: v1
            kind: List
            items:
              - kind: A
              - 7
              -
                kind: B
            """.utf8), file: "l.yaml")
        XCTAssertEqual(documents[0].itemMarks.map(\.line), [4, 5, 7])
    }
}

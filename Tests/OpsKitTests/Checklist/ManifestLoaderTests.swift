import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Reading manifests: multi-document files, `List` kinds, kustomizations, errors at
/// file:line:column, and large files parsed in chunks with exact line numbers.
final class ManifestLoaderTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "luminatectl-manifests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ name: String, _ text: String) throws {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func loader(_ processes: FakeProcessRunner = FakeProcessRunner()) -> ManifestLoader {
        ManifestLoader(kubectl: Kubectl(processes: processes), defaultNamespace: "luminate", workingDirectory: directory)
    }

    func testTheGoodFixture() throws {
        let index = try ChecklistFixtures.goodIndex()
        XCTAssertEqual(index.count("ServiceAccount"), 4, "the List in rbac.yaml is expanded")
        XCTAssertEqual(index.object("Role", named: "backup")?.reference, "Role/luminate/backup (good/rbac.yaml:19)")
        XCTAssertEqual(index.documents.map(\.location), ["good/rules/luminate-operations.rules.yml:2"])
        XCTAssertEqual(index.sources.count, 11)
        XCTAssertEqual(index.object("Namespace", named: "luminate")?.reference, "Namespace/luminate (good/namespace.yaml:1)")
        XCTAssertEqual(index.luminateWorkloads.map(\.reference), ["Deployment/luminate/luminate (good/luminate.yaml:1)"])
        XCTAssertEqual(index.workloads.filter(\.isClickHouse).first?.replicas, 4)
    }

    func testMultiDocumentFilesListsAndDefaultNamespace() throws {
        try write("a.yaml", """
            # comment
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: one}
            ---
            ---
            apiVersion: v1
            kind: ConfigMapList
            items:
              - apiVersion: v1
                kind: ConfigMap
                metadata: {name: two, namespace: other}
              - apiVersion: v1
                kind: ConfigMap
                metadata: {name: three}
            """)
        try write("sub/b.json", #"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "four"}}"#)
        try write("notes.txt", "not a manifest")
        let index = try loader().load(directory)
        XCTAssertEqual(index.objects.map(\.reference), [
            "ConfigMap/luminate/one (a.yaml:2)", "ConfigMap/other/two (a.yaml:10)", "ConfigMap/luminate/three (a.yaml:13)", "Secret/luminate/four (sub/b.json:1)",
        ])
    }

    func testMalformedYAMLIsAnErrorAtFileLineColumn() throws {
        try write("ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
        try write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
        XCTAssertThrowsError(try loader().load(directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix("bad.yaml:5:1: malformed YAML:"), "\(error)")
        }
    }

    func testKustomizationsAreRenderedWithKubectl() throws {
        try write("overlay/kustomization.yaml", "resources: [../base]\n")
        let processes = FakeProcessRunner()
        processes.expect("kubectl", ["kustomize", directory + "/overlay"], stdout: """
            apiVersion: v1
            kind: Service
            metadata:
              annotations:
                config.kubernetes.io/origin: |
                  path: ../base/zookeeper.yaml
              name: zookeeper
              namespace: prod
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: generated}
            """)
        let index = try loader(processes).load(directory + "/overlay")
        XCTAssertEqual(index.sources, ["kustomize:overlay"])
        XCTAssertEqual(index.objects.map(\.reference), [
            "Service/prod/zookeeper (base/zookeeper.yaml (rendered by kustomize))", "ConfigMap/luminate/generated (kustomize:overlay:10)",
        ])
        XCTAssertEqual(processes.pending, 0)
    }

    func testAFailingKustomizeIsAManifestError() throws {
        try write("kustomization.yaml", "resources: [missing.yaml]\n")
        let processes = FakeProcessRunner()
        processes.expect("kubectl", ["kustomize", directory], exit: 1, stderr: "error: accumulating resources: accumulation err='accumulating resources from 'missing.yaml': open missing.yaml: no such file or directory'\n")
        XCTAssertThrowsError(try loader(processes).load(directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix("kubectl kustomize \(directory!) failed: kubectl kustomize"), "\(error)")
            XCTAssertTrue("\(error)".contains("missing.yaml"), "\(error)")
        }
    }

    func testADirectoryOfKustomizationsAsksForOne() throws {
        try write("base/kustomization.yaml", "resources: []\n")
        try write("overlays/production/kustomization.yaml", "resources: [../../base]\n")
        XCTAssertThrowsError(try loader().load(directory)) { error in
            let error = error as! ManifestError
            XCTAssertTrue(error.message.contains("holds kustomizations (base, overlays/production)"), error.message)
            XCTAssertEqual(error.hint, "pass one of them with --manifests, e.g. --manifests overlays/production")
        }
        XCTAssertThrowsError(try loader().load(directory + "/nothing-here")) { error in
            XCTAssertEqual("\(error)", "nothing-here does not exist")
        }
    }

    func testLargeFilesAreSplitAtDocumentsWithExactLines() throws {
        var text = ""
        var expected: [Int] = []
        var line = 1
        for n in 0..<6000 {
            text += "---\n"
            line += 1
            expected.append(line)
            // A block scalar holding `---` indented: not a document marker.
            text += "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-\(n)\ndata:\n  text: |\n    ---\n    body \(n)\n"
            line += 8
        }
        try write("big.yaml", text)
        XCTAssertGreaterThan(text.utf8.count, 2 * ManifestLoader.chunkBytes)
        XCTAssertGreaterThan(ManifestLoader.split(Data(text.utf8), file: "big.yaml").count, 2)
        let index = try loader().load(directory + "/big.yaml")
        XCTAssertEqual(index.objects.count, 6000)
        XCTAssertEqual(index.objects.map { $0.mark!.line }, expected)
        XCTAssertEqual(index.objects[5999].json[path: "data.text"], "---\nbody 5999\n")

        try write("big.yaml", text + "---\napiVersion: v1\nkind: [\n")
        XCTAssertThrowsError(try loader().load(directory + "/big.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("big.yaml:\(line + 3):1: malformed YAML"), "\(error)")
        }
    }
}

import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The pure parts of a deploy: `--image`, the objects with their overrides, kubectl's diff cut
/// per object, the rollback point's journal form.
final class DeployRequestTests: XCTestCase {
    func testImageOverridesNameAContainerOrARepository() throws {
        XCTAssertEqual(try ImageOverride.parse("luminate=ghcr.io/luminate/luminate:2.5.0"),
                       ImageOverride(container: "luminate", image: "ghcr.io/luminate/luminate:2.5.0"))
        XCTAssertEqual(try ImageOverride.parse("registry:5000/luminate:2.5.0"), ImageOverride(container: nil, image: "registry:5000/luminate:2.5.0"))
        XCTAssertEqual(ImageOverride.repository("registry:5000/team/luminate:2.5.0"), "registry:5000/team/luminate")
        XCTAssertEqual(ImageOverride.repository("ghcr.io/luminate/luminate@sha256:abc"), "ghcr.io/luminate/luminate")
        XCTAssertThrowsError(try ImageOverride.parse("ghcr.io/luminate/luminate")) { error in
            XCTAssertTrue("\(error)".contains("names no tag or digest"), "\(error)")
        }
        XCTAssertThrowsError(try ImageOverride.parse("Bad_Name=img:1"))
        let byRepository = ImageOverride(container: nil, image: "ghcr.io/luminate/luminate:2.5.0")
        XCTAssertTrue(byRepository.matches(container: "anything", image: "ghcr.io/luminate/luminate:2.4.1"))
        XCTAssertFalse(byRepository.matches(container: "luminate", image: "ghcr.io/luminate/luminatectl:0.1.0"))
    }

    func testOverridesRewriteEveryPodTemplateKindAndATypoIsAnError() throws {
        let cronJob: JSONValue = ["apiVersion": "batch/v1", "kind": "CronJob", "metadata": ["name": "backup"],
                                  "spec": ["jobTemplate": ["spec": ["template": ["spec": ["containers": [["name": "backup", "image": "ghcr.io/luminate/luminatectl:0.1.0"]]]]]]]]
        let json = PodTemplates.rewritingImages(cronJob) { _, image in image.replacingOccurrences(of: "0.1.0", with: "0.2.0") }
        XCTAssertEqual(PodTemplates.images(of: json).map(\.image), ["ghcr.io/luminate/luminatectl:0.2.0"])

        let directory = NSTemporaryDirectory() + "deploy-set-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DeployFixtures.deployment(image: "ghcr.io/luminate/luminate:2.4.1").rendered().write(toFile: directory + "/deploy.json", atomically: true, encoding: .utf8)
        let loader = ManifestLoader(kubectl: Kubectl(processes: FakeProcessRunner()), defaultNamespace: "luminate", workingDirectory: directory)
        let set = try DeploySet.load(path: directory, display: "dir", overrides: [try ImageOverride.parse("luminate=ghcr.io/luminate/luminate:2.5.0")], loader: loader)
        XCTAssertEqual(set.images.map(\.image), ["ghcr.io/luminate/luminate:2.5.0"])
        XCTAssertEqual(set.overrides.first?.containers, ["Deployment/luminate luminate"])
        let documents = String(decoding: set.applyDocument, as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(documents.count, 1)
        XCTAssertEqual(try JSONValue.parse(Data(documents[0].utf8))[path: "metadata.namespace"]?.string, "luminate")
        XCTAssertThrowsError(try DeploySet.load(path: directory, display: "dir", overrides: [try ImageOverride.parse("lumniate=x:1")], loader: loader)) { error in
            XCTAssertEqual("\(error)", "--image lumniate=x:1 matches no container in dir")
            XCTAssertEqual((error as? ValidationError)?.hint, "containers there: luminate=ghcr.io/luminate/luminate:2.4.1")
        }
    }

    func testTheDiffIsCutPerObjectAndMatchedToItsManifest() {
        let deployment = ManifestObject(DeployFixtures.deployment(image: "x:1"), mark: nil, defaultNamespace: "luminate")!
        let namespace = ManifestObject(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "luminate"]], mark: nil, defaultNamespace: "luminate")!
        let text = """
            diff -u -N /tmp/LIVE-1/apps.v1.Deployment.luminate.luminate /tmp/MERGED-2/apps.v1.Deployment.luminate.luminate
            --- /tmp/LIVE-1/apps.v1.Deployment.luminate.luminate	2026-12-02
            +++ /tmp/MERGED-2/apps.v1.Deployment.luminate.luminate	2026-12-02
            @@ -6,7 +6,7 @@
            -  generation: 3
            +  generation: 4
            -        image: x:1
            +        image: x:2
            diff -u -N /tmp/LIVE-1/v1.Namespace..luminate /tmp/MERGED-2/v1.Namespace..luminate
            --- /tmp/LIVE-1/v1.Namespace..luminate
            +++ /tmp/MERGED-2/v1.Namespace..luminate
            @@ -0,0 +1,4 @@
            +apiVersion: v1
            +kind: Namespace

            """
        let summary = DiffSummary.parse(text, objects: [deployment, namespace])
        XCTAssertEqual(summary.changes.map(\.identity), ["Deployment/luminate/luminate", "Namespace/luminate"])
        XCTAssertEqual(summary.changes.map(\.summary), ["Deployment/luminate/luminate: +1 -1 lines", "Namespace/luminate: new (2 lines)"])
        XCTAssertTrue(DiffSummary.parse("", objects: []).isEmpty)
    }

    func testTheRollbackPointSurvivesTheJournalAndLeavesTheServersBookkeepingOut() throws {
        let live: JSONValue = ["apiVersion": "apps/v1", "kind": "StatefulSet",
                               "metadata": ["name": "zk", "uid": "u", "resourceVersion": "9", "generation": 2, "managedFields": [], "labels": ["a": "b"]],
                               "spec": ["replicas": 3], "status": ["readyReplicas": 3]]
        let restorable = RollbackPoint.restorable(live)
        XCTAssertEqual(restorable, ["apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "zk", "labels": ["a": "b"]], "spec": ["replicas": 3]])
        var point = DeployFixtures.point
        point.snapshots = [RollbackPoint.Snapshot(identity: "StatefulSet/luminate/zk", kind: "StatefulSet", name: "zk", namespace: "luminate", object: restorable)]
        point.created = ["ConfigMap/luminate/new"]
        point.secrets = ["Secret/luminate/creds"]
        let journaled = try JSONValue.parse(Data(point.json.rendered().utf8))
        XCTAssertEqual(RollbackPoint(json: journaled), point)
        XCTAssertEqual(point.lines.last, "Secret/luminate/creds: a Secret, never recorded: not restored by a rollback")
    }
}

import XCTest
@testable import OpsKit

final class ChangeClassifierTests: XCTestCase {
    func change(_ from: String?, _ to: String, workload: String = "Deployment/luminate", container: String = "luminate") throws -> ImageChange {
        ImageChange(workload: workload, container: container, from: try from.map(ImageReference.init), to: try ImageReference(to))
    }

    let classifier = ChangeClassifier()

    func testMajorVersionChangeIsMajor() throws {
        let result = classifier.classify([try change("ghcr.io/luminate/luminate:2.4.1", "ghcr.io/luminate/luminate:3.0.0")])
        XCTAssertEqual(result, ChangeClassification(size: .major, reasons: [
            "Deployment/luminate container luminate: 2.4.1 → 3.0.0, major version changes",
        ]))
    }

    func testMajorVersionDowngradeIsMajor() throws {
        XCTAssertEqual(classifier.classify([try change("luminate:3.0.0", "luminate:2.9.9")]).size, .major)
    }

    func testMinorAndPatchChangesAreMinor() throws {
        let result = classifier.classify([
            try change("luminate:2.4.1", "luminate:2.5.0"),
            try change("luminate:2.4.1", "luminate:2.4.2", container: "migrate"),
        ])
        XCTAssertEqual(result, ChangeClassification(size: .minor, reasons: [
            "Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2",
            "Deployment/luminate container migrate: 2.4.1 → 2.4.2, same major version 2",
        ]))
    }

    func testOneMajorChangeMakesTheSetMajor() throws {
        let result = classifier.classify([
            try change("luminate:2.4.1", "luminate:2.4.2"),
            try change("clickhouse/clickhouse-server:23.8", "clickhouse/clickhouse-server:24.3", workload: "StatefulSet/chi-luminate", container: "clickhouse"),
        ])
        XCTAssertEqual(result.size, .major)
        XCTAssertEqual(result.reasons[1], "StatefulSet/chi-luminate container clickhouse: 23.8 → 24.3, major version changes")
    }

    func testVPrefixedTagsAreVersions() throws {
        XCTAssertEqual(classifier.classify([try change("luminate:v2.4.1", "luminate:v2.5.0")]).size, .minor)
        XCTAssertEqual(classifier.classify([try change("luminate:v2.4.1", "luminate:3.0.0")]).size, .major)
        XCTAssertEqual(classifier.classify([try change("luminate:2.4", "luminate:v2.5.0-errors")]).reasons, [
            "Deployment/luminate container luminate: 2.4 → v2.5.0-errors, same major version 2",
        ])
    }

    func testRegistryWithPortIsNotMistakenForATag() throws {
        let result = classifier.classify([try change("registry.example:5000/luminate/luminate:2.4.1", "registry.example:5000/luminate/luminate:2.5.0")])
        XCTAssertEqual(result.reasons, ["Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2"])
        XCTAssertEqual(result.size, .minor)
    }

    func testMovingRegistryIsJudgedByVersion() throws {
        let result = classifier.classify([try change("ghcr.io/luminate/luminate:2.4.1", "registry.example:5000/luminate:2.4.2")])
        XCTAssertEqual(result, ChangeClassification(size: .minor, reasons: [
            "Deployment/luminate container luminate: ghcr.io/luminate/luminate:2.4.1 → registry.example:5000/luminate:2.4.2, same major version 2",
        ]))
    }

    func testADifferentImageIsMajor() throws {
        let result = classifier.classify([try change("luminate:2.4.1", "luminate-ng:2.4.1")])
        XCTAssertEqual(result, ChangeClassification(size: .major, reasons: [
            "Deployment/luminate container luminate: luminate:2.4.1 → luminate-ng:2.4.1, a different image",
        ]))
    }

    func testDigestPinnedImagesUseTheirTag() throws {
        let a = "sha256:" + String(repeating: "a", count: 64), b = "sha256:" + String(repeating: "b", count: 64)
        XCTAssertEqual(classifier.classify([try change("luminate:2.4.1@\(a)", "luminate:3.0.0@\(b)")]).reasons, [
            "Deployment/luminate container luminate: 2.4.1@sha256:aaaaaaaa → 3.0.0@sha256:bbbbbbbb, major version changes",
        ])
        XCTAssertEqual(classifier.classify([try change("luminate:2.4.1@\(a)", "luminate:2.4.1@\(b)")]), ChangeClassification(size: .minor, reasons: [
            "Deployment/luminate container luminate: 2.4.1@sha256:aaaaaaaa → 2.4.1@sha256:bbbbbbbb, same version 2.4.1 with a new digest",
        ]))
        let digestOnly = classifier.classify([try change("luminate@\(a)", "luminate@\(b)")])
        XCTAssertEqual(digestOnly, ChangeClassification(size: .major, reasons: [
            "Deployment/luminate container luminate: @sha256:aaaaaaaa → @sha256:bbbbbbbb, a digest without a tag is not a semantic version: counted as major (policy.deploy.nonSemverTags: major)",
        ]))
    }

    func testNonSemverTagsAreMajorByDefault() throws {
        let result = classifier.classify([try change("luminate:2.4.1", "luminate:main-4f2a")])
        XCTAssertEqual(result, ChangeClassification(size: .major, reasons: [
            "Deployment/luminate container luminate: 2.4.1 → main-4f2a, 'main-4f2a' is not a semantic version: counted as major (policy.deploy.nonSemverTags: major)",
        ]))
        XCTAssertEqual(classifier.classify([try change("luminate:2.4.1", "luminate")]).reasons, [
            "Deployment/luminate container luminate: 2.4.1 → latest, 'latest' is not a semantic version: counted as major (policy.deploy.nonSemverTags: major)",
        ], "an untagged image is latest")
        XCTAssertEqual(classifier.classify([try change("luminate:main-1", "luminate:main-2")]).reasons, [
            "Deployment/luminate container luminate: main-1 → main-2, 'main-1' and 'main-2' are not semantic versions: counted as major (policy.deploy.nonSemverTags: major)",
        ])
    }

    func testNonSemverTagsConfiguredMinor() throws {
        var policy = DeployPolicy()
        policy.nonSemverTagsAreMajor = false
        let result = ChangeClassifier(policy).classify([try change("luminate:latest", "luminate:main-4f2a")])
        XCTAssertEqual(result, ChangeClassification(size: .minor, reasons: [
            "Deployment/luminate container luminate: latest → main-4f2a, 'latest' and 'main-4f2a' are not semantic versions: counted as minor (policy.deploy.nonSemverTags: minor)",
        ]))
        XCTAssertEqual(ChangeClassifier(policy).classify([try change("luminate:2.4.1", "luminate:3.0.0")]).size, .major,
                       "the setting is about tags that are not versions; a major version change stays major")
    }

    func testNewContainerIsMinor() throws {
        let result = classifier.classify([try change(nil, "prom/statsd-exporter:v0.26.0", container: "exporter")])
        XCTAssertEqual(result, ChangeClassification(size: .minor, reasons: [
            "Deployment/luminate container exporter: new, prom/statsd-exporter:v0.26.0, no previous image",
        ]))
        XCTAssertEqual(classifier.classify([try change(nil, "luminate:latest")]).size, .minor, "nothing running changes")
    }

    func testUnchangedImageIsMinor() throws {
        XCTAssertEqual(classifier.classify([try change("luminate:latest", "luminate:latest")]), ChangeClassification(size: .minor, reasons: [
            "Deployment/luminate container luminate: latest → latest, unchanged",
        ]))
        XCTAssertEqual(classifier.classify([try change("luminate", "luminate:latest")]).size, .minor, "an untagged image is latest")
    }

    func testConfigurationOnlyIsMinor() {
        XCTAssertEqual(classifier.classify([]), ChangeClassification(size: .minor, reasons: ["no container image changes (configuration only)"]))
    }
}

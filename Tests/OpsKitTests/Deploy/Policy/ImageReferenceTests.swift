import XCTest
@testable import OpsKit

final class ImageReferenceTests: XCTestCase {
    let digest = "sha256:" + String(repeating: "3f1c9a2b", count: 8)

    func testRegistryPortIsNotATag() throws {
        let image = try ImageReference("registry.example:5000/luminate/luminate")
        XCTAssertEqual(image.repository, "registry.example:5000/luminate/luminate")
        XCTAssertNil(image.tag)
        XCTAssertNil(image.digest)
        XCTAssertEqual(image.registry, "registry.example:5000")
        XCTAssertEqual(image.name, "luminate")
        XCTAssertEqual(image.effectiveTag, "latest", "Kubernetes pulls latest when neither tag nor digest is given")
    }

    func testRegistryPortTagAndDigest() throws {
        let text = "registry.example:5000/luminate/luminate:2.4.1@\(digest)"
        let image = try ImageReference(text)
        XCTAssertEqual(image.repository, "registry.example:5000/luminate/luminate")
        XCTAssertEqual(image.tag, "2.4.1")
        XCTAssertEqual(image.digest, digest)
        XCTAssertEqual(image.description, text)
    }

    func testDigestOnlyHasNoEffectiveTag() throws {
        let image = try ImageReference("ghcr.io/luminate/luminate@\(digest)")
        XCTAssertNil(image.tag)
        XCTAssertEqual(image.digest, digest)
        XCTAssertNil(image.effectiveTag)
    }

    func testShortNamesHaveNoRegistry() throws {
        XCTAssertNil(try ImageReference("luminate:2.4.1").registry)
        XCTAssertNil(try ImageReference("luminate/luminate:2.4.1").registry)
        XCTAssertEqual(try ImageReference("localhost/luminate:2.4.1").registry, "localhost")
        XCTAssertEqual(try ImageReference("localhost:5000/luminate").registry, "localhost:5000")
        XCTAssertEqual(try ImageReference("luminate:v2.4.1").tag, "v2.4.1")
    }

    func testInvalidReferencesSayWhichPart() {
        let cases = [
            "": "an image reference has no spaces and is not empty",
            "luminate 2.4": "an image reference has no spaces and is not empty",
            "luminate@sha256:abc": "the digest after '@' must be sha256: and 64 hex digits",
            "luminate:": "the tag '' must be letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'",
            "luminate:-rc": "the tag '-rc' must be letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'",
            "registry.example//luminate:1.0.0": "the repository has an empty path component",
            ":1.0.0": "the repository has an empty path component",
        ]
        for (text, problem) in cases {
            XCTAssertThrowsError(try ImageReference(text), text) { error in
                XCTAssertEqual(error as? InvalidImageReference, InvalidImageReference(text: text, problem: problem))
                XCTAssertEqual("\(error)", "'\(text)' is not an image reference: \(problem)")
            }
        }
    }
}

final class SemanticVersionTests: XCTestCase {
    func testTagsThatAreVersions() {
        XCTAssertEqual(SemanticVersion(tag: "2.4.1"), SemanticVersion(major: 2, minor: 4, patch: 1))
        XCTAssertEqual(SemanticVersion(tag: "v2.4.1"), SemanticVersion(major: 2, minor: 4, patch: 1))
        XCTAssertEqual(SemanticVersion(tag: "2.4"), SemanticVersion(major: 2, minor: 4, patch: 0))
        XCTAssertEqual(SemanticVersion(tag: "2.4.1-rc.1"), SemanticVersion(major: 2, minor: 4, patch: 1, suffix: "rc.1"))
        XCTAssertEqual(SemanticVersion(tag: "2.5.0-errors")?.description, "2.5.0-errors")
        XCTAssertEqual(SemanticVersion(tag: "2.5.0-errors")?.major, 2, "a suffix keeps the version")
        XCTAssertEqual(SemanticVersion(tag: "v10.0.3-alpine-3.19")?.major, 10)
    }

    func testTagsThatAreNotVersions() {
        for tag in ["latest", "main-4f2a", "7", "20261130", "2.4.1.3", "2..1", "2.4.", "v", "2.4.1-", "2.x.1", "stable-2.4"] {
            XCTAssertNil(SemanticVersion(tag: tag), tag)
        }
    }
}

import Foundation
import XCTest
@testable import OpsKit

/// `XMLTree` over libxml2's reader: what S3's documents need, and nothing a hostile document
/// could turn against the reader.
final class XMLTreeTests: XCTestCase {
    func testReadsAnS3DocumentWithItsNamespaceEntitiesAndEmptyElements() throws {
        let root = try XMLTree.parse(Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>luminate-backups</Name>
              <Prefix/>
              <!-- a comment -->
              <Contents><Key>a &amp; b/ключ.json</Key><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>42</Size></Contents>
              <Contents><Key><![CDATA[c<d>.bin]]></Key><Size>0</Size></Contents>
              <IsTruncated>false</IsTruncated>
            </ListBucketResult>
            """.utf8))
        XCTAssertEqual(root.name, "ListBucketResult")
        XCTAssertEqual(root.text(of: "Name"), "luminate-backups")
        XCTAssertEqual(root.text(of: "Prefix"), "")
        XCTAssertNil(root.text(of: "NextContinuationToken"))
        XCTAssertEqual(root.children("Contents").map { $0.text(of: "Key") }, ["a & b/ключ.json", "c<d>.bin"])
        XCTAssertEqual(root.child("Contents")?.text(of: "ETag"), "\"9b2cf535f27731c974343645a3985328\"")
        XCTAssertEqual(root.children.map(\.name), ["Name", "Prefix", "Contents", "Contents", "IsTruncated"])
    }

    func testMalformedDocumentsSayWhereAndPrintNothing() throws {
        let (error, stderr) = try capturingStandardError {
            Result { try XMLTree.parse(Data("<Error>\n<Code>NoSuchKey</Code>\n</Eror>".utf8)) }
        }
        guard case .failure(let failure) = error, case .malformed(let detail)? = failure as? XMLError else {
            return XCTFail("expected a malformed document, got \(error)")
        }
        XCTAssertEqual(detail, "Opening and ending tag mismatch: Error line 1 and Eror")
        XCTAssertEqual(stderr, "", "libxml2 must not print its errors itself")

        for (text, expected) in [("", "malformed XML: empty document"), ("just text", nil), ("<a></a><b/>", nil)] {
            XCTAssertThrowsError(try XMLTree.parse(Data(text.utf8)), text) { error in
                if let expected { XCTAssertEqual("\(error)", expected) }
                XCTAssertTrue(error is XMLError, "\(error)")
            }
        }
    }

    func testExternalEntitiesAreNeverFetched() throws {
        let root = try? XMLTree.parse(Data("""
            <?xml version="1.0"?>
            <!DOCTYPE Error [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
            <Error><Message>&leak;</Message></Error>
            """.utf8))
        XCTAssertFalse(root?.text(of: "Message")?.contains("root:") ?? false)
    }

    /// Runs `body` with file descriptor 2 pointed at a pipe, and returns what was written to it.
    private func capturingStandardError<T>(_ body: () -> T) throws -> (T, String) {
        let pipe = Pipe()
        let saved = dup(2)
        XCTAssertGreaterThanOrEqual(saved, 0)
        dup2(pipe.fileHandleForWriting.fileDescriptor, 2)
        let result = body()
        dup2(saved, 2)
        close(saved)
        try pipe.fileHandleForWriting.close()
        let written = pipe.fileHandleForReading.readDataToEndOfFile()
        return (result, String(decoding: written, as: UTF8.self))
    }
}

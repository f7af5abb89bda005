import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `S3ClientProbe`, the S3 client behind `config check`'s backup-store row.
final class S3StoreProbeTests: XCTestCase {
    private let http = FakeHTTPTransport()
    private var secretFile = ""

    override func setUpWithError() throws {
        secretFile = NSTemporaryDirectory() + "s3-probe-secret-\(UUID().uuidString)"
        try "s3-probe-secret-0815\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: secretFile)
        XCTAssertEqual(http.pending, 0, "expected requests were not made")
    }

    private func probe() throws -> String {
        let context = Context.fake(http: http, environment: [
            "LUMINATECTL_CONTEXT": "lab",
            "LUMINATECTL_S3_ENDPOINT": "http://127.0.0.1:25000", "LUMINATECTL_S3_REGION": "us-east-1",
            "LUMINATECTL_S3_BUCKET": "luminate-backups", "LUMINATECTL_S3_PREFIX": "clickhouse/",
            "LUMINATECTL_S3_ACCESS_KEY_ID": "AKIALOCALSANDBOX", "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE": secretFile,
        ])
        let connections = Connections(configuration: try ConfigurationLoader(context: context).load(GlobalOptions()), context: context)
        return try S3ClientProbe().probe(try connections.s3Store(), connections: connections)
    }

    func testABucketThatAnswersIsDescribed() throws {
        http.expect("HEAD", "http://127.0.0.1:25000/luminate-backups") { request in
            XCTAssertEqual(request.awsSigV4, AWSSigV4Credential(
                provider: "aws:amz:us-east-1:s3", accessKeyID: "AKIALOCALSANDBOX", secretAccessKey: "s3-probe-secret-0815"))
            return HTTPResponse(status: 200)
        }
        http.expect("GET", "http://127.0.0.1:25000/luminate-backups?list-type=2&max-keys=1&prefix=clickhouse%2F", status: 200, body: """
            <ListBucketResult><Contents><Key>clickhouse/2026-12-01/manifest.json</Key><Size>9</Size></Contents><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken></ListBucketResult>
            """)
        XCTAssertEqual(try probe(), "bucket luminate-backups answers to access key AKIALOCALSANDBOX; clickhouse/ holds objects")
    }

    func testAWrongSecretIsNamedWithWhereItCameFrom() throws {
        http.expect("HEAD", "http://127.0.0.1:25000/luminate-backups", status: 403)
        http.expect("GET", "http://127.0.0.1:25000/luminate-backups?list-type=2&max-keys=1&prefix=clickhouse%2F", status: 403, body: """
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>
            """)
        XCTAssertThrowsError(try probe()) { error in
            XCTAssertEqual((error as? S3Error)?.hint, "the secret access key (from file \(secretFile)) does not belong to access key AKIALOCALSANDBOX: check backup.store.s3.secretAccessKey / LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE")
        }
    }
}

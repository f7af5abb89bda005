import Foundation
import XCTest
@testable import OpsKit

/// `S3Endpoint`: the URLs it builds (S3's encoding rules, canonical queries), its validation
/// messages, and a secret that stays out of every printed form.
final class S3EndpointTests: XCTestCase {
    private func endpoint(
        url: String = "http://127.0.0.1:9000", bucket: String = "luminate-backups", prefix: String = "",
        addressing: S3Endpoint.Addressing = .path
    ) -> S3Endpoint {
        S3Endpoint(url: url, region: "us-east-1", bucket: bucket, prefix: prefix, accessKeyID: "AKIDEXAMPLE",
                   secretAccessKey: "endpoint-test-secret", secretSource: "from file /run/secrets/s3", addressing: addressing)
    }

    func testKeysAreEncodedByS3sRules() {
        XCTAssertEqual(S3Endpoint.encodePath("daily/2026-12-02/part_001.tar~"), "daily/2026-12-02/part_001.tar~")
        XCTAssertEqual(S3Endpoint.encodePath("a b+c=d&e?f#g%h"), "a%20b%2Bc%3Dd%26e%3Ff%23g%25h")
        XCTAssertEqual(S3Endpoint.encodePath("ключ/ü"), "%D0%BA%D0%BB%D1%8E%D1%87/%C3%BC")
        XCTAssertEqual(S3Endpoint.encodePath("!$'()*,;:@[]"), "%21%24%27%28%29%2A%2C%3B%3A%40%5B%5D")
    }

    func testQueriesAreSentInTheirCanonicalForm() {
        XCTAssertEqual(
            S3Endpoint.canonicalQuery([("prefix", "prod/daily/"), ("list-type", "2"), ("max-keys", "2"),
                                       ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")]),
            "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&list-type=2&max-keys=2&prefix=prod%2Fdaily%2F")
        XCTAssertEqual(S3Endpoint.canonicalQuery([("uploads", "")]), "uploads=")
        XCTAssertEqual(S3Endpoint.canonicalQuery([("uploadId", "a b"), ("partNumber", "10")]), "partNumber=10&uploadId=a%20b")
        // By name in byte order (uppercase before lowercase), then by value.
        XCTAssertEqual(S3Endpoint.canonicalQuery([("b", "2"), ("a", "2"), ("a", "1"), ("Z", "")]), "Z=&a=1&a=2&b=2")
    }

    func testPathAndVirtualHostURLs() {
        let path = endpoint(prefix: "/prod/eu")
        XCTAssertEqual(path.prefix, "prod/eu/")
        XCTAssertEqual(path.bucketURL(), "http://127.0.0.1:9000/luminate-backups")
        XCTAssertEqual(path.bucketURL(query: [("list-type", "2")]), "http://127.0.0.1:9000/luminate-backups?list-type=2")
        XCTAssertEqual(path.objectURL(fullKey: path.fullKey("a b.json")), "http://127.0.0.1:9000/luminate-backups/prod/eu/a%20b.json")

        let virtual = endpoint(url: "https://s3.eu-west-1.amazonaws.com/", addressing: .virtualHost)
        XCTAssertEqual(virtual.bucketURL(query: [("list-type", "2")]), "https://luminate-backups.s3.eu-west-1.amazonaws.com/?list-type=2")
        XCTAssertEqual(virtual.objectURL(fullKey: "x/y.json", query: [("uploads", "")]),
                       "https://luminate-backups.s3.eu-west-1.amazonaws.com/x/y.json?uploads=")
        XCTAssertEqual(endpoint(prefix: "").prefix, "")
        XCTAssertEqual(endpoint(prefix: "prod/").prefix, "prod/")
    }

    func testValidationNamesWhatIsWrong() {
        func message(_ endpoint: S3Endpoint) -> String? {
            do { try endpoint.validate(); return nil } catch { return "\(error)" }
        }
        XCTAssertNil(message(endpoint()))
        XCTAssertNil(message(endpoint(bucket: "luminate.backups-01")))
        XCTAssertEqual(message(endpoint(url: "ftp://host")), "s3 endpoint 'ftp://host' must be an http:// or https:// URL")
        XCTAssertEqual(message(endpoint(url: "http://key:pw@host:9000")), "s3 endpoint 'http://<redacted>@host:9000' must be scheme://host[:port] only")
        XCTAssertEqual(message(endpoint(url: "http://host:9000/bucket")), "s3 endpoint 'http://host:9000/bucket' must be scheme://host[:port] only")
        for bucket in ["ab", "Luminate", "-luminate", "lumi..nate", "luminate_backups", String(repeating: "a", count: 64)] {
            XCTAssertEqual(
                message(endpoint(bucket: bucket)),
                "s3 bucket '\(bucket)' is not a valid bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")
        }
        XCTAssertEqual(message(endpoint(bucket: "a.b.c", addressing: .virtualHost)),
                       "s3 bucket 'a.b.c' contains dots, which break TLS with virtual-host-style addressing")
        var region = endpoint()
        region.region = "us east"
        XCTAssertEqual(message(region), "s3 region 'us east' must be letters, digits, '-' and '_' (e.g. us-east-1)")
        var key = endpoint()
        key.accessKeyID = ""
        XCTAssertEqual(message(key), "s3 access key id must be set, without spaces or ':'")
        var secret = endpoint()
        secret.secretAccessKey = ""
        XCTAssertEqual(message(secret), "s3 secret access key is empty (from file /run/secrets/s3)")
        XCTAssertEqual(message(endpoint(prefix: "prod/../x")), "s3 key prefix 'prod/../x/' has an empty, '.' or '..' segment")
    }

    func testTheSecretIsInNoPrintedForm() {
        let endpoint = endpoint(prefix: "prod")
        var dumped = ""
        dump(endpoint, to: &dumped)
        for text in ["\(endpoint)", dumped, String(reflecting: endpoint)] {
            XCTAssertFalse(text.contains("endpoint-test-secret"), text)
        }
        XCTAssertEqual("\(endpoint)", "s3://luminate-backups/prod/ at http://127.0.0.1:9000 (us-east-1, path-style)")
        XCTAssertEqual(Redactor.redact("x endpoint-test-secret y"), "x <redacted> y", "registered on creation")
    }
}

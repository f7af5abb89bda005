import XCTest
@testable import OpsKit

final class HTTPRequestTests: XCTestCase {
    func testDescriptionAndDumpNeverShowCredentials() {
        let request = HTTPRequest(
            method: "POST", url: "http://ops:pw-in-url@ch:8123/?query_id=q1&password=pw-param",
            headers: [("X-ClickHouse-User", "ops"), ("X-ClickHouse-Key", "header-secret"), ("Authorization", "Bearer tok")],
            body: Data("SELECT 1".utf8))
        var dumped = ""
        dump(request, to: &dumped)
        for text in ["\(request)", dumped, String(reflecting: request)] {
            for secret in ["header-secret", "Bearer tok", "pw-in-url", "pw-param"] {
                XCTAssertFalse(text.contains(secret), "\(secret) leaked in: \(text)")
            }
        }
        XCTAssertTrue("\(request)".contains("X-ClickHouse-User: ops"))
    }

    func testTheSigV4SecretIsInNoDescriptionOrDump() {
        let secret = "do-not-print-this-secret"
        let request = HTTPRequest(
            method: "PUT", url: "http://127.0.0.1:9000/bucket/key", bodyFile: HTTPFileBody(path: "/tmp/x", offset: 5, length: 10),
            awsSigV4: AWSSigV4Credential(provider: "aws:amz:us-east-1:s3", accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret))
        var dumped = ""
        dump(request, to: &dumped)
        var dumpedCredential = ""
        dump(request.awsSigV4, to: &dumpedCredential)
        for text in ["\(request)", dumped, String(reflecting: request), "\(request.awsSigV4!)", dumpedCredential,
                     String(reflecting: request.awsSigV4!), Redactor.redact("echoed: \(secret)")] {
            XCTAssertFalse(text.contains(secret), text)
        }
        XCTAssertEqual(
            "\(request)",
            "PUT http://127.0.0.1:9000/bucket/key [] (body from file /tmp/x, 10 B from offset 5) (aws-sigv4 aws:amz:us-east-1:s3 as AKIDEXAMPLE)")
    }
}

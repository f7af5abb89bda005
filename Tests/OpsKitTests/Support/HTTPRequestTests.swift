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
}

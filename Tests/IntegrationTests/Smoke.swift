import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class IntegrationSmoke: XCTestCase {
    func testShellQuoting() {
        XCTAssertEqual(shellQuoted("a b"), "'a b'")
    }
}

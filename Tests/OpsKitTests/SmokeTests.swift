import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class SmokeTests: XCTestCase {
    func testShellQuoting() {
        XCTAssertEqual(shellQuoted("a b"), "'a b'")
    }
}

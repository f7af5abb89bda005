import XCTest
@testable import OpsKit

/// The longest gap between runs of a CronJob schedule, which DP-1 compares with the RPO.
final class CronScheduleTests: XCTestCase {
    func gap(_ schedule: String) throws -> Double? {
        try CronSchedule.parse(schedule).get().longestGap
    }

    func testGaps() throws {
        XCTAssertEqual(try gap("0 * * * *"), 3600)
        XCTAssertEqual(try gap("@hourly"), 3600)
        XCTAssertEqual(try gap("*/15 * * * *"), 900)
        XCTAssertEqual(try gap("5,35 * * * *"), 1800)
        XCTAssertEqual(try gap("0 */2 * * *"), 7200)
        XCTAssertEqual(try gap("0 9-17 * * MON-FRI"), 64 * 3600, "Friday 17:00 to Monday 09:00")
        XCTAssertEqual(try gap("@daily"), 86400)
        XCTAssertEqual(try gap("CRON_TZ=UTC 30 2 * * 0"), 7 * 86400)
        XCTAssertEqual(try gap("0 0 1 * *"), 31 * 86400)
        // Both day fields restricted: the 1st, the 15th and every Monday (cron's OR).
        XCTAssertLessThanOrEqual(try XCTUnwrap(gap("0 0 1,15 * 1")), 7 * 86400)
        XCTAssertEqual(try gap("0 0 29 2 *"), 731 * 86400, "once in two years is as good as never")
    }

    func testErrors() {
        for (text, message) in [("every hour", "has 2 fields"), ("61 * * * *", "outside minutes 0-59"), ("0 * * * FUNDAY", "'FUNDAY' is not a weekday"), ("*/0 * * * *", "bad step")] {
            switch CronSchedule.parse(text) {
            case .success: XCTFail("\(text) parsed")
            case .failure(let error): XCTAssertTrue(error.description.contains(message), "\(text): \(error)")
            }
        }
    }
}

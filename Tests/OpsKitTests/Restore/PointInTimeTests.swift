import XCTest
@testable import OpsKit

final class PointInTimeTests: XCTestCase {
    let now = Timestamp.parse("2026-11-30T16:00:00Z")!

    func time(_ text: String) -> Date { Timestamp.parse(text)! }

    func error(_ text: String) -> ValidationError? {
        do {
            _ = try PointInTime.parse(text, now: now)
            return nil
        } catch {
            return error as? ValidationError
        }
    }

    func testRFC3339WithZoneOrOffsetAndFraction() throws {
        XCTAssertEqual(try PointInTime.parse("2026-11-30T14:52:00Z", now: now), time("2026-11-30T14:52:00Z"))
        XCTAssertEqual(try PointInTime.parse("2026-11-30t14:52:00z", now: now), time("2026-11-30T14:52:00Z"))
        XCTAssertEqual(try PointInTime.parse("2026-11-30T14:52:00.5+01:00", now: now), time("2026-11-30T13:52:00Z").addingTimeInterval(0.5))
        XCTAssertEqual(try PointInTime.parse("2026-11-30T09:52:00-05:00", now: now), time("2026-11-30T14:52:00Z"))
        XCTAssertEqual(try PointInTime.parse("  2026-11-30T14:52:00Z ", now: now), time("2026-11-30T14:52:00Z"))
    }

    func testAWallClockTimeWithoutOffsetIsUTC() throws {
        XCTAssertEqual(try PointInTime.parse("2026-11-30 14:52", now: now), time("2026-11-30T14:52:00Z"))
        XCTAssertEqual(try PointInTime.parse("2026-11-30 14:52:30", now: now), time("2026-11-30T14:52:30Z"))
        XCTAssertEqual(try PointInTime.parse("2024-02-29 00:00", now: now), time("2024-02-29T00:00:00Z"))
    }

    func testRelativeTimesCountBackFromNow() throws {
        XCTAssertEqual(try PointInTime.parse("2h ago", now: now), time("2026-11-30T14:00:00Z"))
        XCTAssertEqual(try PointInTime.parse("90m ago", now: now), time("2026-11-30T14:30:00Z"))
        XCTAssertEqual(try PointInTime.parse("1h30m ago", now: now), time("2026-11-30T14:30:00Z"))
        XCTAssertEqual(try PointInTime.parse("1h 30m ago", now: now), time("2026-11-30T14:30:00Z"))
        XCTAssertEqual(try PointInTime.parse("3d ago", now: now), time("2026-11-27T16:00:00Z"))
        XCTAssertEqual(try PointInTime.parse("45s AGO", now: now), time("2026-11-30T15:59:15Z"))
        XCTAssertEqual(try PointInTime.parse("now", now: now), now)
        XCTAssertEqual(try PointInTime.parse("NOW", now: now), now)
    }

    func testUnreadableTimesNameTheFlagAndShowTheForms() {
        for text in ["", "yesterday", "2h", "ago", "-2h ago", "2 hours ago", "2026-11-30", "2026-11-30T14:52Z", "2026-11-30T14:52:00",
                     "2026-11-31 10:00", "2026-02-29 10:00", "2026-11-30 24:00", "2026-11-30 14:60", "2026-11-30 14:52:00+01",
                     "30/11/2026 14:52", "1764514320"] {
            guard let error = error(text) else { XCTFail("'\(text)' must be refused"); continue }
            XCTAssertEqual(error.message, "--to-time must be a time like 2026-11-30T14:52:00Z, 2026-11-30 14:52 (UTC) or 2h ago, not '\(text)'")
            XCTAssertEqual(error.hint, "accepted forms: RFC 3339 (2026-11-30T14:52:00Z, 2026-11-30T14:52:00.5+01:00), "
                + "a UTC time (2026-11-30 14:52 or 2026-11-30 14:52:30), a time ago (45s ago, 90m ago, 2h ago, 1h30m ago, 3d ago), or now")
            XCTAssertEqual(error.exitCode, .usage)
        }
    }

    func testATimeInTheFutureIsRefused() throws {
        XCTAssertEqual(try PointInTime.parse("2026-11-30T16:00:00Z", now: now), now)
        let error = try XCTUnwrap(error("2026-11-30T17:00:00+00:30"))
        XCTAssertEqual(error.message, "--to-time '2026-11-30T17:00:00+00:30' is in the future (2026-11-30T16:30:00Z, now is 2026-11-30T16:00:00Z)")
        XCTAssertTrue(error.hint?.hasPrefix("a restore can only reach a time that has passed; accepted forms: RFC 3339") == true, error.hint ?? "")
        XCTAssertNotNil(self.error("2026-12-01 09:00"))
    }
}

import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class MaintenanceCalendarTests: XCTestCase {
    let calendar = MaintenanceCalendar(MaintenanceWindow.guideDefaults)

    func at(_ iso8601: String) -> Date { ManualClock(iso8601).now() }

    func names(_ instant: String) -> [String] { calendar.occurrences(containing: at(instant)).map(\.window.name) }

    func testWeeklyWindowEdges() {
        // 2026-12-05 is a Saturday (and not the first Sunday's eve: that is 2026-12-06).
        XCTAssertEqual(names("2026-12-05T01:59:59Z"), [])
        XCTAssertEqual(names("2026-12-05T02:00:00Z"), ["weekly"])
        XCTAssertEqual(names("2026-12-05T03:59:59Z"), ["weekly"])
        XCTAssertEqual(names("2026-12-05T04:00:00Z"), [])
        let occurrence = calendar.occurrence(containing: at("2026-12-05T03:00:00Z"), admitting: .minor)
        XCTAssertEqual(occurrence, WindowOccurrence(
            window: MaintenanceWindow.guideDefaults[0], start: at("2026-12-05T02:00:00Z"), end: at("2026-12-05T04:00:00Z")))
        XCTAssertEqual(occurrence?.description, "weekly, Saturday 2026-12-05 02:00–04:00 UTC")
    }

    func testMonthlyWindowEdges() {
        // 2026-12-06 is the first Sunday of December.
        XCTAssertEqual(names("2026-12-06T01:59:59Z"), [])
        XCTAssertEqual(names("2026-12-06T02:00:00Z"), ["monthly"])
        XCTAssertEqual(names("2026-12-06T03:59:59Z"), ["monthly"])
        XCTAssertEqual(names("2026-12-06T04:00:00Z"), ["monthly"], "the monthly window lasts four hours")
        XCTAssertEqual(names("2026-12-06T05:59:59Z"), ["monthly"])
        XCTAssertEqual(names("2026-12-06T06:00:00Z"), [])
        XCTAssertEqual(names("2026-12-13T03:00:00Z"), [], "the second Sunday has no monthly window")
        XCTAssertEqual(names("2026-11-08T03:00:00Z"), [], "day 8 is never a first weekday")
    }

    func testMonthlyWindowAdmitsMinorChangesAndWeeklyOnlyMinor() {
        XCTAssertEqual(calendar.occurrence(containing: at("2026-12-06T03:00:00Z"), admitting: .minor)?.window.name, "monthly")
        XCTAssertEqual(calendar.occurrence(containing: at("2026-12-06T03:00:00Z"), admitting: .major)?.window.name, "monthly")
        XCTAssertNil(calendar.occurrence(containing: at("2026-12-05T03:00:00Z"), admitting: .major))
    }

    /// A month starting on each weekday, and the first Sunday computed for it.
    func testFirstSundayForMonthsStartingOnEachWeekday() {
        let months = [
            ("2026-02-01", "Sunday", "2026-02-01"),
            ("2026-06-01", "Monday", "2026-06-07"),
            ("2026-09-01", "Tuesday", "2026-09-06"),
            ("2026-04-01", "Wednesday", "2026-04-05"),
            ("2026-01-01", "Thursday", "2026-01-04"),
            ("2026-05-01", "Friday", "2026-05-03"),
            ("2026-08-01", "Saturday", "2026-08-02"),
        ]
        for (first, weekday, firstSunday) in months {
            XCTAssertEqual(UTCInstant(at("\(first)T12:00:00Z")).weekdayName, weekday, first)
            let next = calendar.nextOccurrence(admitting: .major, atOrAfter: at("\(first)T00:00:00Z"))
            XCTAssertEqual(next?.start, at("\(firstSunday)T02:00:00Z"), first)
            XCTAssertEqual(next?.end, at("\(firstSunday)T06:00:00Z"), first)
            XCTAssertEqual(next?.description, "monthly, Sunday \(firstSunday) 02:00–06:00 UTC")
        }
    }

    func testNextMonthlyWindowAfterOneOnTheFirstIsTheNextMonths() {
        // February 2026 starts on a Sunday and so does March: 28 days apart.
        XCTAssertEqual(calendar.nextOccurrence(admitting: .major, atOrAfter: at("2026-02-01T06:00:00Z"))?.start, at("2026-03-01T02:00:00Z"))
        // March 2026's first Sunday is the 1st, April's the 5th: 35 days apart.
        XCTAssertEqual(calendar.nextOccurrence(admitting: .major, atOrAfter: at("2026-03-01T02:00:01Z"))?.start, at("2026-04-05T02:00:00Z"))
        // From the last days of a month into the next year.
        XCTAssertEqual(calendar.nextOccurrence(admitting: .major, atOrAfter: at("2026-12-06T06:00:00Z"))?.start, at("2027-01-03T02:00:00Z"))
    }

    func testNextOccurrenceAtItsStartIsThatOccurrence() {
        XCTAssertEqual(calendar.nextOccurrence(admitting: .minor, atOrAfter: at("2026-12-05T02:00:00Z"))?.start, at("2026-12-05T02:00:00Z"))
        XCTAssertEqual(calendar.nextOccurrence(admitting: .minor, atOrAfter: at("2026-12-05T02:00:01Z"))?.start, at("2026-12-06T02:00:00Z"),
                       "the monthly window takes minor changes too")
    }

    /// August 2026 starts on a Saturday: the weekly window on the 1st, the monthly one the day after.
    func testSaturdayBeforeTheFirstSunday() {
        XCTAssertEqual(names("2026-08-01T03:00:00Z"), ["weekly"])
        XCTAssertNil(calendar.occurrence(containing: at("2026-08-01T03:00:00Z"), admitting: .major))
        let major = calendar.nextOccurrence(admitting: .major, atOrAfter: at("2026-08-01T03:00:00Z"))
        XCTAssertEqual(major?.description, "monthly, Sunday 2026-08-02 02:00–06:00 UTC")
        let minor = calendar.nextOccurrence(admitting: .minor, atOrAfter: at("2026-08-01T04:00:00Z"))
        XCTAssertEqual(minor?.description, "monthly, Sunday 2026-08-02 02:00–06:00 UTC", "sooner than next Saturday's weekly window")
    }

    func testWindowCrossingMidnight() {
        let nightly = MaintenanceWindow(name: "nightly", recurrence: .weekly(weekday: 7), startMinute: 22 * 60, durationSeconds: 4 * 3600)
        let calendar = MaintenanceCalendar([nightly])
        XCTAssertNil(calendar.occurrence(containing: at("2026-12-05T21:59:59Z"), admitting: .minor))
        XCTAssertEqual(calendar.occurrence(containing: at("2026-12-06T01:59:59Z"), admitting: .minor)?.description,
                       "nightly, Saturday 2026-12-05 22:00 – Sunday 2026-12-06 02:00 UTC")
        XCTAssertNil(calendar.occurrence(containing: at("2026-12-06T02:00:00Z"), admitting: .minor))
        XCTAssertNil(calendar.occurrence(containing: at("2026-12-04T23:00:00Z"), admitting: .minor), "Friday night is not Saturday's")
    }

    func testFirstWeekdayWindowCrossingMidnightIntoTheEighth() {
        // 2026-11-07 is November's first Saturday; its window runs into Sunday the 8th.
        let window = MaintenanceWindow(name: "late", recurrence: .monthlyFirst(weekday: 7), startMinute: 23 * 60, durationSeconds: 3 * 3600, admits: .major)
        let calendar = MaintenanceCalendar([window])
        XCTAssertEqual(calendar.occurrence(containing: at("2026-11-08T01:00:00Z"), admitting: .major)?.start, at("2026-11-07T23:00:00Z"))
        XCTAssertNil(calendar.occurrence(containing: at("2026-11-15T01:00:00Z"), admitting: .major))
    }

    func testWindowsOfTwentyFourHours() {
        let saturday = MaintenanceWindow(name: "saturday", recurrence: .weekly(weekday: 7), startMinute: 0, durationSeconds: 86400)
        let calendar = MaintenanceCalendar([saturday])
        XCTAssertNotNil(calendar.occurrence(containing: at("2026-12-05T00:00:00Z"), admitting: .minor))
        XCTAssertNotNil(calendar.occurrence(containing: at("2026-12-05T23:59:59Z"), admitting: .minor))
        XCTAssertNil(calendar.occurrence(containing: at("2026-12-06T00:00:00Z"), admitting: .minor))
        let next = calendar.nextOccurrence(admitting: .minor, atOrAfter: at("2026-12-06T00:00:00Z"))
        XCTAssertEqual(next?.description, "saturday, Saturday 2026-12-12 00:00 – Sunday 2026-12-13 00:00 UTC")

        let fromTwo = MaintenanceCalendar([MaintenanceWindow(name: "day", recurrence: .weekly(weekday: 7), startMinute: 120, durationSeconds: 86400)])
        XCTAssertNotNil(fromTwo.occurrence(containing: at("2026-12-06T01:59:59Z"), admitting: .minor))
        XCTAssertNil(fromTwo.occurrence(containing: at("2026-12-06T02:00:00Z"), admitting: .minor))
    }

    func testNoWindowAdmittingASizeIsNilNotALoop() {
        let weeklyOnly = MaintenanceCalendar([MaintenanceWindow.guideDefaults[0]])
        XCTAssertNil(weeklyOnly.nextOccurrence(admitting: .major, atOrAfter: at("2026-12-02T14:00:00Z")))
        XCTAssertNotNil(weeklyOnly.nextOccurrence(admitting: .minor, atOrAfter: at("2026-12-02T14:00:00Z")))
        XCTAssertNil(MaintenanceCalendar([]).nextOccurrence(admitting: .minor, atOrAfter: at("2026-12-02T14:00:00Z")))
        XCTAssertEqual(MaintenanceCalendar([]).occurrences(containing: at("2026-12-05T03:00:00Z")), [])
    }

    func testWaitIsInItsTwoLargestUnits() {
        let now = at("2026-12-02T14:00:00Z")
        XCTAssertEqual(WindowOccurrence.wait(from: now, until: at("2026-12-05T02:00:00Z")), "2d 12h")
        XCTAssertEqual(WindowOccurrence.wait(from: now, until: at("2026-12-05T14:00:00Z")), "3d")
        XCTAssertEqual(WindowOccurrence.wait(from: now, until: at("2026-12-02T15:30:59Z")), "1h 30m")
        XCTAssertEqual(WindowOccurrence.wait(from: now, until: at("2026-12-02T14:45:00Z")), "45m")
        XCTAssertEqual(WindowOccurrence.wait(from: now, until: at("2026-12-02T14:00:20Z")), "20s")
    }
}

import Foundation

/// The configured maintenance windows laid out in time, all in UTC: which window is open at an
/// instant and when the next one that admits a change opens.
///
/// A weekly window opens on its weekday every week; a `first-<weekday>` window on the first such
/// weekday of each month, counted in UTC (the weekday falling on day 1–7 of the month). A window
/// opens at its start minute and stays open for its duration, across midnight when it is long
/// enough (at most 24 h from configuration). A window admits changes up to its `admits` size: the
/// monthly `major` window takes minor changes as well.
package struct MaintenanceCalendar: Sendable {
    package var windows: [MaintenanceWindow]

    package init(_ windows: [MaintenanceWindow]) {
        self.windows = windows
    }

    package static func admits(_ window: MaintenanceWindow, _ size: ChangeSize) -> Bool { size <= window.admits }

    /// Every window occurrence open at `instant` (start inclusive, end exclusive), in
    /// configuration order.
    package func occurrences(containing instant: Date) -> [WindowOccurrence] {
        let today = UTCInstant(instant).day
        return windows.compactMap { window in
            // An occurrence containing the instant opened today or, for a window crossing
            // midnight, on an earlier day.
            let lookback = min(366, Int((window.durationSeconds / 86400).rounded(.up)))
            return (today - lookback...today).lazy
                .compactMap { Self.occurrence(of: window, onDay: $0) }
                .first { $0.contains(instant) }
        }
    }

    /// The open occurrence of a window admitting `size`, if any; the first in configuration order
    /// when several overlap.
    package func occurrence(containing instant: Date, admitting size: ChangeSize) -> WindowOccurrence? {
        occurrences(containing: instant).first { Self.admits($0.window, size) }
    }

    /// The earliest occurrence of a window admitting `size` that opens at or after `instant`.
    /// Nil when no configured window admits `size` (none configured, or only minor windows for a
    /// major change): the caller says so rather than waiting for a window that never comes.
    package func nextOccurrence(admitting size: ChangeSize, atOrAfter instant: Date) -> WindowOccurrence? {
        let candidates = windows.filter { Self.admits($0, size) && $0.durationSeconds > 0 }
        guard !candidates.isEmpty else { return nil }
        let today = UTCInstant(instant).day
        // Every window opens at least once in any 35 days: a weekly one every 7, a first-weekday
        // one 28 or 35 days after the last. 37 days cover that from any instant of today.
        for day in today...(today + 37) {
            let opening = candidates.compactMap { Self.occurrence(of: $0, onDay: day) }
                .filter { $0.start >= instant }
                .min { $0.start < $1.start }
            if let opening { return opening }
        }
        return nil
    }

    /// The occurrence of `window` opening on `day` (days since 1970-01-01), if it opens that day.
    static func occurrence(of window: MaintenanceWindow, onDay day: Int) -> WindowOccurrence? {
        guard window.durationSeconds > 0 else { return nil }
        switch window.recurrence {
        case .weekly(let weekday):
            guard UTCInstant.weekday(day: day) == weekday else { return nil }
        case .monthlyFirst(let weekday):
            guard UTCInstant.weekday(day: day) == weekday, UTCInstant.dayOfMonth(day: day) <= 7 else { return nil }
        }
        let start = Date(timeIntervalSince1970: Double(day * 86400 + window.startMinute * 60))
        return WindowOccurrence(window: window, start: start, end: start.addingTimeInterval(window.durationSeconds))
    }
}

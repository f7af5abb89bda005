import Foundation
import OpsKit
import Synchronization

/// A `MetricsSource` fake: expected instant and range queries with canned answers, matched by
/// query and times (the evaluator asks concurrently, so not by order), each answered once.
///
/// The evaluator turns a source's error into an inconclusive criterion, so an unexpected call
/// would otherwise pass as "no data": the fake also records it, and `problems` lists it with
/// every expectation left unanswered. Tests assert that `problems` is empty.
package final class FakeMetricsSource: MetricsSource {
    private struct Key: Hashable {
        var query: String
        var times: [Double]
    }

    private let state = Mutex<(expected: [Key: Result<[SeriesPoint], FakeSourceError>], unexpected: [String])>(([:], []))

    package init() {}

    /// Expects `value(query, at: time)`; answers `value` (nil: an empty vector).
    package func expectValue(_ query: String, at time: Date, _ value: Double?) {
        state.withLock { $0.expected[Key(query: query, times: [time.timeIntervalSince1970])] = .success([SeriesPoint(time: time, value: value)]) }
    }

    /// Expects `value(query, at: time)` and fails it as an unreachable server would.
    package func expectValueFailure(_ query: String, at time: Date, _ message: String) {
        state.withLock { $0.expected[Key(query: query, times: [time.timeIntervalSince1970])] = .failure(FakeSourceError(description: message)) }
    }

    /// Expects `series(query, from:, to:, step:)`; answers `points`.
    package func expectSeries(_ query: String, from start: Date, to end: Date, step: Double, _ points: [SeriesPoint]) {
        state.withLock {
            $0.expected[Key(query: query, times: [start.timeIntervalSince1970, end.timeIntervalSince1970, step])] = .success(points)
        }
    }

    /// Unexpected calls and expectations never asked for.
    package var problems: [String] {
        state.withLock { state in
            state.unexpected + state.expected.keys.map { "never asked: \($0.query) at \($0.times)" }.sorted()
        }
    }

    package func value(_ query: String, at time: Date) throws -> Double? {
        try answer(Key(query: query, times: [time.timeIntervalSince1970])).first?.value
    }

    package func series(_ query: String, from start: Date, to end: Date, step: Double) throws -> [SeriesPoint] {
        try answer(Key(query: query, times: [start.timeIntervalSince1970, end.timeIntervalSince1970, step]))
    }

    private func answer(_ key: Key) throws -> [SeriesPoint] {
        let result: Result<[SeriesPoint], FakeSourceError>? = state.withLock { state in
            guard let result = state.expected.removeValue(forKey: key) else {
                state.unexpected.append("unexpected query: \(key.query) at \(key.times)")
                return nil
            }
            return result
        }
        guard let result else { throw UnexpectedCall(description: "unexpected query: \(key.query) at \(key.times)") }
        return try result.get()
    }
}

/// An error a fake source was told to raise.
package struct FakeSourceError: Error, CustomStringConvertible, Sendable {
    package var description: String
    package init(description: String) { self.description = description }
}

/// A `CorruptionSource` fake: a queue of canned answers, one per `probe()` call; a call past the
/// queue is recorded in `problems` (and fails).
package final class FakeCorruptionSource: CorruptionSource {
    private let state = Mutex<(answers: [Result<[ProbeOutcome], FakeSourceError>], problems: [String])>(([], []))

    package init() {}

    package func expect(_ outcomes: [ProbeOutcome]) { state.withLock { $0.answers.append(.success(outcomes)) } }
    package func expectFailure(_ message: String) { state.withLock { $0.answers.append(.failure(FakeSourceError(description: message))) } }

    package var problems: [String] {
        state.withLock { $0.problems + ($0.answers.isEmpty ? [] : ["\($0.answers.count) probe answers never asked for"]) }
    }

    package func probe() throws -> [ProbeOutcome] {
        let next: Result<[ProbeOutcome], FakeSourceError>? = state.withLock { state in
            guard !state.answers.isEmpty else {
                state.problems.append("unexpected probe()")
                return nil
            }
            return state.answers.removeFirst()
        }
        guard let next else { throw UnexpectedCall(description: "unexpected probe()") }
        return try next.get()
    }
}

/// A `SecurityScanner` fake: canned results per image, each answered once.
package final class FakeSecurityScanner: SecurityScanner {
    private let state = Mutex<(answers: [String: Result<SecurityScan, FakeSourceError>], problems: [String])>(([:], []))

    package init() {}

    /// Expects a scan of `image`; it exits with `exit` and prints `output`.
    package func expect(_ image: String, exit: Int32, output: [String] = []) {
        state.withLock {
            $0.answers[image] = .success(SecurityScan(image: image, commandLine: "scan \(image)", status: .exited(exit), outputTail: output))
        }
    }

    package func expectFailure(_ image: String, _ message: String) {
        state.withLock { $0.answers[image] = .failure(FakeSourceError(description: message)) }
    }

    package var problems: [String] {
        state.withLock { $0.problems + $0.answers.keys.sorted().map { "never scanned: \($0)" } }
    }

    package func scan(image: String) throws -> SecurityScan {
        let answer: Result<SecurityScan, FakeSourceError>? = state.withLock { state in
            guard let answer = state.answers.removeValue(forKey: image) else {
                state.problems.append("unexpected scan of \(image)")
                return nil
            }
            return answer
        }
        guard let answer else { throw UnexpectedCall(description: "unexpected scan of \(image)") }
        return try answer.get()
    }
}

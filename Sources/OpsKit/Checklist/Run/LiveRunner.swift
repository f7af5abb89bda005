import Foundation

/// Runs live probes all at once, each on its own thread and under its own timeout, so that a
/// run takes about as long as its slowest check rather than the sum of them. The probes wait on
/// the network and on kubectl, not on the CPU, so they are not limited to the number of cores
/// (`concurrentPerform` would run two at a time on two cores).
///
/// A probe past its deadline gets its own interrupt raised, which stops its subprocess (the
/// process runner signals the child's group) and aborts its HTTP transfer; its result becomes an
/// error naming the timeout. Ctrl-C raises every probe's interrupt.
package struct LiveRunner: Sendable {
    /// One probe to run; `body` receives the interrupt it must honour.
    package struct Job: Sendable {
        package var timeout: Double
        package var body: @Sendable (Interrupt) -> Finding

        package init(timeout: Double, body: @escaping @Sendable (Interrupt) -> Finding) {
            self.timeout = timeout
            self.body = body
        }
    }

    /// How long a probe that was told to stop gets to return before the run goes on without it.
    package var stopGrace: Double = 1

    package init() {}

    /// Runs every job and returns their findings in job order.
    package func run(_ jobs: [Job], interrupt: Interrupt) -> [Finding] {
        let board = Board(count: jobs.count)
        let interrupts = jobs.map { _ in Interrupt() }
        let started = DispatchTime.now().uptimeNanoseconds
        for (index, job) in jobs.enumerated() {
            let stop = interrupts[index]
            let thread = Thread {
                let finding = job.body(stop)
                board.finish(index, finding)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        let deadlines = jobs.map { started + UInt64(max($0.timeout, 0) * 1e9) }
        var timedOut = Set<Int>()
        while true {
            let pending = board.pending()
            if pending.isEmpty { break }
            let now = DispatchTime.now().uptimeNanoseconds
            if interrupt.isSet {
                for index in pending { interrupts[index].raise(interrupt.signal ?? SIGINT) }
                board.wait(untilAllDoneOrSeconds: stopGrace)
                break
            }
            let expired = pending.filter { deadlines[$0] <= now && !timedOut.contains($0) }
            for index in expired {
                timedOut.insert(index)
                interrupts[index].raise(SIGTERM)
            }
            if !expired.isEmpty, Set(pending).isSubset(of: timedOut) {
                board.wait(untilAllDoneOrSeconds: stopGrace)
                break
            }
            let next = pending.filter { !timedOut.contains($0) }.map { deadlines[$0] }.min() ?? (now + UInt64(stopGrace * 1e9))
            board.wait(seconds: min(Double(next > now ? next - now : 0) / 1e9, 0.05))
        }
        return jobs.indices.map { index in
            if timedOut.contains(index) {
                return Finding(.live, .error, "no answer within \(formatSeconds(jobs[index].timeout)); the check was stopped",
                               fix: "check that the environment answers (luminatectl config check), or raise --timeout",
                               seconds: jobs[index].timeout)
            }
            if let finding = board.result(index) { return finding }
            return Finding(.live, .error, "interrupted before it finished")
        }
    }

    /// Results as probes finish, and a condition the coordinator sleeps on.
    private final class Board: @unchecked Sendable {
        private let condition = NSCondition()
        private var results: [Finding?]

        init(count: Int) { results = Array(repeating: nil, count: count) }

        func finish(_ index: Int, _ finding: Finding) {
            condition.lock()
            results[index] = finding
            condition.broadcast()
            condition.unlock()
        }

        func pending() -> [Int] {
            condition.lock()
            defer { condition.unlock() }
            return results.indices.filter { results[$0] == nil }
        }

        func result(_ index: Int) -> Finding? {
            condition.lock()
            defer { condition.unlock() }
            return results[index]
        }

        /// Sleeps until a probe finishes or `seconds` pass.
        func wait(seconds: Double) {
            condition.lock()
            _ = condition.wait(until: Date().addingTimeInterval(max(seconds, 0.001)))
            condition.unlock()
        }

        func wait(untilAllDoneOrSeconds seconds: Double) {
            let end = Date().addingTimeInterval(seconds)
            condition.lock()
            while results.contains(where: { $0 == nil }), condition.wait(until: end) {}
            condition.unlock()
        }
    }
}

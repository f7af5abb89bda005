import Foundation
import Synchronization

/// Runs `body` over `items` on up to `width` threads of its own and returns the results in the
/// items' order. For blocking I/O (HTTP requests, subprocesses): `concurrentPerform` would run
/// only as many at a time as there are cores, two on these machines.
package func parallelMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) throws -> Result
) throws -> [Result] {
    if items.count <= 1 || width <= 1 { return try items.map(body) }
    let next = Atomic<Int>(0)
    let results = Mutex<[Int: Swift.Result<Result, any Error>]>([:])
    let done = DispatchGroup()
    for _ in 0..<min(width, items.count) {
        done.enter()
        let thread = Thread {
            defer { done.leave() }
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < items.count else { return }
                let outcome = Swift.Result { try body(items[index]) }
                results.withLock { $0[index] = outcome }
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    done.wait()
    let collected = results.withLock { $0 }
    return try (0..<items.count).map { try collected[$0]!.get() }
}

import Foundation

/// Reads a journal file line by line in fixed-size chunks, so a long history is never held in
/// memory at once. Readers take no lock: appends are single whole-line writes, so a reader sees
/// complete lines, plus at most a last line being written or torn by a crash.
package struct JournalReader: Sendable {
    /// One line of the file, numbered from 1.
    package struct Line: Sendable, Equatable {
        package var number: Int
        package var text: String
        /// The raw bytes, which the chain hashes.
        package var bytes: [UInt8]
        /// False for a last line without its newline: being written, or torn.
        package var complete: Bool
    }

    /// A line and what it holds.
    package enum Entry: Sendable {
        case record(JournalRecord, line: Int)
        /// A line that is not a record; `complete` is false for a torn last line.
        case unreadable(line: Int, problem: String, complete: Bool)
    }

    package let path: String

    package init(path: String) { self.path = path }

    package var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Calls `body` with every line, in order. Throws `JournalError.missing` when there is no file.
    package func forEachLine(_ body: (Line) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw errno == ENOENT ? JournalError.missing(path: path) : JournalError.read(path: path, reason: JournalError.reason(errno))
        }
        defer { close(fd) }
        var pending: [UInt8] = []
        var number = 0
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw JournalError.read(path: path, reason: JournalError.reason(errno))
            }
            if got == 0 { break }
            var start = 0
            for index in 0..<got where chunk[index] == UInt8(ascii: "\n") {
                pending.append(contentsOf: chunk[start..<index])
                number += 1
                try body(Line(number: number, text: String(decoding: pending, as: UTF8.self), bytes: pending, complete: true))
                pending.removeAll(keepingCapacity: true)
                start = index + 1
            }
            pending.append(contentsOf: chunk[start..<got])
        }
        if !pending.isEmpty {
            number += 1
            try body(Line(number: number, text: String(decoding: pending, as: UTF8.self), bytes: pending, complete: false))
        }
    }

    /// Calls `body` with every line parsed as a record, or why it is not one.
    package func forEachEntry(_ body: (Entry) throws -> Void) throws {
        try forEachLine { line in
            guard line.complete else {
                return try body(.unreadable(line: line.number, problem: "incomplete: the write was cut short", complete: false))
            }
            do {
                try body(.record(try JournalRecord.parse(line.text), line: line.number))
            } catch let problem as JournalRecord.LineProblem {
                try body(.unreadable(line: line.number, problem: problem.description, complete: true))
            }
        }
    }
}

import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class ConsoleTests: XCTestCase {
    func testProgressRewritesOneLineOnATerminal() {
        let output = CapturedOutput()
        let console = output.console(tty: true)
        let progress = console.progress("backup", clock: ManualClock("2026-11-29T02:00:00Z"))
        progress.update("1/3 partitions")
        progress.update("2/3 partitions")
        progress.finish("done in 4 s")
        XCTAssertEqual(output.stderr, "\r\u{1B}[2Kbackup: 1/3 partitions\r\u{1B}[2Kbackup: 2/3 partitions\r\u{1B}[2Kbackup: done in 4 s\n")
        XCTAssertEqual(output.stdout, "", "progress never mixes into results")
    }

    func testProgressOffATerminalLogsAtMostEveryInterval() {
        let output = CapturedOutput()
        let clock = ManualClock("2026-11-29T02:00:00Z")
        let progress = output.console(tty: false).progress("restore", clock: clock, logEvery: 10)
        progress.update("10%")
        clock.advance(by: 3)
        progress.update("20%")
        clock.advance(by: 8)
        progress.update("50%")
        progress.finish("done")
        XCTAssertEqual(output.stderr, "restore: 10%\nrestore: 50%\nrestore: done\n")
    }

    func testColourOnlyOnATerminalAndWhenEnabled() {
        let output = CapturedOutput()
        XCTAssertEqual(output.console(tty: true, colour: true).paint("ok", .green), "\u{1B}[32mok\u{1B}[0m")
        XCTAssertEqual(output.console(tty: false, colour: true).paint("ok", .green), "ok")
        XCTAssertEqual(output.console(tty: true, colour: false).paint("ok", .green), "ok")
    }

    func testNoColorFlagAndEnvironmentTurnColourOff() {
        for (argv, environment) in [(["--no-color", "config", "check"], [String: String]()), (["config", "check"], ["NO_COLOR": "1"])] {
            let output = CapturedOutput()
            var context = Context.fake(output: output, environment: environment)
            context.console = output.console(tty: true, colour: true)
            _ = Luminatectl.run(argv, context: context)
            XCTAssertFalse(output.stdout.contains("\u{1B}["), "colour with \(argv) \(environment): \(output.stdout)")
        }
    }

    func testInsecureTLSWarnsOnEveryRun() {
        let output = CapturedOutput()
        _ = Luminatectl.run(["--insecure-skip-tls-verify", "version"], context: .fake(output: output))
        XCTAssertTrue(output.stderr.hasPrefix("Warning: TLS certificate verification is off"), output.stderr)
        XCTAssertEqual(output.stdout, "luminatectl \(luminatectlVersion)\n")
    }
}

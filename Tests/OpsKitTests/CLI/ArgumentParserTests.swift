import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class ArgumentParserTests: XCTestCase {
    /// A table with one runnable command that has its own options, for parser behaviour.
    static let table = Command(
        "luminatectl", abstract: "test root",
        subcommands: [
            Command("backup", abstract: "Back up.", subcommands: [
                Command("create", abstract: "Create a backup.",
                        arguments: [ArgumentSpec("name", help: "Backup name.", optional: true)],
                        options: [
                            OptionSpec("dry-run", help: "Print the plan."),
                            OptionSpec("since", .value(placeholder: "duration"), help: "Since."),
                            OptionSpec("table", .repeated(placeholder: "name"), help: "Tables."),
                            OptionSpec("mode", .value(placeholder: "mode"), help: "Mode.", allowed: ["full", "incremental"]),
                        ],
                        action: { _, _ in .success }),
            ]),
            CommandTable.helpCommand,
        ])

    func parse(_ argv: [String]) throws -> ParsedCommandLine {
        try ArgumentParser(root: Self.table).parse(argv)
    }

    func invocation(_ argv: [String]) throws -> Invocation {
        guard case .run(_, let invocation) = try parse(argv) else {
            XCTFail("expected a runnable command for \(argv)")
            throw UnexpectedCall(description: "not runnable")
        }
        return invocation
    }

    func usageError(_ argv: [String]) -> UsageError? {
        do {
            _ = try parse(argv)
            return nil
        } catch let error as UsageError {
            return error
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testGlobalOptionsAnywhereAndCommandOptionsAfterTheCommand() throws {
        let inv = try invocation(["--env", "staging", "backup", "-o", "json", "create", "--dry-run", "--since=1h", "nightly", "-v", "-n", "lum"])
        XCTAssertEqual(inv.path, ["backup", "create"])
        XCTAssertEqual(inv.globals.environment, "staging")
        XCTAssertEqual(inv.globals.namespace, "lum")
        XCTAssertTrue(inv.globals.verbose)
        XCTAssertEqual(inv.output, "json")
        XCTAssertTrue(inv.flag("dry-run"))
        XCTAssertEqual(try inv.duration("since"), 3600)
        XCTAssertEqual(inv.arguments, ["nightly"])
    }

    func testRepeatedAndBundledShortOptions() throws {
        let inv = try invocation(["backup", "create", "--table", "a", "--table=b", "-vojson"])
        XCTAssertEqual(inv.values("table"), ["a", "b"])
        XCTAssertTrue(inv.globals.verbose)
        XCTAssertEqual(inv.output, "json")
    }

    func testUsageErrorsNameTheToken() {
        XCTAssertEqual(usageError(["backup", "create", "--foo"]), UsageError("Unknown option '--foo'", commandPath: ["backup", "create"]))
        XCTAssertEqual(usageError(["-x"]), UsageError("Unknown option '-x'", commandPath: []))
        XCTAssertEqual(usageError(["backup", "create", "--since"])?.message, "Missing value for '--since' (--since <duration>)")
        XCTAssertEqual(usageError(["backup", "create", "--mode", "fast"])?.message, "--mode must be one of full, incremental, not 'fast'")
        XCTAssertEqual(usageError(["backup", "create", "a", "b"])?.message, "Unexpected argument 'b'")
        XCTAssertEqual(usageError(["backup", "craete"])?.message, "Unknown subcommand 'craete' (did you mean 'create'?)")
        XCTAssertEqual(usageError(["backup", "create", "-o", "yaml"])?.message, "--output must be one of text, json, not 'yaml'")
        XCTAssertEqual(usageError(["backup", "create", "--dry-run=yes"])?.message, "Option '--dry-run' does not take a value")
        XCTAssertEqual(usageError(["backup", "create", "--since", "1h", "--since", "2h"])?.message, "Option '--since' given more than once")
        XCTAssertEqual(usageError(["help", "nope"])?.message, "Unknown command 'nope'")
    }

    func testCommandOptionsBeforeTheCommandAreUnknown() {
        XCTAssertEqual(usageError(["--dry-run", "backup", "create"])?.message, "Unknown option '--dry-run'")
    }

    func testHelpAndVersion() throws {
        guard case .help(let path) = try parse(["backup", "create", "--help", "--bogus"]) else { return XCTFail("expected help") }
        XCTAssertEqual(path, ["backup", "create"])
        guard case .help(let path2) = try parse(["help", "backup", "create"]) else { return XCTFail("expected help") }
        XCTAssertEqual(path2, ["backup", "create"])
        guard case .help(let path3) = try parse(["backup"]) else { return XCTFail("a group alone shows its help") }
        XCTAssertEqual(path3, ["backup"])
        guard case .version = try parse(["--version"]) else { return XCTFail("expected version") }
    }

    func testDoubleDashEndsOptions() throws {
        let inv = try invocation(["backup", "create", "--", "--odd-name"])
        XCTAssertEqual(inv.arguments, ["--odd-name"])
    }

    func testDurationValidationNamesTheFlag() throws {
        let inv = try invocation(["backup", "create", "--since", "soon"])
        XCTAssertThrowsError(try inv.duration("since")) { error in
            XCTAssertEqual((error as? ValidationError)?.message, "--since must be a duration like 90s, 5m, 1h30m or 7d, not 'soon'")
        }
    }

    func testDurations() {
        XCTAssertEqual(DurationParser.seconds("500ms"), 0.5)
        XCTAssertEqual(DurationParser.seconds("1h30m"), 5400)
        XCTAssertEqual(DurationParser.seconds("7d"), 604_800)
        XCTAssertEqual(DurationParser.seconds("2w"), 1_209_600)
        XCTAssertNil(DurationParser.seconds("5"))
        XCTAssertNil(DurationParser.seconds("m5"))
        XCTAssertNil(DurationParser.seconds(""))
        XCTAssertEqual(DurationParser.format(5400), "1h30m")
        XCTAssertEqual(DurationParser.format(0.5), "500ms")
    }
}

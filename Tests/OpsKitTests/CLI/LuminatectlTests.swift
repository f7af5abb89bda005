import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Runs whole command lines through `Luminatectl.run` with a fake context and compares what is
/// printed, exactly, and the exit code.
final class LuminatectlTests: XCTestCase {
    func run(_ argv: [String], environment: [String: String] = [:], workingDirectory: String = "/nonexistent") -> (ExitCode, CapturedOutput) {
        let output = CapturedOutput()
        let context = Context.fake(output: output, environment: environment, workingDirectory: workingDirectory)
        return (Luminatectl.run(argv, context: context), output)
    }

    func testUnknownOptionIsThreeLinesAndExit64() {
        let (code, output) = run(["config", "view", "--bogus"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stdout, "")
        XCTAssertEqual(output.stderr, """
            Error: Unknown option '--bogus'
            Usage: luminatectl config view [<options>]
              See 'luminatectl config view --help' for more information.

            """)
    }

    func testUnknownSubcommandAtTheRoot() {
        let (code, output) = run(["deploi"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, """
            Error: Unknown subcommand 'deploi' (did you mean 'deploy'?)
            Usage: luminatectl [<global-options>] <subcommand>
              See 'luminatectl --help' for more information.

            """)
    }

    func testVersion() {
        for argv in [["--version"], ["version"]] {
            let (code, output) = run(argv)
            XCTAssertEqual(code, .success)
            XCTAssertEqual(output.stdout, "luminatectl \(luminatectlVersion)\n")
        }
        let (_, json) = run(["version", "-o", "json"])
        XCTAssertEqual(try JSONValue.parse(Data(json.stdout.utf8))["version"], .string(luminatectlVersion))
    }

    func testRootHelp() {
        let (code, output) = run(["--help"])
        XCTAssertEqual(code, .success)
        XCTAssertEqual(output.stdout, """
            OVERVIEW: The operations control plane for Luminate on Kubernetes and ClickHouse.

            Deploys, scales, backs up, restores and checks Luminate, every change journaled and
            locked. Point it at an environment with --env (from luminatectl.yaml) or with flags
            and LUMINATECTL_* variables.

            USAGE: luminatectl [<global-options>] <subcommand>

            OPTIONS:
              --config <file>         Configuration file (default: $LUMINATECTL_CONFIG,
                                      ./luminatectl.yaml,
                                      $XDG_CONFIG_HOME/luminatectl/config.yaml).
              -e, --env <name>        Named environment of the configuration, e.g. staging
                                      or production (env: LUMINATECTL_ENV).
              --context <name>        Kubernetes context (env: LUMINATECTL_CONTEXT).
              -n, --namespace <name>  Kubernetes namespace (env: LUMINATECTL_NAMESPACE).
              --kubeconfig <file>     kubeconfig file (env: KUBECONFIG).
              --clickhouse-url <url>  ClickHouse HTTP endpoint, e.g. https://ch.example:8443
                                      (env: LUMINATECTL_CLICKHOUSE_URL).
              --clickhouse-user <name>
                                      ClickHouse user (env: LUMINATECTL_CLICKHOUSE_USER).
              --prometheus-url <url>  Prometheus endpoint (env: LUMINATECTL_PROMETHEUS_URL).
              -o, --output <format>   Output format: text or json (some commands add more).
                                      (default: text)
              --no-color              Never colour the output (also NO_COLOR).
              -v, --verbose           Print each subprocess and HTTP request, with secrets
                                      redacted, to stderr.
              --ca-file <file>        CA bundle to verify ClickHouse and Prometheus TLS
                                      certificates.
              --insecure-skip-tls-verify
                                      Do not verify TLS certificates (warned on every run;
                                      never in production).
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              backup                  Back up ClickHouse to object storage; list, verify,
                                      delete; RPO status.
              checklist               Check production readiness (the guide's checklist).
              config                  Show luminatectl's effective configuration.
              deploy                  Deploy inside the change policy; watch; roll back
                                      automatically.
              journal                 Read and check the journal of operations.
              lock                    See, hold and release the operations lock.
              restore                 Restore backups: staged and verified; drills.
              rollback                Roll back a deploy; check the rollback criteria.
              version                 Show the version of luminatectl.
              help                    Show help for a command.

              See 'luminatectl help <subcommand>' for detailed help.

            """)
    }

    func testSubcommandHelpIsTheSameEverywhere() {
        let (code, viaFlag) = run(["config", "view", "--help"])
        let (_, viaHelp) = run(["help", "config", "view"])
        XCTAssertEqual(code, .success)
        XCTAssertEqual(viaFlag.stdout, viaHelp.stdout)
        XCTAssertEqual(viaFlag.stdout, """
            OVERVIEW: Show the effective configuration and the source of each value.

            Values come from flags, then LUMINATECTL_* environment variables, then the
            configuration file's environment, then the operations guide's defaults. Secrets are
            never shown: only where they are read from.

            USAGE: luminatectl config view [<options>]

            OPTIONS:
              -h, --help              Show help information.

            EXAMPLES:
              luminatectl config view --env staging
              luminatectl config view -o json

              See 'luminatectl --help' for the global options (--env, -o, -v, ...).

            """)
    }

    func testGroupHelp() {
        let (code, output) = run(["config"])
        XCTAssertEqual(code, .success)
        XCTAssertEqual(output.stdout, """
            OVERVIEW: Show luminatectl's effective configuration.

            USAGE: luminatectl config <subcommand>

            OPTIONS:
              -h, --help              Show help information.

            SUBCOMMANDS:
              view                    Show the effective configuration and the source of
                                      each value.
              check                   Check that every configured endpoint answers, with the
                                      configured credentials.

              See 'luminatectl help config <subcommand>' for detailed help.

              See 'luminatectl --help' for the global options (--env, -o, -v, ...).

            """)
    }
}

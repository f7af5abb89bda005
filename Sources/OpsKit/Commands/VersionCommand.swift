import Foundation

/// `luminatectl version`: the client's version (`--version` prints the same, shorter).
enum VersionCommand {
    static let command = Command(
        "version",
        abstract: "Show the version of luminatectl.",
        action: { invocation, context in
            if invocation.json {
                let value: JSONValue = ["name": "luminatectl", "version": .string(luminatectlVersion)]
                context.console.line(value.rendered(pretty: true))
            } else {
                context.console.line("luminatectl \(luminatectlVersion)")
            }
            return .success
        }
    )
}

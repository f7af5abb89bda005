import Foundation

/// One thing that happened to an operation, as the runner reports it to the journal. The
/// journal turns it into a tamper-evident record (id, hash chain) and writes it.
package struct JournalEvent: Sendable, Equatable {
    package enum Kind: String, Sendable, Equatable, CaseIterable {
        case started, step, finished, failed, interrupted
    }

    package var operationID: String
    package var event: Kind
    package var time: Date
    /// `alice@build-7`, plus CI job identity when present.
    package var actor: Actor
    package var environment: String
    /// The command line as typed, redacted.
    package var commandLine: String
    package var operation: String
    package var targets: [String]
    package var inputs: JSONValue
    /// For `step`: its name.
    package var step: String?
    /// Query results, thresholds, durations: what the decision was based on.
    package var evidence: JSONValue
    /// `success`, `failure`, `interrupted`, or nil while running.
    package var outcome: String?
    /// Error text for `failed`, reason text for emergencies.
    package var message: String?
    package var reason: String?
    package var durationSeconds: Double?

    package init(
        operationID: String, event: Kind, time: Date, actor: Actor, environment: String, commandLine: String,
        operation: String, targets: [String], inputs: JSONValue = .object([]), step: String? = nil,
        evidence: JSONValue = .object([]), outcome: String? = nil, message: String? = nil, reason: String? = nil,
        durationSeconds: Double? = nil
    ) {
        self.operationID = operationID
        self.event = event
        self.time = time
        self.actor = actor
        self.environment = environment
        self.commandLine = commandLine
        self.operation = operation
        self.targets = targets
        self.inputs = inputs
        self.step = step
        self.evidence = evidence
        self.outcome = outcome
        self.message = message
        self.reason = reason
        self.durationSeconds = durationSeconds
    }
}

/// Who ran an operation: the user and host, and in CI the job that ran it.
package struct Actor: Sendable, Equatable, CustomStringConvertible {
    package var user: String
    package var host: String
    /// `github-actions: org/repo run 123 (workflow release)`, `ci: job 42`, or nil outside CI.
    package var ci: String?

    package init(user: String, host: String, ci: String? = nil) {
        self.user = user
        self.host = host
        self.ci = ci
    }

    package var description: String { "\(user)@\(host)" + (ci.map { " (\($0))" } ?? "") }

    /// The actor of this process, from the environment.
    package static func current(environment: [String: String]) -> Actor {
        // USER is unset under cron, CI runners and `docker exec`: the account name is the truth.
        let account = getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        let user = environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["LOGNAME"] ?? account ?? "uid-\(geteuid())"
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        var ci: String?
        if environment["GITHUB_ACTIONS"] == "true" {
            let repository = environment["GITHUB_REPOSITORY"] ?? "?"
            let run = environment["GITHUB_RUN_ID"] ?? "?"
            let workflow = environment["GITHUB_WORKFLOW"].map { " (workflow \($0))" } ?? ""
            ci = "github-actions: \(repository) run \(run)\(workflow)"
        } else if let flag = environment["CI"], !flag.isEmpty, flag != "false" {
            let job = environment["CI_JOB_ID"] ?? environment["BUILD_ID"] ?? environment["BUILD_NUMBER"]
            let project = environment["CI_PROJECT_PATH"] ?? environment["JOB_NAME"]
            ci = "ci" + (project.map { ": \($0)" } ?? "") + (job.map { " job \($0)" } ?? "")
        }
        return Actor(user: user, host: host, ci: ci)
    }
}

/// Where operation events go. The live journal appends tamper-evident JSON Lines records (and
/// mirrors them to ClickHouse when configured); tests use an in-memory one.
package protocol OperationJournal: Sendable {
    /// Writes the event durably before returning; throws when it cannot (the runner then refuses
    /// to start an unaudited change).
    func append(_ event: JournalEvent) throws
}

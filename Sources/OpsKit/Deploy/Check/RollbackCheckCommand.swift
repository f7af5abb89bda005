import Foundation

/// `luminatectl rollback check`: the four rollback criteria for the windows ending now or at
/// `--at`, for CI after a deploy made by other means, for runbooks and for cron.
enum RollbackCheckCommand {
    static let command = Command(
        "check",
        abstract: "Evaluate the rollback criteria now, or at a past time.",
        discussion: """
            Evaluates the four criteria of policy.rollback and prints each with its values and
            verdict, then the overall verdict.

            error-rate and p95-latency are sustained criteria on Prometheus, evaluated on steps
            spaced by policy.deploy.interval and aligned to --at (t = at - k x interval). A criterion
            with threshold X and window W triggers at step t when t - W is not before the window
            start and every step in [t - W, t] has a value above X. A value at the threshold is not
            above it; a single step at or below it resets the run. A step without data (an empty
            answer, NaN) makes the criterion inconclusive and breaks any run: a run never spans
            missing data.
              error-rate   sum(rate(luminate_http_requests_total{code=~"5.."}[1m]))
                           / sum(rate(luminate_http_requests_total[1m]))
              p95-latency  histogram_quantile(0.95, sum by (le)
                           (rate(luminate_http_request_duration_seconds_bucket[1m])))
            --window-start is when the change finished rolling out: a window that begins before it
            never triggers, because its values may be the old version's. Without it the windows
            are not constrained.

            corruption runs the ClickHouse probes (by default: no read-only replica, no replication
            queue entry failing for over 10 minutes, the replicas of each shard agree on the rows
            of every partition settled for an hour, no broken detached part where the server lists
            them; plus policy.rollback.corruption.probes, each a query whose rows are findings) on
            every replica; any finding triggers at once. security runs
            policy.rollback.security.command on each image ({image} in it is replaced; --image, or
            the images of the namespace's Deployments and StatefulSets): a non-zero exit triggers
            at once; without a command it is not-configured.

            A source that does not answer makes its criterion inconclusive, with the error. The
            overall verdict is rollback when a criterion triggered, inconclusive when one could not
            be evaluated, healthy otherwise. policy.rollback.maxInconclusive counts the consecutive
            evaluations of a deploy's bake; a single check does not escalate.

            Exit status: 0 healthy (and inconclusive, unless --strict), 1 rollback (and
            inconclusive with --strict), 64 a wrong command line or configuration, 130 interrupted.
            """,
        options: [
            OptionSpec("at", .value(placeholder: "time"),
                       help: "Evaluate the windows ending at this RFC 3339 time (2026-11-20T00:37:00Z), for post-incident review.",
                       default: "now"),
            OptionSpec("window-start", .value(placeholder: "time"),
                       help: "When the rollout finished (RFC 3339): no window that starts earlier can trigger."),
            OptionSpec("image", .repeated(placeholder: "image"),
                       help: "An image for the security command (repeatable; default: the namespace's Deployments and StatefulSets)."),
            OptionSpec("strict", help: "Exit 1 when the verdict is inconclusive, not only on rollback."),
        ],
        examples: [
            "luminatectl rollback check",
            "luminatectl rollback check --window-start 2026-11-20T00:20:00Z -o json   # CI, after a deploy",
            "luminatectl rollback check --at 2026-11-20T00:37:00Z                   # post-incident review",
            "luminatectl rollback check --strict                                     # cron: no data is a failure too",
        ],
        action: { invocation, context in try run(invocation, context) }
    )

    static func run(_ invocation: Invocation, _ context: Context) throws -> ExitCode {
        let now = context.clock.now()
        let at = try invocation.value("at").map { try time($0, flag: "--at", now: now) } ?? now
        let windowStart = try invocation.value("window-start").map { try time($0, flag: "--window-start", now: now) }
        if let windowStart, windowStart > at {
            throw ValidationError("--window-start \(LockTime.iso(windowStart)) is after --at \(LockTime.iso(at))",
                                  hint: "the window start is when the rollout finished, before the evaluated time")
        }
        let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
        var images = invocation.values("image").flatMap { $0.split(separator: ",").map(String.init) }
        if images.isEmpty, configuration.policy.rollback.securityCommand?.isEmpty == false {
            images = try deployedImages(Connections(configuration: configuration, context: context).kubectl())
        }
        let evaluator = try CriteriaEvaluator.live(configuration: configuration, context: context, images: images)
        let tick = try evaluator.check(at: at, windowStart: windowStart)
        if invocation.json {
            context.console.line(tick.json.rendered(pretty: true))
        } else {
            context.console.write(RollbackCheckText.render(tick, interval: evaluator.interval))
        }
        switch tick.verdict {
        case .rollback: return .failure
        case .inconclusive: return invocation.flag("strict") ? .failure : .success
        case .healthy: return .success
        }
    }

    /// RFC 3339, or `now`. A time still to come has no data yet, so it is refused.
    static func time(_ text: String, flag: String, now: Date) throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let date = trimmed.lowercased() == "now" ? now : LockTime.parse(trimmed) else {
            throw ValidationError("\(flag) must be an RFC 3339 time like 2026-11-20T00:37:00Z, not '\(text)'")
        }
        guard date <= now else {
            throw ValidationError("\(flag) \(LockTime.iso(date)) is in the future (now is \(LockTime.iso(now)))",
                                  hint: "Prometheus has no data for a time that has not come")
        }
        return date
    }

    /// The distinct images of the namespace's Deployments and StatefulSets, in name order.
    static func deployedImages(_ kubectl: Kubectl) throws -> [String] {
        var images: [String] = []
        for kind in ["deployments", "statefulsets"] {
            for object in try kubectl.list(kind).sorted(by: { ($0.name ?? "") < ($1.name ?? "") }) {
                let containers = object.json[path: "spec.template.spec.containers"]?.array ?? []
                for image in containers.compactMap({ $0["image"]?.string }) where !images.contains(image) {
                    images.append(image)
                }
            }
        }
        return images
    }
}

import Foundation

/// `deploy`'s flags turned into a plan: the options validated, the pre-flight read (nothing
/// changes while it is), and the seams the plan runs through. A refused deploy stops here with
/// exit 1, before the lock is taken; `--dry-run` prints the whole plan first, so "would this be
/// admitted?" has both an answer and an exit code.
enum DeployRequest {
    static func plan(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        let options = try DeployOptions(invocation: invocation, configuration: configuration, context: context)
        let preflight = try DeployPreflight.run(options: options, invocation: invocation, configuration: configuration, context: context)
        var kubectl = Connections(configuration: configuration, context: context).kubectl()
        kubectl.processTimeout = 120
        let plan = deployPlan(options, preflight, kubectl, invocation, configuration, context)
        if let refusal = preflight.refusal {
            if invocation.flag("dry-run") {
                if invocation.json {
                    context.console.line(JSONValue.object([("dryRun", true), ("operation", "deploy"), ("plan", plan.describeJSON())]).rendered(pretty: true))
                } else {
                    context.console.line("Plan for deploy in environment \(configuration.environmentName.value) (dry run: nothing is changed):")
                    context.console.write(plan.describe())
                }
            } else if !invocation.json {
                context.console.write(DeployText.preflight(preflight, options: options))
            }
            throw refusal
        }
        return plan
    }

    private static func deployPlan(_ options: DeployOptions, _ preflight: DeployPreflight, _ kubectl: Kubectl,
                                   _ invocation: Invocation, _ configuration: Configuration, _ context: Context) -> DeployPlan {
        let interval = options.interval
        return DeployPlan(
            options: options, preflight: preflight,
            rollouts: Rollouts(kubectl: kubectl, statefulSetTimeout: configuration.policy.deploy.statefulSetTimeout),
            makeEvaluator: { images, context in
                try LiveBakeEvaluator.make(configuration: configuration, context: context, images: images, interval: interval)
            },
            makeBackup: { try BackupCreateRequest.plan(invocation, configuration, context) },
            json: invocation.json)
    }
}

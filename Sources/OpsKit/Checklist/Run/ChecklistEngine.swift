import Foundation
import Synchronization

/// Runs the selected checks in every mode the run allows and turns their findings into
/// verdicts: static and config rules over the manifests (in parallel across cores), live
/// probes (all at once, each under its timeout, while the static rules run), attestations,
/// then waivers.
package struct ChecklistEngine: Sendable {
    package var checks: [ChecklistCheck]
    package var scope: StaticScope
    /// Builds the live scope of one probe, given the interrupt that stops it; nil without `--live`.
    package var liveScope: (@Sendable (Interrupt) -> LiveScope)?
    package var timeout: Double
    package var attestations: AttestationFile?
    /// Nil with `--no-waivers` or when none are configured.
    package var waivers: WaiverFile?
    package var clock: any TimeSource
    package var interrupt: Interrupt

    package init(
        checks: [ChecklistCheck], scope: StaticScope, liveScope: (@Sendable (Interrupt) -> LiveScope)?, timeout: Double,
        attestations: AttestationFile?, waivers: WaiverFile?, clock: any TimeSource, interrupt: Interrupt
    ) {
        self.checks = checks
        self.scope = scope
        self.liveScope = liveScope
        self.timeout = timeout
        self.attestations = attestations
        self.waivers = waivers
        self.clock = clock
        self.interrupt = interrupt
    }

    package func run() -> [CheckResult] {
        let liveIndices = checks.indices.filter { checks[$0].liveProbe != nil }
        // Live probes start first and run while the static rules use the CPU.
        let liveFindings = Mutex<[Int: Finding]>([:])
        let liveDone = DispatchSemaphore(value: 0)
        if let liveScope, !liveIndices.isEmpty {
            let jobs = liveIndices.map { index in
                let probe = checks[index].liveProbe!
                let clock = self.clock
                return LiveRunner.Job(timeout: timeout) { stop in
                    Self.evaluate(.live, clock: clock) { try probe(liveScope(stop)) }
                }
            }
            let interrupt = self.interrupt
            Thread {
                let findings = LiveRunner().run(jobs, interrupt: interrupt)
                liveFindings.withLock { all in for (slot, index) in liveIndices.enumerated() { all[index] = findings[slot] } }
                liveDone.signal()
            }.start()
        } else {
            liveDone.signal()
        }

        let staticFindings = Mutex<[Int: [Finding]]>([:])
        let scope = self.scope
        let clock = self.clock
        DispatchQueue.concurrentPerform(iterations: checks.count) { index in
            let check = checks[index]
            var parts: [Finding] = []
            if let rule = check.staticRule { parts.append(Self.evaluate(.static, clock: clock) { try rule(scope) }) }
            if let rule = check.configRule { parts.append(Self.evaluate(.config, clock: clock) { try rule(scope) }) }
            staticFindings.withLock { $0[index] = parts }
        }
        liveDone.wait()

        let now = scope.settings.now
        return checks.indices.map { index in
            let check = checks[index]
            var parts = staticFindings.withLock { $0[index] ?? [] }
            if check.liveProbe != nil {
                let live = liveFindings.withLock { $0[index] }
                parts.append(live ?? Finding(.live, .skip, "no live access (run with --live)"))
            }
            var attestation: Attestation?
            if let rule = check.attestation {
                attestation = attestations?.attestation(for: check.id)
                parts.append(Self.attest(check, rule, attestation, configured: attestations != nil, settings: scope.settings))
            }
            parts.sort { $0.mode < $1.mode }
            var result = Verdict.combine(check, parts)
            result.attestation = attestation
            Verdict.apply(waivers?.waiver(for: check.id), to: &result, now: now)
            return result
        }
    }

    /// Runs one rule, timing it, and turns what it throws into a skip or an error.
    static func evaluate(_ mode: CheckMode, clock: any TimeSource, _ body: () throws -> Finding) -> Finding {
        let start = clock.now()
        var finding: Finding
        do {
            finding = try body()
        } catch let skip as CheckSkipped {
            finding = Finding(mode, .skip, skip.reason)
        } catch let error as ManifestError {
            finding = Finding(mode, .error, error.message, fix: error.hint)
        } catch let error as any OperatorError {
            finding = Finding(mode, .error, Redactor.redact(error.description), fix: error.hint.map(Redactor.redact))
        } catch {
            finding = Finding(mode, .error, Redactor.redact(String(describing: error)))
        }
        finding.mode = mode
        finding.seconds = clock.now().timeIntervalSince(start)
        return finding
    }

    /// The attestation part: valid, expired, missing (a warning, a failure under `--strict`), or
    /// carrying figures that miss the targets.
    static func attest(_ check: ChecklistCheck, _ rule: AttestationRule, _ attestation: Attestation?, configured: Bool, settings: ChecklistSettings) -> Finding {
        guard let attestation else {
            let why = configured ? "no attestation for \(check.id)" : "no attestations file configured"
            let fix = "attest that \(rule.statement): add \(check.id) (who, when, evidence, expires) to the attestations file"
                + (configured ? "" : " and point checklist.attestations (or --attestations) at it")
            if settings.strict {
                return Finding(.attest, .fail, "\(why): nothing in the manifests or the cluster can prove that \(rule.statement) (required under --strict)", fix: fix)
            }
            return Finding(.attest, .warn, "\(why): nothing in the manifests or the cluster can prove that \(rule.statement)", fix: fix)
        }
        let evidence = ["\(attestation.summary) (\(attestation.mark))"]
        if attestation.expires <= settings.now {
            return Finding(.attest, .fail, "the attestation by \(attestation.who) expired on \(attestation.expiresText)", evidence: evidence,
                           fix: "confirm again that \(rule.statement) and renew the attestation at \(attestation.mark)")
        }
        if attestation.when > settings.now {
            return Finding(.attest, .fail, "the attestation is dated \(attestation.whenText), in the future", evidence: evidence,
                           fix: "date the attestation at \(attestation.mark) when it was made")
        }
        if let figures = rule.figures, var failure = figures(attestation) {
            failure.mode = .attest
            failure.evidence = evidence + failure.evidence
            return failure
        }
        return Finding(.attest, .pass, attestation.summary, evidence: evidence)
    }
}

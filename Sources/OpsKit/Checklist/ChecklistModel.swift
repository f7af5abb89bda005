import Foundation

/// The six sections of the operations guide's production checklist, in the guide's order. The
/// raw value is the prefix of every check ID in the section.
package enum ChecklistSection: String, CaseIterable, Sendable, Comparable {
    case infrastructure = "INF"
    case security = "SEC"
    case monitoring = "MON"
    case dataProtection = "DP"
    case performance = "PERF"
    case operations = "OPS"

    /// The section's heading in the guide.
    package var title: String {
        switch self {
        case .infrastructure: "Infrastructure"
        case .security: "Security"
        case .monitoring: "Monitoring"
        case .dataProtection: "Data protection"
        case .performance: "Performance"
        case .operations: "Operations"
        }
    }

    /// `INF`, `inf`, `infrastructure`, `data-protection`, `"Data protection"`.
    package init?(argument: String) {
        let wanted = argument.lowercased().replacingOccurrences(of: "-", with: " ")
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == wanted || $0.title.lowercased() == wanted }) else {
            return nil
        }
        self = match
    }

    package static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where a check looks for its evidence.
package enum CheckMode: String, CaseIterable, Sendable, Comparable {
    /// The manifests (and runbooks, documents) in the repository, without any cluster.
    case `static`
    /// The running environment: Kubernetes, ClickHouse, Prometheus, backups.
    case live
    /// luminatectl's own configuration of the environment (policy).
    case config
    /// Signed-off evidence: something no file or API can prove (a drill, a rotation, a review).
    case attest

    package static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// How a check (or one mode of it) ended.
package enum CheckOutcome: String, CaseIterable, Sendable {
    case pass, fail, warn, skip, waived, error

    /// Which outcome wins when a check combines several modes: a definite failure says more
    /// than "could not check", which says more than a warning; skips never outweigh a result.
    var weight: Int {
        switch self {
        case .fail: 5
        case .error: 4
        case .warn: 3
        case .waived: 2
        case .pass: 1
        case .skip: 0
        }
    }

    /// Whether this outcome makes `checklist run` exit 1 (warnings only under `--strict`).
    package func failsRun(strict: Bool) -> Bool {
        switch self {
        case .fail, .error: true
        case .warn: strict
        case .pass, .skip, .waived: false
        }
    }
}

/// What one mode of a check found: an outcome, one line saying why, the objects or values that
/// show it, and, where the check's general fix is not specific enough, the fix for this case.
package struct Finding: Sendable, Equatable {
    package var mode: CheckMode
    package var outcome: CheckOutcome
    package var message: String
    /// `Kind/namespace/name (file:line): what about it`, one per line; never secret values.
    package var evidence: [String]
    package var fix: String?
    package var seconds: Double

    package init(_ mode: CheckMode, _ outcome: CheckOutcome, _ message: String, evidence: [String] = [], fix: String? = nil, seconds: Double = 0) {
        self.mode = mode
        self.outcome = outcome
        self.message = message
        self.evidence = evidence
        self.fix = fix
        self.seconds = seconds
    }
}

extension Finding {
    /// Several findings of one mode as one: the worst outcome decides and gives the message;
    /// every finding's evidence is kept; a skipped part never decides over one that ran.
    package static func merge(_ parts: [Finding], mode: CheckMode) -> Finding {
        let ran = parts.filter { $0.outcome != .skip }
        guard let worst = (ran.isEmpty ? parts : ran).max(by: { $0.weight < $1.weight }) else {
            return Finding(mode, .skip, "nothing to check")
        }
        let others = (ran.isEmpty ? parts : ran).filter { $0.outcome != worst.outcome }.map(\.message)
        var merged = worst
        merged.mode = mode
        let peers = ran.filter { $0.outcome == worst.outcome && $0.message != worst.message }.map(\.message)
        if !peers.isEmpty { merged.message = ([worst.message] + peers).joined(separator: "; ") }
        merged.evidence = parts.flatMap(\.evidence)
        if !others.isEmpty, worst.outcome != .pass { merged.evidence.append("also: " + others.joined(separator: "; ")) }
        return merged
    }
}

/// Thrown inside a check when a mode cannot run for a reason that is not a fault: no live
/// access, an endpoint not configured, promtool not installed. It becomes a `skip` with the reason.
package struct CheckSkipped: Error, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

/// The text `checklist explain` prints: what the item means, why the guide asks for it, how
/// luminatectl checks it, and how to fix a failure.
package struct CheckExplanation: Sendable {
    package var what: String
    package var why: String
    package var how: String
    package var fix: String

    package init(what: String, why: String, how: String, fix: String) {
        self.what = what
        self.why = why
        self.how = how
        self.fix = fix
    }
}

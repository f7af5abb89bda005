import Foundation

/// One item of the production checklist: a stable ID (part of the interface: CI gates and
/// waivers name it), the guide's title, its section, the `explain` text, and a rule for each
/// mode it can be checked in.
package struct ChecklistCheck: Sendable {
    package var id: String
    package var title: String
    package var section: ChecklistSection
    package var explanation: CheckExplanation
    /// Judges the manifests, runbooks and documents of the repository.
    package var staticRule: (@Sendable (StaticScope) throws -> Finding)?
    /// Judges luminatectl's configuration of the environment.
    package var configRule: (@Sendable (StaticScope) throws -> Finding)?
    /// Asks the running environment; runs concurrently with the other live checks, under a timeout.
    package var liveProbe: (@Sendable (LiveScope) throws -> Finding)?
    /// What an attestation must state, when the item takes one.
    package var attestation: AttestationRule?
    package var combination: Combination

    package init(
        _ id: String, _ title: String, section: ChecklistSection, explanation: CheckExplanation,
        combination: Combination = .all,
        staticRule: (@Sendable (StaticScope) throws -> Finding)? = nil,
        configRule: (@Sendable (StaticScope) throws -> Finding)? = nil,
        liveProbe: (@Sendable (LiveScope) throws -> Finding)? = nil,
        attestation: AttestationRule? = nil
    ) {
        self.id = id
        self.title = title
        self.section = section
        self.explanation = explanation
        self.combination = combination
        self.staticRule = staticRule
        self.configRule = configRule
        self.liveProbe = liveProbe
        self.attestation = attestation
    }

    /// The modes this check has a rule for, in a fixed order.
    package var modes: [CheckMode] {
        var modes: [CheckMode] = []
        if staticRule != nil { modes.append(.static) }
        if liveProbe != nil { modes.append(.live) }
        if configRule != nil { modes.append(.config) }
        if attestation != nil { modes.append(.attest) }
        return modes
    }

    /// `INF-1 ClickHouse cluster deployed (minimum 4 nodes)`
    package var label: String { "\(id) \(title)" }
}

/// How the results of a check's modes add up.
package enum Combination: Sendable {
    /// Every mode that ran must pass: static pass + live fail = fail.
    case all
    /// One passing mode is enough: a log shipper in the manifests, or an attestation that logs
    /// are aggregated elsewhere.
    case any
}

/// What an attestation of a check must say, and what it must carry.
package struct AttestationRule: Sendable {
    /// What the person attests, in the words `explain` and the report use.
    package var statement: String
    /// Checks the figures an attestation must carry (PERF-1); returns a failing finding, or nil
    /// when the figures meet the targets.
    package var figures: (@Sendable (Attestation) -> Finding?)?

    package init(_ statement: String, figures: (@Sendable (Attestation) -> Finding?)? = nil) {
        self.statement = statement
        self.figures = figures
    }
}

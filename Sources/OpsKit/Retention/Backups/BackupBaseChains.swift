import Foundation

/// What each backup in a store builds on, and whether a complete backup can be restored: a full
/// backup can; an incremental can when its base is a complete backup that can, all the way down.
/// Incomplete backups build on the base their start marker names (an incremental still running
/// needs its base as much as a finished one).
struct BackupBaseChains {
    /// The id each backup is incremental on, as its manifest (or start marker) names it.
    let base: [String: String]
    /// For every complete backup that cannot be restored: which link is broken.
    let unrestorable: [String: String]

    init(_ entries: [CatalogueEntry]) {
        var base: [String: String] = [:]
        var state: [String: CatalogueEntry.State] = [:]
        for entry in entries {
            state[entry.id.text] = entry.state
            switch entry.state {
            case .complete(let manifest): base[entry.id.text] = manifest.base
            case .incomplete(let details): base[entry.id.text] = details.marker?.base
            }
        }
        self.base = base

        var problems: [String: String?] = [:]
        // Walks one chain down to a full backup or a broken link; every backup on the way shares
        // the answer, so a store of long chains is walked once.
        func problem(_ id: String, visiting: inout Set<String>) -> String? {
            if let known = problems[id] { return known }
            guard case .complete(let manifest)? = state[id] else { return nil }
            let answer: String?
            if let baseID = manifest.base {
                if visiting.contains(baseID) {
                    answer = "its base chain loops back to \(baseID)"
                } else if state[baseID] == nil {
                    answer = "base \(baseID) missing"
                } else if case .incomplete? = state[baseID] {
                    answer = "base \(baseID) is incomplete"
                } else {
                    visiting.insert(id)
                    let below = problem(baseID, visiting: &visiting)
                    visiting.remove(id)
                    answer = below.map { "base \(baseID) is unrestorable (\($0))" }
                }
            } else {
                answer = manifest.type == .incremental ? "incremental without a base" : nil
            }
            problems[id] = answer
            return answer
        }
        var unrestorable: [String: String] = [:]
        for entry in entries where entry.manifest != nil {
            var visiting: Set<String> = [entry.id.text]
            if let found = problem(entry.id.text, visiting: &visiting) { unrestorable[entry.id.text] = found }
        }
        self.unrestorable = unrestorable
    }
}

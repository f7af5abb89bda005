import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class BackupRetentionPropertyTests: XCTestCase {
    typealias F = RetentionFixtures

    /// A random store: backups at random gaps (minutes to days), full or incremental on a recent
    /// earlier backup (now and then on one that is not in the store), some incomplete.
    private func history(_ random: inout SplitMix64) -> (entries: [CatalogueEntry], now: Date) {
        var time = F.time("2026-01-01T00:00:00Z").addingTimeInterval(Double(random.next(below: 365 * 86400)))
        var ids: [String] = []
        var backups: [(id: String, incomplete: Bool, base: String?)] = []
        for _ in 0..<(1 + random.next(below: 150)) {
            let gap = switch random.next(below: 10) {
            case 0..<6: 60 * (1 + random.next(below: 90))
            case 6..<9: 3600 * (1 + random.next(below: 30))
            default: 86400 * (1 + random.next(below: 20))
            }
            time.addTimeInterval(Double(gap))
            let id = BackupID(time: time).text
            var base: String?
            if !ids.isEmpty, random.chance(50) { base = ids[ids.count - 1 - random.next(below: min(ids.count, 8))] }
            if random.chance(3) { base = BackupID(time: time.addingTimeInterval(-Double(1 + random.next(below: 90 * 86400)))).text }
            backups.append((id, random.chance(12), base))
            ids.append(id)
        }
        // Now and then a manifest names a later backup as its base (a clock stepped back, a
        // hand-edited manifest), which can close a loop: the order of deletions must follow
        // the bases, not the times.
        for index in backups.indices where !backups[index].incomplete && random.chance(4) {
            backups[index].base = ids[index + random.next(below: ids.count - index)]
        }
        let entries = backups.map { $0.incomplete ? F.incomplete($0.id, base: $0.base) : F.complete($0.id, base: $0.base) }
        return (entries.shuffled(using: &random), time.addingTimeInterval(Double(random.next(below: 3 * 86400))))
    }

    private func randomPolicy(_ random: inout SplitMix64) -> RetentionPolicy {
        func count() -> Int { random.chance(20) ? 0 : random.chance(10) ? 24 : 1 + random.next(below: 6) }
        return F.policy(hourly: count(), daily: count(), weekly: count(), monthly: count())
    }

    func testInvariantsOverRandomHistories() {
        var random = SplitMix64(seed: 0x1337_2026)
        var deletions = 0, keptAsBaseOnly = 0, unrestorable = 0
        for run in 0..<600 {
            let seed = random.next()
            var generator = SplitMix64(seed: seed)
            let (entries, now) = history(&generator)
            let policy = randomPolicy(&generator)
            let maxAge = generator.chance(50) ? BackupRetentionPlanner.defaultIncompleteMaxAge : Double(60 * generator.next(below: 3000))
            let plan = BackupRetentionPlanner(policy: policy, incompleteMaxAge: maxAge).plan(entries, now: now)
            let context = "run \(run), seed \(seed)"
            check(plan, entries: entries, now: now, policy: policy, maxAge: maxAge, context)
            deletions += plan.deletionOrder.count
            keptAsBaseOnly += plan.decisions.filter(\.isKeptOnlyAsBase).count
            unrestorable += plan.decisions.filter { $0.keptBecause.contains { if case .unrestorable = $0 { true } else { false } } }.count
        }
        // The generator must reach every rule, or the invariants hold vacuously.
        XCTAssertGreaterThan(deletions, 1000)
        XCTAssertGreaterThan(keptAsBaseOnly, 100)
        XCTAssertGreaterThan(unrestorable, 50)
    }

    /// Checks the plan against the definition, computed here independently and by brute force.
    private func check(_ plan: BackupRetentionPlan, entries: [CatalogueEntry], now: Date, policy: RetentionPolicy,
                       maxAge: Double, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        let byID = Dictionary(uniqueKeysWithValues: entries.map { ($0.id.text, $0) })
        func base(_ entry: CatalogueEntry) -> String? {
            switch entry.state {
            case .complete(let manifest): manifest.base
            case .incomplete(let details): details.marker?.base
            }
        }
        func restorable(_ id: String, depth: Int = 0) -> Bool {
            guard depth <= entries.count, let manifest = byID[id]?.manifest else { return false }
            guard let baseID = manifest.base else { return true }
            return restorable(baseID, depth: depth + 1)
        }
        XCTAssertEqual(Set(plan.decisions.map(\.id.text)), Set(byID.keys), context, file: file, line: line)
        XCTAssertEqual(plan.decisions.count, entries.count, context, file: file, line: line)

        // The newest complete backup, and the newest restorable one, survive.
        let complete = entries.compactMap(\.manifest)
        let good = complete.filter { restorable($0.id) }
        for newest in [complete.max { $0.snapshotAt < $1.snapshotAt }, good.max { $0.snapshotAt < $1.snapshotAt }].compactMap({ $0 }) {
            XCTAssertEqual(plan.decision(newest.id)?.isKept, true, "newest \(newest.id): \(context)", file: file, line: line)
        }

        // Every dependency of a kept backup survives.
        for decision in plan.kept {
            if let baseID = decision.base, byID[baseID] != nil {
                XCTAssertEqual(plan.decision(baseID)?.isKept, true, "\(baseID) under \(decision.id): \(context)", file: file, line: line)
            }
        }

        // Each tier keeps the oldest restorable backup of each of its min(N, periods) latest periods.
        for tier in BackupTier.allCases {
            var periods: [BackupPeriod: [BackupManifest]] = [:]
            for manifest in good { periods[tier.period(of: manifest.snapshotAt), default: []].append(manifest) }
            let wanted = periods.keys.sorted(by: >).prefix(tier.count(in: policy)).map { period in
                periods[period]!.min { ($0.snapshotAt, $0.id) < ($1.snapshotAt, $1.id) }!.id
            }
            XCTAssertEqual(wanted.count, min(tier.count(in: policy), periods.count), context, file: file, line: line)
            let keptByTier = plan.decisions.filter { $0.tiers.contains(tier) }.map(\.id.text)
            XCTAssertEqual(Set(keptByTier), Set(wanted), "\(tier): \(context)", file: file, line: line)
            XCTAssertEqual(keptByTier.count, wanted.count, "\(tier) keeps each period once: \(context)", file: file, line: line)
        }

        // Nothing is kept without a reason that holds, and nothing is deleted that a rule keeps.
        let newestGood = good.max { ($0.snapshotAt, $0.id) < ($1.snapshotAt, $1.id) }?.id
        for decision in plan.decisions {
            let id = decision.id.text, entry = byID[id]!
            let age = now.timeIntervalSince(decision.id.time)
            let dependents = plan.kept.filter { $0.base == id && $0.id.text != id }.map(\.id.text)
            switch decision.action {
            case .keep(let reasons):
                XCTAssertFalse(reasons.isEmpty, "\(id): \(context)", file: file, line: line)
                for reason in reasons {
                    let holds = switch reason {
                    case .tier: restorable(id)
                    case .newest: id == newestGood
                    case .baseOf(let dependent): dependents.contains(dependent)
                    case .mayStillBeRunning: entry.manifest == nil && age <= maxAge
                    case .unrestorable: entry.manifest != nil && !restorable(id)
                    }
                    XCTAssertTrue(holds, "\(id) kept as \(reason): \(context)", file: file, line: line)
                }
                XCTAssertEqual(Set(reasons.compactMap { if case .baseOf(let d) = $0 { d } else { nil } }), Set(dependents),
                               "\(id) names every kept dependent: \(context)", file: file, line: line)
            case .delete:
                XCTAssertTrue(dependents.isEmpty, "\(id) deleted under \(dependents): \(context)", file: file, line: line)
                if entry.manifest != nil {
                    XCTAssertTrue(restorable(id) && id != newestGood, "\(id): \(context)", file: file, line: line)
                } else {
                    XCTAssertGreaterThan(age, maxAge, "\(id): \(context)", file: file, line: line)
                }
            }
        }

        // Deleting in the plan's order never removes a base while something built on it remains.
        XCTAssertEqual(Set(plan.deletionOrder.map(\.text)), Set(plan.deleted.map(\.id.text)), context, file: file, line: line)
        XCTAssertEqual(plan.deletionOrder.count, plan.deleted.count, context, file: file, line: line)
        var store = Set(byID.keys)
        for id in plan.deletionOrder {
            let dependents = store.filter { $0 != id.text && base(byID[$0]!) == id.text }
            XCTAssertTrue(dependents.isEmpty, "\(id) deleted before \(dependents.sorted()): \(context)", file: file, line: line)
            store.remove(id.text)
        }
    }
}

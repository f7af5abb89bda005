import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// SEC, MON, DP and PERF live probes through fakes.
final class LiveSecurityMonitoringTests: XCTestCase {
    static func secret(keys: [String], owner: String? = nil) -> String {
        let data = keys.map { #""\#($0)":"c2VjcmV0LXZhbHVl""# }.joined(separator: ",")
        let owners = owner.map { #","ownerReferences":[{"apiVersion":"x/v1","kind":"\#($0)","name":"luminate-jwt","uid":"u"}]"# } ?? ""
        return #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"luminate-jwt","namespace":"luminate"\#(owners)},"data":{\#(data)}}"#
    }

    func testSEC1TheSecretAndKeyExistValueNeverShown() throws {
        let processes = RoutedProcessRunner()
        processes.on(["get", "secret", "luminate-jwt", "-o", "json"], stdout: Self.secret(keys: ["jwt-secret"]))
        processes.on(["get", "secret", "luminate-clickhouse", "-o", "json"], stdout: Self.secret(keys: ["password"]))
        let manifests = try ChecklistFixtures.goodIndex()
        let good = try SecurityLive.jwtSecretExists(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(good.outcome, .pass, good.message)
        XCTAssertEqual(good.evidence, ["Secret/luminate/luminate-jwt: has key jwt-secret (value not shown)"])
        XCTAssertFalse(good.evidence.joined().contains("c2VjcmV0"))

        processes.on(["get", "secret", "luminate-jwt", "-o", "json"], stdout: Self.secret(keys: ["other"]))
        let keyless = try SecurityLive.jwtSecretExists(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(keyless.message, "the JWT Secret luminate-jwt has no key jwt-secret")

        processes.on(["get", "secret", "luminate-jwt"], exit: 1, stderr: #"Error from server (NotFound): secrets "luminate-jwt" not found"#)
        let missing = try SecurityLive.jwtSecretExists(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(missing.outcome, .fail)
        XCTAssertEqual(missing.message, "the JWT Secret luminate-jwt does not exist")
    }

    func testSEC1WithoutManifestsReadsTheDeploymentFromTheCluster() throws {
        let processes = RoutedProcessRunner()
        let deployment = #"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"luminate","labels":{"app.kubernetes.io/name":"luminate"}},"spec":{"template":{"spec":{"containers":[{"name":"luminate","env":[{"name":"JWT_KEY","valueFrom":{"secretKeyRef":{"name":"luminate-jwt","key":"jwt-secret"}}}]}]}}}}]}"#
        processes.on(["get", "deployments,statefulsets", "--selector=app.kubernetes.io/name=luminate", "-o", "json"], stdout: deployment)
        processes.on(["get", "secret", "luminate-jwt"], stdout: Self.secret(keys: ["jwt-secret"]))
        XCTAssertEqual(try SecurityLive.jwtSecretExists(liveScope(processes: processes)).outcome, .pass)
    }

    func testSEC2TheJWTSecretIsOwnedByASealedSecret() throws {
        let processes = RoutedProcessRunner()
        processes.on(["get", "secret", "luminate-jwt"], stdout: Self.secret(keys: ["jwt-secret"], owner: "SealedSecret"))
        let manifests = try ChecklistFixtures.goodIndex()
        let good = try SecurityLive.jwtSecretOwner(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(good.outcome, .pass)
        XCTAssertEqual(good.message, "the JWT Secret is owned by SealedSecret/luminate-jwt")
        processes.on(["get", "secret", "luminate-jwt"], stdout: Self.secret(keys: ["jwt-secret"]))
        let byHand = try SecurityLive.jwtSecretOwner(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(byHand.outcome, .fail)
        XCTAssertEqual(byHand.message, "the JWT Secret luminate-jwt is not owned by a SealedSecret or ExternalSecret: it was created by hand")
    }

    func testSEC3TheClusterHasTheManifestsPolicies() throws {
        let manifests = try ChecklistFixtures.goodIndex()
        let live = manifests.objects("NetworkPolicy", "Deployment", "StatefulSet").map(\.json)
        let list = JSONValue.object([("apiVersion", "v1"), ("kind", "List"), ("items", .array(live))]).rendered()
        let chi = JSONValue.object([("apiVersion", "v1"), ("kind", "List"), ("items", .array(manifests.objects("ClickHouseInstallation").map(\.json)))]).rendered()
        let processes = RoutedProcessRunner()
        processes.on(["get", "networkpolicies,deployments,statefulsets", "-o", "json"], stdout: list)
        processes.on(["get", "clickhouseinstallations", "-o", "json"], stdout: chi)
        let good = try SecurityLive.networkPolicies(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(good.outcome, .pass, good.message + "\n" + good.evidence.joined(separator: "\n"))

        let withoutDeny = live.filter { $0[path: "metadata.name"]?.string != "default-deny-ingress" }
        let fewer = JSONValue.object([("apiVersion", "v1"), ("kind", "List"), ("items", .array(withoutDeny))]).rendered()
        processes.on(["get", "networkpolicies,deployments,statefulsets", "-o", "json"], stdout: fewer)
        processes.on(["get", "clickhouseinstallations"], exit: 1, stderr: #"error: the server doesn't have a resource type "clickhouseinstallations""#)
        let missing = try SecurityLive.networkPolicies(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(missing.outcome, .fail)
        XCTAssertEqual(missing.message, "1 NetworkPolicy of the manifests not in the cluster")
        XCTAssertTrue(missing.evidence.contains("NetworkPolicy/luminate/default-deny-ingress (good/network-policies.yaml:1): not in namespace luminate"), "\(missing.evidence)")
        XCTAssertTrue(missing.evidence.contains("namespace luminate: no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)"), "\(missing.evidence)")
    }

    static func reviews(allowed: Set<String>) -> String {
        let actions = SecurityLive.forbiddenActions.map { action in
            let namespace = action.namespace.map { #","namespace":"\#($0 == "$namespace" ? "luminate" : $0)""# } ?? ""
            let sub = action.subresource.map { #","subresource":"\#($0)""# } ?? ""
            let yes = allowed.contains("\(action.verb) \(action.resource)")
            return #"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"\#(action.verb)","group":"\#(action.group)","resource":"\#(action.resource)"\#(sub)\#(namespace)}},"status":{"allowed":\#(yes)}}"#
        }
        return #"{"apiVersion":"v1","kind":"List","items":[\#(actions.joined(separator: ","))]}"#
    }

    func testSEC4AccessReviewsAsLuminatesServiceAccountAreDenied() throws {
        let processes = RoutedProcessRunner()
        processes.on(["create", "-f", "-", "-o", "json", "--as=system:serviceaccount:luminate:luminate"]) { request in
            let documents = try splitJSONDocuments(request.stdin ?? Data()).map { try JSONValue.parse($0) }
            XCTAssertEqual(documents.count, SecurityLive.forbiddenActions.count, "JSON documents, never a generator's protobuf")
            XCTAssertEqual(documents.first?["kind"], "SelfSubjectAccessReview")
            return ProcessResult(status: .exited(0), stdout: Data(Self.reviews(allowed: []).utf8))
        }
        let manifests = try ChecklistFixtures.goodIndex()
        let good = try SecurityLive.accessReviews(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(good.outcome, .pass, good.message)
        XCTAssertTrue(good.evidence.contains("system:serviceaccount:luminate:luminate may not get secrets in kube-system"), "\(good.evidence)")

        processes.on(["create", "-f", "-"], stdout: Self.reviews(allowed: ["list secrets"]))
        let leaky = try SecurityLive.accessReviews(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(leaky.outcome, .fail)
        XCTAssertEqual(leaky.evidence.first, "system:serviceaccount:luminate:luminate may list secrets in luminate")
    }

    func testMON1EveryLuminateTargetUp() throws {
        let http = RoutedHTTPTransport()
        let up = [(["job": "luminate", "instance": "luminate-0"], 1.0), (["job": "luminate", "instance": "luminate-1"], 1.0), (["job": "luminate", "instance": "luminate-2"], 1.0)]
        http.on(["/api/v1/query?", #"up{job=~"luminate.*"}"#, "time=1795133700.000"], body: PromAnswer.vector(up))
        let good = try MonitoringLive.targetsUp(liveScope(http: http))
        XCTAssertEqual(good.outcome, .pass)
        XCTAssertEqual(good.message, "3 Luminate targets up at 2026-11-20T00:15:00Z")
        var down = up
        down[2].1 = 0
        http.on([#"up{job=~"luminate.*"}"#], body: PromAnswer.vector(down))
        let bad = try MonitoringLive.targetsUp(liveScope(http: http))
        XCTAssertEqual(bad.message, "1 of 3 Luminate targets are down at 2026-11-20T00:15:00Z")
        XCTAssertEqual(bad.evidence.last, "luminate/luminate-2: up 0")
        http.on([#"up{job=~"luminate.*"}"#], body: PromAnswer.vector([]))
        XCTAssertEqual(try MonitoringLive.targetsUp(liveScope(http: http)).outcome, .fail)
    }

    func testMON3LoadedRulesCoverTheTopics() throws {
        func rules(_ names: [(String, String)]) -> String {
            let rules = names.map { #"{"name":"\#($0.0)","query":"\#($0.1)","type":"alerting","health":"ok","labels":{},"annotations":{},"alerts":[]}"# }
            return #"{"status":"success","data":{"groups":[{"name":"g","file":"/etc/rules.yml","rules":[\#(rules.joined(separator: ","))]}]}}"#
        }
        let all = [("HighErrorRate", "x"), ("HighLatency", "y"), ("StorageFull", "z"), ("BackupTooOld", "b"), ("ReplicationLag", "r"), ("ZooKeeperDown", "k")]
        let http = RoutedHTTPTransport()
        http.on(["/api/v1/rules"], body: rules(all))
        XCTAssertEqual(try MonitoringLive.loadedRules(liveScope(http: http)).outcome, .pass)
        http.on(["/api/v1/rules"], body: rules(Array(all.prefix(4))))
        XCTAssertEqual(try MonitoringLive.loadedRules(liveScope(http: http)).message, "Prometheus has no alert for replication lag, ZooKeeper")
    }

    /// Backup and drill records, as the backup capability will provide them.
    struct Records: RecoveryRecords {
        var backup: BackupRecord?
        var drills: [RestoreDrill]
        func newestCompleteBackup() throws -> BackupRecord? { backup }
        func restoreDrills() throws -> [RestoreDrill] { drills }
    }

    func testDP1AndDP3SkipUntilBackupsExistAndUseTheRecordsOnceTheyDo() throws {
        XCTAssertThrowsError(try DataProtectionChecks.newestBackup(liveScope())) { error in
            XCTAssertEqual((error as? CheckSkipped)?.reason, "no backups recorded yet: arrives with luminatectl backup")
        }
        XCTAssertThrowsError(try DataProtectionChecks.restoreDrills(liveScope())) { error in
            XCTAssertEqual((error as? CheckSkipped)?.reason, "no restore drills recorded yet: arrives with luminatectl restore drill")
        }
        let now = ChecklistFixtures.now
        let recent = Records(backup: BackupRecord(id: "b1", completedAt: now.addingTimeInterval(-1800), location: "s3://backups/b1"), drills: [])
        XCTAssertEqual(try DataProtectionChecks.newestBackup(liveScope(records: recent)).outcome, .pass)
        let stale = Records(backup: BackupRecord(id: "b0", completedAt: now.addingTimeInterval(-7200), location: "s3://backups/b0"), drills: [])
        XCTAssertEqual(try DataProtectionChecks.newestBackup(liveScope(records: stale)).message,
                       "the newest complete backup is 2h old, older than the RPO of 1h")

        let drilled = Records(backup: nil, drills: [RestoreDrill(id: "d1", finishedAt: now.addingTimeInterval(-30 * 86400), succeeded: true, durationSeconds: 3 * 3600)])
        XCTAssertEqual(try DataProtectionChecks.restoreDrills(liveScope(records: drilled)).outcome, .pass)
        let slow = Records(backup: nil, drills: [RestoreDrill(id: "d2", finishedAt: now.addingTimeInterval(-86400), succeeded: true, durationSeconds: 5 * 3600)])
        XCTAssertEqual(try DataProtectionChecks.restoreDrills(liveScope(records: slow)).message, "the last drill took 5h, more than the RTO of 4h")
        let old = Records(backup: nil, drills: [RestoreDrill(id: "d3", finishedAt: now.addingTimeInterval(-120 * 86400), succeeded: true, durationSeconds: 3600)])
        XCTAssertEqual(try DataProtectionChecks.restoreDrills(liveScope(records: old)).message, "no successful restore drill in the last 90 days")
    }

    func testPERF3MemoryOverSevenDays() throws {
        let http = RoutedHTTPTransport()
        http.on(["max_over_time(", "[7d:5m])", #"namespace="luminate""#, "time=1795133700.000"],
                body: PromAnswer.vector([(["pod": "luminate-0", "container": "luminate"], 0.5), (["pod": "luminate-2", "container": "luminate"], 0.62)]))
        let good = try PerformanceLive.memoryHeadroom(liveScope(http: http))
        XCTAssertEqual(good.outcome, .pass)
        XCTAssertEqual(good.message, "every container stayed under 80% of its memory limit for 7 days (highest 62%)")
        http.on(["max_over_time("], body: PromAnswer.vector([(["pod": "luminate-2", "container": "luminate"], 0.85)]))
        let high = try PerformanceLive.memoryHeadroom(liveScope(http: http))
        XCTAssertEqual(high.outcome, .fail)
        XCTAssertEqual(high.evidence, ["luminate-2/luminate: up to 85% of its memory limit"])
    }

    func testPERF4StorageLatencies() throws {
        let http = RoutedHTTPTransport()
        http.on(["luminate_storage_query_duration_seconds_bucket"], body: PromAnswer.vector([([:], 0.15)]))
        http.on(["luminate_storage_write_duration_seconds_bucket"], body: PromAnswer.vector([([:], 0.045)]))
        let good = try PerformanceLive.latencies(liveScope(http: http))
        XCTAssertEqual(good.outcome, .pass)
        XCTAssertEqual(good.evidence, ["storage query p95: 150 ms (target < 200 ms)", "storage write p95: 45 ms (target < 100 ms)"])
        http.on(["luminate_storage_query_duration_seconds_bucket"], body: PromAnswer.vector([([:], 0.25)]))
        XCTAssertEqual(try PerformanceLive.latencies(liveScope(http: http)).message, "storage query p95 is 250 ms, not under 200 ms")
        http.on(["luminate_storage_query_duration_seconds_bucket"], body: PromAnswer.vector([]))
        XCTAssertEqual(try PerformanceLive.latencies(liveScope(http: http)).message, "no storage query p95 data at 2026-11-20T00:15:00Z")
    }
}

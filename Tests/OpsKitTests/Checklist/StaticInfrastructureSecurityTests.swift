import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// INF and SEC static rules: the good fixture passes; changing the one element a check is about
/// fails it.
final class StaticInfrastructureSecurityTests: XCTestCase {
    func judge(_ check: ChecklistCheck, _ index: ManifestIndex? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Finding {
        try check.staticRule!(ChecklistFixtures.scope(index))
    }

    func assertOutcome(_ check: ChecklistCheck, _ index: ManifestIndex?, _ outcome: CheckOutcome, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let finding = try judge(check, index)
        XCTAssertEqual(finding.outcome, outcome, "\(check.id): \(finding.message)\n\(finding.evidence.joined(separator: "\n"))", file: file, line: line)
        let text = ([finding.message] + finding.evidence).joined(separator: "\n")
        XCTAssertTrue(text.contains(fragment), "\(check.id): '\(fragment)' not in:\n\(text)", file: file, line: line)
    }

    // MARK: INF-1

    func testINF1CountsShardsTimesReplicasOfTheInstallation() throws {
        try assertOutcome(InfrastructureChecks.clickhouseCluster, nil, .pass, "4 ClickHouse nodes")
        try assertOutcome(InfrastructureChecks.clickhouseCluster, nil, .pass, "ClickHouseInstallation/luminate/luminate (good/clickhouse.yaml:2): cluster luminate, 2 shard(s), 4 host(s)")
        let one = try ChecklistFixtures.goodIndex().changing("ClickHouseInstallation", "luminate") { $0.setPath("spec.configuration.clusters[0].layout.replicasCount", 1) }
        try assertOutcome(InfrastructureChecks.clickhouseCluster, one, .fail, "2 ClickHouse node(s); the guide asks for at least 4")
    }

    func testINF1ExplicitShardsAndStatefulSets() throws {
        let explicit = try ChecklistFixtures.goodIndex().changing("ClickHouseInstallation", "luminate") {
            $0.setPath("spec.configuration.clusters[0].layout", ["shards": [["replicasCount": 2], ["replicas": [["name": "a"]]]]])
        }
        try assertOutcome(InfrastructureChecks.clickhouseCluster, explicit, .fail, "3 host(s)")
        let statefulSets = try ChecklistFixtures.goodIndex().removing("ClickHouseInstallation").adding("""
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: clickhouse-shard-1, labels: {app.kubernetes.io/name: clickhouse}}
            spec: {replicas: 2, template: {spec: {containers: [{name: clickhouse}]}}}
            ---
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: clickhouse-shard-2, labels: {app.kubernetes.io/name: clickhouse}}
            spec: {replicas: 2, template: {spec: {containers: [{name: clickhouse}]}}}
            """)
        try assertOutcome(InfrastructureChecks.clickhouseCluster, statefulSets, .pass, "StatefulSet/luminate/clickhouse-shard-2 (extra.yaml:6): 2 replica(s)")
        try assertOutcome(InfrastructureChecks.clickhouseCluster, try ChecklistFixtures.goodIndex().removing("ClickHouseInstallation"), .fail, "no ClickHouse in the manifests")
    }

    // MARK: INF-2

    func testINF2WantsAnOddEnsembleOfAtLeastThree() throws {
        try assertOutcome(InfrastructureChecks.zookeeperEnsemble, nil, .pass, "a ZooKeeper ensemble of 3 nodes")
        for (replicas, message) in [(2, "needs at least 3"), (4, "use an odd number"), (1, "needs at least 3")] {
            let index = try ChecklistFixtures.goodIndex().changing("StatefulSet", "zookeeper") { $0.setPath("spec.replicas", .number(Double(replicas))) }
            try assertOutcome(InfrastructureChecks.zookeeperEnsemble, index, .fail, message)
        }
        let external = try ChecklistFixtures.goodIndex().removing("StatefulSet", "zookeeper")
        try assertOutcome(InfrastructureChecks.zookeeperEnsemble, external, .pass, "3 node(s) (not deployed by these manifests)")
    }

    // MARK: INF-4, INF-5

    func testINF4IngressOrLoadBalancer() throws {
        try assertOutcome(InfrastructureChecks.loadBalancer, nil, .pass, "Ingress/luminate/luminate (good/luminate.yaml:63): routes to luminate")
        let elsewhere = try ChecklistFixtures.goodIndex().changing("Ingress", "luminate") { $0.setPath("spec.rules[0].http.paths[0].backend.service.name", "other") }
        try assertOutcome(InfrastructureChecks.loadBalancer, elsewhere, .fail, "Luminate is not exposed")
        let balancer = try ChecklistFixtures.goodIndex().removing("Ingress").changing("Service", "luminate") { $0.setPath("spec.type", "LoadBalancer") }
        try assertOutcome(InfrastructureChecks.loadBalancer, balancer, .pass, "type LoadBalancer")
    }

    func testINF5IngressNamesItsCertificateSecret() throws {
        try assertOutcome(InfrastructureChecks.tlsCertificates, nil, .pass, "TLS from Secret luminate-tls")
        let plain = try ChecklistFixtures.goodIndex().changing("Ingress", "luminate") { $0.removePath("spec.tls") }
        try assertOutcome(InfrastructureChecks.tlsCertificates, plain, .fail, "no spec.tls")
        let nameless = try ChecklistFixtures.goodIndex().changing("Ingress", "luminate") { $0.removePath("spec.tls[0].secretName") }
        try assertOutcome(InfrastructureChecks.tlsCertificates, nameless, .fail, "without secretName")
    }

    // MARK: SEC-1, SEC-2

    func testSEC1JWTFromASecretNeverALiteral() throws {
        try assertOutcome(SecurityChecks.jwtSecret, nil, .pass, "env LUMINATE_JWT_SECRET: from Secret luminate-jwt key jwt-secret")
        let literal = try ChecklistFixtures.goodIndex().changing("Deployment", "luminate") {
            $0.setPath("spec.template.spec.containers[0].env[0]", ["name": "LUMINATE_JWT_SECRET", "value": "hunter2-do-not-ship"])
        }
        let finding = try judge(SecurityChecks.jwtSecret, literal)
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertTrue(finding.evidence.joined().contains("a literal value in the manifest"))
        XCTAssertFalse((finding.message + finding.evidence.joined()).contains("hunter2"), "the value must never be printed")
        let configMap = try ChecklistFixtures.goodIndex().changing("Deployment", "luminate") {
            $0.setPath("spec.template.spec.containers[0].env[0].valueFrom", ["configMapKeyRef": ["name": "cfg", "key": "jwt"]])
        }
        try assertOutcome(SecurityChecks.jwtSecret, configMap, .fail, "not from a Secret")
        let none = try ChecklistFixtures.goodIndex().changing("Deployment", "luminate") { $0.removePath("spec.template.spec.containers[0].env[0]") }
        try assertOutcome(SecurityChecks.jwtSecret, none, .fail, "Luminate reads no JWT secret")
    }

    func testSEC2SecretsComeSealedOrFromTheVault() throws {
        try assertOutcome(SecurityChecks.secretSources, nil, .pass, "Secret luminate-jwt from SealedSecret/luminate/luminate-jwt")
        let plain = try ChecklistFixtures.goodIndex().adding("""
            apiVersion: v1
            kind: Secret
            metadata: {name: leftover}
            stringData: {password: oops}
            """)
        try assertOutcome(SecurityChecks.secretSources, plain, .fail, "Secret/luminate/leftover (extra.yaml:1): a plain Secret with 1 key(s) of data")
        let byHand = try ChecklistFixtures.goodIndex().removing("SealedSecret", "luminate-jwt")
        try assertOutcome(SecurityChecks.secretSources, byHand, .fail, "Secret luminate-jwt is not produced by any SealedSecret, ExternalSecret")
    }

    // MARK: SEC-3

    func testSEC3DefaultDenyAndPoliciesForLuminateAndClickHouse() throws {
        try assertOutcome(SecurityChecks.networkPolicies, nil, .pass, "NetworkPolicy/luminate/default-deny-ingress (good/network-policies.yaml:1): default deny")
        let open = try ChecklistFixtures.goodIndex().removing("NetworkPolicy", "default-deny-ingress")
        try assertOutcome(SecurityChecks.networkPolicies, open, .fail, "namespace luminate: no default-deny ingress NetworkPolicy")
        let allowAll = try ChecklistFixtures.goodIndex().changing("NetworkPolicy", "default-deny-ingress") { $0.setPath("spec.ingress", [[:]]) }
        try assertOutcome(SecurityChecks.networkPolicies, allowAll, .fail, "no default-deny")
        let clickhouse = try ChecklistFixtures.goodIndex().changing("NetworkPolicy", "clickhouse-ingress") {
            $0.setPath("spec.podSelector.matchLabels", ["app.kubernetes.io/name": "clickhouse-keeper"])
        }
        try assertOutcome(SecurityChecks.networkPolicies, clickhouse, .fail, "no NetworkPolicy selects ClickHouse's pods")
    }

    // MARK: SEC-4

    func testSEC4DedicatedAccountsNoWildcardsNoClusterAdminNoIdleTokens() throws {
        try assertOutcome(SecurityChecks.rbac, nil, .pass, "ServiceAccount luminate, token not mounted")
        let shared = try ChecklistFixtures.goodIndex().changing("Deployment", "luminate") { $0.removePath("spec.template.spec.serviceAccountName") }
        try assertOutcome(SecurityChecks.rbac, shared, .fail, "runs as the namespace's default ServiceAccount")
        let wildcard = try ChecklistFixtures.goodIndex().changing("Role", "backup") { $0.setPath("rules[0].verbs", ["*"]) }
        try assertOutcome(SecurityChecks.rbac, wildcard, .fail, "Role/luminate/backup (good/rbac.yaml:19): rule 1 grants * on pods")
        let admin = try ChecklistFixtures.goodIndex().changing("RoleBinding", "backup") { $0.setPath("roleRef", ["kind": "ClusterRole", "name": "cluster-admin"]) }
        try assertOutcome(SecurityChecks.rbac, admin, .fail, "binds cluster-admin")
        let token = try ChecklistFixtures.goodIndex().changing("ServiceAccount", "luminate") { $0.removePath("automountServiceAccountToken") }
        try assertOutcome(SecurityChecks.rbac, token, .fail, "mounts the API token of ServiceAccount luminate, which no binding uses")
    }

    // MARK: SEC-5

    func testSEC5NoPlainHTTPEntry() throws {
        try assertOutcome(SecurityChecks.externalTLS, nil, .pass, "TLS for metrics.example.com")
        let plain = try ChecklistFixtures.goodIndex().changing("Ingress", "luminate") {
            $0.removePath("spec.tls")
            $0.removePath("metadata.annotations")
        }
        try assertOutcome(SecurityChecks.externalTLS, plain, .fail, "no spec.tls and no redirect to HTTPS")
        let noRedirect = try ChecklistFixtures.goodIndex().changing("Ingress", "luminate") {
            $0.setPath("metadata.annotations", ["nginx.ingress.kubernetes.io/ssl-redirect": "false"])
        }
        try assertOutcome(SecurityChecks.externalTLS, noRedirect, .fail, "serves plain HTTP without redirect")
        let balancer = try ChecklistFixtures.goodIndex().changing("Service", "luminate") { $0.setPath("spec.type", "LoadBalancer") }
        try assertOutcome(SecurityChecks.externalTLS, balancer, .fail, "type LoadBalancer exposes plain HTTP (http 8080)")
    }
}

import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// INF live probes through fakes that answer like ClickHouse 18.16, kubectl and openssl.
final class LiveInfrastructureTests: XCTestCase {
    static func clickhouseJSON(_ rows: [String]) -> String {
        #"{"meta":[],"data":[\#(rows.joined(separator: ","))],"rows":\#(rows.count)}"#
    }

    static func hosts(_ count: Int) -> String {
        clickhouseJSON((0..<count).map { n in
            #"{"shard_num":\#(n / 2 + 1),"replica_num":\#(n % 2 + 1),"host_name":"ch-\#(n)","host_address":"10.0.0.\#(n)","port":9000}"#
        })
    }

    static let unreachable = "Code: 279, e.displayText() = DB::NetException: All connection tries failed. Log: Connection refused (10.0.0.3:9000), e.what() = DB::NetException"

    func testINF1FourHostsAllAnswering() throws {
        let http = RoutedHTTPTransport()
        http.on(["FROM system.clusters", "cluster = 'luminate'"], body: Self.hosts(4))
        http.on(["remote('10.0.0."], body: "1\n")
        let finding = try InfrastructureLive.clickhouseHosts(liveScope(http: http))
        XCTAssertEqual(finding.outcome, .pass, finding.message)
        XCTAssertEqual(finding.message, "cluster 'luminate' has 4 hosts in system.clusters, all answer")
        XCTAssertEqual(finding.evidence[3], "shard 2 replica 2: ch-3 (10.0.0.3:9000) answers")
        XCTAssertEqual(http.received.filter { String(decoding: $0.body ?? Data(), as: UTF8.self).contains("remote(") }.count, 4)
    }

    func testINF1SilentHostOrTooFewHostsFail() throws {
        let http = RoutedHTTPTransport()
        http.on(["FROM system.clusters"], body: Self.hosts(4))
        http.on(["remote('10.0.0."], body: "1\n")
        http.on(["remote('10.0.0.3:9000'"], status: 500, body: Self.unreachable)
        let silent = try InfrastructureLive.clickhouseHosts(liveScope(http: http))
        XCTAssertEqual(silent.outcome, .fail)
        XCTAssertEqual(silent.message, "1 of 4 hosts of cluster 'luminate' do not answer")
        XCTAssertTrue(silent.evidence[0].hasPrefix("shard 2 replica 2: ch-3 (10.0.0.3:9000) does not answer (code 279"), silent.evidence[0])

        let few = RoutedHTTPTransport()
        few.on(["FROM system.clusters"], body: Self.hosts(3))
        few.on(["remote('10.0.0."], body: "1\n")
        XCTAssertEqual(try InfrastructureLive.clickhouseHosts(liveScope(http: few)).message,
                       "cluster 'luminate' has 3 host(s) in system.clusters; the guide asks for at least 4")

        let none = RoutedHTTPTransport()
        none.on(["FROM system.clusters"], body: Self.clickhouseJSON([]))
        XCTAssertEqual(try InfrastructureLive.clickhouseHosts(liveScope(http: none)).message, "cluster 'luminate' is not in system.clusters of ch.test:8123")
    }

    func testINF1SkipsWithoutClickHouse() {
        XCTAssertThrowsError(try InfrastructureLive.clickhouseHosts(liveScope(environment: ["LUMINATECTL_CLICKHOUSE_URL": ""]))) { error in
            XCTAssertTrue((error as? CheckSkipped)?.reason.contains("ClickHouse is not configured") == true, "\(error)")
        }
    }

    func testINF1FailsForASingleServerWithoutAsking() throws {
        var settings = ChecklistFixtures.settings()
        settings.clickhouseCluster = nil
        let finding = try InfrastructureLive.clickhouseHosts(liveScope(http: RoutedHTTPTransport(), settings: settings))
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertEqual(finding.message, "no ClickHouse cluster is configured (clickhouse.cluster is empty: a single server); the guide asks for at least 4 nodes in a cluster")
    }

    static func pods(_ ready: [Bool]) -> String {
        let items = ready.enumerated().map { n, ready in
            #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"zookeeper-\#(n)","namespace":"luminate"},"status":{"conditions":[{"type":"Ready","status":"\#(ready ? "True" : "False")"}]}}"#
        }
        return #"{"apiVersion":"v1","kind":"List","items":[\#(items.joined(separator: ","))]}"#
    }

    func testINF2ClickHouseSeesZooKeeperAndPodsReady() throws {
        let http = RoutedHTTPTransport()
        http.on(["system.zookeeper"], body: Self.clickhouseJSON([#"{"name":"clickhouse"}"#, #"{"name":"zookeeper"}"#]))
        let processes = RoutedProcessRunner()
        processes.on(["get", "pods", "--selector=app.kubernetes.io/name=zookeeper", "-o", "json"], stdout: Self.pods([true, true, true]))
        let good = try InfrastructureLive.zookeeper(liveScope(processes: processes, http: http))
        XCTAssertEqual(good.outcome, .pass, good.message)
        XCTAssertEqual(good.message, "ClickHouse sees ZooKeeper; 3 ZooKeeper pods Ready")
        XCTAssertTrue(good.evidence.contains("ch.test:8123: system.zookeeper / holds clickhouse, zookeeper"))

        processes.on(["get", "pods"], stdout: Self.pods([true, false, true]))
        let degraded = try InfrastructureLive.zookeeper(liveScope(processes: processes, http: http))
        XCTAssertEqual(degraded.outcome, .fail)
        XCTAssertEqual(degraded.message, "2 of 3 ZooKeeper pods Ready; the ensemble needs 3 Ready")
        XCTAssertTrue(degraded.evidence.contains("Pod/luminate/zookeeper-1: not Ready"))

        let lost = RoutedHTTPTransport()
        lost.on(["system.zookeeper"], status: 500, body: "Code: 999, e.displayText() = DB::Exception: Session expired, e.what() = DB::Exception")
        processes.on(["get", "pods"], stdout: Self.pods([true, true, true]))
        let cut = try InfrastructureLive.zookeeper(liveScope(processes: processes, http: lost))
        XCTAssertEqual(cut.outcome, .fail)
        XCTAssertEqual(cut.message, "ClickHouse cannot reach ZooKeeper")
    }

    static let version = #"{"clientVersion":{"major":"1","minor":"32","gitVersion":"v1.32.4"},"serverVersion":{"major":"1","minor":"29","gitVersion":"v1.29.4"}}"#

    static func nodes(_ count: Int, cpu: String = "8", memory: String = "32Gi") -> String {
        let items = (0..<count).map { n in
            #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-\#(n)"},"status":{"allocatable":{"cpu":"\#(cpu)","memory":"\#(memory)"},"conditions":[{"type":"Ready","status":"True"}]}}"#
        }
        return #"{"apiVersion":"v1","kind":"List","items":[\#(items.joined(separator: ","))]}"#
    }

    func testINF3VersionAndCapacityForTheManifestsRequests() throws {
        let processes = RoutedProcessRunner()
        processes.on(["version", "-o", "json"], stdout: Self.version)
        processes.on(["get", "nodes", "-o", "json"], stdout: Self.nodes(3))
        let manifests = try ChecklistFixtures.goodIndex()
        let good = try InfrastructureLive.kubernetes(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(good.outcome, .pass, good.message)
        XCTAssertTrue(good.evidence.contains("3 of 3 nodes Ready and schedulable: 24.0 cores CPU, 96.0 GiB memory allocatable"), "\(good.evidence)")
        XCTAssertTrue(good.evidence.contains("the manifests request 12.7 cores CPU and 41.3 GiB memory"), "\(good.evidence)")

        processes.on(["get", "nodes", "-o", "json"], stdout: Self.nodes(1, cpu: "4", memory: "16Gi"))
        let small = try InfrastructureLive.kubernetes(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(small.outcome, .fail)
        XCTAssertEqual(small.message, "the nodes cannot hold what the manifests request")

        processes.on(["version", "-o", "json"], stdout: Self.version.replacingOccurrences(of: #""minor":"29","gitVersion":"v1.29.4""#, with: #""minor":"27","gitVersion":"v1.27.9""#))
        processes.on(["get", "nodes", "-o", "json"], stdout: Self.nodes(3))
        let old = try InfrastructureLive.kubernetes(liveScope(processes: processes, manifests: manifests))
        XCTAssertEqual(old.outcome, .fail)
        XCTAssertEqual(old.message, "Kubernetes v1.27.9 is older than 1.28")
    }

    /// Deployments, Services and Ingresses as kubectl lists them, the Ingress with an address or not.
    static func exposure(address: String?, tlsSecret: String = "luminate-tls") -> String {
        let status = address.map { #","status":{"loadBalancer":{"ingress":[{"ip":"\#($0)"}]}}"# } ?? ""
        return #"""
            {"apiVersion":"v1","kind":"List","items":[
             {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"luminate","namespace":"luminate","labels":{"app.kubernetes.io/name":"luminate"}},
              "spec":{"replicas":3,"template":{"metadata":{"labels":{"app.kubernetes.io/name":"luminate"}},"spec":{"containers":[{"name":"luminate"}]}}}},
             {"apiVersion":"v1","kind":"Service","metadata":{"name":"luminate","namespace":"luminate"},"spec":{"selector":{"app.kubernetes.io/name":"luminate"}}},
             {"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"luminate","namespace":"luminate"},
              "spec":{"tls":[{"hosts":["m.example.com"],"secretName":"\#(tlsSecret)"}],"rules":[{"host":"m.example.com","http":{"paths":[{"backend":{"service":{"name":"luminate"}}}]}}]}\#(status)}
            ]}
            """#
    }

    func testINF4TheEntryPointHasAnAddress() throws {
        let processes = RoutedProcessRunner()
        processes.on(["get", "deployments,statefulsets,services,ingresses", "-o", "json"], stdout: Self.exposure(address: "203.0.113.10"))
        let good = try InfrastructureLive.loadBalancerAddress(liveScope(processes: processes))
        XCTAssertEqual(good.outcome, .pass)
        XCTAssertEqual(good.evidence, ["Ingress/luminate/luminate (cluster): 203.0.113.10"])
        processes.on(["get", "deployments,statefulsets,services,ingresses", "-o", "json"], stdout: Self.exposure(address: nil))
        let pending = try InfrastructureLive.loadBalancerAddress(liveScope(processes: processes))
        XCTAssertEqual(pending.outcome, .fail)
        XCTAssertEqual(pending.message, "1 of 1 Luminate entry points have no address")
    }

    func testINF5CertificateExpiryThroughOpenSSLWithoutShowingTheSecret() throws {
        let tools = try fakeTools(["openssl"])
        defer { try? FileManager.default.removeItem(atPath: tools) }
        let pem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
        let secret = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"luminate-tls"},"type":"kubernetes.io/tls","data":{"tls.crt":"\#(Data(pem.utf8).base64EncodedString())","tls.key":"c2VjcmV0LWtleS12YWx1ZQ=="}}"#
        let processes = RoutedProcessRunner()
        processes.on(["get", "deployments,statefulsets,services,ingresses"], stdout: Self.exposure(address: "203.0.113.10"))
        processes.on(["get", "secret", "luminate-tls", "-o", "json"], stdout: secret)
        processes.on([tools + "/openssl", "x509", "-enddate", "-noout"]) { request in
            XCTAssertEqual(request.stdin, Data(pem.utf8), "the certificate goes to openssl on stdin, never in argv")
            return ProcessResult(status: .exited(0), stdout: Data("notAfter=Mar  1 12:00:00 2027 GMT\n".utf8))
        }
        let good = try InfrastructureLive.certificates(liveScope(processes: processes, searchPath: [tools]))
        XCTAssertEqual(good.outcome, .pass, good.message)
        XCTAssertEqual(good.evidence, ["Secret/luminate/luminate-tls: certificate valid until 2027-03-01 (101 days)"])
        XCTAssertFalse((good.message + good.evidence.joined()).contains("c2VjcmV0"), "no secret value in the report")

        processes.on([tools + "/openssl", "x509"], stdout: "notAfter=Dec  5 00:00:00 2026 GMT\n")
        let soon = try InfrastructureLive.certificates(liveScope(processes: processes, searchPath: [tools]))
        XCTAssertEqual(soon.outcome, .fail)
        XCTAssertEqual(soon.message, "the certificate in luminate-tls expires within 30 days (2026-12-05)")

        processes.on(["get", "secret", "luminate-tls"], exit: 1, stderr: #"Error from server (NotFound): secrets "luminate-tls" not found"#)
        let missing = try InfrastructureLive.certificates(liveScope(processes: processes, searchPath: [tools]))
        XCTAssertEqual(missing.message, "TLS Secret luminate-tls does not exist")
    }

    func testINF5WithoutOpenSSLWarns() throws {
        let processes = RoutedProcessRunner()
        processes.on(["get", "deployments,statefulsets,services,ingresses"], stdout: Self.exposure(address: "203.0.113.10"))
        processes.on(["get", "secret", "luminate-tls"], stdout: #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"luminate-tls"},"data":{"tls.crt":"eA==","tls.key":"eA=="}}"#)
        let finding = try InfrastructureLive.certificates(liveScope(processes: processes))
        XCTAssertEqual(finding.outcome, .warn)
        XCTAssertEqual(finding.message, "openssl not installed: the expiry of luminate-tls was not checked")
    }

    func testOpenSSLEndDates() {
        let date = InfrastructureLive.parseEndDate("notAfter=Nov 29 01:07:04 2027 GMT\n")
        XCTAssertEqual(date.map(ReportJSON.timestamp), "2027-11-29T01:07:04Z")
        XCTAssertNil(InfrastructureLive.parseEndDate("unable to load certificate"))
    }
}

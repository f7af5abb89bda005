import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The corruption probes against recorded ClickHouse answers: one request per replica through
/// the configured server's `remote()`, findings per probe, and a replica that does not answer.
final class ClickHouseCorruptionSourceTests: XCTestCase {
    let fake = FakeHTTPTransport()
    let replicas = [
        ClusterReplica(shard: 1, replica: 1, host: "127.0.0.1", port: 9001), ClusterReplica(shard: 1, replica: 2, host: "127.0.0.1", port: 9002),
        ClusterReplica(shard: 2, replica: 1, host: "127.0.0.1", port: 9003), ClusterReplica(shard: 2, replica: 2, host: "127.0.0.1", port: 9004),
    ]

    override func tearDown() {
        XCTAssertEqual(fake.pending, 0, "expected requests never sent")
        super.tearDown()
    }

    var server: ClickHouseHTTP {
        ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: "http://ch:8123", user: "ops", password: "secret"), transport: fake,
                       interrupt: Interrupt(), newQueryID: { "q" })
    }

    /// A `FORMAT JSON` answer with these rows.
    static func answer(_ rows: [String]) -> HTTPResponse {
        HTTPResponse(status: 200, body: Data(#"{"meta":[],"data":[\#(rows.joined(separator: ","))],"rows":\#(rows.count)}"#.utf8))
    }

    static func row(_ probe: String, _ table: String, _ partition: String = "", rows: Int = 0, _ detail: String) -> String {
        #"{"probe":"\#(probe)","database":"luminate","table":"\#(table)","partition":"\#(partition)","rows":\#(rows),"detail":"\#(detail)"}"#
    }

    /// Expects `count` requests answered by `respond` from their SQL, in whatever order they come.
    func expect(_ count: Int, _ respond: @escaping @Sendable (String) -> HTTPResponse) {
        for _ in 0..<count {
            fake.expect("POST", urlPrefix: "http://ch:8123/?query_id=luminatectl-q&") { request in
                respond(String(decoding: request.body ?? Data(), as: UTF8.self))
            }
        }
    }

    func testEveryReplicaIsAskedThroughRemoteAndEachProbeReportsItsFindings() throws {
        var probes = CorruptionProbes()
        probes.probes = [.init(name: "orphan-tenants", query: "SELECT tenant FROM luminate.tenants WHERE owner = ''")]
        let source = ClickHouseCorruptionSource(probes: probes, server: server, replicas: replicas, version: ClickHouseVersion("18.16.1")!)
        expect(5) { sql in
            if sql.hasPrefix("SELECT tenant") { return Self.answer([#"{"tenant":"acme"}"#]) }
            if sql.contains("remote('127.0.0.1:9001'") {
                return Self.answer([Self.row("rows", "metrics_local", "20261126", rows: 1000, "1"),
                                    Self.row("rows", "metrics_local", "20261201", rows: 10, "0")])
            }
            if sql.contains("remote('127.0.0.1:9002'") {
                // Fewer rows in a settled partition; a partition still being written differs harmlessly.
                return Self.answer([Self.row("rows", "metrics_local", "20261126", rows: 990, "1"),
                                    Self.row("rows", "metrics_local", "20261201", rows: 12, "0")])
            }
            if sql.contains("remote('127.0.0.1:9003'") {
                return Self.answer([Self.row("rows", "metrics_local", "20261126", rows: 1000, "1"),
                                    Self.row("read-only", "metrics_local", "", "ch-s2-r1")])
            }
            return Self.answer([Self.row("rows", "metrics_local", "20261126", rows: 1000, "1"),
                                Self.row("queue", "metrics_local", "", rows: 7, "GET_PART 20261126_3_3_0 since 2026-11-30 10:00:00: Code: 234, No active replica has part")])
        }
        let outcomes = try source.probe()
        XCTAssertEqual(outcomes.map(\.probe), ["read-only-replicas", "replication-queue", "replica-agreement", "broken-detached-parts", "orphan-tenants"])
        XCTAssertEqual(outcomes[0].findings, ["luminate.metrics_local on 127.0.0.1:9003 (replica ch-s2-r1) is read-only"])
        XCTAssertEqual(outcomes[1].findings, ["luminate.metrics_local on 127.0.0.1:9004: 7 tries of GET_PART 20261126_3_3_0 since 2026-11-30 10:00:00: Code: 234, No active replica has part"])
        XCTAssertEqual(outcomes[2].findings, ["luminate.metrics_local partition 20261126: shard 1 replicas disagree: 127.0.0.1:9001 1000 rows, 127.0.0.1:9002 990 rows"])
        XCTAssertEqual(outcomes[2].checked, "2 partitions settled for 1h compared on 2 shards")
        XCTAssertEqual(outcomes[3].findings, [])
        XCTAssertEqual(outcomes[3].checked, "not available on ClickHouse 18.16.1 (system.detached_parts came in 19.8)")
        XCTAssertEqual(outcomes[4].findings, ["tenant=acme"])
        XCTAssertTrue(outcomes.allSatisfy { $0.error == nil })
        // No request carried the password anywhere but in its header.
        for request in fake.received {
            XCTAssertFalse(request.url.contains("secret"))
            XCTAssertFalse(String(decoding: request.body ?? Data(), as: UTF8.self).contains("secret"))
        }
    }

    func testAReplicaThatDoesNotAnswerMakesTheBuiltInProbesInconclusive() throws {
        let source = ClickHouseCorruptionSource(probes: CorruptionProbes(), server: server, replicas: Array(replicas.prefix(2)),
                                                version: ClickHouseVersion("18.16.1")!)
        expect(2) { sql in
            if sql.contains("remote('127.0.0.1:9002'") {
                return HTTPResponse(status: 500, body: Data("Code: 279, e.displayText() = DB::NetException: All connection tries failed. 127.0.0.1:9002, e.what() = DB::NetException".utf8))
            }
            return Self.answer([Self.row("rows", "metrics_local", "20261126", rows: 1000, "1")])
        }
        let outcomes = try source.probe()
        let agreement = try XCTUnwrap(outcomes.first { $0.probe == "replica-agreement" })
        XCTAssertEqual(agreement.findings, [], "one replica's partitions are not compared with nothing")
        XCTAssertNotNil(agreement.error)
        XCTAssertTrue(agreement.error!.hasPrefix("127.0.0.1:9002: "), agreement.error!)
        XCTAssertTrue(agreement.error!.contains("code 279"), agreement.error!)
        XCTAssertEqual(outcomes[0].checked, "system.replicas on 1 of 2 replicas")
    }

    func testAReplicaThatRefusesRemotesUserSaysSoRatherThanBlamingOurPassword() throws {
        let source = ClickHouseCorruptionSource(probes: CorruptionProbes(), server: server, replicas: Array(replicas.prefix(2)),
                                                version: ClickHouseVersion("18.16.1")!)
        expect(2) { sql in
            if sql.contains("remote('127.0.0.1:9002'") {
                return HTTPResponse(status: 401, body: Data("Code: 193, e.displayText() = DB::Exception: Received from 127.0.0.1:9002. DB::Exception: Wrong password for user default., e.what() = DB::Exception".utf8))
            }
            return Self.answer([])
        }
        let agreement = try XCTUnwrap(try source.probe().first { $0.probe == "replica-agreement" })
        XCTAssertEqual(agreement.error, "127.0.0.1:9002: refused the user default that remote() connects as (code 193): allow it from ch:8123, as ClickHouse's own inter-node queries need, or set clickhouse.cluster empty to probe ch:8123 alone")
    }

    func testTheTopologyIsLearntOnTheFirstProbeAndKept() throws {
        var probes = CorruptionProbes()
        probes.defaults = true
        let source = ClickHouseCorruptionSource(probes: probes, server: server, cluster: "luminate")
        fake.expect("POST", urlPrefix: "http://ch:8123/?query_id=luminatectl-q&", status: 200,
                    body: #"{"meta":[],"data":[{"version":"18.16.1"}],"rows":1}"#)
        fake.expect("POST", urlPrefix: "http://ch:8123/?query_id=luminatectl-q&", status: 200,
                    body: #"{"meta":[],"data":[{"shard_num":1,"replica_num":1,"host_name":"127.0.0.1","port":9001}],"rows":1}"#)
        expect(1) { _ in Self.answer([]) }
        XCTAssertEqual(try source.probe().count, 4)
        XCTAssertTrue(String(decoding: fake.received[1].body ?? Data(), as: UTF8.self).contains("FROM system.clusters WHERE cluster = 'luminate'"))
        expect(1) { _ in Self.answer([]) }
        XCTAssertEqual(try source.probe().count, 4, "the second probe asks the replica only")
    }

    func testTheSweepOfAModernSingleServerIncludesBrokenDetachedParts() {
        let source = ClickHouseCorruptionSource(probes: CorruptionProbes(), server: server, replicas: [], version: ClickHouseVersion(26, 9, 2, 1))
        let sql = source.sweepSQL(replica: nil, version: source.version)
        XCTAssertTrue(sql.contains("FROM system.parts WHERE active AND startsWith(engine, 'Replicated')"), sql)
        XCTAssertTrue(sql.contains("FROM system.detached_parts WHERE startsWith(reason, 'broken') OR reason = 'covered-by-broken'"), sql)
        XCTAssertTrue(sql.contains("create_time < now() - INTERVAL 600 SECOND"), sql)
        XCTAssertTrue(sql.contains("max(modification_time) < now() - INTERVAL 3600 SECOND"), sql)
        let old = source.sweepSQL(replica: replicas[0], version: ClickHouseVersion("18.16.1")!)
        XCTAssertTrue(old.contains("FROM remote('127.0.0.1:9001', system.replication_queue)"), old)
        XCTAssertFalse(old.contains("detached_parts"), "18.16 has no system.detached_parts: the whole statement would fail")
    }
}

extension ClickHouseCorruptionSource {
    fileprivate var version: ClickHouseVersion { (try? topology().version) ?? ClickHouseVersion(0, 0) }
}

/// The comparison of replicas' settled partitions.
final class ReplicaAgreementTests: XCTestCase {
    typealias Partition = ReplicaPartitions.Partition

    func testSettledPartitionsMustAgreeAndAMissingOneIsZeroRows() {
        let a = ReplicaPartitions(shard: 1, address: "a:9000", partitions: [
            Partition(table: "db.t", partition: "1", rows: 5, settled: true), Partition(table: "db.t", partition: "2", rows: 7, settled: true),
            Partition(table: "db.t", partition: "3", rows: 9, settled: false),
        ])
        let b = ReplicaPartitions(shard: 1, address: "b:9000", partitions: [
            Partition(table: "db.t", partition: "1", rows: 5, settled: true), Partition(table: "db.t", partition: "3", rows: 1, settled: true),
        ])
        let lone = ReplicaPartitions(shard: 2, address: "c:9000", partitions: [Partition(table: "db.t", partition: "1", rows: 1, settled: true)])
        let result = ReplicaAgreement.compare([a, b, lone])
        XCTAssertEqual(result.findings, ["db.t partition 2: shard 1 replicas disagree: a:9000 7 rows, b:9000 0 rows"])
        XCTAssertEqual(result.compared, 2, "partition 3 is not settled on a; shard 2 has one replica")
        XCTAssertEqual(result.shards, 1)
    }
}

/// The security command through the process seam.
final class CommandSecurityScannerTests: XCTestCase {
    func testTheImageIsSubstitutedAndTheExitAndLastLinesReported() throws {
        let processes = FakeProcessRunner()
        let output = (1...15).map { "line \($0)" }.joined(separator: "\n")
        processes.expect("trivy", ["image", "--exit-code", "1", "--severity", "CRITICAL", "ghcr.io/luminate/api:2.4.0"], exit: 1, stdout: output)
        let scanner = CommandSecurityScanner(command: ["trivy", "image", "--exit-code", "1", "--severity", "CRITICAL", "{image}"],
                                             processes: processes, interrupt: Interrupt())
        let scan = try scanner.scan(image: "ghcr.io/luminate/api:2.4.0")
        XCTAssertEqual(scan.status, .exited(1))
        XCTAssertFalse(scan.passed)
        XCTAssertEqual(scan.outputTail, (6...15).map { "line \($0)" })
        XCTAssertEqual(scan.commandLine, "trivy image --exit-code 1 --severity CRITICAL ghcr.io/luminate/api:2.4.0")
        XCTAssertEqual(processes.received.first?.environment, [:], "nothing from the environment is added")
    }
}

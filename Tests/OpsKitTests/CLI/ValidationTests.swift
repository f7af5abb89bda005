import XCTest
@testable import OpsKit

final class ValidationTests: XCTestCase {
    func invocation(_ values: [String: String]) -> Invocation {
        Invocation(path: ["test"], values: values.mapValues { [$0] })
    }

    func message(_ body: () throws -> Any?) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testErrorsNameTheFlagAndTheRule() {
        let bad = invocation([
            "table": "metrics; DROP TABLE x", "qualified": "luminate", "partition": "2026-11-26'",
            "namespace": "Luminate_Prod", "size": "10 parsecs", "at": "yesterday",
        ])
        XCTAssertEqual(message { try bad.identifier("table") },
                       "--table must be a ClickHouse identifier (letters, digits and _, not starting with a digit), not 'metrics; DROP TABLE x'")
        XCTAssertEqual(message { try bad.qualifiedTable("qualified") }, "--qualified must be database.table, each a ClickHouse identifier, not 'luminate'")
        XCTAssertEqual(message { try bad.partitionID("partition") }, "--partition must be a partition ID as in system.parts (e.g. 20261126), not '2026-11-26''")
        XCTAssertEqual(message { try bad.kubernetesName("namespace") }, "--namespace \(KubernetesName.rule), not 'Luminate_Prod'")
        XCTAssertEqual(message { try bad.size("size") }, "--size must be a size like 500MB, 10GiB or 1.5TB, not '10 parsecs'")
        XCTAssertEqual(message { try bad.timestamp("at") }, "--at must be a time like 2026-11-29T02:00:00Z or a date like 2026-11-29, not 'yesterday'")
    }

    func testGoodValues() throws {
        let good = invocation([
            "table": "metrics_local", "qualified": "luminate.metrics", "partition": "20261126", "namespace": "luminate-prod",
            "size": "1.5GiB", "at": "2026-11-29T02:00:00.250+01:00", "day": "2026-11-29",
        ])
        XCTAssertEqual(try good.identifier("table"), "metrics_local")
        XCTAssertEqual(try good.qualifiedTable("qualified")?.table, "metrics")
        XCTAssertEqual(try good.partitionID("partition"), "20261126")
        XCTAssertEqual(try good.kubernetesName("namespace"), "luminate-prod")
        XCTAssertEqual(try good.size("size"), 1_610_612_736)
        XCTAssertEqual(try good.timestamp("at")?.timeIntervalSince1970, 1_795_914_000.25)
        XCTAssertEqual(try good.timestamp("day").map(Timestamp.format), "2026-11-29T00:00:00Z")
        XCTAssertNil(try good.identifier("absent"), "absent flags are nil, not errors")
    }

    func testSizes() {
        XCTAssertEqual(ByteSize.parse("500MB"), 500_000_000)
        XCTAssertEqual(ByteSize.parse("10Gi"), 10_737_418_240)
        XCTAssertEqual(ByteSize.parse("1048576"), 1_048_576)
        XCTAssertNil(ByteSize.parse("-1GB"))
        XCTAssertNil(ByteSize.parse("GB"))
        XCTAssertEqual(ByteSize.format(1_610_612_736), "1.5 GiB")
        XCTAssertEqual(ByteSize.format(20), "20 B")
    }

    func testKubernetesNames() {
        XCTAssertTrue(KubernetesName.isValid("luminate"))
        XCTAssertFalse(KubernetesName.isValid("-luminate"))
        XCTAssertFalse(KubernetesName.isValid(String(repeating: "a", count: 64)))
        XCTAssertFalse(KubernetesName.isValid(""))
    }
}

import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `backup create`'s plan around an engine: the start marker first, the manifest last, metrics
/// that never fail a backup, and an incomplete backup when the engine fails.
final class BackupCreatePlanTests: XCTestCase {
    private let id = BackupID("20261130T140500Z")!

    private struct ScriptedEngine: BackupEngine {
        var failure: (any Error)?
        var kind: BackupEngineKind { .freeze }
        func describe(_ request: BackupRequest) -> [String] { ["freeze and upload"] }
        func run(_ request: BackupRequest, store: any BackupStore, session: OperationSession,
                 progress: @escaping @Sendable (BackupProgressReport) -> Void) throws -> BackupOutcome {
            // The marker is already there when the engine starts; the manifest is not.
            XCTAssertNotNil(try store.read(BackupLayout.startMarkerKey(request.id.text)))
            XCTAssertNil(try store.read(BackupLayout.manifestKey(request.id.text)))
            try store.write("\(request.id.text)/shard1/part/data.bin", data: Data(repeating: 1, count: 10))
            progress(BackupProgressReport(files: 1, bytes: 10, phase: "uploading"))
            if let failure { throw failure }
            let table = BackupFixtures.manifest(request.id.text).tables[0]
            return BackupOutcome(serverVersion: "18.16.1", snapshotAt: session.context.clock.now(), cluster: nil, tables: [table],
                                 native: nil, files: [BackupFile(key: "shard1/part/data.bin", size: 10, sha256: SHA256.hex(Data(repeating: 1, count: 10)))],
                                 sizeBytes: 10)
        }
    }

    private final class Metrics: BackupMetricsReporter, @unchecked Sendable {
        var reported: [BackupMetrics] = []
        var failing = false
        var target: String { "http://pg.test:9091 (job luminate-backup)" }
        func report(_ metrics: BackupMetrics) throws {
            reported.append(metrics)
            if failing {
                throw PushgatewayError.unreachable(host: "pg.test:9091", url: "http://pg.test:9091/metrics",
                                                   cause: .transport(host: "pg.test:9091", curlCode: 7, message: "connection refused"))
            }
        }
    }

    private func run(_ engine: ScriptedEngine, metrics: Metrics, store: LocalDirectoryStore, output: CapturedOutput) throws -> Result<ExitCode, any Error> {
        let context = Context.fake(clock: ManualClock("2026-11-30T14:05:00Z"), output: output)
        let plan = BackupCreatePlan(request: BackupRequest(id: id, database: "luminate"), engine: engine, store: store,
                                    metrics: metrics, namespace: "luminate")
        let session = try SessionFixtures.session(context: context)
        return Result { try plan.execute(in: session) }
    }

    func testAPushgatewayThatDoesNotAnswerIsAWarningNotAFailure() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        let metrics = Metrics()
        metrics.failing = true
        let output = CapturedOutput()
        XCTAssertEqual(try run(ScriptedEngine(), metrics: metrics, store: store, output: output).get(), .success)
        XCTAssertEqual(try BackupCatalogue(store: store).entries().first?.manifest?.id, id.text, "the backup is complete")
        XCTAssertEqual(metrics.reported.map { $0.values.map(\.name) }, [[
            "luminate_backup_last_success_timestamp_seconds", "luminate_backup_last_duration_seconds", "luminate_backup_last_size_bytes",
        ]])
        XCTAssertEqual(metrics.reported.first?.values.first?.value, Timestamp.parse("2026-11-30T14:05:00Z")!.timeIntervalSince1970)
        XCTAssertEqual(metrics.reported.first?.values.last?.value, 10)
        XCTAssertTrue(output.stderr.contains("could not report the backup's metrics to http://pg.test:9091"), output.stderr)
        XCTAssertTrue(output.stdout.contains("Backup 20261130T140500Z complete: 3500 rows"), output.stdout)
    }

    func testAFailedEngineLeavesAnIncompleteBackupAndReportsOnlyTheFailure() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        let metrics = Metrics()
        let output = CapturedOutput()
        let failure = BackupStoreError(location: store.location, key: "x", reason: "the disk is full")
        XCTAssertThrowsError(try run(ScriptedEngine(failure: failure), metrics: metrics, store: store, output: output).get()) { error in
            XCTAssertEqual(error as? BackupStoreError, failure)
        }
        let entries = try BackupCatalogue(store: store).entries()
        XCTAssertEqual(entries.map(\.id), [id])
        guard case .incomplete(let details) = entries[0].state else { return XCTFail("listed complete: \(entries)") }
        XCTAssertEqual(details.marker?.operationID, "op-test")
        XCTAssertEqual(metrics.reported.map { $0.values.map(\.name) }, [["luminate_backup_last_failure_timestamp_seconds"]])
    }

    func testAnIDAlreadyInTheStoreIsRefusedBeforeAnythingIsWritten() throws {
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        try store.write("\(id.text)/leftover", data: Data("x".utf8))
        XCTAssertThrowsError(try run(ScriptedEngine(), metrics: Metrics(), store: store, output: CapturedOutput()).get()) { error in
            XCTAssertTrue("\(error)".contains("a backup \(self.id.text) already exists (1 objects)"), "\(error)")
        }
        XCTAssertNil(try store.read(BackupLayout.startMarkerKey(id.text)))
    }

    func testMetricsGoToSeparateGroupsForSuccessAndFailure() throws {
        let reporter = PushgatewayBackupMetrics(client: PushgatewayClient(baseURL: "http://pg.test:9091", http: FakeHTTPTransport()), namespace: "luminate")
        let success = reporter.groupKey(for: .success(finishedAt: Date(), durationSeconds: 1, sizeBytes: 1))
        let failure = reporter.groupKey(for: .failure(at: Date()))
        XCTAssertEqual(try reporter.client.groupURL(success), "http://pg.test:9091/metrics/job/luminate-backup/namespace/luminate/result/success")
        XCTAssertEqual(try reporter.client.groupURL(failure), "http://pg.test:9091/metrics/job/luminate-backup/namespace/luminate/result/failure")
    }
}

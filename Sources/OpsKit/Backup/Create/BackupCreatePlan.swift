import Foundation

/// `backup create`: start marker, the engine's work, then the manifest, last. A run that stops
/// anywhere before the manifest leaves an incomplete backup, which the catalogue never lists as
/// good; a run that succeeds reports to the Pushgateway (a warning if it cannot).
package struct BackupCreatePlan: OperationPlan {
    package var request: BackupRequest
    package var engine: any BackupEngine
    package var store: any BackupStore
    package var metrics: (any BackupMetricsReporter)?
    package var namespace: String
    package var json: Bool

    package init(request: BackupRequest, engine: any BackupEngine, store: any BackupStore,
                 metrics: (any BackupMetricsReporter)?, namespace: String, json: Bool = false) {
        self.request = request
        self.engine = engine
        self.store = store
        self.metrics = metrics
        self.namespace = namespace
        self.json = json
    }

    package var spec: OperationSpec {
        let targets = request.tables.isEmpty ? ["clickhouse/\(request.database)"] : request.tables.map { "clickhouse/\($0)" }
        return OperationSpec(kind: "backup", targets: targets, inputs: [
            "id": .string(request.id.text),
            "engine": .string(engine.kind.rawValue),
            "store": .string(store.location),
            "tables": .array(request.tables.map { .string($0) }),
            "partitions": .array(request.partitions.map { .string($0) }),
            "base": request.base.map { .string($0.id) } ?? .null,
            "cluster": request.cluster.map(JSONValue.string) ?? .null,
        ])
    }

    package func describe() -> String {
        var lines = [
            "backup \(request.id.text) of \(request.tables.isEmpty ? "database \(request.database)" : request.tables.joined(separator: ", "))"
                + (request.partitions.isEmpty ? "" : " (partitions \(request.partitions.joined(separator: ", ")))")
                + " with the \(engine.kind.rawValue) engine"
                + (request.base.map { ", incremental on \($0.id)" } ?? ", full"),
            "store: \(store.location)\(request.id.text)/",
            "write \(BackupLayout.startMarkerKey(request.id.text)) (marks the backup as started: listed as incomplete until the manifest exists)",
        ]
        lines += engine.describe(request)
        lines.append("write \(BackupLayout.manifestKey(request.id.text)) last (tables, partitions, rows, bytes\(engine.kind == .freeze ? ", every file's SHA-256" : ""))")
        lines.append(metrics.map { "report to \($0.target): luminate_backup_last_success_timestamp_seconds, _duration_seconds, _size_bytes (a failure: _last_failure_timestamp_seconds)" }
            ?? "no Pushgateway configured (LUMINATECTL_PUSHGATEWAY_URL): no metrics reported")
        return lines.map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    package func describeJSON() -> JSONValue {
        .object([
            ("id", .string(request.id.text)),
            ("engine", .string(engine.kind.rawValue)),
            ("store", .string(store.location)),
            ("type", .string(request.base == nil ? "full" : "incremental")),
            ("base", request.base.map { .string($0.id) } ?? .null),
            ("steps", .array(engine.describe(request).map { .string($0) })),
            ("pushgateway", metrics.map { .string($0.target) } ?? .null),
        ])
    }

    package func execute(in session: OperationSession) throws -> ExitCode {
        let context = session.context
        let started = context.clock.now()
        let id = request.id.text
        do {
            try session.step("check that \(id) is new in the store") {
                let existing = try store.list(prefix: BackupLayout.folder(id), delimiter: nil).objects
                guard existing.isEmpty else {
                    throw BackupStoreError(location: store.location, key: BackupLayout.folder(id),
                                           reason: "a backup \(id) already exists (\(existing.count) objects)",
                                           hint: "wait a second and run it again: ids are start times to the second")
                }
                session.record("store", .string(store.location))
            }
            try session.step("write the start marker") {
                let marker = BackupStartMarker(id: id, engine: engine.kind, base: request.base?.id, startedAt: started,
                                               operationID: session.id, actor: Actor.current(environment: context.environment).description)
                try store.write(BackupLayout.startMarkerKey(id), data: try marker.encoded())
            }

            let progress = context.console.progress("backup \(id)", clock: context.clock, logEvery: 10)
            let outcome = try engine.run(request, store: store, session: session) { report in
                let elapsed = max(0.001, context.clock.now().timeIntervalSince(started))
                let rate = ByteSize.format(UInt64(Double(report.bytes) / elapsed))
                progress.update("\(report.phase): \(report.files) files, \(ByteSize.format(report.bytes)), \(rate)/s, \(DurationParser.format(elapsed.rounded())) elapsed")
            }

            let finished = context.clock.now()
            let manifest = BackupManifest(
                id: id, engine: engine.kind, type: request.base == nil ? .full : .incremental, base: request.base?.id,
                status: .complete, serverVersion: outcome.serverVersion, cluster: outcome.cluster, tables: outcome.tables,
                snapshotAt: outcome.snapshotAt, startedAt: started, finishedAt: finished,
                durationSeconds: finished.timeIntervalSince(started), operationID: session.id,
                native: outcome.native, files: outcome.files, sizeBytes: outcome.sizeBytes)
            try session.step("write the manifest") {
                let data = try manifest.encoded()
                try store.write(BackupLayout.manifestKey(id), data: data)
                // Read it back: a manifest the catalogue cannot read would make the backup
                // incomplete after the fact, and the operator must hear that now.
                guard let stored = try store.read(BackupLayout.manifestKey(id)), stored == data, (try? BackupManifest.decode(stored)) != nil else {
                    throw BackupStoreError(location: store.location, key: BackupLayout.manifestKey(id),
                                           reason: "the manifest read back differs from what was written")
                }
                session.record("rows", .number(Double(manifest.rows)))
                session.record("sizeBytes", .number(Double(manifest.sizeBytes)))
            }
            progress.finish("complete in \(DurationParser.format(manifest.durationSeconds.rounded()))")
            report(.success(finishedAt: finished, durationSeconds: manifest.durationSeconds, sizeBytes: manifest.sizeBytes), session: session)
            summarise(manifest, session: session)
            return .success
        } catch {
            report(.failure(at: context.clock.now()), session: session)
            throw error
        }
    }

    private func report(_ values: BackupMetrics, session: OperationSession) {
        guard let metrics else { return }
        do {
            try metrics.report(values)
        } catch {
            session.context.console.warning("could not report the backup's metrics to \(metrics.target): \(error)")
        }
    }

    private func summarise(_ manifest: BackupManifest, session: OperationSession) {
        let console = session.context.console
        if json {
            console.line((try? BackupJSON.show(manifest).rendered(pretty: true)) ?? "{}")
            return
        }
        console.line("Backup \(manifest.id) complete: \(manifest.rows) rows, \(ByteSize.format(manifest.sizeBytes)) in \(DurationParser.format(manifest.durationSeconds.rounded())) (\(manifest.engine.rawValue), \(manifest.base.map { "incremental on \($0)" } ?? "full"))")
        var rows = [["TABLE", "PARTITIONS", "ROWS", "SIZE"]]
        for table in manifest.tables where !table.partitions.isEmpty {
            rows.append([table.qualifiedName, "\(Set(table.partitions.map(\.id)).count)", "\(table.rows)", ByteSize.format(table.bytes)])
        }
        console.write(BackupText.table(rows, indent: "  "))
        console.line("Store: \(store.location)\(manifest.id)/   Verify it: luminatectl backup verify \(manifest.id)")
    }
}

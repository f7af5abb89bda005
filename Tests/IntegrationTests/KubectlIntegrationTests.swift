import Foundation
import XCTest
@testable import OpsKit

/// The kubectl client with the live process runner and the real kubectl, against the project's
/// Kubernetes API emulator (scripts/localenv/kubeemu.py).
///
/// With `KUBECONFIG` and `LUMINATECTL_KUBE_EMULATOR_URL` set (`scripts/sandbox env` prints them)
/// the tests use that emulator; otherwise each test starts its own on a free port and stops it
/// afterwards. Each test works in a namespace of its own, so a shared emulator is left usable.
/// They never skip: without an emulator they fail and say why.
final class KubectlIntegrationTests: XCTestCase {
    private var emulator: KubeEmulator!
    private var kubectl: Kubectl!
    private var namespace: String!

    override func setUpWithError() throws {
        emulator = try KubeEmulator.startOrUseSandbox()
        // These tests play the controller themselves (/_emulator/rollout); the sandbox's
        // emulator runs one, which is switched off while they run.
        try emulator.controller(on: false)
        namespace = "it-" + String((0..<8).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        kubectl = Kubectl(
            target: KubectlTarget(
                context: emulator.context, namespace: namespace, kubeconfig: emulator.kubeconfig,
                cacheDir: emulator.cacheDir, requestTimeout: 20),
            processes: PosixProcessRunner(), processTimeout: 60)
        _ = try kubectl.apply(manifest: Self.json(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": namespace!]]))
    }

    override func tearDownWithError() throws {
        if let kubectl, let namespace, emulator?.startedHere == false {
            _ = try? kubectl.inNamespace(nil).delete("namespace", namespace, ignoreNotFound: true, wait: false)
        }
        if emulator?.startedHere == false { try? emulator?.controller(on: true) }
        emulator?.stop()
        emulator = nil
    }

    // MARK: - Tests

    func testVersionsOfClientAndEmulator() throws {
        let versions = try kubectl.version()
        XCTAssertTrue(versions.client.isAtLeast(major: 1, minor: 28), "kubectl \(versions.client) is older than 1.28")
        XCTAssertEqual(versions.server.major, "1")
        XCTAssertTrue(versions.server.gitVersion.hasPrefix("v1."), versions.server.gitVersion)
    }

    func testApplyEveryKindTheProductManagesAndReadItBack() throws {
        let manifest = Self.stream(Self.allKinds(namespace: namespace))
        let applied = try kubectl.apply(manifest: manifest)
        let expected = ["deployment/ingest", "statefulset/clickhouse", "service/clickhouse", "secret/clickhouse-ops",
                        "configmap/ingest-config", "networkpolicy/clickhouse-ingress", "horizontalpodautoscaler/ingest",
                        "cronjob/retention", "poddisruptionbudget/clickhouse"]
        XCTAssertEqual(applied.map(\.reference), expected)

        for reference in expected {
            let (kind, name) = Self.split(reference)
            let object = try kubectl.get(kind, name)
            XCTAssertEqual(object.name, name)
            XCTAssertEqual(object.namespace, namespace)
            XCTAssertNotNil(object.uid, "\(reference) came back without a uid")
        }
        let secret = try kubectl.get("secret", "clickhouse-ops")
        XCTAssertEqual(secret[path: "data.password"]?.string, Data("s3cret-for-tests".utf8).base64EncodedString())
        let statefulSet = try kubectl.get(KubeStatefulSet.self, "statefulset", "clickhouse")
        XCTAssertEqual(statefulSet.spec.replicas, 2)
        XCTAssertEqual(statefulSet.spec.template.images, ["clickhouse/clickhouse-server:18.16.1"])
        let deployment = try kubectl.get(KubeDeployment.self, "deployment", "ingest")
        XCTAssertEqual(deployment.spec.template.spec.containers.first?.resources?.limits?["memory"], "2Gi")

        XCTAssertEqual(try kubectl.list("configmaps", selector: "app=ingest").map(\.name), ["ingest-config"])
        XCTAssertEqual(try kubectl.list("configmaps", selector: "app=nothing"), [])

        // Applying the same manifest again changes nothing; a changed one shows in diff.
        XCTAssertEqual(try kubectl.apply(manifest: manifest).count, expected.count)
        XCTAssertFalse(try kubectl.diff(manifest: manifest).changed)
        var changed = Self.allKinds(namespace: namespace)
        changed[0] = Self.deployment(namespace: namespace, image: "luminate/ingest:2.0")
        let diff = try kubectl.diff(manifest: Self.stream(changed))
        XCTAssertTrue(diff.changed)
        XCTAssertTrue(diff.text.contains("luminate/ingest:2.0"), diff.text)
        XCTAssertEqual(try kubectl.get(KubeDeployment.self, "deployment", "ingest").spec.template.images, ["luminate/ingest:1.0"],
                       "diff must not change the live object")
    }

    func testServerDryRunChangesNothingAndCreateRefusesExistingObjects() throws {
        let configMap = Self.json(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "dry", "namespace": namespace!], "data": ["a": "1"]])
        XCTAssertEqual(try kubectl.apply(manifest: configMap, dryRun: .server).map(\.name), ["dry"])
        XCTAssertEqual(kubectlError { try kubectl.get("configmap", "dry") }?.reason, .notFound)

        XCTAssertEqual(try kubectl.create(manifest: configMap).map(\.name), ["dry"])
        let exists = kubectlError { try kubectl.create(manifest: configMap) }
        XCTAssertEqual(exists?.reason, .alreadyExists)
        XCTAssertEqual(exists?.message, #"configmaps "dry" already exists"#)
        XCTAssertTrue(try kubectl.delete("configmap", "dry"))
        XCTAssertFalse(try kubectl.delete("configmap", "dry", ignoreNotFound: true))
    }

    func testScaleAndPatch() throws {
        _ = try kubectl.apply(manifest: Self.json(Self.deployment(namespace: namespace, image: "luminate/ingest:1.0")))
        try kubectl.scale("deployment", "ingest", replicas: 5, currentReplicas: 2)
        XCTAssertEqual(try kubectl.get(KubeDeployment.self, "deployment", "ingest").spec.replicas, 5)
        let stale = kubectlError { try kubectl.scale("deployment", "ingest", replicas: 3, currentReplicas: 2) }
        XCTAssertEqual(stale?.reason, .conflict)

        let merged = try kubectl.patch("deployment", "ingest", type: .merge, patch: Data(#"{"metadata":{"labels":{"tier":"ingest"}}}"#.utf8))
        XCTAssertEqual(merged.labels["tier"], "ingest")
        let jsonPatched = try kubectl.patch("deployment", "ingest", type: .json,
                                            patch: Data(#"[{"op":"replace","path":"/spec/replicas","value":4}]"#.utf8))
        XCTAssertEqual(jsonPatched[path: "spec.replicas"]?.int, 4)
        let strategic = try kubectl.patch("deployment", "ingest", type: .strategic,
                                          patch: Data(#"{"spec":{"template":{"spec":{"containers":[{"name":"ingest","image":"luminate/ingest:1.1"}]}}}}"#.utf8))
        XCTAssertEqual(try strategic.decode(KubeDeployment.self).spec.template.images, ["luminate/ingest:1.1"])
        // Status is written only through its subresource, as by the controller.
        let status = try kubectl.patch("deployment", "ingest", type: .merge,
                                       patch: Data(#"{"status":{"observedGeneration":1,"replicas":4}}"#.utf8), subresource: "status")
        XCTAssertEqual(status[path: "status.replicas"]?.int, 4)
    }

    func testRolloutStatusCompletesWhenTheEmulatorRollsOut() throws {
        _ = try kubectl.apply(manifest: Self.json(Self.deployment(namespace: namespace, image: "luminate/ingest:1.0")))
        XCTAssertEqual(try kubectl.rolloutStatus("deployment", "ingest", timeout: 1), .timedOut(lastStatus: "Waiting for deployment spec update to be observed..."))

        let namespace = self.namespace!
        let emulator = self.emulator!
        let trigger = DispatchWorkItem { _ = try? emulator.rollout("ingest", namespace: namespace, outcome: "complete") }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5, execute: trigger)
        let outcome = try kubectl.rolloutStatus("deployment", "ingest", timeout: 20)
        trigger.wait()
        XCTAssertEqual(outcome, .complete(message: #"deployment "ingest" successfully rolled out"#))
        XCTAssertTrue(try kubectl.get(KubeDeployment.self, "deployment", "ingest").isRolledOut)

        _ = try kubectl.patch("deployment", "ingest", type: .strategic,
                              patch: Data(#"{"spec":{"template":{"spec":{"containers":[{"name":"ingest","image":"luminate/ingest:bad"}]}}}}"#.utf8))
        try emulator.rollout("ingest", namespace: namespace, outcome: "failed")
        XCTAssertEqual(try kubectl.rolloutStatus("deployment", "ingest", timeout: 10), .failed(message: #"deployment "ingest" exceeded its progress deadline"#))
    }

    func testRolloutUndoRestoresThePreviousTemplate() throws {
        _ = try kubectl.apply(manifest: Self.json(Self.deployment(namespace: namespace, image: "luminate/ingest:1.0")))
        try emulator.rollout("ingest", namespace: namespace, outcome: "complete")
        _ = try kubectl.apply(manifest: Self.json(Self.deployment(namespace: namespace, image: "luminate/ingest:2.0")))
        try emulator.rollout("ingest", namespace: namespace, outcome: "complete")

        let history = try kubectl.rolloutHistory("deployment", "ingest")
        XCTAssertEqual(history.map(\.revision), [1, 2])
        XCTAssertEqual(history.map(\.images), [["luminate/ingest:1.0"], ["luminate/ingest:2.0"]])

        let missing = kubectlError { try kubectl.rolloutUndo("deployment", "ingest", toRevision: 9) }
        XCTAssertEqual(missing?.reason, .notFound)
        guard case .rolledBack = try kubectl.rolloutUndo("deployment", "ingest", dryRun: .server) else {
            return XCTFail("a server dry run of undo should report a rollback")
        }
        XCTAssertEqual(try kubectl.get(KubeDeployment.self, "deployment", "ingest").spec.template.images, ["luminate/ingest:2.0"],
                       "a server dry run must not roll back")

        XCTAssertEqual(try kubectl.rolloutUndo("deployment", "ingest"), .rolledBack(message: "deployment.apps/ingest rolled back"))
        XCTAssertEqual(try kubectl.get(KubeDeployment.self, "deployment", "ingest").spec.template.images, ["luminate/ingest:1.0"])
        try emulator.rollout("ingest", namespace: namespace, outcome: "complete")
        XCTAssertEqual(try kubectl.rolloutStatus("deployment", "ingest", timeout: 10), .complete(message: #"deployment "ingest" successfully rolled out"#))
        // The controller re-uses the old ReplicaSet and gives it the next revision.
        XCTAssertEqual(try kubectl.rolloutHistory("deployment", "ingest").last?.images, ["luminate/ingest:1.0"])
    }

    func testErrorsFromTheRealKubectl() throws {
        let missing = kubectlError { try kubectl.get("deployment", "nope") }
        XCTAssertEqual(missing?.reason, .notFound)
        XCTAssertEqual(missing?.message, #"deployments.apps "nope" not found"#)
        let server = emulator.context.map { " on context \($0)" } ?? ""
        XCTAssertEqual(missing?.description,
                       #"kubectl get deployment/nope in namespace \#(namespace!)\#(server): deployments.apps "nope" not found"#)
        XCTAssertEqual(kubectlError { try kubectl.rolloutStatus("deployment", "nope", timeout: 2) }?.reason, .notFound)
        XCTAssertEqual(kubectlError { try kubectl.delete("configmap", "nope") }?.reason, .notFound)
        XCTAssertEqual(kubectlError { try kubectl.list("frobs") }?.reason, .unknownResourceType)

        var otherContext = kubectl!
        otherContext.target.context = "no-such-context"
        XCTAssertEqual(kubectlError { try otherContext.get("deployment", "ingest") }?.reason, .contextNotFound)

        let invalid = kubectlError {
            try kubectl.apply(manifest: Self.json(Self.deployment(namespace: namespace, image: "x", name: "Bad_Name")))
        }
        XCTAssertEqual(invalid?.reason, .invalid)
        XCTAssertTrue(invalid?.message.contains("metadata.name") ?? false, invalid?.message ?? "")
    }

    func testUnreachableServerNamesTheAddress() throws {
        // A kubeconfig for a port nothing listens on: kubectl's real connection-refused text.
        let directory = NSTemporaryDirectory() + "kubectl-unreachable-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try KubeEmulator.closedPort()
        let kubeconfig = directory + "/kubeconfig"
        try """
            apiVersion: v1
            kind: Config
            clusters: [{name: closed, cluster: {server: "http://127.0.0.1:\(port)"}}]
            contexts: [{name: closed, context: {cluster: closed, user: closed}}]
            current-context: closed
            users: [{name: closed, user: {token: not-a-secret}}]
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let unreachable = Kubectl(
            target: KubectlTarget(kubeconfig: kubeconfig, cacheDir: directory + "/cache", requestTimeout: 5),
            processes: PosixProcessRunner(), processTimeout: 60)
        let error = kubectlError { try unreachable.get("deployment", "ingest") }
        XCTAssertEqual(error?.reason, .unreachable)
        XCTAssertEqual(error?.server, "127.0.0.1:\(port)")
    }

    func testNodesAndKustomize() throws {
        let nodes = try kubectl.nodes()
        XCTAssertFalse(nodes.isEmpty, "the emulator should serve nodes")
        for node in nodes {
            XCTAssertGreaterThan(node.allocatableCPU ?? 0, 0, "\(node.metadata.name ?? "?") has no allocatable CPU")
            XCTAssertGreaterThan(node.allocatableMemory ?? 0, 0)
        }

        let directory = NSTemporaryDirectory() + "kustomize-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "resources:\n- cm.yaml\nnamePrefix: prod-\n".write(toFile: directory + "/kustomization.yaml", atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n".write(toFile: directory + "/cm.yaml", atomically: true, encoding: .utf8)
        let rendered = String(decoding: try kubectl.kustomize(directory), as: UTF8.self)
        XCTAssertTrue(rendered.contains("name: prod-settings"), rendered)
        let applied = try kubectl.apply(manifest: Data(rendered.utf8))
        XCTAssertEqual(applied.map(\.reference), ["configmap/prod-settings"])
    }

    // MARK: - Helpers

    private func kubectlError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> KubectlError? {
        do {
            _ = try body()
            XCTFail("expected a KubectlError", file: file, line: line)
        } catch let error as KubectlError {
            return error
        } catch {
            XCTFail("expected a KubectlError, got \(error)", file: file, line: line)
        }
        return nil
    }

    private static func split(_ reference: String) -> (String, String) {
        let parts = reference.split(separator: "/", maxSplits: 1).map(String.init)
        return (parts[0], parts[1])
    }

    private static func json(_ object: [String: Any]) -> Data {
        try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Several objects, one JSON document a line: what `kubectl apply -f -` reads as a stream.
    private static func stream(_ objects: [[String: Any]]) -> Data {
        var data = Data()
        for object in objects { data += json(object) + Data("\n".utf8) }
        return data
    }

    static func deployment(namespace: String, image: String, name: String = "ingest") -> [String: Any] {
        [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": name, "namespace": namespace, "labels": ["app": "ingest"]],
            "spec": [
                "replicas": 2,
                "selector": ["matchLabels": ["app": "ingest"]],
                "template": [
                    "metadata": ["labels": ["app": "ingest"]],
                    "spec": ["containers": [[
                        "name": "ingest", "image": image,
                        "resources": ["requests": ["cpu": "500m", "memory": "1Gi"], "limits": ["memory": "2Gi"]],
                    ]]],
                ],
            ],
        ]
    }

    /// One object of every kind luminatectl deploys.
    static func allKinds(namespace: String) -> [[String: Any]] {
        let meta = { (name: String, app: String) -> [String: Any] in ["name": name, "namespace": namespace, "labels": ["app": app]] }
        return [
            deployment(namespace: namespace, image: "luminate/ingest:1.0"),
            ["apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("clickhouse", "clickhouse"),
             "spec": ["replicas": 2, "serviceName": "clickhouse", "selector": ["matchLabels": ["app": "clickhouse"]],
                      "template": ["metadata": ["labels": ["app": "clickhouse"]],
                                   "spec": ["containers": [["name": "clickhouse", "image": "clickhouse/clickhouse-server:18.16.1"]]]]]],
            ["apiVersion": "v1", "kind": "Service", "metadata": meta("clickhouse", "clickhouse"),
             "spec": ["selector": ["app": "clickhouse"], "ports": [["name": "http", "port": 8123], ["name": "native", "port": 9000]]]],
            ["apiVersion": "v1", "kind": "Secret", "metadata": meta("clickhouse-ops", "clickhouse"), "type": "Opaque",
             "data": ["password": Data("s3cret-for-tests".utf8).base64EncodedString()]],
            ["apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("ingest-config", "ingest"), "data": ["batch_size": "5000"]],
            ["apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("clickhouse-ingress", "clickhouse"),
             "spec": ["podSelector": ["matchLabels": ["app": "clickhouse"]], "policyTypes": ["Ingress"],
                      "ingress": [["from": [["podSelector": ["matchLabels": ["app": "ingest"]]]], "ports": [["port": 8123]]]]]],
            ["apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("ingest", "ingest"),
             "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "ingest"], "minReplicas": 2, "maxReplicas": 10,
                      "metrics": [["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": 70]]]]]],
            ["apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("retention", "retention"),
             "spec": ["schedule": "15 3 * * *", "jobTemplate": ["spec": ["template": ["spec": [
                "restartPolicy": "OnFailure", "containers": [["name": "retention", "image": "luminate/luminatectl:0.1.0", "args": ["retention", "apply"]]],
             ]]]]]],
            ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("clickhouse", "clickhouse"),
             "spec": ["maxUnavailable": 1, "selector": ["matchLabels": ["app": "clickhouse"]]]],
        ]
    }
}

/// A Kubernetes API emulator for one test: started here (`kubeemu.py --port 0 --write-kubeconfig`)
/// or the sandbox's, named by the environment.
final class KubeEmulator: @unchecked Sendable {
    let url: String
    let kubeconfig: String
    let context: String?
    let cacheDir: String
    let startedHere: Bool
    private let process: Process?
    private let directory: String?

    /// Why an emulator could not be had; the test fails with this text.
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    private init(url: String, kubeconfig: String, context: String?, cacheDir: String, process: Process?, directory: String?) {
        self.url = url
        self.kubeconfig = kubeconfig
        self.context = context
        self.cacheDir = cacheDir
        self.startedHere = process != nil
        self.process = process
        self.directory = directory
    }

    /// The context the tests' own emulator writes into its kubeconfig and the tests name.
    static let contextName = "luminate-it"

    static func startOrUseSandbox() throws -> KubeEmulator {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["LUMINATECTL_KUBE_EMULATOR_URL"], !url.isEmpty {
            guard let kubeconfig = environment["KUBECONFIG"], !kubeconfig.isEmpty else {
                throw Unavailable(description: "LUMINATECTL_KUBE_EMULATOR_URL is set but KUBECONFIG is not: set both (scripts/sandbox env prints them) or neither")
            }
            let cacheDir = environment["KUBECACHEDIR"].flatMap { $0.isEmpty ? nil : $0 }
                ?? NSTemporaryDirectory() + "luminatectl-kube-cache-\(getpid())"
            return KubeEmulator(
                url: url, kubeconfig: kubeconfig, context: environment["LUMINATECTL_CONTEXT"].flatMap { $0.isEmpty ? nil : $0 },
                cacheDir: cacheDir, process: nil, directory: nil)
        }
        return try start()
    }

    private static func start() throws -> KubeEmulator {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/localenv/kubeemu.py").path
        guard FileManager.default.fileExists(atPath: script) else {
            throw Unavailable(description: "\(script) is missing and LUMINATECTL_KUBE_EMULATOR_URL is not set: no Kubernetes API to test against")
        }
        let directory = NSTemporaryDirectory() + "luminatectl-kubeemu-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let kubeconfig = directory + "/kubeconfig"
        let log = directory + "/emulator.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)

        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // PR_SET_PDEATHSIG first: should this test process crash before tearDown, the emulator
        // gets SIGTERM instead of living on as an orphan.
        let launcher = "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
            + "os.execv(sys.executable, [sys.executable] + sys.argv[1:])"
        process.arguments = [
            "python3", "-c", launcher, script, "--host", "127.0.0.1", "--port", "0", "--write-kubeconfig", kubeconfig,
            "--context-name", Self.contextName,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: log)
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw Unavailable(description: "could not start python3 \(script): \(error)")
        }

        // It prints `listening 127.0.0.1:PORT` once the socket is bound and the kubeconfig written.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }
            line.append(more)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("listening "), FileManager.default.fileExists(atPath: kubeconfig) else {
            Self.stop(process)
            let why = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw Unavailable(description: "kubeemu.py did not start (exit \(process.isRunning ? -1 : process.terminationStatus), said \(text.debugDescription)):\n\(why)")
        }
        return KubeEmulator(
            url: "http://" + text.dropFirst("listening ".count), kubeconfig: kubeconfig, context: Self.contextName,
            cacheDir: directory + "/kube-cache", process: process, directory: directory)
    }

    /// SIGTERM, then SIGKILL after 3 s: the emulator saves nothing (no `--state-file`) and exits at once.
    func stop() {
        guard let process else { return }
        Self.stop(process)
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Plays the Deployment controller: `POST /_emulator/rollout` with the given outcome.
    /// Switches the emulator's controller (`kubeemu.py --controller`) on or off.
    func controller(on: Bool) throws {
        let response = try CurlTransport().send(
            HTTPRequest(method: "POST", url: url + "/_emulator/config", headers: [("Content-Type", "application/json")],
                        body: Data(#"{"controller": \#(on)}"#.utf8), timeout: 10),
            interrupt: Interrupt())
        guard response.status == 200 else {
            throw Unavailable(description: "emulator config answered \(response.status): \(response.text)")
        }
    }

    func rollout(_ name: String, namespace: String, kind: String = "Deployment", outcome: String) throws {
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "namespace": namespace, "kind": kind, "outcome": outcome])
        let response = try CurlTransport().send(
            HTTPRequest(method: "POST", url: url + "/_emulator/rollout", headers: [("Content-Type", "application/json")], body: body, timeout: 10),
            interrupt: Interrupt())
        guard response.status == 200 else {
            throw Unavailable(description: "emulator rollout of \(kind) \(namespace)/\(name) answered \(response.status): \(response.text)")
        }
    }

    /// A TCP port on 127.0.0.1 with nothing listening: bound, read back, closed.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unavailable(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Unavailable(description: "could not bind a probe socket: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

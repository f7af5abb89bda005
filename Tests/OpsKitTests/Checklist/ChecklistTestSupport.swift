import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The checklist's fixtures (Tests/Fixtures/checklist) and ways to change them by one element.
enum ChecklistFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checklist").path
    static let good = root + "/good"
    static let runbooks = root + "/runbooks"
    /// Inside the Prometheus fixtures' healthy scenario, and 50 days after the runbooks' reviews.
    static let now = ISO8601DateFormatter().date(from: "2026-11-20T00:15:00Z")!

    static func loader(_ processes: FakeProcessRunner = FakeProcessRunner()) -> ManifestLoader {
        ManifestLoader(kubectl: Kubectl(processes: processes), defaultNamespace: "luminate", workingDirectory: root)
    }

    /// The good set, loaded once.
    static func goodIndex() throws -> ManifestIndex {
        try cache.withLock { cached in
            if let cached { return cached }
            let index = try loader().load(good)
            cached = index
            return index
        }
    }
    private static let cache = Mutex<ManifestIndex?>(nil)

    static func runbookLibrary() throws -> RunbookLibrary {
        try RunbookLibrary.load(directory: runbooks, display: ChecklistRun.displayPath(workingDirectory: root))
    }

    static func settings(now: Date = now, strict: Bool = false, policy: Policy = Policy(), policySources: [String: SourceMark] = [:]) -> ChecklistSettings {
        ChecklistSettings(
            environment: "production", namespace: "luminate", policy: policy, policySources: policySources,
            now: now, strict: strict, repositoryRoot: root, display: ChecklistRun.displayPath(workingDirectory: root))
    }

    static func scope(_ index: ManifestIndex? = nil, settings: ChecklistSettings = settings(), tools: ToolBox = noTools) throws -> StaticScope {
        StaticScope(
            settings: settings, manifests: .available(try index ?? goodIndex()),
            runbooks: .available(try runbookLibrary()), tools: tools)
    }

    /// No promtool, no openssl: a search path with nothing on it.
    static let noTools = ToolBox(processes: FakeProcessRunner(), interrupt: Interrupt(), searchPath: [])
}

extension ManifestIndex {
    /// The same set with one object changed.
    func changing(_ kind: String, _ name: String, file: StaticString = #filePath, line: UInt = #line, _ change: (inout JSONValue) -> Void) -> ManifestIndex {
        var found = false
        let changed = objects.map { object -> ManifestObject in
            guard object.kind == kind, object.name == name else { return object }
            found = true
            var json = object.json
            change(&json)
            return ManifestObject(json, mark: object.mark, defaultNamespace: "luminate")!
        }
        XCTAssertTrue(found, "no \(kind)/\(name) in the fixture", file: file, line: line)
        return ManifestIndex(objects: changed, documents: documents, sources: sources)
    }

    /// The same set without the objects of `kind` (named `name`, if given).
    func removing(_ kind: String, _ name: String? = nil) -> ManifestIndex {
        ManifestIndex(objects: objects.filter { !($0.kind == kind && (name == nil || $0.name == name)) }, documents: documents, sources: sources)
    }

    /// The same set with more objects, written as YAML.
    func adding(_ yaml: String) throws -> ManifestIndex {
        let extra = try YAML.parseDocuments(Data(yaml.utf8), file: "extra.yaml").compactMap {
            ManifestObject($0.jsonValue, mark: $0.mark, defaultNamespace: "luminate")
        }
        return ManifestIndex(objects: objects + extra, documents: documents, sources: sources)
    }

    /// The same set without its non-Kubernetes documents (plain rules files).
    func withoutDocuments() -> ManifestIndex { ManifestIndex(objects: objects, sources: sources) }
}

extension JSONValue {
    /// Sets the value at a dotted path with list indices: `spec.template.spec.containers[0].image`.
    mutating func setPath(_ path: String, _ value: JSONValue?) {
        self = Self.setting(self, Array(Self.steps(path)), value)
    }

    mutating func removePath(_ path: String) { setPath(path, nil) }

    private enum Step { case key(String), index(Int) }

    private static func steps(_ path: String) -> [Step] {
        var steps: [Step] = []
        for part in path.split(separator: ".") {
            var text = Substring(part)
            if let bracket = text.firstIndex(of: "[") {
                steps.append(.key(String(text[..<bracket])))
                text = text[bracket...]
                while let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]") {
                    steps.append(.index(Int(text[text.index(after: open)..<close])!))
                    text = text[text.index(after: close)...]
                }
            } else {
                steps.append(.key(String(text)))
            }
        }
        return steps
    }

    private static func setting(_ current: JSONValue, _ steps: [Step], _ value: JSONValue?) -> JSONValue {
        guard let step = steps.first else { return value ?? .null }
        let rest = Array(steps.dropFirst())
        switch (step, current) {
        case (.key(let key), .object(var entries)):
            if let position = entries.firstIndex(where: { $0.0 == key }) {
                if rest.isEmpty, value == nil { entries.remove(at: position) } else { entries[position].1 = setting(entries[position].1, rest, value) }
            } else if let value {
                entries.append((key, setting(.object([]), rest, value)))
            }
            return .object(entries)
        case (.key(let key), _):
            return value == nil ? current : .object([(key, setting(.object([]), rest, value))])
        case (.index(let index), .array(var items)):
            if rest.isEmpty, value == nil { items.remove(at: index) } else { items[index] = setting(items[index], rest, value) }
            return .array(items)
        default:
            return current
        }
    }
}

/// A process fake that answers by what is asked, in any order (live probes run concurrently),
/// and fails on anything it was not told about.
final class RoutedProcessRunner: ProcessRunning, @unchecked Sendable {
    private let lock = NSLock()
    private var routes: [(match: @Sendable (ProcessRequest) -> Bool, respond: @Sendable (ProcessRequest) throws -> ProcessResult)] = []
    private(set) var received: [ProcessRequest] = []

    /// Answers requests whose argv contains every one of `arguments` (in order, anywhere).
    func on(_ arguments: [String], exit: Int32 = 0, stdout: String = "", stderr: String = "", delay: Double = 0) {
        on(arguments) { _ in
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            return ProcessResult(status: .exited(exit), stdout: Data(stdout.utf8), stderr: Data(stderr.utf8))
        }
    }

    func on(_ arguments: [String], respond: @escaping @Sendable (ProcessRequest) throws -> ProcessResult) {
        lock.lock(); defer { lock.unlock() }
        routes.append(({ request in
            let argv = [request.executable] + request.arguments
            guard argv.count >= arguments.count else { return false }
            return (0...(argv.count - arguments.count)).contains { Array(argv[$0..<($0 + arguments.count)]) == arguments }
        }, respond))
    }

    func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult {
        lock.lock()
        received.append(request)
        let route = routes.last { $0.match(request) }
        lock.unlock()
        guard let route else { throw UnexpectedCall(description: "unexpected subprocess: \(request.commandLine)") }
        return try route.respond(request)
    }
}

/// An HTTP fake that answers by URL content, in any order.
final class RoutedHTTPTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var routes: [(contains: [String], respond: @Sendable (HTTPRequest) throws -> HTTPResponse)] = []
    private(set) var received: [HTTPRequest] = []

    /// Answers requests whose URL (percent-decoded) or body contains all of `parts`.
    func on(_ parts: [String], status: Int = 200, body: String) {
        on(parts) { _ in HTTPResponse(status: status, body: Data(body.utf8)) }
    }

    func on(_ parts: [String], respond: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) {
        lock.lock(); defer { lock.unlock() }
        routes.append((parts, respond))
    }

    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        lock.lock()
        received.append(request)
        let text = (request.url.removingPercentEncoding ?? request.url) + "\n" + String(decoding: request.body ?? Data(), as: UTF8.self)
        let route = routes.last { $0.contains.allSatisfy { text.contains($0) } }
        lock.unlock()
        guard let route else { throw UnexpectedCall(description: "unexpected HTTP request: \(request.method) \(request.url)") }
        return try route.respond(request)
    }
}

/// Prometheus API answers.
enum PromAnswer {
    static func vector(_ samples: [([String: String], Double)], at time: Date = ChecklistFixtures.now) -> String {
        let result = samples.map { labels, value in
            let metric = labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
            return #"{"metric":{\#(metric)},"value":[\#(time.timeIntervalSince1970),"\#(value)"]}"#
        }
        return #"{"status":"success","data":{"resultType":"vector","result":[\#(result.joined(separator: ","))]}}"#
    }
}

/// A live scope over fakes, for one probe.
func liveScope(
    processes: RoutedProcessRunner = RoutedProcessRunner(), http: RoutedHTTPTransport = RoutedHTTPTransport(),
    manifests: ManifestIndex? = nil, settings: ChecklistSettings = ChecklistFixtures.settings(),
    environment: [String: String] = [:], records: any RecoveryRecords = NoRecoveryRecordsYet(), searchPath: [String] = []
) -> LiveScope {
    var variables = ["LUMINATECTL_CLICKHOUSE_URL": "http://ch.test:8123", "LUMINATECTL_PROMETHEUS_URL": "http://prom.test:9090"]
    variables.merge(environment) { $1 }
    let context = Context(
        processes: processes, http: http, clock: ManualClock(settings.now), console: CapturedOutput().console(),
        environment: variables.filter { !$0.value.isEmpty }, workingDirectory: ChecklistFixtures.root)
    let configuration = try! ConfigurationLoader(context: context).load(GlobalOptions())
    return LiveScope(
        settings: settings, manifests: manifests, connections: Connections(configuration: configuration, context: context),
        timeout: 5, records: records, tools: ToolBox(processes: processes, interrupt: Interrupt(), searchPath: searchPath))
}

/// A directory with fake executables, so ToolBox finds them; removed by the caller.
func fakeTools(_ names: [String]) throws -> String {
    let directory = NSTemporaryDirectory() + "luminatectl-tools-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for name in names {
        _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("#!/bin/sh\nexit 99\n".utf8), attributes: [.posixPermissions: 0o755])
    }
    return directory
}

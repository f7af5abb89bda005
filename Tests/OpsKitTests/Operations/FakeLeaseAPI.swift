import Foundation
import Synchronization
@testable import OpsKit
import OpsKitTestSupport

/// A Kubernetes API with one Lease, behind the kubectl calls `LeaseLock` makes (`get`, `create
/// -f -`, `replace -f -`), answering as real kubectl does: JSON on stdout, or exit 1 and the
/// `Error from server (Reason): ...` line on stderr. Writes bump `resourceVersion`; a replace
/// with a stale one gets 409, as the API server answers. For tests where the order of calls is
/// not the point (renewal threads, two locks contending); exact argv is tested with
/// `FakeProcessRunner`. Any other call fails the test.
final class FakeLeaseAPI: ProcessRunning {
    struct State {
        var lease: JSONValue?
        var version = 100
        /// `get`, `create`, `replace`, in order.
        var calls: [String] = []
        /// Canned failures for the next calls of a verb: (exit code, stderr).
        var faults: [String: [(Int32, String)]] = [:]
        /// Runs after a write is stored, before kubectl "answers": to throw as if kubectl was
        /// killed after the server committed.
        var afterWrite: (@Sendable (String) throws -> Void)?
    }

    private let state = Mutex(State())
    let resource = "lease.coordination.k8s.io"

    var calls: [String] { state.withLock { $0.calls } }
    var lease: LeaseRecord? { state.withLock { $0.lease.map { LeaseRecord(KubeObject($0)) } } }

    /// The next `count` calls of `verb` fail with `stderr`.
    func fail(_ verb: String, count: Int = 1, exit: Int32 = 1, stderr: String) {
        state.withLock { $0.faults[verb, default: []] += Array(repeating: (exit, stderr), count: count) }
    }

    func afterWrite(_ hook: @escaping @Sendable (String) throws -> Void) {
        state.withLock { $0.afterWrite = hook }
    }

    /// Changes the stored Lease as another client would (a new resourceVersion).
    func update(_ change: (inout JSONValue) -> Void) {
        state.withLock { state in
            guard var lease = state.lease else { return }
            change(&lease)
            state.version += 1
            lease.setMeta("resourceVersion", .string(String(state.version)))
            state.lease = lease
        }
    }

    /// Stores `manifest` as if another client had created or replaced the Lease.
    func put(_ manifest: Data) throws {
        let object = try JSONValue.parse(manifest)
        state.withLock { state in
            state.version += 1
            var stored = object
            stored.setMeta("resourceVersion", .string(String(state.version)))
            state.lease = stored
        }
    }

    func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult {
        if let signal = interrupt.signal {
            throw ProcessError.interrupted(commandLine: request.commandLine, signal: signal)
        }
        let arguments = request.arguments.drop { $0.hasPrefix("--") }
        guard let verb = arguments.first else { throw UnexpectedCall(description: "kubectl without a verb: \(request.commandLine)") }
        let (fault, hook): ((Int32, String)?, (@Sendable (String) throws -> Void)?) = state.withLock { state in
            state.calls.append(verb)
            let fault = state.faults[verb]?.isEmpty == false ? state.faults[verb]!.removeFirst() : nil
            return (fault, state.afterWrite)
        }
        if let (code, stderr) = fault { return Self.failure(code, stderr) }

        switch (verb, Array(arguments)) {
        case ("get", ["get", resource, "luminatectl", "-o", "json"]):
            guard let lease = state.withLock({ $0.lease }) else {
                return Self.failure(1, #"Error from server (NotFound): leases.coordination.k8s.io "luminatectl" not found"#)
            }
            return Self.success(lease)
        case ("create", ["create", "-f", "-", "-o", "json"]):
            let object = try JSONValue.parse(request.stdin ?? Data())
            let stored: JSONValue? = state.withLock { state in
                guard state.lease == nil else { return nil }
                state.version += 1
                var stored = object
                stored.setMeta("resourceVersion", .string(String(state.version)))
                stored.setMeta("uid", "5f0c2a4e-lease")
                state.lease = stored
                return stored
            }
            guard let stored else {
                return Self.failure(1, #"Error from server (AlreadyExists): error when creating "STDIN": leases.coordination.k8s.io "luminatectl" already exists"#)
            }
            try hook?("create")
            return Self.success(stored)
        case ("replace", ["replace", "-f", "-", "-o", "json"]):
            let object = try JSONValue.parse(request.stdin ?? Data())
            enum Outcome { case stored(JSONValue), missing, stale }
            let outcome: Outcome = state.withLock { state in
                guard let current = state.lease else { return .missing }
                if let sent = object[path: "metadata.resourceVersion"]?.string, sent != current[path: "metadata.resourceVersion"]?.string {
                    return .stale
                }
                state.version += 1
                var stored = object
                stored.setMeta("resourceVersion", .string(String(state.version)))
                state.lease = stored
                return .stored(stored)
            }
            switch outcome {
            case .missing:
                return Self.failure(1, #"Error from server (NotFound): error when replacing "STDIN": leases.coordination.k8s.io "luminatectl" not found"#)
            case .stale:
                return Self.failure(1, #"Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on leases.coordination.k8s.io "luminatectl": the object has been modified; please apply your changes to the latest version and try again"#)
            case .stored(let stored):
                try hook?("replace")
                return Self.success(stored)
            }
        default:
            throw UnexpectedCall(description: "unexpected kubectl call: \(request.commandLine)")
        }
    }

    private static func success(_ object: JSONValue) -> ProcessResult {
        ProcessResult(status: .exited(0), stdout: Data(object.rendered(pretty: true).utf8))
    }

    private static func failure(_ code: Int32, _ stderr: String) -> ProcessResult {
        ProcessResult(status: .exited(code), stderr: Data((stderr + "\n").utf8))
    }
}

extension JSONValue {
    mutating func setMeta(_ key: String, _ value: JSONValue) {
        var metadata = self["metadata"] ?? .object([])
        metadata.set(key, value)
        set("metadata", metadata)
    }

    mutating func setSpec(_ key: String, _ value: JSONValue) {
        var spec = self["spec"] ?? .object([])
        spec.set(key, value)
        set("spec", spec)
    }
}

import Foundation

/// A kubectl call that failed, read from kubectl's stderr into what the operator needs: which
/// call, which object, which server, kubectl's own words, and what to check next.
///
/// kubectl has no machine-readable errors; its stderr is matched against the texts real kubectl
/// (1.29 and 1.32) prints, which the tests keep verbatim.
package struct KubectlError: OperatorError, Equatable {
    /// What went wrong, in the terms callers branch on (a NotFound on `get` is often an answer).
    package enum Reason: String, Sendable, Equatable {
        case notInstalled, notFound, forbidden, unauthorized, conflict, alreadyExists, invalid
        case serverError, unreachable, unknownResourceType, contextNotFound, badKubeconfig
        case timedOut, interrupted, unexpectedOutput, failed
    }

    package var reason: Reason
    /// The kubectl verb: `get`, `apply`, `rollout status`.
    package var verb: String
    /// `deployment/ingest`; nil for manifest-driven calls, where kubectl's message names it.
    package var object: String?
    package var namespace: String?
    /// `10.0.0.1:6443` when kubectl's message names it, else `context prod` when known.
    package var server: String?
    /// kubectl's message (redacted), without `Error from server (X):` or `error:`.
    package var message: String
    /// The redacted command line, for `--verbose` users who want to rerun it by hand.
    package var commandLine: String
    /// The minor version of kubectl luminatectl needs (for `--subresource`, `diff` masking Secrets).
    package static let minimumVersion = "1.28"

    package init(
        _ reason: Reason, verb: String, object: String? = nil, namespace: String? = nil,
        server: String? = nil, message: String, commandLine: String
    ) {
        self.reason = reason
        self.verb = verb
        self.object = object
        self.namespace = namespace
        self.server = server.map(Redactor.redact)
        self.message = Redactor.redact(message)
        self.commandLine = Redactor.redact(commandLine)
    }

    package var description: String {
        if reason == .notInstalled { return message }
        var subject = "kubectl \(verb)"
        if let object { subject += " \(object)" }
        if let namespace { subject += " in namespace \(namespace)" }
        if let server { subject += " on \(server)" }
        return "\(subject): \(message)"
    }

    package var hint: String? {
        let namespaceFlag = namespace.map { " -n \($0)" } ?? ""
        switch reason {
        case .notInstalled:
            return "install kubectl ≥ \(Self.minimumVersion) or put it on PATH"
        case .notFound:
            if message.contains("revision") || message.contains("rollout history") { return "list the revisions with: \(kubectlWord) rollout history \(object ?? "")" }
            return "check the name and namespace: \(kubectlWord) get \(objectKind ?? "all")\(namespaceFlag)"
        case .forbidden:
            return "the credentials of \(server ?? "the current context") lack this permission; check with: \(kubectlWord) auth can-i --list\(namespaceFlag)"
        case .unauthorized:
            return "the API server rejected the credentials; log in again or refresh the token in the kubeconfig"
        case .conflict:
            return "the object changed while luminatectl worked on it; check what changed and run the command again"
        case .alreadyExists:
            return "the object exists already; apply updates it, or delete it first"
        case .invalid:
            return "fix the field named above in the manifest or the command"
        case .serverError:
            return "the API server failed; retry, and check the control plane's health if it persists"
        case .unreachable:
            return "check the server address in the kubeconfig, the network or VPN, and that the cluster is up: \(kubectlWord) cluster-info"
        case .unknownResourceType:
            return "the cluster does not serve this resource type; check the apiVersion and kind, or install its CRD"
        case .contextNotFound:
            return "list the contexts with: \(kubectlWord) config get-contexts"
        case .badKubeconfig:
            return "check --kubeconfig and KUBECONFIG point at a readable kubeconfig"
        case .timedOut:
            return "the API server is slow or unreachable; check it with: \(kubectlWord) cluster-info"
        case .interrupted, .unexpectedOutput, .failed:
            return nil
        }
    }

    package var exitCode: ExitCode { reason == .interrupted ? .interrupted : .failure }

    private var kubectlWord: String { "kubectl" }
    private var objectKind: String? { object.map { String($0.split(separator: "/").first ?? "") } }
}

extension KubectlError {
    /// A failure to run kubectl at all (missing, timed out, interrupted), for `plan`.
    init(_ error: ProcessError, plan: KubectlPlan) {
        let reason: Reason
        switch error {
        case .notFound: reason = .notInstalled
        case .timedOut: reason = .timedOut
        case .interrupted: reason = .interrupted
        case .launchFailed, .outputLimitExceeded: reason = .failed
        }
        var message = error.description
        if case .timedOut(_, let seconds, _) = error { message = "no answer within \(formatSeconds(seconds))" }
        if case .interrupted(_, let signal) = error { message = "interrupted by signal \(signal)" }
        self.init(
            reason, verb: plan.verb, object: plan.object, namespace: plan.namespace,
            server: plan.context.map { "context \($0)" }, message: message, commandLine: plan.request.commandLine)
    }

    /// Reads a failed call's stderr. `status` is how kubectl ended (for the fallback message).
    init(stderr: String, status: TerminationStatus, plan: KubectlPlan) {
        let lines = Self.meaningfulLines(stderr)
        let text = lines.joined(separator: "\n")
        let (reason, message) = Self.classify(text, lines: lines, status: status)
        var server = Self.serverNamed(in: stderr)
        if let context = plan.context {
            server = server.map { "\($0) (context \(context))" } ?? "context \(context)"
        }
        self.init(
            reason, verb: plan.verb, object: plan.object, namespace: plan.namespace,
            server: server, message: message, commandLine: plan.request.commandLine)
    }

    /// stderr without klog lines (`E1129 00:39:48.976 18077 memcache.go:265] ...`, repeated
    /// once per discovery retry) and `Warning:` lines, which accompany errors but are not them.
    static func meaningfulLines(_ stderr: String) -> [String] {
        let klog = try! Regex(#"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [^\]]+\] "#)
        return stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { line in
            !line.isEmpty && line.firstMatch(of: klog) == nil && !line.hasPrefix("Warning:")
        }
    }

    private static func classify(_ text: String, lines: [String], status: TerminationStatus) -> (Reason, String) {
        if let found = text.firstMatch(of: try! Regex(#"Error from server \(([A-Za-z]+)\): ?([\s\S]*)"#)) {
            let serverReason = String(found.output[1].substring ?? "")
            let message = simplifyServerMessage(String(found.output[2].substring ?? ""))
            switch serverReason {
            // A 404 for the resource path itself, not for an object: the type is not served.
            case "NotFound" where message.hasPrefix("the server could not find the requested resource"):
                return (.unknownResourceType, message)
            case "NotFound": return (.notFound, message)
            case "Forbidden": return (.forbidden, message)
            case "Unauthorized": return (.unauthorized, message)
            case "Conflict": return (.conflict, message)
            case "AlreadyExists": return (.alreadyExists, message)
            case "Invalid", "BadRequest": return (.invalid, message)
            default: return (.serverError, "\(serverReason): \(message)")
            }
        }
        func line(containing needle: String) -> String? { lines.first { $0.contains(needle) } }
        func stripped(_ line: String) -> String { line.hasPrefix("error: ") ? String(line.dropFirst(7)) : line }

        // `kubectl apply` prints validation failures without the `Error from server` prefix.
        if let invalid = lines.first(where: { $0.firstMatch(of: try! Regex(#"^The \S+ "[^"]*" is invalid: "#)) != nil }) {
            return (.invalid, invalid)
        }
        for needle in ["You must be logged in to the server", "the server has asked for the client to provide credentials"] {
            if let found = line(containing: needle) { return (.unauthorized, stripped(found)) }
        }
        for needle in ["context was not found for specified context", "no context exists with the name"] {
            if let found = line(containing: needle) { return (.contextNotFound, stripped(found)) }
        }
        // kubectl 1.32 through the gcloud dispatcher: `error: context "x" does not exist`.
        if let found = lines.first(where: { $0.firstMatch(of: try! Regex(#"context "[^"]*" does not exist"#)) != nil }) {
            return (.contextNotFound, stripped(found))
        }
        for needle in ["Unable to connect to the server", "The connection to the server", "connection refused",
                       "i/o timeout", "no such host", "TLS handshake timeout", "x509: ", "no route to host"] {
            if let found = line(containing: needle) { return (.unreachable, stripped(found)) }
        }
        for needle in ["the server doesn't have a resource type", "the server could not find the requested resource",
                       "no matches for kind", "resource mapping not found"] {
            if let found = line(containing: needle) { return (.unknownResourceType, stripped(found)) }
        }
        for needle in ["Error in configuration", "error loading config file", "invalid configuration"] {
            if let found = line(containing: needle) { return (.badKubeconfig, stripped(found)) }
        }
        // `--kubeconfig` naming a missing file: `error: stat /path: no such file or directory`.
        if let found = lines.first(where: { $0.hasPrefix("error: stat ") && $0.hasSuffix("no such file or directory") }) {
            return (.badKubeconfig, stripped(found))
        }
        // kubectl's own wording for a missing object in `scale` and `rollout undo --to-revision`.
        for needle in ["no objects passed to scale", "unable to find specified revision", "no rollout history found"] {
            if let found = line(containing: needle) { return (.notFound, stripped(found)) }
        }
        // `scale --current-replicas` precondition: someone else scaled in between.
        if let found = line(containing: "Expected replicas to be") { return (.conflict, stripped(found)) }
        if let last = lines.last(where: { $0.hasPrefix("error: ") }) ?? lines.last {
            return (.failed, stripped(last))
        }
        return (.failed, "\(status) with nothing on stderr")
    }

    /// `error when creating "STDIN": x` → `x`. apply's multi-line forms (`error when retrieving
    /// current configuration of: ... from server for: "STDIN": x`, `error when applying patch:
    /// {patch} to: ... for: "STDIN": x`) → `x`: the patch echoed in between holds the whole
    /// manifest, Secret data included, and must not reach the terminal.
    private static func simplifyServerMessage(_ message: String) -> String {
        var message = message
        if let last = message.matches(of: try! Regex(#"(?:^|\n)(?:from server )?for: "[^"]*": "#)).last {
            message = String(message[last.range.upperBound...])
        }
        if let range = message.range(of: #"^error when [a-z ]+ "[^"]*": "#, options: .regularExpression) {
            message = String(message[range.upperBound...])
        }
        return message.split(separator: "\n").joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    /// The API server's `host:port` when kubectl's message names it.
    static func serverNamed(in stderr: String) -> String? {
        let patterns = [
            #"The connection to the server (\S+) was refused"#,
            #"dial tcp (\[[^\]]+\]:\d+|[^\s:\[]+:\d+)"#,
            // klog lines escape the quote: `Get \"https://host:6443/api?timeout=32s\"`.
            #"(?:Get|Post|Put|Patch|Delete) \\?"https?://(?:[^/@"]*@)?([^/"?\\]+)"#,
            #"lookup ([^\s:]+)(?: on [^:]+)?: no such host"#,
        ]
        for pattern in patterns {
            if let match = stderr.firstMatch(of: try! Regex(pattern)), let host = match.output[1].substring {
                return String(host)
            }
        }
        return nil
    }
}

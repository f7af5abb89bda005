import Foundation

/// What `lock status` reports: the Lease (when the environment has Kubernetes) and the lock
/// file, each free or held, by whom, for what, since when and until when.
struct LockStatus {
    var environment: String
    /// Why the Lease is used or not.
    var kubernetes: String
    /// `Lease luminate/luminatectl`; nil without Kubernetes.
    var leaseName: String?
    /// Nil when the Lease was never created.
    var lease: LeaseRecord?
    var filePath: String
    var file: FileLockState
    var now: Date

    static func read(_ lock: EnvironmentLock, now: Date, interrupt: Interrupt) throws -> LockStatus {
        LockStatus(
            environment: lock.environment, kubernetes: lock.kubernetes, leaseName: lock.lease?.lockName,
            lease: try lock.lease?.read(interrupt: interrupt), filePath: lock.file.path, file: try lock.file.inspect(),
            now: now)
    }

    var leaseState: LeaseRecord.State? {
        guard leaseName != nil else { return nil }
        return lease?.state(at: now) ?? .free
    }

    /// Whether an operation starting now would get the lock at once.
    var isFree: Bool { !file.held && leaseState != .held }

    // MARK: - Text

    var text: String {
        var out = "Environment \(environment): "
        out += leaseName == nil ? "\(kubernetes).\n\n" : "operations take the lock file, then the Lease (\(kubernetes)).\n\n"
        if let leaseName { out += leaseText(leaseName) }
        out += "Lock file \(filePath): "
        if file.held {
            out += "HELD" + (file.holder.map { " by \($0.actor) (\($0.operation), operation \($0.operationID))" } ?? "") + "\n"
            if let holder = file.holder { out += row("since", "\(LockTime.iso(holder.since)) (\(relative(holder.since)))") }
            if let pid = file.pid { out += row("process", "\(pid) on this machine; the lock ends with it") }
        } else {
            out += "free\n"
        }
        return out
    }

    private func leaseText(_ name: String) -> String {
        guard let lease else { return "\(name): free (never taken)\n" }
        var out = "\(name): "
        switch lease.state(at: now) {
        case .free:
            out += "free"
            if let last = lease.lastHolder {
                out += " (last held by \(last)" + (lease.releasedAt.map { ", released \(LockTime.iso($0))" } ?? "")
                out += (lease.releasedBy.map { " by \($0)" } ?? "") + (lease.releaseReason.map { ": \($0)" } ?? "") + ")"
            }
            return out + "\n"
        case .held:
            out += "HELD\n"
        case .expired:
            out += "EXPIRED: its holder stopped renewing it; the next operation takes it over\n"
        }
        out += row("by", lease.holder.map { "\($0.actor) (\($0.operation), operation \($0.operationID))" } ?? lease.holderIdentity ?? "?")
        if let since = lease.holder?.since ?? lease.acquireTime { out += row("since", "\(LockTime.iso(since)) (\(relative(since)))") }
        if let holdUntil = lease.holdUntil {
            out += row("hold", "maintenance hold until \(LockTime.iso(holdUntil))" + (lease.holdReason.map { ": \($0)" } ?? ""))
        }
        if let renewed = lease.renewTime { out += row("renewed", "\(LockTime.iso(renewed)) (\(relative(renewed)))") }
        if let expires = lease.expiresAt, expires != .distantPast {
            out += row(expires < now ? "expired" : "expires", "\(LockTime.iso(expires)) (\(relative(expires)))")
        }
        return out
    }

    private func row(_ label: String, _ text: String) -> String {
        "  " + label.padding(toLength: 9, withPad: " ", startingAt: 0) + " " + text + "\n"
    }

    private func relative(_ date: Date) -> String {
        let seconds = date.timeIntervalSince(now)
        if abs(seconds) < 1 { return "now" }
        return seconds > 0 ? "in \(formatSeconds(seconds))" : "\(formatSeconds(-seconds)) ago"
    }

    // MARK: - JSON

    var json: JSONValue {
        [
            "environment": .string(environment),
            "free": .bool(isFree),
            "kubernetes": .string(kubernetes),
            "lease": leaseJSON,
            "file": [
                "path": .string(filePath),
                "state": .string(file.held ? "held" : "free"),
                "holder": file.held ? (file.holder?.json ?? .null) : .null,
                "pid": file.held ? (file.pid.map { .number(Double($0)) } ?? .null) : .null,
            ],
        ]
    }

    private var leaseJSON: JSONValue {
        guard let leaseName, let state = leaseState else { return .null }
        let parts = leaseName.dropFirst("Lease ".count).split(separator: "/", maxSplits: 1).map(String.init)
        var value: JSONValue = [
            "namespace": .string(parts.first ?? ""),
            "name": .string(parts.last ?? ""),
            "state": .string(state.rawValue),
        ]
        guard let lease else { return value }
        let time = { (date: Date?) -> JSONValue in date.map { .string(LockTime.iso($0)) } ?? .null }
        let holding = state != .free
        value.set("holder", holding ? (lease.holder?.json ?? .null) : .null)
        value.set("holderIdentity", lease.holderIdentity.map(JSONValue.string) ?? .null)
        value.set("acquired", time(lease.acquireTime))
        value.set("renewed", time(lease.renewTime))
        let expires = lease.expiresAt.flatMap { $0 == .distantPast ? nil : $0 }
        value.set("expires", time(expires))
        value.set("expiresInSeconds", expires.map { .number(($0.timeIntervalSince(now)).rounded()) } ?? .null)
        value.set("leaseDurationSeconds", .number(Double(lease.leaseDurationSeconds)))
        value.set("hold", lease.holdUntil.map { ["until": .string(LockTime.iso($0)), "reason": lease.holdReason.map(JSONValue.string) ?? .null] } ?? .null)
        value.set("lastHolder", lease.lastHolder.map(JSONValue.string) ?? .null)
        value.set("releasedAt", time(lease.releasedAt))
        value.set("releasedBy", lease.releasedBy.map(JSONValue.string) ?? .null)
        value.set("releaseReason", lease.releaseReason.map(JSONValue.string) ?? .null)
        value.set("resourceVersion", lease.resourceVersion.map(JSONValue.string) ?? .null)
        return value
    }
}

import Foundation

/// The operations lock as a `coordination.k8s.io/v1` Lease holds it: the standard fields
/// (`spec.holderIdentity` = `user@host/op-id`, `leaseDurationSeconds`, `acquireTime`,
/// `renewTime`, `leaseTransitions`), which `kubectl get lease` and other tools understand, plus
/// `luminatectl.io/*` annotations naming the operation for a refused operator.
package struct LeaseRecord: Sendable, Equatable {
    /// The annotations luminatectl writes on the Lease.
    package enum Annotation {
        package static let operation = "luminatectl.io/operation"
        package static let operationID = "luminatectl.io/operation-id"
        package static let actor = "luminatectl.io/actor"
        package static let environment = "luminatectl.io/environment"
        package static let since = "luminatectl.io/since"
        /// A maintenance hold (`lock hold`): until when, and why.
        package static let holdUntil = "luminatectl.io/hold-until"
        package static let holdReason = "luminatectl.io/hold-reason"
        /// Left by a release, so `lock status` can say who had it last.
        package static let lastHolder = "luminatectl.io/last-holder"
        package static let releasedAt = "luminatectl.io/released-at"
        /// Left by `lock release --force`: who broke whose lock, and why.
        package static let releasedBy = "luminatectl.io/released-by"
        package static let releaseReason = "luminatectl.io/release-reason"

        static let holderKeys = [operation, operationID, actor, environment, since, holdUntil, holdReason]
        static let releaseKeys = [lastHolder, releasedAt, releasedBy, releaseReason]
    }

    /// Whether the Lease stops anyone from taking it.
    package enum State: String, Sendable, Equatable {
        /// Nobody holds it (released, or never taken).
        case free
        case held
        /// Its holder stopped renewing it: anyone may take it over.
        case expired
    }

    /// The Lease as the server returned it, to write back with its `resourceVersion`.
    package var object: KubeObject
    /// `user@host/op-id`; nil when released.
    package var holderIdentity: String?
    package var leaseDurationSeconds: Int
    package var acquireTime: Date?
    package var renewTime: Date?
    package var leaseTransitions: Int
    /// From the annotations (or, for a Lease written by another tool, from `holderIdentity`).
    package var holder: LockHolder?
    package var holdUntil: Date?
    package var holdReason: String?
    /// What the last release left: `bob@ops-1 (restore, operation op-1)`.
    package var lastHolder: String?
    package var releasedAt: Date?
    package var releasedBy: String?
    package var releaseReason: String?

    package init(_ object: KubeObject) {
        self.object = object
        let spec = object[path: "spec"]
        let identity = spec?["holderIdentity"]?.string ?? ""
        holderIdentity = identity.isEmpty ? nil : identity
        leaseDurationSeconds = spec?["leaseDurationSeconds"]?.int ?? 0
        acquireTime = spec?["acquireTime"]?.string.flatMap(LockTime.parse)
        renewTime = spec?["renewTime"]?.string.flatMap(LockTime.parse)
        leaseTransitions = spec?["leaseTransitions"]?.int ?? 0
        let annotations = object.annotations
        holdUntil = annotations[Annotation.holdUntil].flatMap(LockTime.parse)
        holdReason = annotations[Annotation.holdReason]
        lastHolder = annotations[Annotation.lastHolder]
        releasedAt = annotations[Annotation.releasedAt].flatMap(LockTime.parse)
        releasedBy = annotations[Annotation.releasedBy]
        releaseReason = annotations[Annotation.releaseReason]
        holder = holderIdentity.flatMap { identity in
            Self.holder(identity: identity, annotations: annotations, acquired: acquireTime ?? renewTime)
        }
    }

    package var resourceVersion: String? { object.resourceVersion }

    /// When it stops counting as held: the last renewal plus the lease duration. A holder that
    /// wrote no times cannot prove it is alive, so its Lease counts as expired.
    package var expiresAt: Date? {
        guard holderIdentity != nil else { return nil }
        guard let last = renewTime ?? acquireTime else { return .distantPast }
        return last.addingTimeInterval(Double(leaseDurationSeconds))
    }

    /// Judged against the context's clock: expired when `renewTime + leaseDurationSeconds < now`.
    package func state(at now: Date) -> State {
        guard let expiresAt else { return .free }
        return expiresAt < now ? .expired : .held
    }

    /// For a refused operator: what kind of holding this is.
    package var detail: String? {
        if let holdUntil {
            return "maintenance hold until \(LockTime.iso(holdUntil))" + (holdReason.map { ": \($0)" } ?? "")
        }
        if holder == nil, let holderIdentity { return "holder identity \(holderIdentity)" }
        return nil
    }

    /// `spec.holderIdentity` for a holder: `alice@build-7/op-0192a7c1e2f-8f3a2b1c4d`.
    package static func identity(of holder: LockHolder) -> String {
        "\(holder.actor.user)@\(holder.actor.host)/\(holder.operationID)"
    }

    private static func holder(identity: String, annotations: [String: String], acquired: Date?) -> LockHolder? {
        let since = annotations[Annotation.since].flatMap(LockTime.parse) ?? acquired ?? .distantPast
        if let operationID = annotations[Annotation.operationID], let actor = annotations[Annotation.actor].flatMap(Actor.init(parsing:)),
           identity.hasSuffix("/" + operationID) {
            return LockHolder(
                actor: actor, operationID: operationID, operation: annotations[Annotation.operation] ?? "unknown",
                environment: annotations[Annotation.environment] ?? "", since: since)
        }
        // Annotations missing or about an earlier holder: what the identity itself says.
        guard let slash = identity.lastIndex(of: "/"), let actor = Actor(parsing: String(identity[..<slash])) else { return nil }
        return LockHolder(
            actor: actor, operationID: String(identity[identity.index(after: slash)...]), operation: "unknown",
            environment: "", since: since)
    }

    // MARK: - What luminatectl writes

    /// A new Lease held by `holder`, for `kubectl create`.
    package static func newLease(
        name: String, namespace: String, holder: LockHolder, durationSeconds: Int, now: Date
    ) -> Data {
        var lease: JSONValue = [
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": [
                "name": .string(name),
                "namespace": .string(namespace),
                "labels": ["app.kubernetes.io/managed-by": "luminatectl"],
            ],
            "spec": [:],
        ]
        take(&lease, holder: holder, durationSeconds: durationSeconds, now: now, transitions: 0)
        return Data(lease.rendered().utf8)
    }

    /// This (free or expired) Lease taken by `holder`, for `kubectl replace` with the observed
    /// `resourceVersion`: if anyone wrote it since, the server refuses and nobody gets it twice.
    package func taken(by holder: LockHolder, durationSeconds: Int, now: Date) -> Data {
        var lease = writable
        Self.take(&lease, holder: holder, durationSeconds: durationSeconds, now: now, transitions: leaseTransitions + 1)
        return Data(lease.rendered().utf8)
    }

    /// The same Lease with `renewTime` now.
    package func renewed(now: Date) -> Data {
        var lease = writable
        lease.set(path: ["spec", "renewTime"], .string(LockTime.micro(now)))
        return Data(lease.rendered().utf8)
    }

    /// The same Lease held for `seconds` from now without renewal: a maintenance hold.
    package func kept(seconds: Int, reason: String, now: Date) -> Data {
        var lease = writable
        lease.set(path: ["spec", "renewTime"], .string(LockTime.micro(now)))
        lease.set(path: ["spec", "leaseDurationSeconds"], .number(Double(seconds)))
        lease.set(path: ["metadata", "annotations", Annotation.holdUntil],
                  .string(LockTime.iso(now.addingTimeInterval(Double(seconds)))))
        lease.set(path: ["metadata", "annotations", Annotation.holdReason], .string(reason))
        return Data(lease.rendered().utf8)
    }

    /// The same Lease with nobody holding it. The object stays (with who had it last) rather than
    /// being deleted: `kubectl delete` cannot check the resourceVersion, and a delete racing a
    /// takeover would remove the new holder's lock.
    package func cleared(now: Date, by breaker: Actor? = nil, reason: String? = nil) -> Data {
        var lease = writable
        for key in ["holderIdentity", "acquireTime", "renewTime"] {
            lease.set(path: ["spec", key], nil)
        }
        for key in Annotation.holderKeys + Annotation.releaseKeys {
            lease.set(path: ["metadata", "annotations", key], nil)
        }
        let previous = holder.map(\.description) ?? holderIdentity ?? "nobody"
        lease.set(path: ["metadata", "annotations", Annotation.lastHolder], .string(previous))
        lease.set(path: ["metadata", "annotations", Annotation.releasedAt], .string(LockTime.iso(now)))
        if let breaker {
            lease.set(path: ["metadata", "annotations", Annotation.releasedBy], .string(breaker.description))
        }
        if let reason {
            lease.set(path: ["metadata", "annotations", Annotation.releaseReason], .string(reason))
        }
        return Data(lease.rendered().utf8)
    }

    /// The object to send back: as read (resourceVersion included), without the server-managed
    /// field ownership, which an update must not claim to set.
    private var writable: JSONValue {
        var lease = object.json
        lease.set(path: ["metadata", "managedFields"], nil)
        return lease
    }

    private static func take(_ lease: inout JSONValue, holder: LockHolder, durationSeconds: Int, now: Date, transitions: Int) {
        for key in Annotation.holderKeys + Annotation.releaseKeys {
            lease.set(path: ["metadata", "annotations", key], nil)
        }
        let annotations: [(String, String)] = [
            (Annotation.operation, holder.operation),
            (Annotation.operationID, holder.operationID),
            (Annotation.actor, holder.actor.description),
            (Annotation.environment, holder.environment),
            (Annotation.since, LockTime.iso(holder.since)),
        ]
        for (key, value) in annotations {
            lease.set(path: ["metadata", "annotations", key], .string(value))
        }
        lease.set(path: ["spec", "holderIdentity"], .string(identity(of: holder)))
        lease.set(path: ["spec", "leaseDurationSeconds"], .number(Double(durationSeconds)))
        lease.set(path: ["spec", "acquireTime"], .string(LockTime.micro(now)))
        lease.set(path: ["spec", "renewTime"], .string(LockTime.micro(now)))
        lease.set(path: ["spec", "leaseTransitions"], .number(Double(transitions)))
    }
}

extension JSONValue {
    /// Sets the value at a path of object keys, creating objects on the way; nil removes the key.
    fileprivate mutating func set(path: [String], _ value: JSONValue?) {
        guard case .object(var entries) = self, let key = path.first else { return }
        let index = entries.firstIndex { $0.0 == key }
        if path.count == 1 {
            if let value {
                if let index { entries[index].1 = value } else { entries.append((key, value)) }
            } else if let index {
                entries.remove(at: index)
            }
        } else {
            var child = index.map { entries[$0].1 } ?? .object([])
            if child.object == nil { child = .object([]) }
            guard value != nil || index != nil else { return }
            child.set(path: Array(path.dropFirst()), value)
            if let index { entries[index].1 = child } else { entries.append((key, child)) }
        }
        self = .object(entries)
    }
}

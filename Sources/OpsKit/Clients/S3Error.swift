import Foundation

/// One S3 API action, as errors name it, with the IAM permission it needs.
package enum S3Operation: String, Sendable, Equatable {
    case headBucket = "HeadBucket"
    case listObjects = "ListObjectsV2"
    case headObject = "HeadObject"
    case getObject = "GetObject"
    case putObject = "PutObject"
    case deleteObject = "DeleteObject"
    case createMultipartUpload = "CreateMultipartUpload"
    case uploadPart = "UploadPart"
    case completeMultipartUpload = "CompleteMultipartUpload"
    case abortMultipartUpload = "AbortMultipartUpload"
    case listMultipartUploads = "ListMultipartUploads"

    /// The IAM action a bucket or key policy must allow for this.
    package var permission: String {
        switch self {
        case .headBucket, .listObjects: "s3:ListBucket"
        case .headObject, .getObject: "s3:GetObject"
        case .putObject, .createMultipartUpload, .uploadPart, .completeMultipartUpload: "s3:PutObject"
        case .deleteObject: "s3:DeleteObject"
        case .abortMultipartUpload: "s3:AbortMultipartUpload"
        case .listMultipartUploads: "s3:ListBucketMultipartUploads"
        }
    }
}

/// What a failed request was doing: the action and the bucket or object it addressed.
package struct S3Target: Sendable, Equatable, CustomStringConvertible {
    package var operation: S3Operation
    package var bucket: String
    /// The full key (prefix included), as `aws s3 ls` shows it; nil for bucket-level actions.
    package var key: String?

    package init(_ operation: S3Operation, bucket: String, key: String? = nil) {
        self.operation = operation
        self.bucket = bucket
        self.key = key
    }

    /// `s3://bucket/key` or `s3://bucket`.
    package var resource: String { "s3://\(bucket)" + (key.map { "/\($0)" } ?? "") }

    /// `GetObject s3://bucket/key`.
    package var description: String { "\(operation.rawValue) \(resource)" }
}

/// Why an S3 request gave no usable answer. Every case names the store's host; the ones the
/// server explained carry its error code and request id (what a provider's support asks for).
/// No case holds the secret access key, and every description passes through `Redactor`.
package enum S3Error: OperatorError, Equatable {
    case noSuchBucket(bucket: String, host: String, url: String, requestID: String?)
    case noSuchKey(bucket: String, key: String, host: String, requestID: String?)
    /// The key pair is valid but may not do this (a bucket or IAM policy).
    case accessDenied(target: S3Target, host: String, accessKeyID: String, message: String, requestID: String?)
    /// The secret does not belong to the access key id (or the request was altered on the way).
    case signatureDoesNotMatch(target: S3Target, host: String, accessKeyID: String, secretSource: String?, requestID: String?)
    /// The store does not know the access key id.
    case invalidAccessKeyId(target: S3Target, host: String, accessKeyID: String, requestID: String?)
    /// The bucket lives in another region than the one requests are signed for.
    case wrongRegion(target: S3Target, host: String, configured: String, actual: String?)
    /// Any other error the server explained (an `<Error>` document), or a status without one.
    case server(target: S3Target, host: String, status: Int, code: String, message: String, requestID: String?)
    /// Nothing (complete) came back from the endpoint at `url`.
    case unreachable(target: S3Target, host: String, url: String, cause: HTTPTransportError)
    case timedOut(target: S3Target, host: String, seconds: Double)
    /// Ctrl-C or SIGTERM stopped the request; `detail` says what was cleaned up.
    case interrupted(target: S3Target, host: String, detail: String?)
    /// An answer too large to hold (`get` of an object bigger than its limit).
    case responseTooLarge(target: S3Target, host: String, limit: Int)
    /// A 2xx answer that is not the document the action returns.
    case malformedResponse(target: S3Target, host: String, detail: String)
    /// A local file to upload from or download to could not be read or written.
    case localFile(path: String, reason: String)
    /// A key the client will not send (see `S3Client.checkKey`).
    case invalidKey(key: String, reason: String)
    /// A multipart upload failed and could not be aborted either: its parts stay stored (and
    /// billed) until someone aborts it.
    case orphanedUpload(bucket: String, key: String, uploadID: String, host: String, url: String, cause: String, abortFailure: String)

    package var description: String { Redactor.redact(plainDescription) }

    private var plainDescription: String {
        switch self {
        case .noSuchBucket(let bucket, let host, _, let requestID):
            "s3 bucket \(bucket) does not exist at \(host) (NoSuchBucket\(Self.requestText(requestID)))"
        case .noSuchKey(let bucket, let key, let host, let requestID):
            "s3://\(bucket)/\(key) does not exist at \(host) (NoSuchKey\(Self.requestText(requestID)))"
        case .accessDenied(let target, let host, let accessKeyID, let message, let requestID):
            "s3 at \(host) denied \(target) to access key \(accessKeyID) (AccessDenied\(Self.requestText(requestID)))"
                + (message.isEmpty ? "" : ": \(Self.clip(message))")
        case .signatureDoesNotMatch(let target, let host, let accessKeyID, _, let requestID):
            "s3 at \(host) rejected the signature of access key \(accessKeyID) for \(target) (SignatureDoesNotMatch\(Self.requestText(requestID)))"
        case .invalidAccessKeyId(let target, let host, let accessKeyID, let requestID):
            "s3 at \(host) does not know access key \(accessKeyID), refused \(target) (InvalidAccessKeyId\(Self.requestText(requestID)))"
        case .wrongRegion(let target, let host, let configured, let actual):
            "s3 bucket \(target.bucket) at \(host) is not in region \(configured)" + (actual.map { " but in \($0)" } ?? "")
                + " (\(target.operation.rawValue))"
        case .server(let target, let host, let status, let code, let message, let requestID):
            "s3 at \(host) failed \(target): \(code) (http \(status)\(Self.requestText(requestID)))"
                + (message.isEmpty ? "" : ": \(Self.clip(message))")
        case .unreachable(let target, let host, _, let cause):
            switch cause {
            case .transport(_, let code, let message):
                "cannot reach s3 at \(host) for \(target): \(message) (curl error \(code))"
            case .timedOut(_, let seconds):
                "s3 at \(host) did not answer \(target) within \(formatSeconds(seconds))"
            case .responseTooLarge(_, let limit):
                "answer from s3 at \(host) to \(target) exceeded \(limit) bytes"
            case .interrupted:
                "\(target) on s3 at \(host) interrupted"
            }
        case .timedOut(let target, let host, let seconds):
            "s3 at \(host) did not answer \(target) within \(formatSeconds(seconds))"
        case .interrupted(let target, let host, let detail):
            "\(target) on s3 at \(host) interrupted" + (detail.map { "; \($0)" } ?? "")
        case .responseTooLarge(let target, let host, let limit):
            "\(target.resource) from s3 at \(host) is larger than \(limit) bytes"
        case .malformedResponse(let target, let host, let detail):
            "s3 at \(host) sent an unreadable answer to \(target): \(Self.clip(detail))"
        case .localFile(let path, let reason):
            "local file \(path): \(reason)"
        case .invalidKey(let key, let reason):
            "s3 key '\(key)' \(reason)"
        case .orphanedUpload(let bucket, let key, let uploadID, let host, _, let cause, let abortFailure):
            "upload of s3://\(bucket)/\(key) to \(host) failed (\(cause)) and its multipart upload \(uploadID) could not be aborted: \(abortFailure)"
        }
    }

    package var hint: String? {
        switch self {
        case .noSuchBucket(_, _, let url, _):
            "is the bucket name right? `aws s3 ls --endpoint-url \(Redactor.redactURL(url))` lists the buckets these credentials see; check backup.store.s3.bucket / LUMINATECTL_S3_BUCKET"
        case .noSuchKey(let bucket, let key, _, _):
            "`aws s3 ls s3://\(bucket)/\(Self.folder(of: key))` lists what is there"
        case .accessDenied(let target, _, let accessKeyID, _, _):
            "access key \(accessKeyID) needs \(target.operation.permission) on \(target.resource): check the bucket policy and the key's IAM policy"
        case .signatureDoesNotMatch(_, _, let accessKeyID, let secretSource, _):
            "the secret access key" + (secretSource.map { " (\($0))" } ?? "")
                + " does not belong to access key \(accessKeyID): check backup.store.s3.secretAccessKey / LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"
        case .invalidAccessKeyId:
            "check backup.store.s3.accessKeyId / LUMINATECTL_S3_ACCESS_KEY_ID, and that the endpoint is the store the key belongs to"
        case .wrongRegion(_, _, _, let actual?):
            "set backup.store.s3.region / LUMINATECTL_S3_REGION to \(actual)"
        case .wrongRegion:
            "check backup.store.s3.region / LUMINATECTL_S3_REGION: it must be the bucket's region"
        case .server(_, _, let status, let code, _, _):
            Self.serverHint(code: code, status: status)
        case .unreachable(_, _, _, .responseTooLarge), .responseTooLarge:
            "download the object to a file instead of into memory"
        case .unreachable(_, _, let url, _):
            "is the S3 endpoint \(Redactor.redactURL(url)) right and reachable from here? check backup.store.s3.endpoint / LUMINATECTL_S3_ENDPOINT"
        case .timedOut:
            "the store is slow or the network stalls; retry, or check the store's health"
        case .malformedResponse:
            "is this an S3 API endpoint? check backup.store.s3.endpoint / LUMINATECTL_S3_ENDPOINT"
        case .orphanedUpload(let bucket, let key, let uploadID, _, let url, _, _):
            "abort it with `aws s3api abort-multipart-upload --endpoint-url \(Redactor.redactURL(url)) --bucket \(bucket) --key \(key) --upload-id \(uploadID)`; an AbortIncompleteMultipartUpload lifecycle rule removes such uploads too"
        case .interrupted, .localFile, .invalidKey:
            nil
        }
    }

    package var exitCode: ExitCode {
        if case .interrupted = self { return .interrupted }
        return .failure
    }

    /// The host the error concerns; nil for local failures.
    package var host: String? {
        switch self {
        case .noSuchBucket(_, let host, _, _), .noSuchKey(_, _, let host, _), .accessDenied(_, let host, _, _, _),
             .signatureDoesNotMatch(_, let host, _, _, _), .invalidAccessKeyId(_, let host, _, _),
             .wrongRegion(_, let host, _, _), .server(_, let host, _, _, _, _),
             .unreachable(_, let host, _, _), .timedOut(_, let host, _), .interrupted(_, let host, _),
             .responseTooLarge(_, let host, _), .malformedResponse(_, let host, _), .orphanedUpload(_, _, _, let host, _, _, _):
            host
        case .localFile, .invalidKey:
            nil
        }
    }

    /// The S3 error code: the server's, or the one its status stands for.
    package var code: String? {
        switch self {
        case .noSuchBucket: "NoSuchBucket"
        case .noSuchKey: "NoSuchKey"
        case .accessDenied: "AccessDenied"
        case .signatureDoesNotMatch: "SignatureDoesNotMatch"
        case .invalidAccessKeyId: "InvalidAccessKeyId"
        case .server(_, _, _, let code, _, _): code
        default: nil
        }
    }

    private static func serverHint(code: String, status: Int) -> String? {
        switch code {
        case "RequestTimeTooSkewed":
            "this machine's clock is more than 15 minutes off the store's: check NTP (timedatectl status)"
        case "XAmzContentSHA256Mismatch", "BadDigest":
            "the bytes that arrived are not the ones that were hashed: the file changed while it was uploaded, take it again"
        case "EntityTooSmall":
            "every part of a multipart upload but the last must be at least 5 MiB"
        case "NoSuchUpload":
            "the multipart upload no longer exists: it was completed or aborted meanwhile (a lifecycle rule?)"
        case "InvalidBucketName":
            "check backup.store.s3.bucket / LUMINATECTL_S3_BUCKET"
        case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
            "the store is overloaded or failing; retry later"
        default:
            status >= 500 ? "the store failed; retry later, or check its health" : nil
        }
    }

    private static func requestText(_ requestID: String?) -> String {
        requestID.map { ", request id \($0)" } ?? ""
    }

    /// `a/b/` for `a/b/c.json`; empty at the top.
    private static func folder(of key: String) -> String {
        guard let slash = key.lastIndex(of: "/") else { return "" }
        return String(key[...slash])
    }

    private static func clip(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 300 ? String(flat.prefix(297)) + "..." : flat
    }
}

// MARK: - From an answer

/// S3's `<Error>` document: `Code`, `Message`, `RequestId`, and for some codes the bucket, the key
/// or the region the bucket really is in.
package struct S3ErrorDocument: Sendable, Equatable {
    package var code: String
    package var message: String
    package var requestID: String?
    package var region: String?

    /// Nil when `body` is not an `<Error>` document.
    package init?(_ body: Data) {
        guard !body.isEmpty, let root = try? XMLTree.parse(body), root.name == "Error",
              let code = root.text(of: "Code"), !code.isEmpty
        else { return nil }
        self.code = code
        message = root.text(of: "Message") ?? ""
        requestID = root.text(of: "RequestId")
        region = root.text(of: "Region")
    }
}

extension S3Error {
    /// The error for a non-2xx answer, or a 2xx one that carries an `<Error>` document
    /// (CompleteMultipartUpload can fail after its 200 status line has been sent).
    package static func from(response: HTTPResponse, target: S3Target, endpoint: S3Endpoint) -> S3Error {
        let host = endpoint.host
        let document = S3ErrorDocument(response.body)
        let requestID = document?.requestID ?? response.headers["x-amz-request-id"]
        let actualRegion = document?.region ?? response.headers["x-amz-bucket-region"]
        if let actualRegion, actualRegion != endpoint.region, [301, 400, 403].contains(response.status) {
            return .wrongRegion(target: target, host: host, configured: endpoint.region, actual: actualRegion)
        }
        // HEAD answers (and some proxies' errors) have no body: the status is all there is.
        let code = document?.code ?? fallbackCode(status: response.status, target: target)
        // Redacted here already: the case's values show in dumps, not only in `description`.
        let message = document.map { Redactor.redact($0.message) } ?? firstLine(response)
        switch code {
        case "NoSuchBucket":
            return .noSuchBucket(bucket: target.bucket, host: host, url: endpoint.url, requestID: requestID)
        case "NoSuchKey" where target.key != nil:
            return .noSuchKey(bucket: target.bucket, key: target.key ?? "", host: host, requestID: requestID)
        case "AccessDenied":
            return .accessDenied(target: target, host: host, accessKeyID: endpoint.accessKeyID, message: message, requestID: requestID)
        case "SignatureDoesNotMatch":
            return .signatureDoesNotMatch(
                target: target, host: host, accessKeyID: endpoint.accessKeyID, secretSource: endpoint.secretSource, requestID: requestID)
        case "InvalidAccessKeyId":
            return .invalidAccessKeyId(target: target, host: host, accessKeyID: endpoint.accessKeyID, requestID: requestID)
        case "AuthorizationHeaderMalformed" where message.localizedCaseInsensitiveContains("region"),
             "PermanentRedirect", "IllegalLocationConstraintException":
            return .wrongRegion(target: target, host: host, configured: endpoint.region, actual: actualRegion)
        default:
            return .server(target: target, host: host, status: response.status, code: code, message: message, requestID: requestID)
        }
    }

    /// The error for a failure below HTTP.
    package static func from(transport error: HTTPTransportError, target: S3Target, endpoint: S3Endpoint) -> S3Error {
        switch error {
        case .interrupted: .interrupted(target: target, host: endpoint.host, detail: nil)
        case .timedOut(_, let seconds): .timedOut(target: target, host: endpoint.host, seconds: seconds)
        case .responseTooLarge(_, let limit): .responseTooLarge(target: target, host: endpoint.host, limit: limit)
        case .transport: .unreachable(target: target, host: endpoint.host, url: endpoint.url, cause: error)
        }
    }

    private static func fallbackCode(status: Int, target: S3Target) -> String {
        switch status {
        case 404: target.key == nil || target.operation == .headBucket ? "NoSuchBucket" : "NoSuchKey"
        case 403: "AccessDenied"
        case 301: "PermanentRedirect"
        default: "HTTP \(status)"
        }
    }

    private static func firstLine(_ response: HTTPResponse) -> String {
        let text = Redactor.redact(response.text.trimmingCharacters(in: .whitespacesAndNewlines))
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 200 ? String(line.prefix(197)) + "..." : line
    }
}

import Foundation

/// When a file upload is split into parts, and how large they are.
///
/// S3's limits: every part but the last at least 5 MiB, at most 5 GiB, at most 10,000 parts.
/// The defaults keep a part's retry cheap and its hashing pass inside the page cache.
package struct S3MultipartPolicy: Sendable, Equatable {
    package static let minimumPartSize: Int64 = 5 << 20
    package static let maximumPartSize: Int64 = 5 << 30
    package static let maximumParts: Int64 = 10_000

    /// Files of this size or more are uploaded in parts.
    package var threshold: Int64
    package var partSize: Int64

    package init(threshold: Int64 = 64 << 20, partSize: Int64 = 16 << 20) {
        self.threshold = threshold
        self.partSize = partSize
    }

    package func validate() throws {
        guard (Self.minimumPartSize...Self.maximumPartSize).contains(partSize) else {
            throw ValidationError(
                "s3 multipart part size must be between 5 MiB and 5 GiB, got \(partSize) bytes",
                hint: "S3 refuses smaller parts (EntityTooSmall) except the last one")
        }
        guard threshold >= 1 else { throw ValidationError("s3 multipart threshold must be at least 1 byte") }
    }

    /// The part size for a file of `size` bytes: `partSize`, grown in whole MiB when the file
    /// would otherwise need more than 10,000 parts.
    package func partSize(forFileOf size: Int64) -> Int64 {
        let needed = (size + Self.maximumParts - 1) / Self.maximumParts
        guard needed > partSize else { return partSize }
        let mebibyte: Int64 = 1 << 20
        return (needed + mebibyte - 1) / mebibyte * mebibyte
    }
}

extension S3Client {
    // MARK: - Uploading a file

    /// Uploads the file at `path` under `key`: one PUT below `multipart.threshold`, else a
    /// multipart upload of `multipart.partSize` parts sent one after the other. Any failure, or
    /// an interrupt, aborts a multipart upload so that no parts stay behind (stored and billed);
    /// when even the abort fails the error says which upload id to abort by hand.
    package func upload(_ key: String, fromFile path: String, contentType: String = "application/octet-stream") throws -> S3Upload {
        let fullKey = try checkKey(key)
        let size = try S3LocalFile.size(of: path)
        guard size >= multipart.threshold else {
            return try putFile(key, fullKey: fullKey, path: path, size: size, contentType: contentType)
        }
        let uploadID = try createMultipartUpload(key, contentType: contentType)
        do {
            let whole = SHA256Stream()
            let partSize = multipart.partSize(forFileOf: size)
            var parts: [S3CompletedPart] = []
            var offset: Int64 = 0
            while offset < size {
                let range = HTTPFileBody(path: path, offset: offset, length: min(partSize, size - offset))
                parts.append(try uploadPart(key, uploadID: uploadID, partNumber: parts.count + 1, from: range, feeding: whole))
                offset += range.length ?? 0
            }
            let etag = try completeMultipartUpload(key, uploadID: uploadID, parts: parts)
            return S3Upload(key: key, size: size, sha256: whole.finish(), etag: etag, parts: parts.count)
        } catch {
            throw abandon(fullKey: fullKey, uploadID: uploadID, after: error)
        }
    }

    private func putFile(_ key: String, fullKey: String, path: String, size: Int64, contentType: String) throws -> S3Upload {
        let target = S3Target(.putObject, bucket: endpoint.bucket, key: fullKey)
        let range = HTTPFileBody(path: path, offset: 0, length: size)
        let sha256 = try hash(range, target: target)
        let response = try send(
            request(method: "PUT", key: fullKey, headers: [("Content-Type", contentType)], bodyFile: range,
                    payloadSHA256: sha256, objectBody: true),
            target)
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        return S3Upload(key: key, size: size, sha256: sha256, etag: S3Documents.unquote(response.headers["etag"] ?? ""), parts: 1)
    }

    /// Aborts a failed upload with a fresh interrupt (a Ctrl-C that is still set must not stop the
    /// clean-up) and returns the error to throw: the original, an interrupt saying the upload was
    /// aborted, or `orphanedUpload` when the abort failed too.
    private func abandon(fullKey: String, uploadID: String, after error: any Error) -> any Error {
        var cleaner = self
        cleaner.interrupt = Interrupt()
        do {
            try cleaner.abortMultipartUpload(fullKey: fullKey, uploadID: uploadID)
        } catch let abortError {
            return S3Error.orphanedUpload(
                bucket: endpoint.bucket, key: fullKey, uploadID: uploadID, host: endpoint.host, url: endpoint.url,
                cause: "\(error)", abortFailure: "\(abortError)")
        }
        if case S3Error.interrupted(let target, let host, _) = error {
            return S3Error.interrupted(target: target, host: host, detail: "multipart upload \(uploadID) was aborted")
        }
        return error
    }

    // MARK: - The steps, one request each

    /// CreateMultipartUpload: the upload id the parts go to. `contentType` becomes the object's.
    package func createMultipartUpload(_ key: String, contentType: String = "application/octet-stream") throws -> String {
        let fullKey = try checkKey(key)
        let target = S3Target(.createMultipartUpload, bucket: endpoint.bucket, key: fullKey)
        let response = try send(
            request(method: "POST", key: fullKey, query: [("uploads", "")], headers: [("Content-Type", contentType)], body: Data()),
            target)
        return try decode(response, target) { try S3Documents.uploadID($0) }
    }

    /// UploadPart of one range of a file, hashed first (and into `whole` on the way) so that it is
    /// signed with its real SHA-256. Returns the part's ETag for CompleteMultipartUpload.
    package func uploadPart(
        _ key: String, uploadID: String, partNumber: Int, from range: HTTPFileBody, feeding whole: SHA256Stream? = nil
    ) throws -> S3CompletedPart {
        let fullKey = try checkKey(key)
        let target = S3Target(.uploadPart, bucket: endpoint.bucket, key: fullKey)
        let sha256 = try hash(range, feeding: whole, target: target)
        let response = try send(
            request(method: "PUT", key: fullKey, query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
                    bodyFile: range, payloadSHA256: sha256, objectBody: true),
            target)
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        guard let etag = response.headers["etag"].map(S3Documents.unquote), !etag.isEmpty else {
            throw S3Error.malformedResponse(target: target, host: endpoint.host, detail: "no ETag for part \(partNumber)")
        }
        return S3CompletedPart(partNumber: partNumber, etag: etag)
    }

    /// CompleteMultipartUpload: the object's ETag. S3 may fail it after sending 200 (it keeps the
    /// connection alive with whitespace while assembling), so the body is checked for `<Error>`.
    package func completeMultipartUpload(_ key: String, uploadID: String, parts: [S3CompletedPart]) throws -> String {
        let fullKey = try checkKey(key)
        let target = S3Target(.completeMultipartUpload, bucket: endpoint.bucket, key: fullKey)
        let body = S3Documents.completeRequest(parts)
        let response = try send(
            request(method: "POST", key: fullKey, query: [("uploadId", uploadID)], headers: [("Content-Type", "application/xml")],
                    body: body, payloadSHA256: SHA256.hex(body)),
            target)
        return try decode(response, target) { try S3Documents.completedETag($0) }
    }

    /// AbortMultipartUpload: the parts are deleted. An upload that no longer exists (completed,
    /// or aborted before) counts as aborted.
    package func abortMultipartUpload(_ key: String, uploadID: String) throws {
        try abortMultipartUpload(fullKey: checkKey(key), uploadID: uploadID)
    }

    private func abortMultipartUpload(fullKey: String, uploadID: String) throws {
        let target = S3Target(.abortMultipartUpload, bucket: endpoint.bucket, key: fullKey)
        let response = try send(request(method: "DELETE", key: fullKey, query: [("uploadId", uploadID)]), target)
        if (200..<300).contains(response.status) { return }
        let error = S3Error.from(response: response, target: target, endpoint: endpoint)
        if error.code == "NoSuchUpload" { return }
        throw error
    }

    /// ListMultipartUploads under `prefix` (relative to the key prefix), every page: uploads
    /// that were started and neither completed nor aborted.
    package func listMultipartUploads(prefix: String = "") throws -> [S3MultipartUploadInfo] {
        let target = S3Target(.listMultipartUploads, bucket: endpoint.bucket)
        var uploads: [S3MultipartUploadInfo] = []
        var marker: (key: String, uploadID: String)?
        repeat {
            var query = [("uploads", "")]
            let fullPrefix = endpoint.fullKey(prefix)
            if !fullPrefix.isEmpty { query.append(("prefix", fullPrefix)) }
            if let marker {
                query.append(("key-marker", marker.key))
                if !marker.uploadID.isEmpty { query.append(("upload-id-marker", marker.uploadID)) }
            }
            let response = try send(request(method: "GET", key: nil, query: query), target)
            let page = try decode(response, target) { try S3Documents.multipartUploads($0, keyPrefix: endpoint.prefix) }
            uploads += page.uploads
            if let next = page.next, let marker, next == marker {
                throw S3Error.malformedResponse(target: target, host: endpoint.host, detail: "a truncated list of uploads that repeats its markers")
            }
            marker = page.next
        } while marker != nil
        return uploads
    }

    // MARK: - Helpers

    private func hash(_ range: HTTPFileBody, feeding whole: SHA256Stream? = nil, target: S3Target) throws -> String {
        do {
            return try S3LocalFile.sha256(of: range, alsoFeeding: whole) { interrupt.isSet }
        } catch is S3LocalFile.Interrupted {
            throw S3Error.interrupted(target: target, host: endpoint.host, detail: nil)
        }
    }

    private func decode<T>(_ response: HTTPResponse, _ target: S3Target, _ read: (XMLTree) throws -> T) throws -> T {
        let root = try document(response, target)
        do {
            return try read(root)
        } catch let error as XMLError {
            throw S3Error.malformedResponse(target: target, host: endpoint.host, detail: error.description)
        }
    }
}
